// The real `janus aggregation_job_creator|aggregation_job_driver --config-file F` with
// Janus 0.7's own sample files (only addresses, the database URL and the placeholder TLS
// trust store path changed): each starts, serves /healthz and stops cleanly on SIGTERM.
// The creator, started over a database holding two real client reports of a long-closed
// batch, writes their aggregation job in its first pass. And the whole leader path between
// real processes: creator + driver in a native host against `janus aggregator` as helper.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "janus/codec.h"
#include "janus/datastore.h"
#include "janus/datastore/keys.h"
#include "janus/messages.h"
#include "janus/testing/test_database.h"
#include "process.h"
#include "real_client_task.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

struct Case {
  std::string component, dir;
};

class JobsSampleConfig : public ::testing::TestWithParam<Case> {};

TEST_P(JobsSampleConfig, StartsAndStops) {
  const Case& c = GetParam();
  TestDatabase db;
  const std::uint16_t health = free_port(), metrics = free_port();
  const std::string text = runnable_sample_config(c.dir, c.component, db.url(), health, metrics);
  const std::string config = write_file(c.dir + "-" + c.component + ".yaml", text);

  // A leader task with the real client's two Count reports, from 2024: their batch is
  // closed, so the creator's first pass makes one job of them although min is 10.
  RealClock clock;
  auto key = DatastoreKeys::generate_key();
  const std::string datastore_keys = base64url_encode(ByteSpan(key.data(), key.size()));
  auto datastore = db.open_datastore(clock, DatastoreKeys::parse(datastore_keys));
  const nlohmann::json doc = real_client_reports_document();
  AggregatorTask task = real_client_count_leader_task(doc);
  task.peer_aggregator_endpoint = "http://127.0.0.1:9/";
  datastore->run_tx("provision", [&](Transaction& tx) {
    tx.put_aggregator_task(task);
    for (const nlohmann::json& record : doc.at("cases").at(0).at("reports")) {
      Report report = decode_message<Report>(hex_field(record, "report"));
      tx.put_client_report(LeaderStoredReport{
          task.task_id, report.metadata.id, report.metadata.time, Bytes{0, 0}, report.public_share,
          Bytes{1}, encode_message(report.helper_encrypted_input_share)});
    }
  });

  Process janus(JANUS_EXECUTABLE, {c.component, "--config-file", config},
                {{"DATASTORE_KEYS", datastore_keys}, {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  if (c.component == "aggregation_job_creator") {
    EXPECT_TRUE(eventually(
        [&] {
          return datastore
                     ->run_tx("jobs",
                              [&](Transaction& tx) {
                                return tx.get_aggregation_jobs_for_task(task.task_id);
                              })
                     .size() == 1;
        },
        30s))
        << janus.stdout_text();
  }

  EXPECT_TRUE(stops_cleanly(janus));
}

INSTANTIATE_TEST_SUITE_P(Janus07, JobsSampleConfig,
                         ::testing::Values(Case{"aggregation_job_creator", "basic_config"},
                                           Case{"aggregation_job_creator", "advanced_config"},
                                           Case{"aggregation_job_driver", "basic_config"},
                                           Case{"aggregation_job_driver", "advanced_config"},
                                           Case{"aggregation_job_creator", "config"},
                                           Case{"aggregation_job_driver", "config"}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.component + "_" + info.param.dir;
                         });

std::string metrics_on(std::uint16_t port) {
  return "metrics_config:\n  exporter:\n    prometheus:\n      host: 127.0.0.1\n      port: " +
         std::to_string(port) + "\n";
}

std::string new_datastore_keys() {
  auto key = DatastoreKeys::generate_key();
  return base64url_encode(ByteSpan(key.data(), key.size()));
}

// Two real processes, each with its own database: `janus aggregator` as the helper, and a
// native host running prio3 + job_creator + job_driver as the leader. The real client's
// Count reports stored on the leader end up aggregated on both sides.
TEST(JobsProcess, LeaderProcessesAggregateRealReportsWithAHelperProcess) {
  TestDatabase leader_db, helper_db;
  RealClock clock;
  const std::string leader_keys = new_datastore_keys(), helper_keys = new_datastore_keys();
  auto leader_store = leader_db.open_datastore(clock, DatastoreKeys::parse(leader_keys));
  auto helper_store = helper_db.open_datastore(clock, DatastoreKeys::parse(helper_keys));
  const nlohmann::json doc = real_client_reports_document();
  const nlohmann::json& reports = doc.at("cases").at(0).at("reports");
  ASSERT_EQ(doc.at("cases").at(0).at("vdaf"), "count");

  const std::uint16_t helper_port = free_port(), helper_health = free_port(),
                      leader_health = free_port();
  const AuthToken token = AuthToken::generate(AuthTokenType::Bearer);
  AggregatorTask task;
  task.task_id = *TaskId::from_bytes(hex_field(doc, "task_id_hex"));
  task.vdaf = {"Prio3Count", nlohmann::json::object()};
  task.vdaf_verify_key = hex_field(doc, "vdaf_verify_key");
  task.time_precision = doc.at("time_precision").get<Duration>();
  task.tolerable_clock_skew = 60;
  AggregatorTask helper_task = task;
  helper_task.role = Role::Helper;
  helper_task.peer_aggregator_endpoint = "https://leader.example/";
  const nlohmann::json& helper_hpke = doc.at("hpke").at("helper");
  HpkeConfigList helper_list =
      decode_message<HpkeConfigList>(hex_field(helper_hpke, "hpke_config_list"));
  helper_task.hpke_keys = {StoredHpkeKeypair{helper_list.configs.at(0).id,
                                             encode_message(helper_list.configs.at(0)),
                                             hex_field(helper_hpke, "private_key")}};
  helper_task.aggregator_auth_token_hash = token.hash();
  helper_store->run_tx("provision", [&](Transaction& tx) { tx.put_aggregator_task(helper_task); });
  AggregatorTask leader_task = task;
  leader_task.role = Role::Leader;
  leader_task.peer_aggregator_endpoint = "http://127.0.0.1:" + std::to_string(helper_port) + "/";
  leader_task.aggregator_auth_token = token;
  leader_store->run_tx("provision", [&](Transaction& tx) {
    tx.put_aggregator_task(leader_task);
    for (const nlohmann::json& record : reports) {
      Report report = decode_message<Report>(hex_field(record, "report"));
      PlaintextInputShare leader_share =
          decode_message<PlaintextInputShare>(hex_field(record, "leader_plaintext_input_share"));
      ASSERT_TRUE(leader_share.extensions.empty());
      tx.put_client_report(LeaderStoredReport{
          task.task_id, report.metadata.id, report.metadata.time, Bytes{0, 0}, report.public_share,
          leader_share.payload, encode_message(report.helper_encrypted_input_share)});
    }
  });

  const std::string helper_config = write_file(
      "jobs-helper.yaml",
      "database:\n  url: " + helper_db.url() +
          "\nhealth_check_listen_address: 127.0.0.1:" + std::to_string(helper_health) + "\n" +
          metrics_on(free_port()) + "listen_address: 127.0.0.1:" + std::to_string(helper_port) +
          "\nmax_upload_batch_size: 10\nmax_upload_batch_write_delay_ms: 10\n"
          "batch_aggregation_shard_count: 4\n");
  const std::string leader_config = write_file(
      "jobs-leader.yaml",
      "database:\n  url: " + leader_db.url() + "\nhealth_check_listen_address: 127.0.0.1:" +
          std::to_string(leader_health) + "\n" + metrics_on(free_port()) +
          "plugins:\n  - plugin: prio3\n  - plugin: job_creator\n    config:\n"
          "      batch_aggregation_shard_count: 4\n      tasks_update_frequency_s: 1\n"
          "      aggregation_job_creation_interval_s: 1\n      min_aggregation_job_size: 1\n"
          "      max_aggregation_job_size: 10\n"
          "  - plugin: job_driver\n    config:\n      job_discovery_interval_s: 1\n"
          "      max_concurrent_job_workers: 2\n      worker_lease_duration_s: 600\n"
          "      worker_lease_clock_skew_allowance_s: 60\n"
          "      maximum_attempts_before_failure: 3\n      batch_aggregation_shard_count: 4\n");
  Process helper(JANUS_EXECUTABLE, {"aggregator", "--config-file", helper_config},
                 {{"DATASTORE_KEYS", helper_keys}});
  ASSERT_TRUE(eventually([&] { return http(helper_health, "GET", "/healthz").status == 200; }, 30s))
      << helper.stderr_text() << helper.stdout_text();
  Process leader(JANUS_EXECUTABLE, {"--config-file", leader_config},
                 {{"DATASTORE_KEYS", leader_keys}});

  auto report_count = [](Datastore& datastore, const TaskId& task_id, Interval batch) {
    return datastore.run_tx("count", [&](Transaction& tx) {
      std::uint64_t count = 0;
      for (const BatchAggregation& ba : tx.get_batch_aggregations_for_batch(task_id, batch, {})) {
        count += ba.report_count;
      }
      return count;
    });
  };
  const Time time = reports.at(0).at("report_time").get<Time>();
  const Interval batch{time / task.time_precision * task.time_precision, task.time_precision};
  EXPECT_TRUE(eventually(
      [&] { return report_count(*leader_store, task.task_id, batch) == reports.size(); }, 60s))
      << leader.stderr_text() << leader.stdout_text();
  EXPECT_EQ(report_count(*helper_store, task.task_id, batch), reports.size());
  auto jobs = leader_store->run_tx(
      "jobs", [&](Transaction& tx) { return tx.get_aggregation_jobs_for_task(task.task_id); });
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].state, AggregationJobState::Finished);

  for (Process* process : {&leader, &helper}) {
    EXPECT_TRUE(stops_cleanly(*process));
  }
}

}  // namespace
}  // namespace janus::testing
