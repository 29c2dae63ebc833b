// The garbage collector against a real PostgreSQL database: its config as Janus writes it,
// what a run deletes (only expired rows of tasks with report_expiry_age), its per-run
// limits, and its bound on concurrent transactions.
#include "garbage_collector.h"

#include <gtest/gtest.h>

#include "janus/testing/test_database.h"

namespace janus::garbage_collector {
namespace {

constexpr Time kNow = 1'700'000'000;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(GarbageCollectionConfig, JanusKeysDefaultsAndErrors) {
  GarbageCollectorConfig config = parse_garbage_collection(
      YAML::Load("gc_frequency_s: 60\nreport_limit: 5000\naggregation_limit: 500\n"
                 "collection_limit: 50\n"),
      "gc.yaml", "garbage_collection");
  EXPECT_EQ(config.gc_frequency, std::chrono::seconds(60));
  EXPECT_EQ(config.report_limit, 5000u);
  EXPECT_EQ(config.aggregation_limit, 500u);
  EXPECT_EQ(config.collection_limit, 50u);
  EXPECT_EQ(config.tasks_per_tx, 1u);
  EXPECT_FALSE(config.concurrent_tx_limit);

  config = parse_garbage_collection(
      YAML::Load("gc_frequency_s: 5\nreport_limit: 1\naggregation_limit: 2\n"
                 "collection_limit: 3\ntasks_per_tx: 15\nconcurrent_tx_limit: 4\n"),
      "gc.yaml", "garbage_collection");
  EXPECT_EQ(config.tasks_per_tx, 15u);
  EXPECT_EQ(config.concurrent_tx_limit, 4u);
  config = parse_garbage_collection(
      YAML::Load("gc_frequency_s: 5\nreport_limit: 1\naggregation_limit: 2\n"
                 "collection_limit: 3\nconcurrent_tx_limit: null\n"),
      "gc.yaml", "garbage_collection");
  EXPECT_FALSE(config.concurrent_tx_limit);

  EXPECT_EQ(error_of([] {
              parse_garbage_collection(YAML::Load("gc_frequency_s: 60\nreport_limit: 1\n"
                                                  "aggregation_limit: 1\n"),
                                       "gc.yaml", "garbage_collection");
            }),
            "gc.yaml:1: missing required key 'garbage_collection.collection_limit'");
  EXPECT_EQ(error_of([] {
              parse_garbage_collection(
                  YAML::Load("gc_frequency_s: 60\nreport_limit: 1\naggregation_limit: 1\n"
                             "collection_limit: 1\nbogus: 2\n"),
                  "gc.yaml", "garbage_collection");
            }),
            "gc.yaml:5: unknown key 'garbage_collection.bogus'");
  EXPECT_NE(error_of([] {
              parse_garbage_collection(
                  YAML::Load("gc_frequency_s: 0\nreport_limit: 1\naggregation_limit: 1\n"
                             "collection_limit: 1\n"),
                  "gc.yaml", "garbage_collection");
            }).find("must be greater than 0"),
            std::string::npos);
}

class GarbageCollectorTest : public ::testing::Test {
 protected:
  AggregatorTask put_task(std::optional<Duration> report_expiry_age) {
    AggregatorTask task;
    task.task_id = TaskId::random();
    task.peer_aggregator_endpoint = "https://helper.example/";
    task.vdaf = {"Prio3Count", nlohmann::json::object()};
    task.role = Role::Leader;
    task.vdaf_verify_key = Bytes(16, 7);
    task.time_precision = 3600;
    task.min_batch_size = 1;
    task.report_expiry_age = report_expiry_age;
    task.aggregator_auth_token = AuthToken::generate(AuthTokenType::Bearer);
    datastore->run_tx("put_task", [&](Transaction& tx) { tx.put_aggregator_task(task); });
    return task;
  }
  // `count` reports at `time`, one aggregation job over them and the batch they are in.
  void put_rows(const AggregatorTask& task, Time time, int count) {
    std::vector<LeaderStoredReport> reports;
    for (int i = 0; i < count; ++i) {
      LeaderStoredReport report;
      report.task_id = task.task_id;
      report.report_id = ReportId::random();
      report.client_timestamp = time;
      report.leader_input_share = Bytes(8, 1);
      report.helper_encrypted_input_share = Bytes(8, 2);
      reports.push_back(report);
    }
    AggregationJob job;
    job.task_id = task.task_id;
    job.aggregation_job_id = AggregationJobId::random();
    job.client_timestamp_interval = {time, 1};
    BatchAggregation batch;
    batch.task_id = task.task_id;
    batch.batch_identifier = Interval{time - time % 3600, 3600};
    batch.checksum = Bytes(32, 0);
    batch.client_timestamp_interval = {time, 1};
    datastore->run_tx("put_rows", [&](Transaction& tx) {
      tx.put_client_reports(reports);
      tx.put_aggregation_job(job);
      tx.put_batch_aggregation(batch);
    });
  }
  std::string count(const std::string& table) { return db.query("SELECT count(*) FROM " + table); }

  testing::TestDatabase db;
  MockClock clock{kNow};
  std::unique_ptr<Datastore> datastore = db.open_datastore(clock);
};

TEST_F(GarbageCollectorTest, DeletesExpiredRowsOfTasksWithAnExpiryAgeOnly) {
  const AggregatorTask expiring = put_task(7200);
  const AggregatorTask forever = put_task(std::nullopt);
  put_rows(expiring, kNow - 4 * 3600, 3);  // expired
  put_rows(expiring, kNow - 3600, 2);      // within the expiry age
  put_rows(forever, kNow - 100 * 3600, 4);

  GarbageCollectorConfig config;
  GarbageCollector collector(config, *datastore, nullptr);
  Deleted deleted = collector.run_once();
  EXPECT_EQ(deleted.client_reports, 3u);
  EXPECT_EQ(deleted.aggregation_jobs, 1u);
  EXPECT_EQ(deleted.batches, 1u);
  EXPECT_EQ(count("client_reports"), "6");
  EXPECT_EQ(count("aggregation_jobs"), "2");
  EXPECT_EQ(count("batch_aggregations"), "2");
  EXPECT_EQ(collector.run_once().client_reports, 0u);

  // Time passes: the rows that were live expire too; the other task's never do.
  clock.advance(2 * 3600);
  deleted = collector.run_once();
  EXPECT_EQ(deleted.client_reports, 2u);
  EXPECT_EQ(deleted.aggregation_jobs, 1u);
  EXPECT_EQ(deleted.batches, 1u);
  EXPECT_EQ(count("client_reports"), "4");
  EXPECT_EQ(db.query("SELECT count(*) FROM client_reports WHERE task_id = "
                     "(SELECT id FROM tasks WHERE task_id = '\\x" +
                     hex_encode(forever.task_id.span()) + "')"),
            "4");
}

TEST_F(GarbageCollectorTest, EachRunDeletesAtMostItsLimitsPerTask) {
  const AggregatorTask a = put_task(3600), b = put_task(3600);
  for (int i = 0; i < 3; ++i) {
    put_rows(a, kNow - 10 * 3600 + static_cast<Time>(i) * 3600, 4);
    put_rows(b, kNow - 10 * 3600 + static_cast<Time>(i) * 3600, 4);
  }
  GarbageCollectorConfig config;
  config.report_limit = 5;
  config.aggregation_limit = 2;
  config.collection_limit = 1;
  config.tasks_per_tx = 2;  // both tasks in one transaction: the limits are per task
  GarbageCollector collector(config, *datastore, nullptr);
  Deleted deleted = collector.run_once();
  EXPECT_EQ(deleted.client_reports, 10u);
  EXPECT_EQ(deleted.aggregation_jobs, 4u);
  EXPECT_EQ(deleted.batches, 2u);
  deleted = collector.run_once();
  EXPECT_EQ(deleted.client_reports, 10u);
  EXPECT_EQ(deleted.aggregation_jobs, 2u);
  EXPECT_EQ(deleted.batches, 2u);
  deleted = collector.run_once();
  EXPECT_EQ(deleted.client_reports, 4u);
  EXPECT_EQ(deleted.aggregation_jobs, 0u);
  EXPECT_EQ(deleted.batches, 2u);
  EXPECT_EQ(count("client_reports"), "0");
  EXPECT_EQ(count("aggregation_jobs"), "0");
  EXPECT_EQ(count("batch_aggregations"), "0");
}

TEST_F(GarbageCollectorTest, ConcurrentTransactionsStayWithinTheLimit) {
  for (int i = 0; i < 6; ++i) put_rows(put_task(3600), kNow - 5 * 3600, 2);
  GarbageCollectorConfig config;
  config.concurrent_tx_limit = 1;
  GarbageCollector serial(config, *datastore, nullptr);
  EXPECT_EQ(serial.run_once().client_reports, 12u);
  EXPECT_EQ(serial.max_concurrent_transactions_seen(), 1u);
  EXPECT_EQ(count("client_reports"), "0");
}

}  // namespace
}  // namespace janus::garbage_collector
