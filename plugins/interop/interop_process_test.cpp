// The whole DAP interop flow between real `janus` processes, driven only through the
// interop test API (draft-dcook-ppm-dap-interop-test-design), as the interop test runner
// drives it: a leader (aggregator + interop_aggregator + job creator + job driver +
// collection driver) and a helper (aggregator + interop_aggregator), each with its own
// database, a client-role process and a collector-role process. Each test adds a task to
// both aggregators and the collector, uploads measurements through the client, collects
// through the collector and compares the aggregate.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "janus/codec.h"
#include "janus/datastore/keys.h"
#include "janus/hpke.h"
#include "janus/ids.h"
#include "janus/testing/test_database.h"
#include "poplar1.h"
#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string new_datastore_keys() {
  auto key = DatastoreKeys::generate_key();
  return base64url_encode(ByteSpan(key.data(), key.size()));
}

std::string port_text(std::uint16_t port) { return std::to_string(port); }

// A loopback port that was free a moment ago and that no earlier call returned: the test
// API port of one role and the health port of another must not coincide.
std::uint16_t distinct_free_port() {
  static std::set<std::uint16_t> taken;
  std::uint16_t port = free_port();
  while (!taken.insert(port).second) port = free_port();
  return port;
}

// A test API call: POST JSON, expect 200 and a JSON object back.
json post(std::uint16_t port, const std::string& path, const json& body) {
  Reply reply = http(port, "POST", path, body.dump());
  EXPECT_EQ(reply.status, 200) << path << ": " << reply.body;
  return json::parse(reply.body);
}

const char kDriverConfig[] =
    "      job_discovery_interval_s: 1\n"
    "      max_concurrent_job_workers: 2\n"
    "      worker_lease_duration_s: 60\n"
    "      worker_lease_clock_skew_allowance_s: 10\n"
    "      maximum_attempts_before_failure: 5\n"
    "      batch_aggregation_shard_count: 4\n";

class InteropProcess : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<Process> process;
    std::uint16_t port = 0;
    std::string name;
  };

  // One deployment for every test of the suite (each test adds its own task).
  static void SetUpTestSuite() {
    leader_db_ = std::make_unique<TestDatabase>();
    helper_db_ = std::make_unique<TestDatabase>();
    leader_keys_ = new_datastore_keys();
    leader_.port = distinct_free_port();
    helper_.port = distinct_free_port();
    client_.port = distinct_free_port();
    collector_.port = distinct_free_port();
    const std::string aggregator =
        "  - plugin: prio3\n"
        "  - plugin: poplar1\n"
        "  - plugin: aggregator\n    config:\n      listen_address: 127.0.0.1:PORT\n"
        "      max_upload_batch_size: 10\n      max_upload_batch_write_delay_ms: 10\n"
        "      batch_aggregation_shard_count: 4\n"
        "  - plugin: interop_aggregator\n    config:\n      listen_address: 127.0.0.1:PORT\n";
    auto aggregator_config = [&](const TestDatabase& db, std::uint16_t port) {
      std::string text =
          "database:\n  url: " + db.url() +
          "\nhealth_check_listen_address: 127.0.0.1:" + port_text(distinct_free_port()) +
          "\nplugins:\n" + aggregator;
      replace_all(text, "PORT", port_text(port));
      return text;
    };
    const std::string leader_config =
        aggregator_config(*leader_db_, leader_.port) +
        "  - plugin: job_creator\n    config:\n      batch_aggregation_shard_count: 4\n"
        "      tasks_update_frequency_s: 1\n      aggregation_job_creation_interval_s: 1\n"
        "      min_aggregation_job_size: 1\n      max_aggregation_job_size: 100\n"
        "  - plugin: job_driver\n    config:\n" +
        kDriverConfig + "  - plugin: collection_driver\n    config:\n" + kDriverConfig +
        "      min_collection_job_retry_delay_s: 1\n      max_collection_job_retry_delay_s: 2\n";
    auto role_config = [](const std::string& plugin, std::uint16_t port) {
      return "health_check_listen_address: 127.0.0.1:" + port_text(distinct_free_port()) +
             "\nplugins:\n  - plugin: prio3\n  - plugin: poplar1\n  - plugin: " + plugin +
             "\n    config:\n      listen_address: 127.0.0.1:" + port_text(port) + "\n";
    };
    const std::map<std::string, std::string> log = {{"RUST_LOG", "info"}};
    leader_.name = "leader";
    leader_.process = std::make_unique<Process>(
        JANUS_EXECUTABLE,
        std::vector<std::string>{"--config-file", write_file("interop-leader.yaml", leader_config)},
        std::map<std::string, std::string>{{"DATASTORE_KEYS", leader_keys_}, {"RUST_LOG", "info"}});
    helper_.name = "helper";
    helper_.process = std::make_unique<Process>(
        JANUS_EXECUTABLE,
        std::vector<std::string>{
            "--config-file",
            write_file("interop-helper.yaml", aggregator_config(*helper_db_, helper_.port))},
        std::map<std::string, std::string>{{"DATASTORE_KEYS", new_datastore_keys()},
                                           {"RUST_LOG", "info"}});
    client_.name = "client";
    client_.process = std::make_unique<Process>(
        JANUS_EXECUTABLE,
        std::vector<std::string>{
            "--config-file",
            write_file("interop-client.yaml", role_config("interop_client", client_.port))},
        log);
    collector_.name = "collector";
    collector_.process = std::make_unique<Process>(
        JANUS_EXECUTABLE,
        std::vector<std::string>{"--config-file",
                                 write_file("interop-collector.yaml",
                                            role_config("interop_collector", collector_.port))},
        log);
  }

  static void TearDownTestSuite() {
    for (Node* node : {&collector_, &client_, &leader_, &helper_}) {
      if (!node->process) continue;
      EXPECT_TRUE(stops_cleanly(*node->process)) << node->name;
      node->process.reset();
    }
    leader_db_.reset();
    helper_db_.reset();
  }

  void SetUp() override {
    // /internal/test/ready on every role, as the test runner waits for the containers.
    for (Node* node : {&leader_, &helper_, &client_, &collector_}) {
      ASSERT_TRUE(eventually(
          [&] { return http(node->port, "POST", "/internal/test/ready", "{}").status == 200; },
          60s))
          << node->name << ": " << node->process->stderr_text() << node->process->stdout_text();
    }
  }

  void TearDown() override {
    if (HasFailure()) {
      for (Node* node : {&leader_, &helper_, &client_, &collector_}) {
        ADD_FAILURE() << node->name << " output:\n"
                      << node->process->stderr_text() << node->process->stdout_text();
      }
    }
  }

  // The aggregator's endpoint for a task, made absolute as the test runner does.
  static std::string endpoint(const Node& node, const std::string& task_id,
                              const std::string& role) {
    json answer = post(node.port, "/internal/test/endpoint_for_task",
                       {{"task_id", task_id}, {"role", role}, {"hostname", "127.0.0.1"}});
    EXPECT_EQ(answer.at("status"), "success") << answer.dump();
    std::string relative = answer.at("endpoint").get<std::string>();
    EXPECT_EQ(relative.front(), '/');
    return "http://127.0.0.1:" + port_text(node.port) + relative;
  }

  struct Task {
    std::string task_id, leader, helper, collector_token;
    json vdaf;
    int query_type = 1;
    std::uint64_t time_precision = 3600;
  };

  // add_task on the collector (which returns its HPKE config) and both aggregators; with
  // `own_collector_key`, the collector role is left out and the task is collected with that
  // key (by janus_cli).
  static Task add_task(const json& vdaf, int query_type, std::uint64_t min_batch_size,
                       std::uint64_t max_batch_query_count = 1,
                       const DapHpkeKeyPair* own_collector_key = nullptr) {
    Task task;
    task.task_id = TaskId::random().to_base64url();
    task.vdaf = vdaf;
    task.query_type = query_type;
    task.leader = endpoint(leader_, task.task_id, "leader");
    task.helper = endpoint(helper_, task.task_id, "helper");
    const std::string aggregator_token = TaskId::random().to_base64url();
    const std::string collector_token = TaskId::random().to_base64url();
    task.collector_token = collector_token;
    json collector;
    if (own_collector_key) {
      collector["collector_hpke_config"] =
          base64url_encode(encode_message(own_collector_key->config));
    } else {
      collector = post(collector_.port, "/internal/test/add_task",
                       {{"task_id", task.task_id},
                        {"leader", task.leader},
                        {"vdaf", vdaf},
                        {"collector_authentication_token", collector_token},
                        {"query_type", query_type}});
      EXPECT_EQ(collector.at("status"), "success") << collector.dump();
    }
    Bytes verify_key(16);  // every VDAF-08 Prio3 and Poplar1 takes a 16-byte verify key
    random_bytes(verify_key);
    json request = {{"task_id", task.task_id},
                    {"leader", task.leader},
                    {"helper", task.helper},
                    {"vdaf", vdaf},
                    {"leader_authentication_token", aggregator_token},
                    {"vdaf_verify_key", base64url_encode(verify_key)},
                    {"max_batch_query_count", max_batch_query_count},
                    {"query_type", query_type},
                    {"min_batch_size", min_batch_size},
                    {"time_precision", task.time_precision},
                    {"collector_hpke_config", collector.at("collector_hpke_config")},
                    {"task_expiration", 4'000'000'000}};
    if (query_type == 2) request["max_batch_size"] = min_batch_size;
    json helper_request = request;
    helper_request["role"] = "helper";
    EXPECT_EQ(post(helper_.port, "/internal/test/add_task", helper_request).at("status"),
              "success");
    request["role"] = "leader";
    request["collector_authentication_token"] = collector_token;
    EXPECT_EQ(post(leader_.port, "/internal/test/add_task", request).at("status"), "success");
    return task;
  }

  static void upload(const Task& task, const json& measurement, std::uint64_t time) {
    json answer = post(client_.port, "/internal/test/upload",
                       {{"task_id", task.task_id},
                        {"leader", task.leader},
                        {"helper", task.helper},
                        {"vdaf", task.vdaf},
                        {"measurement", measurement},
                        {"time", time},
                        {"time_precision", task.time_precision}});
    EXPECT_EQ(answer.at("status"), "success") << answer.dump();
  }

  // collection_start, then collection_poll until the job is no longer in progress.
  static json collect(const Task& task, const json& query, const std::string& agg_param = "") {
    json started = post(collector_.port, "/internal/test/collection_start",
                        {{"task_id", task.task_id}, {"agg_param", agg_param}, {"query", query}});
    EXPECT_EQ(started.at("status"), "success") << started.dump();
    if (!started.contains("handle")) return started;
    return poll_until_done(started.at("handle"));
  }

  // collection_poll until the job is no longer in progress (or 90 s pass).
  static json poll_until_done(const json& handle) {
    EXPECT_TRUE(handle.is_string()) << handle.dump();
    const auto deadline = std::chrono::steady_clock::now() + 90s;
    json polled;
    do {
      std::this_thread::sleep_for(500ms);
      polled = post(collector_.port, "/internal/test/collection_poll", {{"handle", handle}});
    } while (polled.at("status") == "in progress" && std::chrono::steady_clock::now() < deadline);
    return polled;
  }

  // A time two precisions in the past: its batch is closed, so it can be collected at once.
  static std::uint64_t past_time(std::uint64_t precision) {
    const auto now =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    return (now / precision - 2) * precision;
  }

  static std::unique_ptr<TestDatabase> leader_db_, helper_db_;
  static std::string leader_keys_;
  static Node leader_, helper_, client_, collector_;
};

std::unique_ptr<TestDatabase> InteropProcess::leader_db_, InteropProcess::helper_db_;
std::string InteropProcess::leader_keys_;
InteropProcess::Node InteropProcess::leader_, InteropProcess::helper_, InteropProcess::client_,
    InteropProcess::collector_;

struct VdafCase {
  std::string name;
  json vdaf;
  std::vector<json> measurements;
  json expected;
};

// gtest prints a case by its name (not its bytes) in test lists and failures.
void PrintTo(const VdafCase& c, std::ostream* os) { *os << c.name << " " << c.vdaf.dump(); }

class InteropTimeInterval : public InteropProcess,
                            public ::testing::WithParamInterface<VdafCase> {};

TEST_P(InteropTimeInterval, UploadAndCollectThroughTheTestApi) {
  const VdafCase& c = GetParam();
  const Task task = add_task(c.vdaf, 1, c.measurements.size());
  const std::uint64_t time = past_time(task.time_precision);
  // min_batch_size is the number of reports, and the leader's collection driver waits while
  // the interval holds unaggregated reports: the collection must hold every upload.
  for (const json& measurement : c.measurements) upload(task, measurement, time + 17);

  json result = collect(task, {{"type", 1},
                               {"batch_interval_start", time},
                               {"batch_interval_duration", task.time_precision}});
  ASSERT_EQ(result.at("status"), "complete") << result.dump();
  EXPECT_EQ(result.at("report_count"), c.measurements.size());
  EXPECT_EQ(result.at("interval_start"), time);
  EXPECT_EQ(result.at("interval_duration"), task.time_precision);
  EXPECT_EQ(result.at("result"), c.expected) << result.dump();
  EXPECT_FALSE(result.contains("batch_id"));
}

INSTANTIATE_TEST_SUITE_P(
    Prio3, InteropTimeInterval,
    ::testing::Values(
        VdafCase{"Count", {{"type", "Prio3Count"}}, {"1", "0", "1", "1"}, "3"},
        VdafCase{"Sum", {{"type", "Prio3Sum"}, {"bits", "8"}}, {"200", "7", "0"}, "207"},
        VdafCase{"SumVec",
                 {{"type", "Prio3SumVec"}, {"bits", "4"}, {"length", "3"}, {"chunk_length", "2"}},
                 {json{"1", "2", "15"}, json{"0", "3", "1"}},
                 json{"1", "5", "16"}},
        VdafCase{"Histogram",
                 {{"type", "Prio3Histogram"}, {"length", "4"}, {"chunk_length", "2"}},
                 {"0", "3", "3", "1", "3"},
                 json{"1", "1", "0", "3"}},
        // Janus's fpvec_bounded_l2 VDAF: decimal strings in, Rust-formatted floats out.
        VdafCase{
            "FixedPointBoundedL2VecSum",
            {{"type", "Prio3FixedPointBoundedL2VecSum"}, {"bitsize", "BitSize16"}, {"length", "3"}},
            {json{"0.25", "0.125", "0.0625"}, json{"-0.5", "0.125", "0"}},
            json{"-0.25", "0.25", "0.0625"}},
        // With zCDP noise through task storage and both aggregators; epsilon 10^6 makes
        // sigma 2^16/10^6 raw units, so the noise is 0 but with probability below 1e-40.
        VdafCase{"FixedPointBoundedL2VecSumZCdp",
                 {{"type", "Prio3FixedPointBoundedL2VecSum"},
                  {"bitsize", "BitSize16"},
                  {"dp_strategy",
                   {{"dp_strategy", "ZCdpDiscreteGaussian"},
                    {"budget", {{"epsilon", json::parse("[[1000000], [1]]")}}}}},
                  {"length", "2"}},
                 {json{"0.5", "-0.25"}, json{"-0.125", "0.5"}},
                 json{"0.375", "0.25"}}),
    [](const ::testing::TestParamInfo<VdafCase>& info) { return info.param.name; });

// Poplar1 heavy hitters on both aggregators: the client shards 4-bit strings (the test
// API's Boolean arrays), and the collector walks the prefix tree, one collection of the same
// batch per level with the candidate prefixes as aggregation parameter, keeping the prefixes
// at least `threshold` reports share. Each level is two preparation rounds (an init and a
// continue request to the helper).
TEST_F(InteropProcess, Poplar1HeavyHittersLevelByLevel) {
  constexpr std::size_t kBits = 4;
  const std::vector<std::uint64_t> values = {13, 13, 13, 12, 12, 2, 7};
  const Task task = add_task({{"type", "Poplar1"}, {"bits", std::to_string(kBits)}}, 1,
                             values.size(), /*max_batch_query_count=*/kBits + 1);
  const std::uint64_t time = past_time(task.time_precision);
  for (std::uint64_t value : values) {
    json bits = json::array();
    for (std::size_t i = 0; i < kBits; ++i) bits.push_back(((value >> (kBits - 1 - i)) & 1) == 1);
    upload(task, bits, time + 17);
  }
  const json query = {{"type", 1},
                      {"batch_interval_start", time},
                      {"batch_interval_duration", task.time_precision}};
  const std::uint64_t threshold = 2;
  std::vector<std::uint64_t> candidates = {0, 1};
  for (std::uint16_t level = 0; level < kBits; ++level) {
    const Bytes parameter =
        poplar1::encode_aggregation_parameter(poplar1::aggregation_parameter(level, candidates));
    json result = collect(task, query, base64url_encode(parameter));
    ASSERT_EQ(result.at("status"), "complete") << "level " << level << ": " << result.dump();
    EXPECT_EQ(result.at("report_count"), values.size());
    ASSERT_EQ(result.at("result").size(), candidates.size()) << result.dump();
    std::vector<std::uint64_t> next;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      std::uint64_t expected = 0;
      for (std::uint64_t v : values) expected += (v >> (kBits - 1 - level)) == candidates[i];
      EXPECT_EQ(result.at("result")[i], std::to_string(expected))
          << "level " << level << " prefix " << candidates[i];
      if (expected < threshold) continue;
      if (level + 1u < kBits) {
        next.push_back(candidates[i] << 1);
        next.push_back(candidates[i] << 1 | 1);
      } else {
        next.push_back(candidates[i]);
      }
    }
    candidates = next;
  }
  EXPECT_EQ(candidates, (std::vector<std::uint64_t>{12, 13}));

  // A second collection at a level already collected: every report was prepared at level 0
  // before, so the helper and the leader refuse them (report_replayed) and the batch is too
  // small to collect.
  const Bytes level0_again =
      poplar1::encode_aggregation_parameter(poplar1::aggregation_parameter(0, {1}));
  const json again = collect(task, query, base64url_encode(level0_again));
  EXPECT_NE(again.at("status"), "complete") << again.dump();
}

// The same search with `janus_cli collect` as the collector (the task's collector key is the
// test's own, so the CLI can open the shares): one run per level, with the candidate prefixes
// as --aggregation-parameter JSON, and the counts read from its "Aggregation result" line.
TEST_F(InteropProcess, Poplar1HeavyHittersThroughJanusCliCollect) {
  constexpr std::size_t kBits = 3;
  const std::vector<std::uint64_t> values = {5, 5, 4, 5, 1};
  const DapHpkeKeyPair collector = DapHpkeKeyPair::generate(3);
  const Task task = add_task({{"type", "Poplar1"}, {"bits", std::to_string(kBits)}}, 1,
                             values.size(), /*max_batch_query_count=*/kBits, &collector);
  const std::uint64_t time = past_time(task.time_precision);
  for (std::uint64_t value : values) {
    json bits = json::array();
    for (std::size_t i = 0; i < kBits; ++i) bits.push_back(((value >> (kBits - 1 - i)) & 1) == 1);
    upload(task, bits, time + 3);
  }
  // The prefixes as the CLI takes them: '0'/'1' strings of level + 1 bits.
  auto bit_string = [](std::uint64_t prefix, std::size_t width) {
    std::string text;
    for (std::size_t i = width; i-- > 0;) text.push_back(((prefix >> i) & 1) ? '1' : '0');
    return text;
  };
  std::vector<std::uint64_t> candidates = {0, 1};
  for (std::size_t level = 0; level < kBits; ++level) {
    json prefixes = json::array();
    for (std::uint64_t c : candidates) prefixes.push_back(bit_string(c, level + 1));
    Process cli(JANUS_EXECUTABLE, {"janus_cli",
                                   "collect",
                                   "--task-id",
                                   task.task_id,
                                   "--leader",
                                   task.leader,
                                   "--vdaf",
                                   "poplar1",
                                   "--bits",
                                   std::to_string(kBits),
                                   "--dap-auth-token",
                                   task.collector_token,
                                   "--hpke-config",
                                   base64url_encode(encode_message(collector.config)),
                                   "--hpke-private-key",
                                   base64url_encode(collector.key_pair.private_key()),
                                   "--batch-interval-start",
                                   std::to_string(time),
                                   "--batch-interval-duration",
                                   std::to_string(task.time_precision),
                                   "--aggregation-parameter",
                                   json{{"level", level}, {"prefixes", prefixes}}.dump(),
                                   "--timeout",
                                   "90"});
    const ExitStatus status = cli.wait(120s);
    ASSERT_TRUE(status.exited && status.exit_code == 0)
        << "level " << level << ": " << cli.stderr_text() << cli.stdout_text();
    const std::string out = cli.stdout_text();
    EXPECT_NE(out.find("Number of reports: " + std::to_string(values.size()) + "\n"),
              std::string::npos)
        << out;
    const std::string marker = "Aggregation result: ";
    const auto at = out.find(marker);
    ASSERT_NE(at, std::string::npos) << out;
    const json counts =
        json::parse(out.substr(at + marker.size(), out.find('\n', at) - at - marker.size()));
    ASSERT_EQ(counts.size(), candidates.size()) << out;
    std::vector<std::uint64_t> next;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      std::uint64_t expected = 0;
      for (std::uint64_t v : values) expected += (v >> (kBits - 1 - level)) == candidates[i];
      EXPECT_EQ(counts[i], expected) << "level " << level << " prefix " << candidates[i];
      if (expected < 2) continue;
      if (level + 1 < kBits) {
        next.push_back(candidates[i] << 1);
        next.push_back(candidates[i] << 1 | 1);
      } else {
        next.push_back(candidates[i]);
      }
    }
    candidates = next;
  }
  EXPECT_EQ(candidates, std::vector<std::uint64_t>{5});
}

// fixed_size as the test runner collects it: a first collection of the current batch
// (subtype 1) tells the batch id, a second one by that batch id (subtype 0, the same
// aggregation parameter, so no second query of the batch) gives the same aggregate.
struct FixedSizeCase {
  std::string name;
  json vdaf;
  std::vector<json> measurements;
  json expected;
};

void PrintTo(const FixedSizeCase& c, std::ostream* os) { *os << c.name << " " << c.vdaf.dump(); }

class InteropFixedSize : public InteropProcess,
                         public ::testing::WithParamInterface<FixedSizeCase> {};

TEST_P(InteropFixedSize, CurrentBatchThenByBatchIdThroughTheTestApi) {
  const FixedSizeCase& c = GetParam();
  const Task task = add_task(c.vdaf, 2, c.measurements.size());
  const std::uint64_t time = past_time(task.time_precision);
  for (const json& measurement : c.measurements) upload(task, measurement, time + 5);

  // The leader refuses a current-batch collection until a batch holds min_batch_size
  // aggregated reports: the collector answers "error" meanwhile, and the test runner retries.
  json started;
  ASSERT_TRUE(eventually(
      [&] {
        started = post(collector_.port, "/internal/test/collection_start",
                       {{"task_id", task.task_id},
                        {"agg_param", ""},
                        {"query", {{"type", 2}, {"subtype", 1}}}});
        return started.at("status") == "success";
      },
      90s))
      << started.dump();
  const json current = poll_until_done(started.at("handle"));
  ASSERT_EQ(current.at("status"), "complete") << current.dump();
  EXPECT_EQ(current.at("report_count"), c.measurements.size());
  EXPECT_EQ(current.at("result"), c.expected) << current.dump();
  ASSERT_TRUE(current.contains("batch_id")) << current.dump();
  const std::string batch_id = current.at("batch_id").get<std::string>();
  ASSERT_TRUE(BatchId::from_base64url(batch_id).has_value()) << batch_id;
  // The client timestamps of the batch, rounded to the precision.
  EXPECT_EQ(current.at("interval_start"), time);
  EXPECT_EQ(current.at("interval_duration"), task.time_precision);

  const json by_id = collect(task, {{"type", 2}, {"subtype", 0}, {"batch_id", batch_id}});
  ASSERT_EQ(by_id.at("status"), "complete") << by_id.dump();
  EXPECT_EQ(by_id.at("report_count"), c.measurements.size());
  EXPECT_EQ(by_id.at("result"), c.expected) << by_id.dump();
  EXPECT_EQ(by_id.at("batch_id"), batch_id);
}

INSTANTIATE_TEST_SUITE_P(
    Prio3, InteropFixedSize,
    ::testing::Values(FixedSizeCase{"Count", {{"type", "Prio3Count"}}, {"1", "1", "0"}, "2"},
                      FixedSizeCase{"Sum",
                                    {{"type", "Prio3Sum"}, {"bits", "16"}},
                                    {"1000", "2000", "3", "40"},
                                    "3043"}),
    [](const ::testing::TestParamInfo<FixedSizeCase>& info) { return info.param.name; });

// What the test runner sends that cannot work is answered with status "error" (or 400 when
// it cannot be parsed), and unknown test API paths with 404.
TEST_F(InteropProcess, ErrorsThroughTheTestApi) {
  const Task task = add_task({{"type", "Prio3Count"}}, 1, 1);
  json unknown_vdaf = post(collector_.port, "/internal/test/add_task",
                           {{"task_id", task.task_id},
                            {"leader", task.leader},
                            {"vdaf", {{"type", "NoSuchVdaf"}, {"bits", "8"}}},
                            {"collector_authentication_token", "token"},
                            {"query_type", 1}});
  EXPECT_EQ(unknown_vdaf.at("status"), "error");
  EXPECT_FALSE(unknown_vdaf.value("error", "").empty()) << unknown_vdaf.dump();
  for (Node* node : {&leader_, &client_, &collector_}) {
    EXPECT_EQ(http(node->port, "POST", "/internal/test/no_such_command", "{}").status, 404)
        << node->name;
  }
  json poll = post(collector_.port, "/internal/test/collection_poll", {{"handle", "nope"}});
  EXPECT_EQ(poll.at("status"), "error");
  json unknown_task = post(collector_.port, "/internal/test/collection_start",
                           {{"task_id", TaskId::random().to_base64url()},
                            {"agg_param", ""},
                            {"query", {{"type", 2}, {"subtype", 1}}}});
  EXPECT_EQ(unknown_task.at("status"), "error") << unknown_task.dump();
  // A measurement the VDAF cannot encode: the client reports the failure.
  json upload_answer = post(client_.port, "/internal/test/upload",
                            {{"task_id", task.task_id},
                             {"leader", task.leader},
                             {"helper", task.helper},
                             {"vdaf", task.vdaf},
                             {"measurement", "2"},
                             {"time_precision", task.time_precision}});
  EXPECT_EQ(upload_answer.at("status"), "error") << upload_answer.dump();
  // A report far in the future is refused by the leader (reportTooEarly): the draft's
  // "time far in the future" case.
  json future = post(client_.port, "/internal/test/upload",
                     {{"task_id", task.task_id},
                      {"leader", task.leader},
                      {"helper", task.helper},
                      {"vdaf", task.vdaf},
                      {"measurement", "1"},
                      {"time", past_time(task.time_precision) + 100 * task.time_precision},
                      {"time_precision", task.time_precision}});
  EXPECT_EQ(future.at("status"), "error") << future.dump();
  EXPECT_NE(future.value("error", "").find("reportTooEarly"), std::string::npos) << future.dump();
  // An upload to a task the leader does not have fails at the leader.
  json unknown_upload = post(client_.port, "/internal/test/upload",
                             {{"task_id", TaskId::random().to_base64url()},
                              {"leader", task.leader},
                              {"helper", task.helper},
                              {"vdaf", task.vdaf},
                              {"measurement", "1"},
                              {"time_precision", task.time_precision}});
  EXPECT_EQ(unknown_upload.at("status"), "error") << unknown_upload.dump();
}

// Requests that cannot be parsed get 400 with {"status": "error", "error": why}, and the
// processes go on serving.
TEST_F(InteropProcess, MalformedRequestsGet400) {
  struct Bad {
    Node* node;
    std::string path, body, why;  // `why`: a part of the expected error message
  };
  const std::string task_id = TaskId::random().to_base64url();
  const std::vector<Bad> cases = {
      {&leader_, "/internal/test/add_task", "{", "malformed JSON"},
      {&leader_, "/internal/test/add_task", "[]", "expected a JSON object"},
      {&leader_, "/internal/test/add_task", "{}", "missing field \"task_id\""},
      {&helper_, "/internal/test/add_task", R"({"task_id": 5})", "\"task_id\""},
      {&helper_, "/internal/test/add_task", R"({"task_id": "AAAA"})", "\"task_id\""},
      {&leader_, "/internal/test/endpoint_for_task",
       R"({"task_id": ")" + task_id + R"(", "role": "collector"})", "\"role\""},
      {&client_, "/internal/test/upload", "null", "expected a JSON object"},
      {&client_, "/internal/test/upload",
       R"({"task_id": ")" + task_id +
           R"(", "leader": "http://127.0.0.1:9/", "helper": "http://127.0.0.1:9/",
           "vdaf": {"type": "Prio3Sum", "bits": 8}, "measurement": "1", "time_precision": 1})",
       "vdaf.bits"},
      {&client_, "/internal/test/upload",
       R"({"task_id": ")" + task_id +
           R"(", "leader": "http://127.0.0.1:9/", "helper": "http://127.0.0.1:9/",
           "vdaf": {"type": "Prio3Count"}, "measurement": 1, "time_precision": 1})",
       "measurement"},
      {&client_, "/internal/test/upload",
       R"({"task_id": ")" + task_id +
           R"(", "leader": "http://127.0.0.1:9/", "helper": "http://127.0.0.1:9/",
           "vdaf": {"type": "Prio3Count"}, "measurement": "1", "time_precision": -5})",
       "\"time_precision\""},
      // Nested as deep as a body may be: refused, not walked recursively.
      {&client_, "/internal/test/upload",
       R"({"task_id": ")" + task_id +
           R"(", "leader": "http://127.0.0.1:9/", "helper": "http://127.0.0.1:9/",
           "vdaf": {"type": "Prio3SumVec", "bits": "1", "length": "1", "chunk_length": "1"},
           "time_precision": 1, "measurement": )" +
           std::string(100'000, '[') + std::string(100'000, ']') + "}",
       "measurement"},
      {&collector_, "/internal/test/add_task", R"({"task_id": ")" + task_id + R"("})",
       "missing field \"leader\""},
      {&collector_, "/internal/test/collection_start",
       R"({"task_id": ")" + task_id + R"(", "agg_param": "", "query": {"type": 3}})", "query type"},
      {&collector_, "/internal/test/collection_start",
       R"({"task_id": ")" + task_id +
           R"(", "agg_param": "!", "query": {"type": 1, "batch_interval_start": 0,
           "batch_interval_duration": 3600}})",
       "\"agg_param\""},
      {&collector_, "/internal/test/collection_poll", R"({"handle": 7})", "\"handle\""},
  };
  for (const Bad& bad : cases) {
    const Reply reply = http(bad.node->port, "POST", bad.path, bad.body);
    const std::string shown = bad.body.substr(0, 300);
    EXPECT_EQ(reply.status, 400) << bad.node->name << " " << bad.path << " " << shown << ": "
                                 << reply.body;
    const json answer = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << reply.body;
    EXPECT_EQ(answer.value("status", ""), "error") << reply.body;
    EXPECT_NE(answer.value("error", "").find(bad.why), std::string::npos)
        << bad.path << " " << shown << ": " << reply.body;
  }
  // Every process still serves.
  for (Node* node : {&leader_, &helper_, &client_, &collector_}) {
    EXPECT_EQ(http(node->port, "POST", "/internal/test/ready", "{}").status, 200) << node->name;
  }
}

}  // namespace
}  // namespace janus::testing
