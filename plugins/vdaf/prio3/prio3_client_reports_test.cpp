// Reports made by the real @divviup/dap 0.9.1 client prepare to the recorded
// prep shares, prep message and output shares.
#include <gtest/gtest.h>

#include <janus/codec.h>
#include <janus/messages.h>
#include <janus/ping_pong.h>

#include "prio3.h"
#include "test_support.h"

namespace janus::prio3 {
namespace {

using testing::Fields;
using testing::unhex;

VdafDescription description_for(const std::string& client_name, Fields& params) {
  VdafDescription description;
  if (client_name == "count") {
    description.name = "Prio3Count";
  } else if (client_name == "sum") {
    description.name = "Prio3Sum";
    description.parameters["bits"] = params["bits"];
  } else if (client_name == "sumVec") {
    description.name = "Prio3SumVec";
    description.parameters["bits"] = params["bits"];
    description.parameters["length"] = params["length"];
    description.parameters["chunk_length"] = params["chunkLength"];
  } else if (client_name == "histogram") {
    description.name = "Prio3Histogram";
    description.parameters["length"] = params["length"];
    description.parameters["chunk_length"] = params["chunkLength"];
  } else {
    throw std::runtime_error("unknown client VDAF " + client_name);
  }
  return description;
}

TEST(Prio3ClientReports, DivviupTs091PrepareToRecordedValues) {
  const nlohmann::json file =
      testing::read_json("vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
  const Bytes verify_key = unhex(file.at("vdaf_verify_key"));
  std::size_t reports_checked = 0;
  for (const nlohmann::json& case_json : file.at("cases")) {
    Fields vdaf_case(case_json, "case");
    const std::string name = vdaf_case["vdaf"];
    Fields params(vdaf_case["params"], name + " params");
    const auto vdaf = make_prio3(description_for(name, params));
    for (const nlohmann::json& report_json : vdaf_case["reports"]) {
      Fields report(report_json, name + " report");
      // Fields checked by the codec and HPKE tests, not the VDAF.
      for (const char* key :
           {"report_time", "report", "input_share_aad", "leader_plaintext_input_share",
            "helper_plaintext_input_share", "dap_aggregation_job_init_req_single_report",
            "dap_aggregation_job_resp_single_report", "ping_pong_leader_initialize",
            "ping_pong_helper_finish"}) {
        report.belongs_elsewhere(key);
      }
      (void)report["measurement"];  // the client's input; the shares are random
      const Bytes nonce = unhex(report["report_id"]);
      const Bytes public_share = unhex(report["public_share"]);
      const Bytes agg_param;
      const VdafPrepInit leader = vdaf->prep_init(verify_key, 0, agg_param, nonce, public_share,
                                                  unhex(report["leader_input_share"]));
      const VdafPrepInit helper = vdaf->prep_init(verify_key, 1, agg_param, nonce, public_share,
                                                  unhex(report["helper_input_share"]));
      EXPECT_EQ(hex_encode(leader.prep_share), report["leader_prep_share"].get<std::string>());
      EXPECT_EQ(hex_encode(helper.prep_share), report["helper_prep_share"].get<std::string>());
      const Bytes message = vdaf->prep_shares_to_prep(
          agg_param, std::vector<Bytes>{leader.prep_share, helper.prep_share});
      EXPECT_EQ(hex_encode(message), report["prep_message"].get<std::string>());
      const VdafPrepNext leader_out = vdaf->prep_next(leader.state, message);
      const VdafPrepNext helper_out = vdaf->prep_next(helper.state, message);
      ASSERT_TRUE(leader_out.finished() && helper_out.finished());
      EXPECT_EQ(hex_encode(*leader_out.output_share),
                report["leader_out_share"].get<std::string>());
      EXPECT_EQ(hex_encode(*helper_out.output_share),
                report["helper_out_share"].get<std::string>());
      const std::vector<Bytes> aggregate_shares = {*leader_out.output_share,
                                                   *helper_out.output_share};
      nlohmann::json expected = report["decoded_aggregate_of_this_report_only"];
      EXPECT_EQ(vdaf->unshard(agg_param, aggregate_shares, 1), expected) << name;

      // The same report through the ping-pong topology, message bytes included.
      const PingPongTransition leader_start = ping_pong_leader_initialized(
          *vdaf, verify_key, agg_param, nonce, public_share, unhex(report["leader_input_share"]));
      ASSERT_TRUE(leader_start.outbound.has_value());
      EXPECT_EQ(hex_encode(encode_message(*leader_start.outbound)),
                report["ping_pong_leader_initialize"].get<std::string>());
      const PingPongTransition helper_done = ping_pong_helper_initialized(
          *vdaf, verify_key, agg_param, nonce, public_share, unhex(report["helper_input_share"]),
          decode_message<PingPongMessage>(unhex(report["ping_pong_leader_initialize"])));
      ASSERT_TRUE(helper_done.state.finished());
      EXPECT_EQ(hex_encode(helper_done.state.output_share),
                report["helper_out_share"].get<std::string>());
      ASSERT_TRUE(helper_done.outbound.has_value());
      EXPECT_EQ(hex_encode(encode_message(*helper_done.outbound)),
                report["ping_pong_helper_finish"].get<std::string>());
      const PingPongTransition leader_done = ping_pong_leader_continued(
          *vdaf, agg_param, leader_start.state,
          decode_message<PingPongMessage>(unhex(report["ping_pong_helper_finish"])));
      ASSERT_TRUE(leader_done.state.finished());
      EXPECT_FALSE(leader_done.outbound.has_value());
      EXPECT_EQ(hex_encode(leader_done.state.output_share),
                report["leader_out_share"].get<std::string>());
      // A second finish after finishing is a topology error, not a crash.
      EXPECT_THROW(
          ping_pong_leader_continued(*vdaf, agg_param, leader_done.state, *helper_done.outbound),
          PingPongError);
      ++reports_checked;
    }
  }
  EXPECT_EQ(reports_checked, 8u);
}

}  // namespace
}  // namespace janus::prio3
