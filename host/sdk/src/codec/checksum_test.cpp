#include <gtest/gtest.h>

#include "janus/messages.h"

namespace janus {
namespace {

TEST(ReportIdChecksum, IsXorOfSha256OfReportIds) {
  const ReportId zeros{};
  // SHA-256 of 16 zero bytes.
  EXPECT_EQ(hex_encode(report_id_checksum_for(zeros)),
            "374708fff7719dd5979ec875d56cd2286f6d3cf7ec317a3b25632aab28ec37bb");
  ReportIdChecksum checksum{};
  update_report_id_checksum(checksum, zeros);
  EXPECT_EQ(checksum, report_id_checksum_for(zeros));
  // Adding the same report twice cancels out; order does not matter.
  const ReportId a = ReportId::random(), b = ReportId::random();
  ReportIdChecksum ab{}, ba{};
  update_report_id_checksum(ab, a);
  update_report_id_checksum(ab, b);
  update_report_id_checksum(ba, b);
  update_report_id_checksum(ba, a);
  EXPECT_EQ(ab, ba);
  ReportIdChecksum merged = report_id_checksum_for(a);
  combine_report_id_checksums(merged, report_id_checksum_for(b));
  EXPECT_EQ(merged, ab);
  update_report_id_checksum(ab, b);
  EXPECT_EQ(ab, report_id_checksum_for(a));
}

}  // namespace
}  // namespace janus
