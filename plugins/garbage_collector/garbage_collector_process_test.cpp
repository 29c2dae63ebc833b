// The real `janus garbage_collector --config-file F` with each of Janus 0.7's own sample
// garbage_collector.yaml files (only addresses, the database URL and the placeholder TLS
// trust store path changed), and the real `janus aggregator` with the advanced sample,
// whose `garbage_collection:` section runs the collector beside the DAP API: expired rows
// go, live ones and those of tasks without report_expiry_age stay, and the process stops
// cleanly.
#include <signal.h>

#include <gtest/gtest.h>

#include "janus/codec.h"
#include "janus/datastore.h"
#include "janus/datastore/keys.h"
#include "janus/testing/test_database.h"
#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

struct Seeded {
  std::string datastore_keys;
  std::unique_ptr<Datastore> datastore;
  TaskId expiring, forever;
};

// Two tasks, one with report_expiry_age 1 h and one without, each with 5 reports and an
// aggregation job 5 hours old and 3 reports and a job from a minute ago.
Seeded seed(TestDatabase& db, const Clock& clock) {
  Seeded seeded;
  auto key = DatastoreKeys::generate_key();
  seeded.datastore_keys = base64url_encode(ByteSpan(key.data(), key.size()));
  seeded.datastore = db.open_datastore(clock, DatastoreKeys::parse(seeded.datastore_keys));
  const Time now = clock.now();
  for (bool expiring : {true, false}) {
    AggregatorTask task;
    task.task_id = TaskId::random();
    task.peer_aggregator_endpoint = "https://helper.example/";
    task.vdaf = {"Prio3Count", nlohmann::json::object()};
    task.role = Role::Leader;
    task.vdaf_verify_key = Bytes(16, 7);
    task.time_precision = 3600;
    task.min_batch_size = 1;
    task.aggregator_auth_token = AuthToken::generate(AuthTokenType::Bearer);
    if (expiring) task.report_expiry_age = 3600;
    (expiring ? seeded.expiring : seeded.forever) = task.task_id;
    std::vector<LeaderStoredReport> reports;
    std::vector<AggregationJob> jobs;
    for (auto [age, count] : {std::pair<Time, int>{5 * 3600, 5}, {60, 3}}) {
      for (int i = 0; i < count; ++i) {
        LeaderStoredReport report;
        report.task_id = task.task_id;
        report.report_id = ReportId::random();
        report.client_timestamp = now - age;
        report.leader_input_share = Bytes(8, 1);
        report.helper_encrypted_input_share = Bytes(8, 2);
        reports.push_back(report);
      }
      AggregationJob job;
      job.task_id = task.task_id;
      job.aggregation_job_id = AggregationJobId::random();
      job.client_timestamp_interval = {now - age, 1};
      jobs.push_back(job);
    }
    seeded.datastore->run_tx("seed", [&](Transaction& tx) {
      tx.put_aggregator_task(task);
      tx.put_client_reports(reports);
      for (const AggregationJob& job : jobs) tx.put_aggregation_job(job);
    });
  }
  return seeded;
}

std::string rows_of(TestDatabase& db, const std::string& table, const TaskId& task_id) {
  return db.query("SELECT count(*) FROM " + table +
                  " WHERE task_id = (SELECT id FROM tasks WHERE task_id = '\\x" +
                  hex_encode(task_id.span()) + "')");
}

void expect_collected(TestDatabase& db, const Seeded& seeded, Process& janus) {
  EXPECT_TRUE(
      eventually([&] { return rows_of(db, "client_reports", seeded.expiring) == "3"; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  EXPECT_TRUE(
      eventually([&] { return rows_of(db, "aggregation_jobs", seeded.expiring) == "1"; }, 30s));
  EXPECT_EQ(rows_of(db, "client_reports", seeded.forever), "8");
  EXPECT_EQ(rows_of(db, "aggregation_jobs", seeded.forever), "2");
}

class SampleConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(SampleConfig, CollectsExpiredRowsAndStops) {
  TestDatabase db;
  RealClock clock;
  Seeded seeded = seed(db, clock);
  const std::uint16_t health = free_port(), metrics = free_port();
  const std::string config = write_file(
      GetParam() + "-garbage_collector.yaml",
      runnable_sample_config(GetParam(), "garbage_collector", db.url(), health, metrics));
  Process janus(JANUS_EXECUTABLE, {"garbage_collector", "--config-file", config},
                {{"DATASTORE_KEYS", seeded.datastore_keys}, {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  expect_collected(db, seeded, janus);
  if (GetParam() == "advanced_config") {
    EXPECT_TRUE(eventually([&] {
      return http(metrics, "GET", "/metrics").body.find("janus_gc_deleted_reports 5") !=
             std::string::npos;
    })) << http(metrics, "GET", "/metrics").body;
  }

  EXPECT_TRUE(stops_cleanly(janus));
}

INSTANTIATE_TEST_SUITE_P(Janus07, SampleConfig,
                         ::testing::Values("basic_config", "advanced_config"));

TEST(GarbageCollectorProcess, RunsInsideTheAggregator) {
  TestDatabase db;
  RealClock clock;
  Seeded seeded = seed(db, clock);
  const std::uint16_t health = free_port(), port = free_port(), metrics = free_port();
  const std::string config = write_file(
      "advanced-aggregator.yaml",
      runnable_sample_config("advanced_config", "aggregator", db.url(), health, metrics, port));
  Process janus(JANUS_EXECUTABLE, {"aggregator", "--config-file", config},
                {{"DATASTORE_KEYS", seeded.datastore_keys}, {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  expect_collected(db, seeded, janus);
  EXPECT_EQ(janus.stdout_text().find("'garbage_collection' is accepted"), std::string::npos);

  EXPECT_TRUE(stops_cleanly(janus));
}

}  // namespace
}  // namespace janus::testing
