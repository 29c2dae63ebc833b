#include "janus/client_report.h"

#include <stdexcept>

#include "janus/codec.h"
#include "janus/hpke.h"

namespace janus {

Report make_client_report(const TaskId& task_id, const Vdaf& vdaf,
                          const nlohmann::json& measurement, Time time, const HpkeConfig& leader,
                          const HpkeConfig& helper, const std::vector<Extension>& extensions) {
  Report report;
  report.metadata.id = ReportId::random();
  report.metadata.time = time;
  VdafShards shards = vdaf.shard(measurement, report.metadata.id.span());
  if (shards.input_shares.size() != 2) {
    throw std::invalid_argument(vdaf.description().name + " does not make two input shares");
  }
  report.public_share = std::move(shards.public_share);
  const Bytes aad = encode_message(InputShareAad{task_id, report.metadata, report.public_share});
  report.leader_encrypted_input_share =
      dap_seal(leader, dap_input_share_info(Role::Leader), aad,
               encode_message(PlaintextInputShare{extensions, shards.input_shares[0]}));
  report.helper_encrypted_input_share =
      dap_seal(helper, dap_input_share_info(Role::Helper), aad,
               encode_message(PlaintextInputShare{extensions, shards.input_shares[1]}));
  return report;
}

}  // namespace janus
