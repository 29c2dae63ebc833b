// The job creator against a real PostgreSQL database: N reports in → the expected jobs
// out, each report in exactly one job, reports scrubbed, jobs counted in the batches.
#include "job_creator.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "janus/testing/test_database.h"

namespace janus::job_creator {
namespace {

constexpr Time kBatchStart = 1704164400;  // a multiple of 3600
constexpr Duration kPrecision = 3600;

JobCreatorConfig test_config() {
  JobCreatorConfig config;
  config.batch_aggregation_shard_count = 4;
  config.min_aggregation_job_size = 10;
  config.max_aggregation_job_size = 10;
  config.late_report_grace_period = 3600;
  return config;
}

class JobCreatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    task.task_id = TaskId::random();
    task.peer_aggregator_endpoint = "https://helper.example/";
    task.vdaf = {"Prio3Count", nlohmann::json::object()};
    task.role = Role::Leader;
    task.vdaf_verify_key = Bytes(16, 7);
    task.time_precision = kPrecision;
    task.min_batch_size = 1;
    task.aggregator_auth_token = AuthToken::generate(AuthTokenType::Bearer);
    datastore->run_tx("put_task", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  }

  std::vector<ReportId> upload(std::size_t count, Time time) {
    std::vector<ReportId> ids;
    datastore->run_tx("put_reports", [&](Transaction& tx) {
      for (std::size_t i = 0; i < count; ++i) {
        LeaderStoredReport report{task.task_id, ReportId::random(), time + i, {0, 0}, {9},
                                  {1, 2},       {3, 4, 5}};
        tx.put_client_report(report);
        ids.push_back(report.report_id);
      }
    });
    return ids;
  }

  // Every report id in some job of the task, with how many times it appears.
  std::map<ReportId, int> reports_in_jobs(std::vector<AggregationJob>& jobs) {
    std::map<ReportId, int> seen;
    datastore->run_tx("read_jobs", [&](Transaction& tx) {
      jobs = tx.get_aggregation_jobs_for_task(task.task_id);
      for (const AggregationJob& job : jobs) {
        EXPECT_EQ(job.state, AggregationJobState::InProgress);
        EXPECT_EQ(job.step, 0);
        for (const ReportAggregation& ra :
             tx.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id)) {
          EXPECT_EQ(ra.state, ReportAggregationState::StartLeader);
          EXPECT_EQ(ra.public_share, Bytes({9}));
          EXPECT_EQ(ra.leader_extensions, Bytes({0, 0}));
          EXPECT_EQ(ra.leader_input_share, Bytes({1, 2}));
          EXPECT_EQ(ra.helper_encrypted_input_share, Bytes({3, 4, 5}));
          EXPECT_GE(ra.client_timestamp, job.client_timestamp_interval.start);
          EXPECT_LT(ra.client_timestamp,
                    job.client_timestamp_interval.start + job.client_timestamp_interval.duration);
          seen[ra.report_id] += 1;
        }
      }
    });
    return seen;
  }

  std::uint64_t jobs_created_in_batch() {
    std::uint64_t created = 0;
    datastore->run_tx("read_batches", [&](Transaction& tx) {
      for (const BatchAggregation& ba : tx.get_batch_aggregations_for_batch(
               task.task_id, Interval{kBatchStart, kPrecision}, {})) {
        created += ba.aggregation_jobs_created;
      }
    });
    return created;
  }

  janus::testing::TestDatabase database;
  MockClock clock{kBatchStart + 600};
  std::unique_ptr<Datastore> datastore = database.open_datastore(clock);
  AggregatorTask task;
};

TEST_F(JobCreatorTest, OpenBatchWaitsForMinimumThenFlushesAfterGracePeriod) {
  const std::vector<ReportId> ids = upload(25, kBatchStart + 10);
  JobCreator creator(test_config(), *datastore, nullptr);

  EXPECT_EQ(creator.run_once(), 2u);
  std::vector<AggregationJob> jobs;
  std::map<ReportId, int> seen = reports_in_jobs(jobs);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(seen.size(), 20u);
  for (const auto& [id, count] : seen) EXPECT_EQ(count, 1);
  EXPECT_EQ(jobs_created_in_batch(), 2u);

  // The five left over are not enough for a job while the batch may still get reports.
  EXPECT_EQ(creator.run_once(), 0u);

  // Grace period over: the remainder goes out in one smaller job.
  clock.set(kBatchStart + kPrecision + 3600);
  EXPECT_EQ(creator.run_once(), 1u);
  seen = reports_in_jobs(jobs);
  ASSERT_EQ(jobs.size(), 3u);
  ASSERT_EQ(seen.size(), 25u);
  for (const ReportId& id : ids) EXPECT_EQ(seen[id], 1);
  EXPECT_EQ(jobs_created_in_batch(), 3u);

  // Aggregated reports are scrubbed, and nothing is claimed twice.
  datastore->run_tx("check_scrubbed", [&](Transaction& tx) {
    for (const ReportId& id : ids) EXPECT_FALSE(tx.get_client_report(task.task_id, id));
  });
  EXPECT_EQ(creator.run_once(), 0u);
}

// A pass takes one window of reports; while windows are full the next pass follows in the
// same run instead of a creation interval later.
TEST_F(JobCreatorTest, FullWindowsAreFollowedByAnotherPassAtOnce) {
  const std::vector<ReportId> ids = upload(35, kBatchStart + 10);
  JobCreatorConfig config = test_config();
  config.aggregation_job_creation_report_window = 10;
  JobCreator creator(config, *datastore, nullptr);
  EXPECT_EQ(creator.run_once(), 3u);  // 10 + 10 + 10; the last 5 are too few for a job
  std::vector<AggregationJob> jobs;
  EXPECT_EQ(reports_in_jobs(jobs).size(), 30u);
  EXPECT_EQ(jobs_created_in_batch(), 3u);
}

TEST_F(JobCreatorTest, ReportsOfDifferentBatchesGoToDifferentJobs) {
  clock.set(kBatchStart + 10 * kPrecision);
  upload(3, kBatchStart + 5);
  upload(4, kBatchStart + kPrecision + 5);
  JobCreator creator(test_config(), *datastore, nullptr);
  EXPECT_EQ(creator.run_once(), 2u);
  std::vector<AggregationJob> jobs;
  EXPECT_EQ(reports_in_jobs(jobs).size(), 7u);
  for (const AggregationJob& job : jobs) {
    EXPECT_EQ(job.client_timestamp_interval.start / kPrecision,
              (job.client_timestamp_interval.start + job.client_timestamp_interval.duration - 1) /
                  kPrecision);
  }
}

TEST_F(JobCreatorTest, HelperTasksAreIgnored) {
  AggregatorTask helper = task;
  helper.task_id = TaskId::random();
  helper.role = Role::Helper;
  helper.aggregator_auth_token.reset();
  helper.aggregator_auth_token_hash = AuthToken::generate(AuthTokenType::Bearer).hash();
  datastore->run_tx("put_helper", [&](Transaction& tx) { tx.put_aggregator_task(helper); });
  clock.set(kBatchStart + 10 * kPrecision);
  upload(10, kBatchStart);
  JobCreator creator(test_config(), *datastore, nullptr);
  EXPECT_EQ(creator.run_once(), 1u);
}

TEST_F(JobCreatorTest, FixedSizeFillsOutstandingBatchesUpToTheirMaximum) {
  AggregatorTask fixed = task;
  fixed.task_id = TaskId::random();
  fixed.query_type = TaskQueryType{TaskQueryType::Kind::FixedSize, 25, std::nullopt};
  fixed.min_batch_size = 5;
  datastore->run_tx("put_fixed", [&](Transaction& tx) { tx.put_aggregator_task(fixed); });
  task = fixed;  // upload() and reports_in_jobs() use `task`
  std::vector<ReportId> ids = upload(60, kBatchStart);
  JobCreator creator(test_config(), *datastore, nullptr);

  // 25 = 10 + 10 + 5 (a small job that completes its batch), twice; then 10 in a third.
  EXPECT_EQ(creator.create_jobs_for_task(fixed), 7u);
  std::vector<AggregationJob> jobs;
  std::map<ReportId, int> seen = reports_in_jobs(jobs);
  ASSERT_EQ(seen.size(), 60u);
  for (const ReportId& id : ids) EXPECT_EQ(seen[id], 1);
  std::map<BatchId, std::size_t> batch_sizes;
  datastore->run_tx("sizes", [&](Transaction& tx) {
    for (const AggregationJob& job : jobs) {
      ASSERT_TRUE(job.batch_id.has_value());
      batch_sizes[*job.batch_id] +=
          tx.get_report_aggregations_for_job(fixed.task_id, job.aggregation_job_id).size();
    }
  });
  ASSERT_EQ(batch_sizes.size(), 3u);
  std::vector<OutstandingBatch> filling = datastore->run_tx("filling", [&](Transaction& tx) {
    return tx.get_filling_outstanding_batches(fixed.task_id, std::nullopt);
  });
  ASSERT_EQ(filling.size(), 1u);
  EXPECT_EQ(batch_sizes[filling[0].batch_id], 10u);
  for (const auto& [batch_id, size] : batch_sizes) {
    if (batch_id != filling[0].batch_id) {
      EXPECT_EQ(size, 25u);
    }
    std::uint64_t created = 0;
    datastore->run_tx("created", [&](Transaction& tx) {
      for (const BatchAggregation& ba :
           tx.get_batch_aggregations_for_batch(fixed.task_id, batch_id, {}))
        created += ba.aggregation_jobs_created;
    });
    EXPECT_EQ(created, size == 25 ? 3u : 1u);
  }

  // 20 more: the open batch takes 15 (10 + 5) and is full; 5 wait for more.
  upload(20, kBatchStart + 100);
  EXPECT_EQ(creator.create_jobs_for_task(fixed), 2u);
  EXPECT_EQ(reports_in_jobs(jobs).size(), 75u);
  EXPECT_TRUE(datastore
                  ->run_tx("filling",
                           [&](Transaction& tx) {
                             return tx.get_filling_outstanding_batches(fixed.task_id, std::nullopt);
                           })
                  .empty());
  EXPECT_EQ(creator.create_jobs_for_task(fixed), 0u);
}

TEST(JobCreatorConfigTest, SampleConfigsParseAndUnknownKeysFail) {
  for (const char* dir : {"basic_config", "advanced_config"}) {
    const std::string file = std::string(JANUS_SHARED_DIR) + "/reference/janus-0.7-samples/" + dir +
                             "/aggregation_job_creator.yaml";
    YAML::Node root = YAML::LoadFile(file);
    for (const char* common : {"database", "health_check_listen_address", "logging_config",
                               "metrics_config", "max_transaction_retries"}) {
      root.remove(common);
    }
    const JobCreatorConfig config = parse_job_creator_config(root, file);
    EXPECT_EQ(config.min_aggregation_job_size, 10u);
    EXPECT_EQ(config.max_aggregation_job_size, 100u);
    EXPECT_EQ(config.aggregation_job_creation_interval, std::chrono::seconds(60));
  }
  const std::string base =
      "batch_aggregation_shard_count: 4\ntasks_update_frequency_s: 1\n"
      "aggregation_job_creation_interval_s: 1\nmin_aggregation_job_size: 1\n"
      "max_aggregation_job_size: 2\n";
  EXPECT_NO_THROW(parse_job_creator_config(YAML::Load(base), "f.yaml"));
  try {
    parse_job_creator_config(YAML::Load(base + "surprise: 1\n"), "f.yaml");
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("surprise"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_job_creator_config(YAML::Load("batch_aggregation_shard_count: 4\n"), "f.yaml"),
               ConfigError);
  std::string inverted = base;
  inverted.replace(inverted.find("min_aggregation_job_size: 1"), 27, "min_aggregation_job_size: 3");
  EXPECT_THROW(parse_job_creator_config(YAML::Load(inverted), "f.yaml"), ConfigError);
}

}  // namespace
}  // namespace janus::job_creator
