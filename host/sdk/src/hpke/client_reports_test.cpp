// Reports made by the real @divviup/dap 0.9.1 client
// (vectors/dap-09/divviup-ts-0.9.1-client-reports.json): every report
// decodes, both input shares decrypt with the recorded keys to the recorded
// plaintexts, and the one-report AggregationJobInitReq/Resp decode.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "janus/hpke.h"
#include "janus/messages.h"

namespace janus {
namespace {

using nlohmann::json;

json load_client_reports() {
  std::ifstream in(JANUS_SHARED_DIR "/vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
  if (!in) throw std::runtime_error("cannot open divviup-ts-0.9.1-client-reports.json");
  return json::parse(in);
}

Bytes hex_field(const json& object, const char* key) {
  auto bytes = hex_decode(object.at(key).get<std::string>());
  if (!bytes) throw std::runtime_error(std::string("bad hex in ") + key);
  return *bytes;
}

// Keys of `object` not in `expected` fail the test: a field nobody reads
// would otherwise go unnoticed.
void expect_only_keys(const json& object, const std::set<std::string>& expected) {
  for (const auto& [key, value] : object.items())
    EXPECT_TRUE(expected.contains(key)) << "unexpected, unchecked vector field: " << key;
  for (const auto& key : expected)
    EXPECT_TRUE(object.contains(key)) << "missing vector field: " << key;
}

struct Aggregators {
  TaskId task_id;
  DapHpkeKeyPair leader;
  DapHpkeKeyPair helper;
};

DapHpkeKeyPair key_pair_from(const json& hpke, const char* role) {
  const json& entry = hpke.at(role);
  expect_only_keys(entry, {"config_id", "public_key", "private_key", "hpke_config_list"});
  const HpkeConfigList list = decode_message<HpkeConfigList>(hex_field(entry, "hpke_config_list"));
  EXPECT_EQ(encode_message(list), hex_field(entry, "hpke_config_list"));
  EXPECT_EQ(list.configs.size(), 1u);
  const HpkeConfig& config = list.configs.at(0);
  EXPECT_EQ(config.id, entry.at("config_id").get<int>());
  EXPECT_EQ(static_cast<int>(config.kem_id), hpke.at("kem_id").get<int>());
  EXPECT_EQ(static_cast<int>(config.kdf_id), hpke.at("kdf_id").get<int>());
  EXPECT_EQ(static_cast<int>(config.aead_id), hpke.at("aead_id").get<int>());
  EXPECT_EQ(config.public_key, hex_field(entry, "public_key"));
  return DapHpkeKeyPair::from_config(config, hex_field(entry, "private_key"));
}

Aggregators aggregators_from(const json& doc) {
  const json& hpke = doc.at("hpke");
  expect_only_keys(hpke, {"kem_id", "kdf_id", "aead_id", "leader", "helper",
                          "input_share_info_leader", "input_share_info_helper"});
  EXPECT_EQ(hex_field(hpke, "input_share_info_leader"), dap_input_share_info(Role::Leader));
  EXPECT_EQ(hex_field(hpke, "input_share_info_helper"), dap_input_share_info(Role::Helper));
  auto task_id = TaskId::from_bytes(hex_field(doc, "task_id_hex"));
  if (!task_id) throw std::runtime_error("bad task id");
  EXPECT_EQ(task_id->to_base64url(), doc.at("task_id_b64url").get<std::string>());
  return {*task_id, key_pair_from(hpke, "leader"), key_pair_from(hpke, "helper")};
}

// Fields of a report record that belong to the VDAF layer (checked by the
// Prio3 tests, not here) and those this test checks.
const std::set<std::string> kReportFields = {
    // checked here
    "report", "report_id", "report_time", "public_share", "input_share_aad",
    "leader_plaintext_input_share", "helper_plaintext_input_share", "leader_input_share",
    "helper_input_share", "leader_prep_share", "prep_message", "ping_pong_leader_initialize",
    "ping_pong_helper_finish", "dap_aggregation_job_init_req_single_report",
    "dap_aggregation_job_resp_single_report",
    // VDAF layer only
    "measurement", "helper_prep_share", "leader_out_share", "helper_out_share",
    "decoded_aggregate_of_this_report_only"};

TEST(ClientReports, TopLevelFieldsAreConsistent) {
  const json doc = load_client_reports();
  expect_only_keys(doc,
                   {"description", "generator", "task_id_b64url", "task_id_hex", "time_precision",
                    "vdaf_verify_key", "hpke", "http_requests_made_by_client", "cases"});
  const Aggregators aggregators = aggregators_from(doc);
  EXPECT_EQ(hex_field(doc, "vdaf_verify_key").size(), 16u);  // Prio3 VERIFY_KEY_SIZE
  // The client fetched each aggregator's HPKE configs with the task id in the query.
  for (const json& request : doc.at("http_requests_made_by_client")) {
    expect_only_keys(request, {"url", "method", "headers"});
    EXPECT_EQ(request.at("method"), "GET");
    const std::string url = request.at("url");
    EXPECT_TRUE(url.ends_with("/hpke_config?task_id=" + aggregators.task_id.to_base64url())) << url;
    EXPECT_EQ(request.at("headers").at("Accept"), std::string(media_type::kHpkeConfigList));
  }
}

TEST(ClientReports, EveryReportDecodesAndBothSharesDecrypt) {
  const json doc = load_client_reports();
  const Aggregators aggregators = aggregators_from(doc);
  const std::uint64_t time_precision = doc.at("time_precision");
  std::size_t reports_checked = 0;
  std::set<std::string> vdafs;
  for (const json& test_case : doc.at("cases")) {
    expect_only_keys(test_case, {"vdaf", "params", "reports"});
    vdafs.insert(test_case.at("vdaf"));
    for (const json& record : test_case.at("reports")) {
      SCOPED_TRACE(test_case.at("vdaf").get<std::string>() + " " +
                   record.at("report_id").get<std::string>());
      expect_only_keys(record, kReportFields);
      const Bytes report_bytes = hex_field(record, "report");
      const Report report = decode_message<Report>(report_bytes);
      EXPECT_EQ(encode_message(report), report_bytes);
      EXPECT_EQ(hex_encode(report.metadata.id.span()), record.at("report_id").get<std::string>());
      EXPECT_EQ(report.metadata.time, record.at("report_time").get<std::uint64_t>());
      EXPECT_EQ(report.metadata.time % time_precision, 0u);
      EXPECT_EQ(report.public_share, hex_field(record, "public_share"));

      const InputShareAad aad{aggregators.task_id, report.metadata, report.public_share};
      const Bytes aad_bytes = encode_message(aad);
      EXPECT_EQ(aad_bytes, hex_field(record, "input_share_aad"));

      const Bytes leader_plaintext =
          dap_open(aggregators.leader, report.leader_encrypted_input_share,
                   dap_input_share_info(Role::Leader), aad_bytes);
      EXPECT_EQ(leader_plaintext, hex_field(record, "leader_plaintext_input_share"));
      const Bytes helper_plaintext =
          dap_open(aggregators.helper, report.helper_encrypted_input_share,
                   dap_input_share_info(Role::Helper), aad_bytes);
      EXPECT_EQ(helper_plaintext, hex_field(record, "helper_plaintext_input_share"));
      // The client sends no extensions.
      const auto leader_share = decode_message<PlaintextInputShare>(leader_plaintext);
      const auto helper_share = decode_message<PlaintextInputShare>(helper_plaintext);
      EXPECT_TRUE(leader_share.extensions.empty());
      EXPECT_TRUE(helper_share.extensions.empty());
      EXPECT_EQ(leader_share.payload, hex_field(record, "leader_input_share"));
      EXPECT_EQ(helper_share.payload, hex_field(record, "helper_input_share"));
      // Each share opens only as its own role's.
      EXPECT_THROW(dap_open(aggregators.leader, report.leader_encrypted_input_share,
                            dap_input_share_info(Role::Helper), aad_bytes),
                   HpkeError);

      // Ping-pong messages and the one-report aggregation job.
      const auto leader_init =
          decode_message<PingPongMessage>(hex_field(record, "ping_pong_leader_initialize"));
      EXPECT_EQ(leader_init, PingPongMessage::initialize(hex_field(record, "leader_prep_share")));
      const auto helper_finish =
          decode_message<PingPongMessage>(hex_field(record, "ping_pong_helper_finish"));
      EXPECT_EQ(helper_finish, PingPongMessage::finish(hex_field(record, "prep_message")));

      const Bytes init_bytes = hex_field(record, "dap_aggregation_job_init_req_single_report");
      const auto init = decode_message<AggregationJobInitReq>(init_bytes);
      EXPECT_EQ(encode_message(init), init_bytes);
      EXPECT_TRUE(init.aggregation_parameter.empty());
      EXPECT_EQ(init.partial_batch_selector, PartialBatchSelector::time_interval());
      ASSERT_EQ(init.prepare_inits.size(), 1u);
      EXPECT_EQ(
          init.prepare_inits[0].report_share,
          (ReportShare{report.metadata, report.public_share, report.helper_encrypted_input_share}));
      EXPECT_EQ(init.prepare_inits[0].message, leader_init);

      const Bytes resp_bytes = hex_field(record, "dap_aggregation_job_resp_single_report");
      const auto resp = decode_message<AggregationJobResp>(resp_bytes);
      EXPECT_EQ(encode_message(resp), resp_bytes);
      ASSERT_EQ(resp.prepare_resps.size(), 1u);
      EXPECT_EQ(resp.prepare_resps[0],
                PrepareResp::continue_with(report.metadata.id, helper_finish));
      ++reports_checked;
    }
  }
  EXPECT_EQ(vdafs, (std::set<std::string>{"count", "sum", "sumVec", "histogram"}));
  EXPECT_EQ(reports_checked, 8u);
}

// Flips every bit of enc, payload and AAD of one report per VDAF: each flip
// must fail with HpkeError (never crash, never return a plaintext).
TEST(ClientReports, AnyFlippedBitFailsCleanly) {
  const json doc = load_client_reports();
  const Aggregators aggregators = aggregators_from(doc);
  const Bytes info = dap_input_share_info(Role::Leader);
  std::size_t flips = 0;
  for (const json& test_case : doc.at("cases")) {
    const json& record = test_case.at("reports").at(0);
    const Report report = decode_message<Report>(hex_field(record, "report"));
    const Bytes aad = hex_field(record, "input_share_aad");
    const HpkeCiphertext& original = report.leader_encrypted_input_share;
    ASSERT_NO_THROW(dap_open(aggregators.leader, original, info, aad));
    auto expect_fails = [&](const HpkeCiphertext& ct, const Bytes& a) {
      EXPECT_THROW(dap_open(aggregators.leader, ct, info, a), HpkeError);
      ++flips;
    };
    for (std::size_t bit = 0; bit < original.enc.size() * 8; ++bit) {
      HpkeCiphertext ct = original;
      ct.enc[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      expect_fails(ct, aad);
    }
    for (std::size_t bit = 0; bit < original.payload.size() * 8; ++bit) {
      HpkeCiphertext ct = original;
      ct.payload[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      expect_fails(ct, aad);
    }
    for (std::size_t bit = 0; bit < aad.size() * 8; ++bit) {
      Bytes flipped = aad;
      flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      expect_fails(original, flipped);
    }
  }
  EXPECT_GT(flips, 1000u);
}

}  // namespace
}  // namespace janus
