// tasks.yaml parsing: Janus 0.7's sample, generated parameters, the echo
// round trip, and one clear error (file, task index, key) per kind of mistake.
#include "tasks_file.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "janus/codec.h"
#include "janus/config.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "test_support.h"

namespace janus::cli {
namespace {

using testing::kSampleTasks;
using testing::vdaf_registry;

std::vector<ProvisionedTask> parse(const YAML::Node& root, bool generate = false) {
  TasksFileOptions options;
  options.generate_missing_parameters = generate;
  return parse_tasks(root, "tasks.yaml", vdaf_registry(), options);
}

Bytes b64(const std::string& text) { return *base64url_decode(text); }

TEST(TasksFile, ParsesJanusSampleExactly) {
  auto tasks = load_tasks_file(kSampleTasks, vdaf_registry(), {});
  ASSERT_EQ(tasks.size(), 2u);

  const AggregatorTask& leader = tasks[0].task;
  EXPECT_EQ(leader.task_id.to_base64url(), "G9YKXjoEjfoU7M_fi_o2H0wmzavRb2sBFHeykeRhDMk");
  EXPECT_EQ(leader.peer_aggregator_endpoint, "https://example.com/");
  EXPECT_EQ(leader.query_type, TaskQueryType{});
  EXPECT_EQ(leader.vdaf.name, "Prio3Sum");
  EXPECT_EQ(leader.vdaf.parameters, nlohmann::json({{"bits", 16}}));
  EXPECT_EQ(leader.role, Role::Leader);
  EXPECT_EQ(leader.vdaf_verify_key, b64("1CmuYNtBLYIoXN8bU0T_XA"));
  EXPECT_EQ(leader.max_batch_query_count, 1u);
  EXPECT_EQ(leader.task_expiration, 1704088800u);
  EXPECT_EQ(leader.report_expiry_age, 7776000u);
  EXPECT_EQ(leader.min_batch_size, 100u);
  EXPECT_EQ(leader.time_precision, 1800u);
  EXPECT_EQ(leader.tolerable_clock_skew, 60u);
  HpkeConfig collector = decode_message<HpkeConfig>(*leader.collector_hpke_config);
  EXPECT_EQ(collector.id, 183);
  EXPECT_EQ(suite_of(collector), kDapMandatorySuite);
  EXPECT_EQ(collector.public_key, b64("4qiv6IY5jrjCV3xbaQXULmPIpvoIml1oJmeXm-yOuAo"));
  // The token is sent verbatim (janus-0.7.md §3.3), not base64url-decoded.
  ASSERT_TRUE(leader.aggregator_auth_token);
  EXPECT_EQ(leader.aggregator_auth_token->type(), AuthTokenType::DapAuth);
  EXPECT_EQ(leader.aggregator_auth_token->value(),
            "YWdncmVnYXRvci0yMzUyNDJmOTk0MDZjNGZkMjhiODIwYzMyZWFiMGY2OA");
  ASSERT_TRUE(leader.collector_auth_token_hash);
  EXPECT_EQ(leader.collector_auth_token_hash->type(), AuthTokenType::Bearer);
  EXPECT_EQ(leader.collector_auth_token_hash->to_base64url(),
            "MJOoBO_ysLEuG_lv2C37eEOf1Ngetsr-Ers0ZYj4vdQ");
  EXPECT_FALSE(leader.aggregator_auth_token_hash);
  ASSERT_EQ(leader.hpke_keys.size(), 1u);
  EXPECT_EQ(leader.hpke_keys[0].config_id, 164);
  EXPECT_EQ(leader.hpke_keys[0].private_key, b64("wFRYwiypcHC-mkGP1u3XQgIvtnlkQlUfZjgtM_zRsnI"));
  EXPECT_EQ(decode_message<HpkeConfig>(leader.hpke_keys[0].config).public_key,
            b64("bK5esYAgvRb7eWto4IlzDV5fMpmdTeO0K56sV-rf9xo"));
  EXPECT_FALSE(tasks[0].helper_aggregator_auth_token);

  const AggregatorTask& helper = tasks[1].task;
  EXPECT_EQ(helper.task_id.to_base64url(), "D-hCKPuqL2oTf7ZVRVyMP5VGt43EAEA8q34mDf6p1JE");
  EXPECT_EQ(helper.peer_aggregator_endpoint, "https://example.org/");
  EXPECT_EQ(helper.query_type.kind, TaskQueryType::Kind::FixedSize);
  EXPECT_EQ(helper.query_type.max_batch_size, 100u);
  EXPECT_EQ(helper.query_type.batch_time_window_size, std::nullopt);
  EXPECT_EQ(helper.vdaf.name, "Prio3Count");
  EXPECT_EQ(helper.role, Role::Helper);
  EXPECT_EQ(helper.report_expiry_age, std::nullopt);
  EXPECT_EQ(helper.time_precision, 300u);
  EXPECT_FALSE(helper.aggregator_auth_token);
  EXPECT_FALSE(helper.collector_auth_token_hash);
  ASSERT_TRUE(helper.aggregator_auth_token_hash);
  EXPECT_EQ(helper.aggregator_auth_token_hash->to_base64url(),
            "MJOoBO_ysLEuG_lv2C37eEOf1Ngetsr-Ers0ZYj4vdQ");
  EXPECT_EQ(helper.hpke_keys.at(0).config_id, 37);
}

TEST(TasksFile, EchoedYamlParsesBackToTheSameTasks) {
  auto tasks = load_tasks_file(kSampleTasks, vdaf_registry(), {});
  std::string yaml = tasks_to_yaml(tasks);
  auto again = parse(YAML::Load(yaml));
  ASSERT_EQ(again.size(), tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) EXPECT_EQ(again[i].task, tasks[i].task) << yaml;
  EXPECT_NE(yaml.find("!FixedSize"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("!Prio3Sum"), std::string::npos) << yaml;
}

TEST(TasksFile, VdafParametersRoundTrip) {
  YAML::Node root = YAML::LoadFile(kSampleTasks);
  root[0]["vdaf"] = YAML::Load("!Prio3Histogram {length: 4, chunk_length: 2}");
  root[1]["vdaf"] = YAML::Load("!Prio3SumVec {bits: 8, length: 10, chunk_length: 3}");
  auto tasks = parse(root);
  auto again = parse(YAML::Load(tasks_to_yaml(tasks)));
  EXPECT_EQ(again[0].task, tasks[0].task);
  EXPECT_EQ(again[1].task, tasks[1].task);
  EXPECT_EQ(again[1].task.vdaf.parameters,
            nlohmann::json({{"bits", 8}, {"length", 10}, {"chunk_length", 3}}));
}

// Janus 0.7's Field64 multiproof SumVec with XofHmacSha256Aes128 takes a
// 32-byte verify key; the VDAF says so, and the parser checks and generates
// keys of that size.
TEST(TasksFile, MultiproofHmacVdafTakesA32ByteKey) {
  YAML::Node root = YAML::LoadFile(kSampleTasks);
  root[0]["vdaf"] = YAML::Load(
      "!Prio3SumVecField64MultiproofHmacSha256Aes128 "
      "{proofs: 2, bits: 8, length: 10, chunk_length: 9}");
  try {
    parse(root);
    ADD_FAILURE() << "a 16-byte key was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "key 'tasks[0].vdaf_verify_key': the VDAF "
                  "Prio3SumVecField64MultiproofHmacSha256Aes128 needs a 32-byte key, this one "
                  "has 16"),
              std::string::npos)
        << e.what();
  }
  const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";  // bytes 0..31
  root[0]["vdaf_verify_key"] = key;
  auto tasks = parse(root);
  EXPECT_EQ(tasks[0].task.vdaf.name, "Prio3SumVecField64MultiproofHmacSha256Aes128");
  EXPECT_EQ(tasks[0].task.vdaf.parameters,
            nlohmann::json({{"proofs", 2}, {"bits", 8}, {"length", 10}, {"chunk_length", 9}}));
  EXPECT_EQ(tasks[0].task.vdaf_verify_key, b64(key));
  auto again = parse(YAML::Load(tasks_to_yaml(tasks)));
  EXPECT_EQ(again[0].task, tasks[0].task);

  root[0].remove("vdaf_verify_key");
  auto generated = parse(root, /*generate=*/true);
  EXPECT_EQ(generated[0].task.vdaf_verify_key.size(), 32u);

  root[0]["vdaf"] = YAML::Load(
      "!Prio3SumVecField64MultiproofHmacSha256Aes128 "
      "{proofs: 1, bits: 8, length: 10, chunk_length: 9}");
  EXPECT_THROW(parse(root, /*generate=*/true), ConfigError);
}

const char kMinimalHelper[] = R"(
- peer_aggregator_endpoint: "https://leader.example.com/dap"
  query_type: TimeInterval
  vdaf: !Prio3Sum {bits: 8}
  role: Helper
  max_batch_query_count: 1
  task_expiration: null
  report_expiry_age: null
  min_batch_size: 10
  time_precision: 3600
  tolerable_clock_skew: 60
  collector_hpke_config:
    id: 1
    kem_id: X25519HkdfSha256
    kdf_id: HkdfSha256
    aead_id: Aes128Gcm
    public_key: 4qiv6IY5jrjCV3xbaQXULmPIpvoIml1oJmeXm-yOuAo
)";

TEST(TasksFile, GeneratesMissingParameters) {
  auto tasks = parse(YAML::Load(kMinimalHelper), /*generate=*/true);
  ASSERT_EQ(tasks.size(), 1u);
  const AggregatorTask& task = tasks[0].task;
  EXPECT_NE(task.task_id, TaskId{});
  EXPECT_EQ(task.peer_aggregator_endpoint, "https://leader.example.com/dap/");
  EXPECT_EQ(task.vdaf_verify_key.size(), 16u);
  EXPECT_NE(task.vdaf_verify_key, Bytes(16, 0));
  ASSERT_TRUE(tasks[0].helper_aggregator_auth_token);
  EXPECT_EQ(tasks[0].helper_aggregator_auth_token->type(), AuthTokenType::Bearer);
  ASSERT_TRUE(task.aggregator_auth_token_hash);
  EXPECT_TRUE(task.aggregator_auth_token_hash->validate(*tasks[0].helper_aggregator_auth_token));
  ASSERT_EQ(task.hpke_keys.size(), 1u);
  HpkeConfig config = decode_message<HpkeConfig>(task.hpke_keys[0].config);
  EXPECT_EQ(config.id, task.hpke_keys[0].config_id);
  EXPECT_EQ(suite_of(config), kDapMandatorySuite);
  EXPECT_NO_THROW(DapHpkeKeyPair::from_config(config, task.hpke_keys[0].private_key));

  // Two runs generate different secrets.
  auto other = parse(YAML::Load(kMinimalHelper), /*generate=*/true);
  EXPECT_NE(other[0].task.task_id, task.task_id);
  EXPECT_NE(other[0].task.vdaf_verify_key, task.vdaf_verify_key);

  // The echo carries the generated token, and reads back to the same task.
  auto again = parse(YAML::Load(tasks_to_yaml(tasks)));
  EXPECT_EQ(again[0].task, task);
  EXPECT_EQ(again[0].helper_aggregator_auth_token, tasks[0].helper_aggregator_auth_token);
}

TEST(TasksFile, MissingParametersAreErrorsWithoutGeneration) {
  try {
    parse(YAML::Load(kMinimalHelper));
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("tasks.yaml:2: missing required key 'tasks[0].task_id'"),
              std::string::npos)
        << e.what();
  }
}

struct BadCase {
  const char* name;
  std::function<void(YAML::Node& tasks)> mutate;
  const char* expected;  // a substring of the one-line error
};

// Each case breaks Janus's sample (task 0: leader, task 1: helper) once.
const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> cases = {
      {"task_id not base64url", [](YAML::Node& t) { t[0]["task_id"] = "not*base64"; },
       "key 'tasks[0].task_id': expected unpadded base64url of 32 bytes"},
      {"task_id too short", [](YAML::Node& t) { t[1]["task_id"] = "AAAA"; },
       "key 'tasks[1].task_id': expected unpadded base64url of 32 bytes"},
      {"unknown key", [](YAML::Node& t) { t[0]["min_batch_sise"] = 3; },
       "unknown key 'tasks[0].min_batch_sise'"},
      {"missing key", [](YAML::Node& t) { t[1].remove("time_precision"); },
       "missing required key 'tasks[1].time_precision'"},
      {"negative number", [](YAML::Node& t) { t[0]["min_batch_size"] = -1; },
       "key 'tasks[0].min_batch_size'"},
      {"zero time precision", [](YAML::Node& t) { t[0]["time_precision"] = 0; },
       "key 'tasks[0].time_precision': must be at least 1 second"},
      {"bad endpoint", [](YAML::Node& t) { t[0]["peer_aggregator_endpoint"] = "example.com"; },
       "key 'tasks[0].peer_aggregator_endpoint': expected an http:// or https:// URL"},
      {"unknown query type", [](YAML::Node& t) { t[0]["query_type"] = "Sometimes"; },
       "key 'tasks[0].query_type': unknown query type 'Sometimes'"},
      {"fixed size window not a multiple",
       [](YAML::Node& t) { t[1]["query_type"]["batch_time_window_size"] = 301; },
       "key 'tasks[1].query_type.batch_time_window_size': must be a non-zero multiple"},
      {"fixed size max below min", [](YAML::Node& t) { t[1]["query_type"]["max_batch_size"] = 5; },
       "key 'tasks[1].query_type.max_batch_size': must not be smaller than min_batch_size"},
      {"fixed size unknown field", [](YAML::Node& t) { t[1]["query_type"]["max_size"] = 5; },
       "unknown key 'tasks[1].query_type.max_size'"},
      {"unknown vdaf", [](YAML::Node& t) { t[0]["vdaf"] = "Prio4Count"; }, "key 'tasks[0].vdaf'"},
      {"vdaf without its parameter",
       [](YAML::Node& t) { t[0]["vdaf"] = YAML::Load("!Prio3Sum {}"); }, "key 'tasks[0].vdaf'"},
      {"unknown role", [](YAML::Node& t) { t[0]["role"] = "Collector"; },
       "key 'tasks[0].role': expected Leader or Helper"},
      {"verify key of the wrong size", [](YAML::Node& t) { t[0]["vdaf_verify_key"] = "AAAA"; },
       "key 'tasks[0].vdaf_verify_key': the VDAF Prio3Sum needs a 16-byte key, this one has 3"},
      {"collector config id too big",
       [](YAML::Node& t) { t[0]["collector_hpke_config"]["id"] = 256; },
       "key 'tasks[0].collector_hpke_config.id': expected a config id from 0 to 255"},
      {"unknown kem", [](YAML::Node& t) { t[0]["collector_hpke_config"]["kem_id"] = "X448"; },
       "key 'tasks[0].collector_hpke_config.kem_id': unknown 'X448'"},
      {"public key not base64url",
       [](YAML::Node& t) { t[1]["collector_hpke_config"]["public_key"] = "a b"; },
       "key 'tasks[1].collector_hpke_config.public_key': expected unpadded base64url"},
      {"unknown token type", [](YAML::Node& t) { t[0]["aggregator_auth_token"]["type"] = "Basic"; },
       "key 'tasks[0].aggregator_auth_token.type': unknown 'Basic'"},
      {"invalid bearer token",
       [](YAML::Node& t) {
         t[0]["aggregator_auth_token"]["type"] = "Bearer";
         t[0]["aggregator_auth_token"]["token"] = "has space";
       },
       "key 'tasks[0].aggregator_auth_token.token': not a valid Bearer token"},
      {"hash of the wrong length",
       [](YAML::Node& t) { t[1]["aggregator_auth_token_hash"]["hash"] = "AAAA"; },
       "key 'tasks[1].aggregator_auth_token_hash.hash': expected the unpadded base64url SHA-256"},
      {"leader without its token", [](YAML::Node& t) { t[0].remove("aggregator_auth_token"); },
       "missing required key 'tasks[0].aggregator_auth_token'"},
      {"leader without the collector hash",
       [](YAML::Node& t) { t[0]["collector_auth_token_hash"] = YAML::Node(YAML::NodeType::Null); },
       "missing required key 'tasks[0].collector_auth_token_hash'"},
      {"helper without the token hash",
       [](YAML::Node& t) { t[1].remove("aggregator_auth_token_hash"); },
       "missing required key 'tasks[1].aggregator_auth_token_hash'"},
      {"helper with a collector hash",
       [](YAML::Node& t) {
         t[1]["collector_auth_token_hash"] = YAML::Clone(t[0]["collector_auth_token_hash"]);
       },
       "key 'tasks[1].collector_auth_token_hash': belongs to Leader tasks"},
      {"helper token that does not match its hash",
       [](YAML::Node& t) {
         t[1]["aggregator_auth_token"] = YAML::Load("{type: Bearer, token: other}");
       },
       "key 'tasks[1].aggregator_auth_token_hash': does not match aggregator_auth_token"},
      {"private key of another config",
       [](YAML::Node& t) {
         t[0]["hpke_keys"][0]["private_key"] = YAML::Clone(t[1]["hpke_keys"][0]["private_key"]);
       },
       "key 'tasks[0].hpke_keys[0].private_key': does not fit its config"},
      {"no hpke keys",
       [](YAML::Node& t) { t[1]["hpke_keys"] = YAML::Node(YAML::NodeType::Sequence); },
       "key 'tasks[1].hpke_keys': needs at least one keypair"},
      {"hpke keys missing", [](YAML::Node& t) { t[1].remove("hpke_keys"); },
       "missing required key 'tasks[1].hpke_keys'"},
      {"duplicate hpke config id",
       [](YAML::Node& t) { t[0]["hpke_keys"].push_back(YAML::Clone(t[0]["hpke_keys"][0])); },
       "key 'tasks[0].hpke_keys[1].config.id': config id 164 is used twice"},
      {"task not a map", [](YAML::Node& t) { t[1] = "task"; },
       "tasks[1]: expected a map of task fields"},
  };
  return cases;
}

TEST(TasksFile, EveryMistakeIsOneLineNamingFileTaskAndKey) {
  for (const auto& bad : bad_cases()) {
    YAML::Node tasks = YAML::Clone(YAML::LoadFile(kSampleTasks));
    bad.mutate(tasks);
    try {
      parse(tasks);
      ADD_FAILURE() << bad.name << ": no error";
    } catch (const ConfigError& e) {
      std::string message = e.what();
      EXPECT_EQ(message.rfind("tasks.yaml", 0), 0u) << bad.name << ": " << message;
      EXPECT_NE(message.find(bad.expected), std::string::npos) << bad.name << ": " << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << bad.name << ": " << message;
    }
  }
}

TEST(TasksFile, BadFilesAreOneLineErrors) {
  auto message_of = [](const std::string& contents) -> std::string {
    std::string path = testing::scratch_file("bad.yaml", contents);
    try {
      load_tasks_file(path, vdaf_registry(), {});
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message_of("- task_id: [unclosed\n").find("bad.yaml:"), std::string::npos);
  EXPECT_NE(message_of("- task_id: [unclosed\n").find("YAML syntax error"), std::string::npos);
  EXPECT_NE(message_of("task_id: abc\n").find("expected a YAML sequence of tasks"),
            std::string::npos);
  EXPECT_NE(message_of("").find("expected a YAML sequence of tasks"), std::string::npos);
  std::string directory = std::filesystem::path(testing::scratch_file("x", "")).parent_path();
  try {
    load_tasks_file(directory, vdaf_registry(), {});
    ADD_FAILURE() << "no error for a directory";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("it is a directory"), std::string::npos) << e.what();
  }
  try {
    load_tasks_file("/nonexistent/tasks.yaml", vdaf_registry(), {});
    ADD_FAILURE() << "no error for a missing file";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tasks.yaml: cannot read"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace janus::cli
