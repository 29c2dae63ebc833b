// The interop test API's pieces without processes: the JSON conventions, add_task's task
// (written to a real PostgreSQL database), the client's reports (opened and prepared as the
// aggregators would) and the answers to bad requests.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "aggregator_role.h"
#include "client_role.h"
#include "interop_api.h"
#include "janus/client_report.h"
#include "janus/clock.h"
#include "janus/codec.h"
#include "janus/config.h"
#include "janus/hpke.h"
#include "janus/testing/test_database.h"
#include "janus/vdaf.h"
#include "test_support.h"  // plugins/cli: a registry of the Prio3 VDAFs and Poplar1

namespace janus::interop {
namespace {

using nlohmann::json;

using cli::testing::vdaf_registry;

TEST(InteropApi, VdafObjectsTakeBase10Strings) {
  VdafDescription sumvec = vdaf_from_object(
      {{"type", "Prio3SumVec"}, {"bits", "8"}, {"length", "3"}, {"chunk_length", "2"}});
  EXPECT_EQ(sumvec.name, "Prio3SumVec");
  EXPECT_EQ(sumvec.parameters, json({{"bits", 8}, {"length", 3}, {"chunk_length", 2}}));
  EXPECT_EQ(vdaf_from_object({{"type", "Prio3Count"}}).parameters, json::object());
  EXPECT_THROW(vdaf_from_object({{"type", "Prio3Sum"}, {"bits", 8}}), BadRequest);
  EXPECT_THROW(vdaf_from_object({{"type", "Prio3Sum"}, {"bits", "-8"}}), BadRequest);
  EXPECT_THROW(vdaf_from_object({{"bits", "8"}}), BadRequest);
  EXPECT_THROW(vdaf_from_object(json::array()), BadRequest);

  // Janus's fixed-point vector: bitsize by name, dp_strategy an object defaulting to none.
  const json none = {{"dp_strategy", "NoDifferentialPrivacy"}};
  VdafDescription fixed = vdaf_from_object(
      {{"type", "Prio3FixedPointBoundedL2VecSum"}, {"bitsize", "BitSize16"}, {"length", "10"}});
  EXPECT_EQ(fixed.parameters,
            json({{"bitsize", "BitSize16"}, {"length", 10}, {"dp_strategy", none}}));
  const json gaussian = {{"dp_strategy", "ZCdpDiscreteGaussian"},
                         {"budget", {{"epsilon", json::parse("[[1], [2]]")}}}};
  fixed = vdaf_from_object({{"type", "Prio3FixedPointBoundedL2VecSum"},
                            {"bitsize", "BitSize32"},
                            {"dp_strategy", gaussian},
                            {"length", "3"}});
  EXPECT_EQ(fixed.parameters.at("dp_strategy"), gaussian);
  EXPECT_THROW(vdaf_from_object({{"type", "Prio3FixedPointBoundedL2VecSum"}, {"bitsize", 16}}),
               BadRequest);
  EXPECT_THROW(vdaf_from_object({{"type", "Prio3Histogram"}, {"dp_strategy", "x"}}), BadRequest);
}

TEST(InteropApi, Queries) {
  Query interval = query_from_object(
      {{"type", 1}, {"batch_interval_start", 3600}, {"batch_interval_duration", 7200}});
  EXPECT_EQ(interval, Query::time_interval({3600, 7200}));
  const BatchId id = BatchId::random();
  EXPECT_EQ(query_from_object({{"type", 2}, {"subtype", 0}, {"batch_id", id.to_base64url()}}),
            Query::fixed_size(FixedSizeQuery::by_batch_id(id)));
  EXPECT_EQ(query_from_object({{"type", 2}, {"subtype", 1}}),
            Query::fixed_size(FixedSizeQuery::current_batch()));
  EXPECT_THROW(query_from_object({{"type", 3}}), BadRequest);
  EXPECT_THROW(query_from_object({{"type", json{json{1}}}}), BadRequest);
  EXPECT_THROW(query_from_object({{"type", 2}, {"subtype", 2}}), BadRequest);
  EXPECT_THROW(query_from_object({{"type", 2}, {"subtype", 0}, {"batch_id", "AAAA"}}), BadRequest);
  EXPECT_THROW(query_from_object(
                   {{"type", 1}, {"batch_interval_start", -1}, {"batch_interval_duration", 1}}),
               BadRequest);
}

TEST(InteropApi, MeasurementsAndResultsAreBase10Strings) {
  EXPECT_EQ(measurement_from_json("1"), json(1u));
  EXPECT_EQ(measurement_from_json(json{"1", "20"}), json({1u, 20u}));
  EXPECT_THROW(measurement_from_json("x"), BadRequest);
  EXPECT_THROW(measurement_from_json(5), BadRequest);
  EXPECT_EQ(measurement_from_json(json{true, false}), json({true, false}));
  EXPECT_THROW(measurement_from_json(json{json{"1"}}), BadRequest);  // one level of array only
  EXPECT_THROW(measurement_from_json(json{{"a", "1"}}), BadRequest);
  EXPECT_EQ(result_to_json(json(7u)), json("7"));
  EXPECT_EQ(result_to_json(json({1u, 0u})), json({"1", "0"}));
  EXPECT_EQ(result_to_json(json("340282366920938463463374607431768211455")),
            json("340282366920938463463374607431768211455"));
  // Fixed-point measurements stay strings for the VDAF; results are written as Rust's
  // Display writes an f64.
  EXPECT_EQ(measurement_from_json(json{"0.25", "-0.125", "-1", "0"}),
            json({"0.25", "-0.125", "-1", 0u}));
  EXPECT_THROW(measurement_from_json("0.2.5"), BadRequest);
  EXPECT_THROW(measurement_from_json("."), BadRequest);
  EXPECT_EQ(result_to_json(json({0.5, -0.25, 0.0, 1.0, 0.288970947265625, 1e-7, 0.1})),
            json({"0.5", "-0.25", "0", "1", "0.288970947265625", "0.0000001", "0.1"}));
}

// Each plugin's config section: listen_address is required, dap_endpoint (aggregator role
// only) defaults to "/", and any other key is an error naming the file.
TEST(InteropConfig, Parses) {
  const InteropConfig aggregator = parse_interop_config(
      YAML::Load("listen_address: 0.0.0.0:8080\ndap_endpoint: /dap/\n"), "a.yaml", true);
  EXPECT_EQ(aggregator.listen_address, "0.0.0.0:8080");
  EXPECT_EQ(aggregator.dap_endpoint, "/dap/");
  EXPECT_EQ(
      parse_interop_config(YAML::Load("listen_address: 0.0.0.0:8080"), "a.yaml", true).dap_endpoint,
      "/");
  EXPECT_EQ(parse_interop_config(YAML::Load("listen_address: 127.0.0.1:1"), "c.yaml", false)
                .listen_address,
            "127.0.0.1:1");
  EXPECT_THROW(parse_interop_config(YAML::Load("{}"), "c.yaml", false), ConfigError);
  try {
    parse_interop_config(YAML::Load("listen_address: 127.0.0.1:1\ndap_endpoint: /\n"), "c.yaml",
                         false);
    ADD_FAILURE() << "the client and collector roles have no dap_endpoint";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dap_endpoint"), std::string::npos) << e.what();
  }
}

HttpRequest post(const std::string& body) {
  HttpRequest request;
  request.method = HttpMethod::Post;
  request.body = Bytes(body.begin(), body.end());
  return request;
}

json body_of(const HttpResponse& response) {
  return json::parse(response.body.begin(), response.body.end());
}

TEST(InteropApi, CommandAnswers) {
  auto command = [](const json& request) -> json {
    if (string_field(request, "do") == "fail") throw std::runtime_error("it failed");
    return success();
  };
  HttpResponse malformed = run_json_command(post("{"), command);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(body_of(malformed).at("status"), "error");
  EXPECT_EQ(malformed.headers.get("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(run_json_command(post("{}"), command).status, 400);  // missing field
  HttpResponse failed = run_json_command(post(R"({"do":"fail"})"), command);
  EXPECT_EQ(failed.status, 200);
  EXPECT_EQ(body_of(failed), json({{"status", "error"}, {"error", "it failed"}}));
  // A message that is not UTF-8 (a peer's answer quoted in it) still makes a JSON answer.
  HttpResponse binary = run_json_command(post(R"({"do":"it"})"), [](const json&) -> json {
    throw std::runtime_error("peer said \xff\xfe");
  });
  EXPECT_EQ(binary.status, 200);
  EXPECT_EQ(body_of(binary).at("status"), "error");
  // Nesting as deep as the body allows is refused without recursing through it.
  const std::string deep = std::string(200'000, '[') + std::string(200'000, ']');
  HttpResponse nested = run_json_command(post(R"({"type": )" + deep + "}"), [](const json& r) {
    return json{{"type", query_type_from_json(field(r, "type")) == QueryType::TimeInterval}};
  });
  EXPECT_EQ(nested.status, 400);
  HttpResponse done = run_json_command(post(R"({"do":"it"})"), command);
  EXPECT_EQ(done.status, 200);
  EXPECT_EQ(body_of(done), success());
}

json add_task_request(const std::string& role) {
  Bytes verify_key(16, 7);
  const DapHpkeKeyPair collector = DapHpkeKeyPair::generate(9);
  json request = {{"task_id", TaskId::random().to_base64url()},
                  {"leader", "http://leader:8080/"},
                  {"helper", "http://helper:8080"},
                  {"vdaf", {{"type", "Prio3Sum"}, {"bits", "8"}}},
                  {"leader_authentication_token", "aggregator-token"},
                  {"role", role},
                  {"vdaf_verify_key", base64url_encode(verify_key)},
                  {"max_batch_query_count", 1},
                  {"query_type", 2},
                  {"min_batch_size", 10},
                  {"max_batch_size", 20},
                  {"time_precision", 3600},
                  {"collector_hpke_config", base64url_encode(encode_message(collector.config))},
                  {"task_expiration", 2'000'000'000}};
  if (role == "leader") request["collector_authentication_token"] = "collector-token";
  return request;
}

TEST(InteropAggregatorRole, LeaderTask) {
  const json request = add_task_request("leader");
  const AggregatorTask task = task_from_add_task(request, vdaf_registry());
  EXPECT_EQ(task.task_id.to_base64url(), request.at("task_id"));
  EXPECT_EQ(task.role, Role::Leader);
  EXPECT_EQ(task.peer_aggregator_endpoint, "http://helper:8080/");
  EXPECT_EQ(task.vdaf.name, "Prio3Sum");
  EXPECT_EQ(task.vdaf.parameters, json({{"bits", 8}}));
  EXPECT_EQ(task.vdaf_verify_key, Bytes(16, 7));
  EXPECT_EQ(task.query_type.kind, TaskQueryType::Kind::FixedSize);
  EXPECT_EQ(task.query_type.max_batch_size, std::optional<std::uint64_t>(20));
  EXPECT_EQ(task.min_batch_size, 10u);
  EXPECT_EQ(task.time_precision, 3600u);
  EXPECT_EQ(task.task_expiration, std::optional<Time>(2'000'000'000));
  ASSERT_TRUE(task.aggregator_auth_token.has_value());
  EXPECT_EQ(task.aggregator_auth_token->request_header(),
            std::make_pair(std::string("DAP-Auth-Token"), std::string("aggregator-token")));
  EXPECT_EQ(task.collector_auth_token_hash,
            AuthToken::create(AuthTokenType::DapAuth, "collector-token")->hash());
  EXPECT_FALSE(task.aggregator_auth_token_hash.has_value());
  ASSERT_EQ(task.hpke_keys.size(), 1u);
  const HpkeConfig config = decode_message<HpkeConfig>(task.hpke_keys[0].config);
  EXPECT_EQ(suite_of(config), kDapMandatorySuite);
  EXPECT_NO_THROW(DapHpkeKeyPair::from_config(config, task.hpke_keys[0].private_key));
}

TEST(InteropAggregatorRole, HelperTask) {
  json request = add_task_request("helper");
  request["query_type"] = 1;
  request.erase("max_batch_size");
  request.erase("task_expiration");
  const AggregatorTask task = task_from_add_task(request, vdaf_registry());
  EXPECT_EQ(task.role, Role::Helper);
  EXPECT_EQ(task.peer_aggregator_endpoint, "http://leader:8080/");
  EXPECT_EQ(task.query_type.kind, TaskQueryType::Kind::TimeInterval);
  EXPECT_FALSE(task.task_expiration.has_value());
  EXPECT_FALSE(task.aggregator_auth_token.has_value());
  EXPECT_FALSE(task.collector_auth_token_hash.has_value());
  EXPECT_EQ(task.aggregator_auth_token_hash,
            AuthToken::create(AuthTokenType::DapAuth, "aggregator-token")->hash());
}

TEST(InteropAggregatorRole, RefusedTasks) {
  json leader_without_collector_token = add_task_request("leader");
  leader_without_collector_token.erase("collector_authentication_token");
  EXPECT_THROW(task_from_add_task(leader_without_collector_token, vdaf_registry()), BadRequest);
  json unknown_vdaf = add_task_request("helper");
  unknown_vdaf["vdaf"] = {{"type", "NoSuchVdaf"}, {"bits", "8"}};
  EXPECT_THROW(task_from_add_task(unknown_vdaf, vdaf_registry()), std::invalid_argument);
  json short_key = add_task_request("helper");
  short_key["vdaf_verify_key"] = base64url_encode(Bytes(15, 1));
  EXPECT_THROW(task_from_add_task(short_key, vdaf_registry()), std::invalid_argument);
  json bad_role = add_task_request("collector");
  EXPECT_THROW(task_from_add_task(bad_role, vdaf_registry()), BadRequest);
  json bad_config = add_task_request("helper");
  bad_config["collector_hpke_config"] = "AAAA";
  EXPECT_THROW(task_from_add_task(bad_config, vdaf_registry()), BadRequest);
}

// add_task writes the task to the datastore; a second add_task of the same id replaces it.
TEST(InteropAggregatorRole, AddTaskWritesTheTask) {
  janus::testing::TestDatabase db;
  RealClock clock;
  auto datastore = db.open_datastore(clock);
  InteropAggregator aggregator({"127.0.0.1:0", "/dap/"}, *datastore, vdaf_registry());
  EXPECT_EQ(aggregator.endpoint_for_task({{"task_id", TaskId::random().to_base64url()},
                                          {"role", "leader"},
                                          {"hostname", "leader"}}),
            json({{"status", "success"}, {"endpoint", "/dap/"}}));

  json request = add_task_request("leader");
  EXPECT_EQ(aggregator.add_task(request), success());
  request["min_batch_size"] = 30;
  request["max_batch_size"] = 40;
  EXPECT_EQ(aggregator.add_task(request), success());
  const TaskId task_id = *TaskId::from_base64url(request.at("task_id").get<std::string>());
  auto stored =
      datastore->run_tx("read", [&](Transaction& tx) { return tx.get_aggregator_task(task_id); });
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->min_batch_size, 30u);
  EXPECT_EQ(stored->aggregator_auth_token->value(), "aggregator-token");
  EXPECT_EQ(stored->hpke_keys.size(), 1u);
}

// The client's report, opened with the aggregators' keys and prepared with the VDAF, gives
// back the measurement.
TEST(InteropClientRole, ReportsOpenAndPrepare) {
  const DapHpkeKeyPair leader = DapHpkeKeyPair::generate(1), helper = DapHpkeKeyPair::generate(2);
  const TaskId task_id = TaskId::random();
  auto vdaf = vdaf_registry().create(
      vdaf_from_object({{"type", "Prio3Histogram"}, {"length", "4"}, {"chunk_length", "2"}}));
  const Report report = make_client_report(task_id, *vdaf, measurement_from_json("2"), 7200,
                                           leader.config, helper.config);
  EXPECT_EQ(report.metadata.time, 7200u);
  EXPECT_EQ(report.leader_encrypted_input_share.config_id, 1);
  EXPECT_EQ(report.helper_encrypted_input_share.config_id, 2);
  const Bytes aad = encode_message(InputShareAad{task_id, report.metadata, report.public_share});
  std::vector<Bytes> input_shares;
  input_shares.push_back(
      decode_message<PlaintextInputShare>(dap_open(leader, report.leader_encrypted_input_share,
                                                   dap_input_share_info(Role::Leader), aad))
          .payload);
  input_shares.push_back(
      decode_message<PlaintextInputShare>(dap_open(helper, report.helper_encrypted_input_share,
                                                   dap_input_share_info(Role::Helper), aad))
          .payload);
  // Sealed to the wrong role's info, a share does not open.
  EXPECT_ANY_THROW(dap_open(leader, report.leader_encrypted_input_share,
                            dap_input_share_info(Role::Helper), aad));

  const Bytes verify_key(vdaf->verify_key_size(), 3);
  std::vector<VdafPrepInit> inits;
  std::vector<Bytes> prep_shares;
  for (std::size_t agg = 0; agg < 2; ++agg) {
    inits.push_back(vdaf->prep_init(verify_key, agg, {}, report.metadata.id.span(),
                                    report.public_share, input_shares[agg]));
    prep_shares.push_back(inits.back().prep_share);
  }
  const Bytes message = vdaf->prep_shares_to_prep({}, prep_shares);
  std::vector<Bytes> aggregates;
  for (std::size_t agg = 0; agg < 2; ++agg) {
    VdafPrepNext next = vdaf->prep_next(inits[agg].state, message);
    ASSERT_TRUE(next.finished());
    Bytes aggregate = vdaf->empty_aggregate_share({});
    vdaf->accumulate(aggregate, {}, *next.output_share);
    aggregates.push_back(aggregate);
  }
  EXPECT_EQ(result_to_json(vdaf->unshard({}, aggregates, 1)), json({"0", "0", "1", "0"}));

  EXPECT_THROW(make_client_report(task_id, *vdaf, measurement_from_json("4"), 0, leader.config,
                                  helper.config),
               VdafInputError);
}

}  // namespace
}  // namespace janus::interop
