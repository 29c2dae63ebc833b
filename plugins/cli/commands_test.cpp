// The janus_cli subcommands against a real PostgreSQL (JANUS_TEST_DATABASE_URL).
#include "commands.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "janus/codec.h"
#include "janus/datastore/keys.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "janus/testing/test_database.h"
#include "tasks_file.h"
#include "test_support.h"

namespace janus::cli {
namespace {

using testing::kSampleTasks;
using testing::scratch_file;
using testing::vdaf_registry;

struct Result {
  int code = -1;
  std::string out, err;
};

class CliCommands : public ::testing::Test {
 protected:
  CliCommands() : clock_(1'700'000'000), datastore_(db_.open_datastore(clock_)) {}

  Result provision(const std::vector<std::string>& args, bool with_datastore = true) {
    std::ostringstream out, err;
    int code = provision_tasks(args, with_datastore ? datastore_.get() : nullptr, vdaf_registry(),
                               out, err);
    return {code, out.str(), err.str()};
  }
  Result generate(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    int code = generate_global_hpke_key(args, datastore_.get(), out, err);
    return {code, out.str(), err.str()};
  }
  Result set_state(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    int code = set_global_hpke_key_state(args, datastore_.get(), out, err);
    return {code, out.str(), err.str()};
  }
  std::vector<AggregatorTask> stored_tasks() {
    return datastore_->run_tx("read", [](Transaction& tx) { return tx.get_aggregator_tasks(); });
  }
  std::optional<AggregatorTask> stored_task(const TaskId& id) {
    return datastore_->run_tx("read", [&](Transaction& tx) { return tx.get_aggregator_task(id); });
  }
  std::optional<GlobalHpkeKeypair> global_key(std::uint8_t id) {
    return datastore_->run_tx("read",
                              [&](Transaction& tx) { return tx.get_global_hpke_keypair(id); });
  }

  janus::testing::TestDatabase db_;
  MockClock clock_;
  std::unique_ptr<Datastore> datastore_;
};

TEST_F(CliCommands, ProvisionsTheSampleAndEveryFieldReadsBack) {
  Result result = provision({kSampleTasks});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("wrote 2 task(s)"), std::string::npos) << result.err;

  auto expected = load_tasks_file(kSampleTasks, vdaf_registry(), {});
  ASSERT_EQ(stored_tasks().size(), 2u);
  for (const auto& provisioned : expected) {
    auto stored = stored_task(provisioned.task.task_id);
    ASSERT_TRUE(stored);
    // AggregatorTask's == compares every field, secrets included.
    EXPECT_EQ(*stored, provisioned.task);
    EXPECT_EQ(stored->hpke_keys, provisioned.task.hpke_keys);
    EXPECT_EQ(stored->vdaf_verify_key, provisioned.task.vdaf_verify_key);
    EXPECT_EQ(stored->aggregator_auth_token, provisioned.task.aggregator_auth_token);
    EXPECT_EQ(stored->aggregator_auth_token_hash, provisioned.task.aggregator_auth_token_hash);
    EXPECT_EQ(stored->collector_auth_token_hash, provisioned.task.collector_auth_token_hash);
    EXPECT_EQ(stored->collector_hpke_config, provisioned.task.collector_hpke_config);
  }
}

TEST_F(CliCommands, ExistingTasksAreReplaced) {
  ASSERT_EQ(provision({kSampleTasks}).code, 0);
  YAML::Node tasks = YAML::LoadFile(kSampleTasks);
  tasks[0]["min_batch_size"] = 7;
  tasks[0]["vdaf"] = YAML::Load("Prio3Count");
  YAML::Emitter emitter;
  emitter << tasks;
  Result result = provision({scratch_file("changed.yaml", emitter.c_str())});
  ASSERT_EQ(result.code, 0) << result.err;
  ASSERT_EQ(stored_tasks().size(), 2u);
  auto stored = stored_task(*TaskId::from_base64url("G9YKXjoEjfoU7M_fi_o2H0wmzavRb2sBFHeykeRhDMk"));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->min_batch_size, 7u);
  EXPECT_EQ(stored->vdaf.name, "Prio3Count");
}

// As in Janus, every entry is written in turn: of two entries with one task id, the later
// one is what is stored.
TEST_F(CliCommands, ARepeatedTaskIdInOneFileKeepsTheLaterEntry) {
  YAML::Node tasks = YAML::LoadFile(kSampleTasks);
  YAML::Node later = YAML::Clone(tasks[0]);
  later["min_batch_size"] = 7;
  tasks.push_back(later);
  YAML::Emitter emitter;
  emitter << tasks;
  Result result = provision({scratch_file("repeated.yaml", emitter.c_str()), "--echo-tasks"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.err.find("wrote 3 task(s)"), std::string::npos) << result.err;
  ASSERT_EQ(stored_tasks().size(), 2u);
  auto stored = stored_task(*TaskId::from_base64url("G9YKXjoEjfoU7M_fi_o2H0wmzavRb2sBFHeykeRhDMk"));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->min_batch_size, 7u);
}

TEST_F(CliCommands, GeneratedParametersAreWrittenAndEchoed) {
  std::string file = scratch_file("minimal.yaml", R"(
- peer_aggregator_endpoint: "https://helper.example.com/"
  query_type: !FixedSize {max_batch_size: null, batch_time_window_size: 3600}
  vdaf: !Prio3Histogram {length: 4, chunk_length: 2}
  role: Leader
  max_batch_query_count: 1
  task_expiration: 1900000000
  report_expiry_age: 86400
  min_batch_size: 10
  time_precision: 1800
  tolerable_clock_skew: 60
  collector_hpke_config: {id: 9, kem_id: X25519HkdfSha256, kdf_id: HkdfSha256, aead_id: Aes128Gcm, public_key: 4qiv6IY5jrjCV3xbaQXULmPIpvoIml1oJmeXm-yOuAo}
  aggregator_auth_token: {type: Bearer, token: "leader-to-helper"}
  collector_auth_token_hash: {type: Bearer, hash: MJOoBO_ysLEuG_lv2C37eEOf1Ngetsr-Ers0ZYj4vdQ}
)");
  Result result = provision({file, "--generate-missing-parameters", "--echo-tasks"});
  ASSERT_EQ(result.code, 0) << result.err;
  auto echoed = parse_tasks(YAML::Load(result.out), "echo", vdaf_registry(), {});
  ASSERT_EQ(echoed.size(), 1u);
  auto stored = stored_task(echoed[0].task.task_id);
  ASSERT_TRUE(stored) << result.out;
  EXPECT_EQ(*stored, echoed[0].task);
  EXPECT_EQ(stored->vdaf_verify_key.size(), 16u);
  EXPECT_EQ(stored->hpke_keys.size(), 1u);
  EXPECT_EQ(stored->query_type.batch_time_window_size, 3600u);
}

TEST_F(CliCommands, DryRunWritesNothing) {
  Result result = provision({kSampleTasks, "--dry-run", "--echo-tasks"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.out.find("G9YKXjoEjfoU7M_fi_o2H0wmzavRb2sBFHeykeRhDMk"), std::string::npos);
  EXPECT_TRUE(stored_tasks().empty());
  // A dry run needs no database at all, and lists the tasks it would write, one a line,
  // without their secrets.
  Result listed = provision({kSampleTasks, "--dry-run"}, /*with_datastore=*/false);
  ASSERT_EQ(listed.code, 0) << listed.err;
  auto tasks = load_tasks_file(kSampleTasks, vdaf_registry(), {});
  ASSERT_EQ(tasks.size(), 2u);
  std::string expected;
  for (const auto& task : tasks) expected += task_summary(task.task) + "\n";
  EXPECT_EQ(listed.out, expected);
  EXPECT_EQ(listed.out.find("1CmuYNtBLYIoXN8bU0T_XA"), std::string::npos) << "a secret is listed";
  EXPECT_NE(listed.err.find("dry run, would have written 2 task(s)"), std::string::npos);
  EXPECT_TRUE(stored_tasks().empty());
}

TEST_F(CliCommands, TaskSummaryNamesWhatATaskIs) {
  auto tasks = load_tasks_file(kSampleTasks, vdaf_registry(), {});
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(task_summary(tasks[0].task),
            "G9YKXjoEjfoU7M_fi_o2H0wmzavRb2sBFHeykeRhDMk: Leader, Prio3Sum {\"bits\":16}, "
            "TimeInterval, peer https://example.com/, time_precision 1800 s, min_batch_size 100, "
            "max_batch_query_count 1, expires 1704088800, 1 HPKE key(s)");
  EXPECT_NE(task_summary(tasks[1].task).find(": Helper, "), std::string::npos);
  EXPECT_NE(task_summary(tasks[1].task).find("FixedSize (max_batch_size "), std::string::npos);
}

TEST_F(CliCommands, ABadTaskWritesNoTask) {
  YAML::Node tasks = YAML::LoadFile(kSampleTasks);
  tasks[1]["role"] = "Observer";
  YAML::Emitter emitter;
  emitter << tasks;
  std::string file = scratch_file("one_bad.yaml", emitter.c_str());
  Result result = provision({file});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("janus_cli provision-tasks: error: " + file), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("key 'tasks[1].role'"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_TRUE(stored_tasks().empty());
}

TEST_F(CliCommands, ProvisionUsageMistakes) {
  EXPECT_EQ(provision({}).code, 2);
  EXPECT_EQ(provision({kSampleTasks, "--echo"}).code, 2);
  EXPECT_EQ(provision({kSampleTasks, kSampleTasks}).code, 2);
  Result missing = provision({"/nonexistent/tasks.yaml"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/tasks.yaml: cannot read"), std::string::npos);
  Result no_database = provision({kSampleTasks}, /*with_datastore=*/false);
  EXPECT_EQ(no_database.code, 2);
  EXPECT_NE(no_database.err.find("--config-file"), std::string::npos) << no_database.err;
  Result help = provision({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Usage: janus_cli provision-tasks"), std::string::npos);
}

TEST_F(CliCommands, GlobalHpkeKeyLifecycle) {
  std::string out_file = scratch_file("hpke_config.bin", "");
  Result result = generate({"--id", "7", "--kem", "x25519", "--kdf", "hkdf-sha256", "--aead",
                            "aes-128-gcm", "--hpke-config-out-file", out_file});
  ASSERT_EQ(result.code, 0) << result.err;
  auto key = global_key(7);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->state, HpkeKeyState::Pending);
  EXPECT_EQ(key->keypair.config_id, 7);
  std::ifstream in(out_file, std::ios::binary);
  Bytes written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, key->keypair.config);
  HpkeConfig config = decode_message<HpkeConfig>(written);
  EXPECT_EQ(config.id, 7);
  EXPECT_EQ(suite_of(config), kDapMandatorySuite);
  EXPECT_NO_THROW(DapHpkeKeyPair::from_config(config, key->keypair.private_key));

  // The same id again is refused, naming it.
  Result again = generate({"--id=7", "--kem=x25519", "--kdf=hkdf-sha256", "--aead=aes-128-gcm"});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("7"), std::string::npos) << again.err;

  ASSERT_EQ(set_state({"--id", "7", "--state", "active"}).code, 0);
  EXPECT_EQ(global_key(7)->state, HpkeKeyState::Active);
  ASSERT_EQ(set_state({"--id", "7", "--state", "expired"}).code, 0);
  EXPECT_EQ(global_key(7)->state, HpkeKeyState::Expired);
  EXPECT_EQ(set_state({"--id", "7", "--state", "pending", "--dry-run"}).code, 0);
  EXPECT_EQ(global_key(7)->state, HpkeKeyState::Expired);

  Result missing = set_state({"--id", "8", "--state", "active"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no global HPKE key 8"), std::string::npos) << missing.err;
}

TEST_F(CliCommands, GlobalHpkeKeyOtherSuitesAndDryRun) {
  ASSERT_EQ(generate({"--id", "255", "--kem", "p-256", "--kdf", "hkdf-sha512", "--aead",
                      "chacha20poly1305"})
                .code,
            0);
  HpkeConfig config = decode_message<HpkeConfig>(global_key(255)->keypair.config);
  EXPECT_EQ(suite_of(config), (HpkeSuite{HpkeKemId::P256HkdfSha256, HpkeKdfId::HkdfSha512,
                                         HpkeAeadId::ChaCha20Poly1305}));
  EXPECT_EQ(generate({"--id", "0", "--kem", "x25519", "--kdf", "hkdf-sha384", "--aead",
                      "aes-256-gcm", "--dry-run"})
                .code,
            0);
  EXPECT_FALSE(global_key(0));
}

TEST_F(CliCommands, GlobalHpkeKeyUsageMistakes) {
  const std::vector<std::string> good = {"--kem",       "x25519", "--kdf",
                                         "hkdf-sha256", "--aead", "aes-128-gcm"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), good.begin(), good.end());
    return extra;
  };
  EXPECT_EQ(generate(with({"--id", "256"})).code, 2);
  EXPECT_EQ(generate(with({"--id", "-1"})).code, 2);
  EXPECT_EQ(generate(with({"--id", "x"})).code, 2);
  EXPECT_EQ(generate(good).code, 2);  // no --id
  Result bad_kem =
      generate({"--id", "1", "--kem", "x448", "--kdf", "hkdf-sha256", "--aead", "aes-128-gcm"});
  EXPECT_EQ(bad_kem.code, 2);
  EXPECT_NE(bad_kem.err.find("--kem: expected x25519 or p-256, not 'x448'"), std::string::npos);
  EXPECT_EQ(generate(with({"--id", "1", "--colour", "red"})).code, 2);
  EXPECT_EQ(set_state({"--id", "1", "--state", "retired"}).code, 2);
  EXPECT_EQ(set_state({"--id", "1"}).code, 2);
  EXPECT_FALSE(global_key(1));
}

TEST_F(CliCommands, RotateDatastoreKeysReportsProgressAndIsSafeToRunAgain) {
  auto rotate = [&](const std::vector<std::string>& args, Datastore* datastore) {
    std::ostringstream out, err;
    int code = rotate_datastore_keys(args, datastore, out, err);
    return Result{code, out.str(), err.str()};
  };
  // One secret written under the old key; the rotation runs with a new key first.
  const DatastoreKey old_key = DatastoreKeys::generate_key(),
                     new_key = DatastoreKeys::generate_key();
  const DapHpkeKeyPair key = DapHpkeKeyPair::generate(3);
  db_.open_datastore(clock_, DatastoreKeys({old_key}))->run_tx("seed", [&](Transaction& tx) {
    tx.put_global_hpke_keypair({3, encode_message(key.config), key.key_pair.private_key()});
  });
  auto rotating = db_.open_datastore(clock_, DatastoreKeys({new_key, old_key}));
  Result first = rotate({"--batch-size", "1"}, rotating.get());
  EXPECT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("global_hpke_keys.private_key: 1 values, 1 re-encrypted\n"),
            std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("done: 1 of 1 secrets re-encrypted"), std::string::npos) << first.out;
  Result again = rotate({}, rotating.get());
  EXPECT_NE(again.out.find("done: 0 of 1 secrets re-encrypted"), std::string::npos) << again.out;
  // The new key alone reads it.
  auto with_new = db_.open_datastore(clock_, DatastoreKeys({new_key}));
  auto stored =
      with_new->run_tx("read", [](Transaction& tx) { return tx.get_global_hpke_keypair(3); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->keypair.private_key, key.key_pair.private_key());
  EXPECT_EQ(rotate({"--batch-size", "0"}, rotating.get()).code, 2);
  EXPECT_EQ(rotate({"extra"}, rotating.get()).code, 2);
  EXPECT_EQ(rotate({}, nullptr).code, 2);
}

// The collector's mistakes are one-line usage errors (exit 2), before any request is sent; a
// leader nobody listens on is a failure (exit 1). Collecting itself is tested end to end by
// tests/e2e/upload_test.sh (E2E.RealClientUploadsToScriptsRun).
TEST_F(CliCommands, AddTaskprovPeerAggregatorAndItsMistakes) {
  const std::string config_file = ::testing::TempDir() + "collector-hpke-config.bin";
  {
    const Bytes encoded = encode_message(DapHpkeKeyPair::generate(3).config);
    std::ofstream(config_file, std::ios::binary)
        .write(reinterpret_cast<const char*>(encoded.data()),
               static_cast<std::streamsize>(encoded.size()));
  }
  const std::string key = base64url_encode(Bytes(32, 9));
  // The options, with `changes` replacing (or, with an empty value, removing) some of them.
  auto add = [&](std::map<std::string, std::string> changes, bool with_datastore = true) {
    std::map<std::string, std::string> options = {{"--peer-endpoint", "https://helper.example"},
                                                  {"--role", "helper"},
                                                  {"--verify-key-init", key},
                                                  {"--collector-hpke-config-file", config_file},
                                                  {"--tolerable-clock-skew-secs", "60"},
                                                  {"--aggregator-auth-token", "bearer:agg"},
                                                  {"--collector-auth-token", "dap:coll"}};
    for (const auto& [name, value] : changes) options[name] = value;
    std::vector<std::string> args;
    for (const auto& [name, value] : options) {
      if (name == "--dry-run") {
        args.push_back(name);
      } else if (!value.empty()) {
        args.push_back(name);
        args.push_back(value);
      }
    }
    std::ostringstream out, err;
    int code =
        add_taskprov_peer_aggregator(args, with_datastore ? datastore_.get() : nullptr, out, err);
    return Result{code, out.str(), err.str()};
  };
  auto peers = [&] {
    return datastore_->run_tx("read",
                              [](Transaction& tx) { return tx.get_taskprov_peer_aggregators(); });
  };
  EXPECT_EQ(add({{"--dry-run", ""}}).code, 0);
  EXPECT_TRUE(peers().empty());

  Result added = add({{"--report-expiry-age-secs", "3600"}});
  ASSERT_EQ(added.code, 0) << added.err;
  ASSERT_EQ(peers().size(), 1u);
  const TaskprovPeerAggregator peer = peers()[0];
  EXPECT_EQ(peer.endpoint, "https://helper.example/");
  EXPECT_EQ(peer.role, Role::Helper);
  EXPECT_EQ(peer.report_expiry_age, 3600u);
  EXPECT_EQ(peer.aggregator_auth_tokens.at(0), *AuthToken::create(AuthTokenType::Bearer, "agg"));
  EXPECT_EQ(peer.collector_auth_tokens.at(0), *AuthToken::create(AuthTokenType::DapAuth, "coll"));
  Result again = add({});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;

  // Usage mistakes exit 2 with one line naming the option; an unreadable file exits 1.
  for (const auto& [option, value] :
       std::vector<std::pair<std::string, std::string>>{{"--role", "collector"},
                                                        {"--verify-key-init", "AAAA"},
                                                        {"--aggregator-auth-token", "agg"},
                                                        {"--collector-auth-token", "basic:x"},
                                                        {"--tolerable-clock-skew-secs", "soon"},
                                                        {"--peer-endpoint", "ftp://x/"},
                                                        {"--aggregator-auth-token", ""}}) {
    Result result = add({{option, value}});
    EXPECT_EQ(result.code, 2) << option << ": " << result.err;
    EXPECT_NE(result.err.find(option), std::string::npos) << result.err;
  }
  EXPECT_EQ(add({{"--collector-hpke-config-file", "/nonexistent"}}).code, 1);
  EXPECT_EQ(add({}, /*with_datastore=*/false).code, 2);
  EXPECT_EQ(peers().size(), 1u);
}

TEST(CliCollect, UsageMistakesAndAnUnreachableLeader) {
  const DapHpkeKeyPair collector = DapHpkeKeyPair::generate(1);
  const std::string config = base64url_encode(encode_message(collector.config));
  const std::string private_key = base64url_encode(collector.key_pair.private_key());
  const std::vector<std::string> good = {"--task-id",
                                         TaskId::random().to_base64url(),
                                         "--leader",
                                         "http://127.0.0.1:1/",
                                         "--authorization-bearer-token",
                                         "token",
                                         "--hpke-config",
                                         config,
                                         "--hpke-private-key",
                                         private_key,
                                         "--batch-interval-start",
                                         "1700000000",
                                         "--batch-interval-duration",
                                         "3600"};
  auto run = [](std::vector<std::string> args) {
    std::ostringstream out, err;
    int code = collect(args, vdaf_registry(), out, err);
    return Result{code, out.str(), err.str()};
  };
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), good.begin(), good.end());
    return extra;
  };
  Result bad_vdaf = run(with({"--vdaf", "poplar2"}));
  EXPECT_EQ(bad_vdaf.code, 2);
  EXPECT_NE(bad_vdaf.err.find("--vdaf: expected count, sum, sumvec, histogram"), std::string::npos)
      << bad_vdaf.err;
  EXPECT_EQ(run(with({"--vdaf", "sum"})).code, 2);                             // no --bits
  EXPECT_EQ(run(with({"--vdaf", "fixedpoint32bitboundedl2vecsum"})).code, 2);  // no --length
  EXPECT_EQ(run(with({"--vdaf", "count", "--current-batch"})).code, 2);        // two queries
  EXPECT_EQ(run(with({"--vdaf", "count", "--dap-auth-token", "t"})).code, 2);  // two tokens
  Result bad_key = run({"--task-id", TaskId::random().to_base64url(), "--leader", "http://x/",
                        "--vdaf", "count", "--dap-auth-token", "t", "--hpke-config", config,
                        "--hpke-private-key", "!!", "--current-batch"});
  EXPECT_EQ(bad_key.code, 2);
  EXPECT_NE(bad_key.err.find("--hpke-private-key"), std::string::npos) << bad_key.err;
  Result unreachable = run(with({"--vdaf", "count"}));
  EXPECT_EQ(unreachable.code, 1);
  EXPECT_NE(unreachable.err.find("janus_cli collect: error:"), std::string::npos)
      << unreachable.err;
  // Janus's collect names for the fixed-point vector are taken (and get as far).
  EXPECT_EQ(run(with({"--vdaf", "fixedpoint16bitboundedl2vecsum", "--length", "3"})).code, 1);

  // Poplar1 needs its aggregation parameter, which the VDAF reads from JSON; the others take
  // none. Mistakes name the option and what is wrong.
  const std::vector<std::string> poplar1 = {"--vdaf", "poplar1", "--bits", "4"};
  auto poplar1_with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), poplar1.begin(), poplar1.end());
    return with(extra);
  };
  const std::vector<std::pair<std::string, std::string>> mistakes = {
      {"", "needs one"},
      {"{", "not JSON"},
      {R"({"level": 4, "prefixes": []})", "level must be an integer in 0..3"},
      {R"({"level": 1, "prefixes": ["001"]})", "2 '0'/'1' characters"},
      {R"({"level": 1, "prefixes": [4]})", "does not fit in 2 bits"},
      {R"({"level": 1, "prefixes": ["01", "00"]})", "strictly increasing"},
      {R"({"level": 1})", R"("prefixes")"}};
  for (const auto& [parameter, expected] : mistakes) {
    Result r = run(parameter.empty() ? poplar1_with({})
                                     : poplar1_with({"--aggregation-parameter", parameter}));
    EXPECT_EQ(r.code, 2) << parameter;
    EXPECT_NE(r.err.find("--aggregation-parameter: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << parameter << ": " << r.err;
  }
  EXPECT_EQ(run(poplar1_with({"--aggregation-parameter",
                              R"({"level": 1, "prefixes": ["00", 1, [true, false]]})"}))
                .code,
            1);  // a good parameter gets as far as the unreachable leader
  Result count_with_parameter =
      run(with({"--vdaf", "count", "--aggregation-parameter", R"({"level": 0})"}));
  EXPECT_EQ(count_with_parameter.code, 2);
  EXPECT_NE(count_with_parameter.err.find("Prio3Count takes no aggregation parameter"),
            std::string::npos)
      << count_with_parameter.err;
}

class CliJobCommands : public CliCommands {
 protected:
  Result list(int (*command)(const std::vector<std::string>&, Datastore*, std::ostream&,
                             std::ostream&),
              const std::vector<std::string>& args, bool with_datastore = true) {
    std::ostringstream out, err;
    int code = command(args, with_datastore ? datastore_.get() : nullptr, out, err);
    return {code, out.str(), err.str()};
  }
};

TEST_F(CliJobCommands, ListAggregationJobsAsATableAndAsJson) {
  ASSERT_EQ(provision({kSampleTasks}).code, 0);
  const TaskId task_id = *TaskId::from_base64url("G9YKXjoEjfoU7M_fi_o2H0wmzavRb2sBFHeykeRhDMk");
  AggregationJob first, second;
  for (AggregationJob* job : {&first, &second}) {
    job->task_id = task_id;
    job->aggregation_job_id = AggregationJobId::random();
    job->client_timestamp_interval = {1'700'000'000, 3600};
  }
  second.state = AggregationJobState::Finished;
  second.step = 1;
  datastore_->run_tx("put", [&](Transaction& tx) {
    tx.put_aggregation_job(first);
    tx.put_aggregation_job(second);
  });
  // The first one is leased (by a job driver) until now + 600 s.
  datastore_->run_tx("lease", [](Transaction& tx) {
    return tx.acquire_incomplete_aggregation_jobs(Duration{600}, 10);
  });

  Result table = list(list_aggregation_jobs, {"--task", task_id.to_base64url()});
  ASSERT_EQ(table.code, 0) << table.err;
  std::istringstream lines(table.out);
  std::string header, row1, row2, extra;
  std::getline(lines, header);
  std::getline(lines, row1);
  std::getline(lines, row2);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_EQ(header.rfind("AGGREGATION JOB", 0), 0u) << table.out;
  EXPECT_NE(header.find("LEASE EXPIRY"), std::string::npos);
  EXPECT_EQ(row1.rfind(first.aggregation_job_id.to_base64url(), 0), 0u) << table.out;
  EXPECT_NE(row1.find("InProgress"), std::string::npos);
  EXPECT_NE(row1.find("2023-11-14T22:23:20Z"), std::string::npos) << row1;  // lease expiry
  EXPECT_NE(row2.find("Finished"), std::string::npos);

  Result json = list(list_aggregation_jobs, {"--task", task_id.to_base64url(), "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  nlohmann::json jobs = nlohmann::json::parse(json.out);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0]["aggregation_job_id"], first.aggregation_job_id.to_base64url());
  EXPECT_EQ(jobs[0]["state"], "InProgress");
  EXPECT_EQ(jobs[0]["lease"]["expiry"], 1'700'000'600u);
  EXPECT_EQ(jobs[0]["lease"]["attempts"], 1u);
  EXPECT_EQ(jobs[0]["client_timestamp_interval"]["start"], 1'700'000'000u);
  EXPECT_EQ(jobs[1]["state"], "Finished");
  EXPECT_EQ(jobs[1]["step"], 1);
  EXPECT_TRUE(jobs[1]["lease"]["expiry"].is_null());

  Result one = list(list_aggregation_jobs, {"--task", task_id.to_base64url(), "--job",
                                            second.aggregation_job_id.to_base64url(), "--json"});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(nlohmann::json::parse(one.out).size(), 1u);

  Result missing = list(list_aggregation_jobs, {"--task", task_id.to_base64url(), "--job",
                                                AggregationJobId::random().to_base64url()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no aggregation job"), std::string::npos) << missing.err;
  Result no_task = list(list_aggregation_jobs, {"--task", TaskId::random().to_base64url()});
  EXPECT_EQ(no_task.code, 1);
  EXPECT_NE(no_task.err.find("no task"), std::string::npos) << no_task.err;
  EXPECT_EQ(list(list_aggregation_jobs, {}).code, 2);  // --task is required
  EXPECT_EQ(list(list_aggregation_jobs, {"--task", "!!"}).code, 2);
  EXPECT_EQ(list(list_aggregation_jobs, {"--task", task_id.to_base64url()}, false).code, 2);
}

TEST_F(CliJobCommands, ListCollectionJobsAsATableAndAsJson) {
  ASSERT_EQ(provision({kSampleTasks}).code, 0);
  const TaskId task_id = *TaskId::from_base64url("G9YKXjoEjfoU7M_fi_o2H0wmzavRb2sBFHeykeRhDMk");
  CollectionJob job;
  job.task_id = task_id;
  job.collection_job_id = CollectionJobId::random();
  job.query = {0};
  job.batch_identifier = Interval{1'699'999'200, 3600};
  job.state = CollectionJobState::Finished;
  job.report_count = 12;
  job.client_timestamp_interval = Interval{1'699'999'200, 3600};
  job.leader_aggregate_share = Bytes{1};
  job.helper_aggregate_share = Bytes{2};
  datastore_->run_tx("put", [&](Transaction& tx) { tx.put_collection_job(job); });

  Result table = list(list_collection_jobs, {"--task", task_id.to_base64url()});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("COLLECTION JOB", 0), 0u) << table.out;
  EXPECT_NE(table.out.find(job.collection_job_id.to_base64url()), std::string::npos);
  EXPECT_NE(table.out.find("2023-11-14T22:00:00Z+3600s"), std::string::npos) << table.out;

  Result json = list(list_collection_jobs, {"--json", "--task", task_id.to_base64url(), "--job",
                                            job.collection_job_id.to_base64url()});
  ASSERT_EQ(json.code, 0) << json.err;
  nlohmann::json jobs = nlohmann::json::parse(json.out);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["state"], "Finished");
  EXPECT_EQ(jobs[0]["report_count"], 12);
  EXPECT_EQ(jobs[0]["batch_identifier"]["interval"]["start"], 1'699'999'200u);
  EXPECT_EQ(jobs[0]["lease"]["attempts"], 0);
  EXPECT_EQ(list(list_collection_jobs, {"--task", task_id.to_base64url(), "--job",
                                        CollectionJobId::random().to_base64url()})
                .code,
            1);
}

TEST(CliCreateDatastoreKey, PrintsOrWritesAUsableKey) {
  auto run = [](const std::vector<std::string>& args) {
    std::ostringstream out, err;
    int code = create_datastore_key(args, out, err);
    return Result{code, out.str(), err.str()};
  };
  Result printed = run({});
  ASSERT_EQ(printed.code, 0) << printed.err;
  ASSERT_FALSE(printed.out.empty());
  const std::string key = printed.out.substr(0, printed.out.size() - 1);
  EXPECT_EQ(DatastoreKeys::parse(key).all().size(), 1u);  // a valid DATASTORE_KEYS entry
  EXPECT_NE(run({}).out, printed.out);                    // random each time

  const std::string path = scratch_file("unused", "") + ".key";
  Result written = run({"--out-file", path});
  ASSERT_EQ(written.code, 0) << written.err;
  EXPECT_EQ(written.out, "");
  std::ifstream in(path);
  std::string stored;
  std::getline(in, stored);
  EXPECT_EQ(DatastoreKeys::parse(stored).all().size(), 1u);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // Never over an existing file.
  Result again = run({"--out-file", path});
  EXPECT_EQ(again.code, 1);
  std::ifstream in_again(path);
  std::string still;
  std::getline(in_again, still);
  EXPECT_EQ(still, stored);

  Result dry = run({"--dry-run"});
  EXPECT_EQ(dry.code, 0);
  EXPECT_EQ(dry.out, "");
  EXPECT_EQ(run({"extra"}).code, 2);
}

}  // namespace
}  // namespace janus::cli
