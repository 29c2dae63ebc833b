// Taskprov end to end with real processes: a leader (aggregator, job creator, job driver,
// collection driver) and a helper, each on its own database, with taskprov enabled and the
// other one added as a peer by the real `janus_cli add-taskprov-peer-aggregator`. A client
// advertises a task neither has seen; the leader opts in on upload, the helper on the first
// aggregation job, and `janus_cli collect` gets the exact sum.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "janus/client_report.h"
#include "janus/codec.h"
#include "janus/datastore.h"
#include "janus/datastore/keys.h"
#include "janus/hpke.h"
#include "janus/http_client.h"
#include "janus/messages.h"
#include "janus/taskprov.h"
#include "janus/testing/test_database.h"
#include "prio3.h"
#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

std::string port_url(std::uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port) + "/";
}

std::string new_datastore_keys() {
  auto key = DatastoreKeys::generate_key();
  return base64url_encode(ByteSpan(key.data(), key.size()));
}

// An ACTIVE global HPKE key: taskprov clients encrypt to those.
void add_global_key(Datastore& datastore, HpkeConfigId id) {
  const DapHpkeKeyPair key = DapHpkeKeyPair::generate(id);
  datastore.run_tx("global_key", [&](Transaction& tx) {
    tx.put_global_hpke_keypair(
        StoredHpkeKeypair{id, encode_message(key.config), key.key_pair.private_key()});
    tx.set_global_hpke_keypair_state(id, HpkeKeyState::Active);
  });
}

ExitStatus run_cli(const std::vector<std::string>& args, const std::string& keys,
                   const std::map<std::string, std::string>& extra_env, std::string* output) {
  std::map<std::string, std::string> env = extra_env;
  env["DATASTORE_KEYS"] = keys;
  std::vector<std::string> argv = {"janus_cli"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process cli(JANUS_EXECUTABLE, argv, env);
  ExitStatus status = cli.wait(60s);
  if (output) *output = cli.stdout_text() + cli.stderr_text();
  return status;
}

TEST(TaskprovProcess, AClientAdvertisedTaskIsAggregatedAndCollectedExactly) {
  TestDatabase leader_db, helper_db;
  RealClock clock;
  const std::string leader_keys = new_datastore_keys(), helper_keys = new_datastore_keys();
  auto leader_store = leader_db.open_datastore(clock, DatastoreKeys::parse(leader_keys));
  auto helper_store = helper_db.open_datastore(clock, DatastoreKeys::parse(helper_keys));
  add_global_key(*leader_store, 1);
  add_global_key(*helper_store, 2);
  const std::uint16_t leader_port = free_port(), helper_port = free_port(),
                      leader_health = free_port(), helper_health = free_port();
  const std::string leader_url = port_url(leader_port), helper_url = port_url(helper_port);

  // Both peers, through the real CLI, with Janus's flags and environment variables.
  const DapHpkeKeyPair collector = DapHpkeKeyPair::generate(7);
  const std::string collector_config_file = write_file("collector-hpke-config.bin", [&] {
    Bytes encoded = encode_message(collector.config);
    return std::string(encoded.begin(), encoded.end());
  }());
  const std::string verify_key_init = base64url_encode(Bytes(32, 0x61));
  const std::string aggregator_token = "bearer:" + TaskId::random().to_base64url();
  const std::string collector_token = TaskId::random().to_base64url();
  auto cli_config = [&](const TestDatabase& db, const std::string& name) {
    return write_file(name, "database:\n  url: " + db.url() + "\n");
  };
  const std::map<std::string, std::string> secrets = {{"VERIFY_KEY_INIT", verify_key_init},
                                                      {"AGGREGATOR_AUTH_TOKEN", aggregator_token}};
  std::string output;
  ExitStatus added = run_cli(
      {"add-taskprov-peer-aggregator", "--peer-endpoint", helper_url, "--role", "helper",
       "--collector-hpke-config-file", collector_config_file, "--tolerable-clock-skew-secs", "60",
       "--report-expiry-age-secs", "86400", "--collector-auth-token", "bearer:" + collector_token,
       "--config-file", cli_config(leader_db, "leader-cli.yaml")},
      leader_keys, secrets, &output);
  ASSERT_TRUE(added.exited && added.exit_code == 0) << output;
  // The helper's peer is the leader; the same peer a second time is refused with one line.
  auto add_leader_peer_to_helper = [&] {
    return run_cli(
        {"add-taskprov-peer-aggregator", "--peer-endpoint", leader_url, "--role", "leader",
         "--collector-hpke-config-file", collector_config_file, "--tolerable-clock-skew-secs", "60",
         "--config-file", cli_config(helper_db, "helper-cli.yaml")},
        helper_keys, secrets, &output);
  };
  added = add_leader_peer_to_helper();
  ASSERT_TRUE(added.exited && added.exit_code == 0) << output;
  added = add_leader_peer_to_helper();
  EXPECT_EQ(added.exit_code, 1) << output;
  EXPECT_NE(output.find("already exists"), std::string::npos) << output;

  const std::string aggregator =
      "  - plugin: prio3\n"
      "  - plugin: aggregator\n    config:\n      listen_address: 127.0.0.1:PORT\n"
      "      max_upload_batch_size: 10\n      max_upload_batch_write_delay_ms: 10\n"
      "      batch_aggregation_shard_count: 4\n      taskprov_config: {enabled: true}\n";
  const std::string driver =
      "      job_discovery_interval_s: 1\n      max_concurrent_job_workers: 2\n"
      "      worker_lease_duration_s: 60\n      worker_lease_clock_skew_allowance_s: 10\n"
      "      maximum_attempts_before_failure: 5\n      batch_aggregation_shard_count: 4\n";
  auto host_config = [&](const TestDatabase& db, std::uint16_t port, std::uint16_t health) {
    std::string text = "database:\n  url: " + db.url() +
                       "\nhealth_check_listen_address: 127.0.0.1:" + std::to_string(health) +
                       "\nplugins:\n" + aggregator;
    replace_all(text, "PORT", std::to_string(port));
    return text;
  };
  const std::string leader_config =
      host_config(leader_db, leader_port, leader_health) +
      "  - plugin: job_creator\n    config:\n      batch_aggregation_shard_count: 4\n"
      "      tasks_update_frequency_s: 1\n      aggregation_job_creation_interval_s: 1\n"
      "      min_aggregation_job_size: 1\n      max_aggregation_job_size: 100\n"
      "  - plugin: job_driver\n    config:\n" +
      driver + "  - plugin: collection_driver\n    config:\n" + driver +
      "      min_collection_job_retry_delay_s: 1\n      max_collection_job_retry_delay_s: 2\n";
  Process leader(JANUS_EXECUTABLE, {"--config-file", write_file("tp-leader.yaml", leader_config)},
                 {{"DATASTORE_KEYS", leader_keys}});
  Process helper(JANUS_EXECUTABLE,
                 {"--config-file",
                  write_file("tp-helper.yaml", host_config(helper_db, helper_port, helper_health))},
                 {{"DATASTORE_KEYS", helper_keys}});
  for (auto [process, health] : {std::pair{&leader, leader_health}, {&helper, helper_health}}) {
    ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 60s))
        << process->stderr_text() << process->stdout_text();
  }

  // The client: a task neither aggregator knows, advertised in every upload.
  const Time now = clock.now();
  const taskprov::TaskConfig config = taskprov::TaskConfig::make(
      Bytes{'e', '2', 'e'}, leader_url, helper_url,
      taskprov::QueryConfig{.time_precision = 60, .max_batch_query_count = 1, .min_batch_size = 5},
      now + 86400,
      taskprov::VdafConfig{.dp_config = {1}, .type = taskprov::VdafTypeCode::Prio3Count});
  const Bytes encoded = encode_message(config);
  const TaskId task_id = taskprov::task_id_of(encoded);
  HttpClient client;
  auto hpke_config = [&](const std::string& url) {
    HttpClientResponse response =
        client.send(HttpMethod::Get, url + "hpke_config?task_id=" + task_id.to_base64url(), {});
    EXPECT_EQ(response.status, 200);
    return decode_message<HpkeConfigList>(response.body).configs.at(0);
  };
  const HpkeConfig leader_hpke = hpke_config(leader_url), helper_hpke = hpke_config(helper_url);
  auto vdaf = prio3::make_prio3(VdafDescription{"Prio3Count"});
  const Time report_time = (now - 120) / 60 * 60;
  int expected = 0;
  for (int i = 0; i < 8; ++i) {
    const int measurement = i % 3 == 0 ? 0 : 1;
    expected += measurement;
    HttpHeaders headers;
    headers.add("Content-Type", "application/dap-report");
    headers.add(std::string(taskprov::kHeader), taskprov::header_value(encoded));
    const Report report =
        make_client_report(task_id, *vdaf, nlohmann::json(measurement == 1), report_time,
                           leader_hpke, helper_hpke, {{ExtensionType::Taskprov, {}}});
    HttpClientResponse response =
        client.send(HttpMethod::Put, leader_url + "tasks/" + task_id.to_base64url() + "/reports",
                    headers, encode_message(report));
    ASSERT_EQ(response.status, 200)
        << std::string(response.body.begin(), response.body.end()) << leader.stderr_text();
  }

  // The collector: the leader's task exists now; the helper opts in on the first job.
  const std::string interval_start = std::to_string(report_time);
  ExitStatus collected =
      run_cli({"collect", "--task-id", task_id.to_base64url(), "--leader", leader_url, "--vdaf",
               "count", "--authorization-bearer-token", collector_token, "--hpke-config",
               base64url_encode(encode_message(collector.config)), "--hpke-private-key",
               base64url_encode(collector.key_pair.private_key()), "--batch-interval-start",
               interval_start, "--batch-interval-duration", "60", "--timeout", "120"},
              leader_keys, {}, &output);
  EXPECT_TRUE(collected.exited && collected.exit_code == 0)
      << output << leader.stderr_text() << helper.stderr_text();
  EXPECT_NE(output.find("Number of reports: 8"), std::string::npos) << output;
  EXPECT_NE(output.find("Aggregation result: " + std::to_string(expected)), std::string::npos)
      << output;

  // Both sides stored the task as the advertised bytes, with the same derived verify key.
  auto stored = [&](Datastore& datastore) {
    return datastore.run_tx("read",
                            [&](Transaction& tx) { return tx.get_aggregator_task(task_id); });
  };
  std::optional<AggregatorTask> leader_task = stored(*leader_store),
                                helper_task = stored(*helper_store);
  ASSERT_TRUE(leader_task && helper_task);
  EXPECT_EQ(leader_task->role, Role::Leader);
  EXPECT_EQ(helper_task->role, Role::Helper);
  EXPECT_EQ(leader_task->taskprov_task_config, encoded);
  EXPECT_EQ(helper_task->taskprov_task_config, encoded);
  EXPECT_EQ(leader_task->vdaf_verify_key, helper_task->vdaf_verify_key);

  for (Process* process : {&leader, &helper}) {
    EXPECT_TRUE(stops_cleanly(*process));
  }
}

}  // namespace
}  // namespace janus::testing
