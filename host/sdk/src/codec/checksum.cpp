// Report ID checksums (DAP-09 §4.6.3). Kept apart from messages.cpp so the
// codec itself (and its fuzz targets) needs no crypto library.
#include <openssl/evp.h>

#include <stdexcept>

#include "janus/messages.h"

namespace janus {

ReportIdChecksum report_id_checksum_for(const ReportId& report_id) {
  ReportIdChecksum digest{};
  unsigned int length = 0;
  if (EVP_Digest(report_id.bytes.data(), report_id.bytes.size(), digest.data(), &length,
                 EVP_sha256(), nullptr) != 1 ||
      length != digest.size())
    throw std::runtime_error("SHA-256 failed");
  return digest;
}

void update_report_id_checksum(ReportIdChecksum& checksum, const ReportId& report_id) {
  combine_report_id_checksums(checksum, report_id_checksum_for(report_id));
}

void combine_report_id_checksums(ReportIdChecksum& checksum, const ReportIdChecksum& other) {
  for (std::size_t i = 0; i < checksum.size(); ++i) checksum[i] ^= other[i];
}

}  // namespace janus
