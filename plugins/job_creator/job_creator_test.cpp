// The job creator against a real PostgreSQL database: N reports in → the expected jobs
// out, each report in exactly one job, reports scrubbed, jobs counted in the batches.
#include "job_creator.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "janus/testing/test_database.h"
#include "janus/vdaf.h"
#include "poplar1.h"
#include "prio3.h"

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

// The VDAF plugins' factories, as the host registers them.
void register_vdafs(VdafRegistry& vdafs) {
  for (const std::string& name : prio3::prio3_vdaf_names()) {
    vdafs.add(name, [](const VdafDescription& d) { return prio3::make_prio3(d); });
  }
  vdafs.add(poplar1::kName, [](const VdafDescription& d) { return poplar1::make_poplar1(d); });
}

class JobCreatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    register_vdafs(vdafs);
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

  // A START collection job of the batch at kBatchStart under a Poplar1 parameter; returns
  // the encoded parameter.
  Bytes put_poplar1_collection_job(std::uint16_t level,
                                   const std::vector<std::uint64_t>& prefixes) {
    const Bytes parameter =
        poplar1::encode_aggregation_parameter(poplar1::aggregation_parameter(level, prefixes));
    datastore->run_tx("collect", [&](Transaction& tx) {
      CollectionJob job;
      job.task_id = task.task_id;
      job.collection_job_id = CollectionJobId::random();
      job.query = {1};
      job.aggregation_parameter = parameter;
      job.batch_identifier = Interval{kBatchStart, kPrecision};
      tx.put_collection_job(job);
    });
    return parameter;
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

  std::uint64_t jobs_created_in_batch(const Bytes& aggregation_parameter = {}) {
    std::uint64_t created = 0;
    datastore->run_tx("read_batches", [&](Transaction& tx) {
      for (const BatchAggregation& ba : tx.get_batch_aggregations_for_batch(
               task.task_id, Interval{kBatchStart, kPrecision}, aggregation_parameter)) {
        created += ba.aggregation_jobs_created;
      }
    });
    return created;
  }

  VdafRegistry vdafs;
  janus::testing::TestDatabase database;
  MockClock clock{kBatchStart + 600};
  std::unique_ptr<Datastore> datastore = database.open_datastore(clock);
  AggregatorTask task;
};

TEST_F(JobCreatorTest, OpenBatchWaitsForMinimumThenFlushesAfterGracePeriod) {
  const std::vector<ReportId> ids = upload(25, kBatchStart + 10);
  JobCreator creator(test_config(), *datastore, vdafs, nullptr);

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
  JobCreator creator(config, *datastore, vdafs, nullptr);
  EXPECT_EQ(creator.run_once(), 3u);  // 10 + 10 + 10; the last 5 are too few for a job
  std::vector<AggregationJob> jobs;
  EXPECT_EQ(reports_in_jobs(jobs).size(), 30u);
  EXPECT_EQ(jobs_created_in_batch(), 3u);
}

TEST_F(JobCreatorTest, ReportsOfDifferentBatchesGoToDifferentJobs) {
  clock.set(kBatchStart + 10 * kPrecision);
  upload(3, kBatchStart + 5);
  upload(4, kBatchStart + kPrecision + 5);
  JobCreator creator(test_config(), *datastore, vdafs, nullptr);
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
  JobCreator creator(test_config(), *datastore, vdafs, nullptr);
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
  JobCreator creator(test_config(), *datastore, vdafs, nullptr);

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

// Poplar1: the collector chooses the aggregation parameter, so reports wait for a
// collection job; each START collection job gets jobs under its parameter (the reports
// keep their shares for the next level), and a report is never prepared twice at a level.
TEST_F(JobCreatorTest, Poplar1ReportsAreAggregatedPerCollectionParameter) {
  task.task_id = TaskId::random();
  task.vdaf = {"Poplar1", {{"bits", 4}}};
  datastore->run_tx("poplar1_task", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  const std::vector<ReportId> ids = upload(5, kBatchStart + 10);
  upload(2, kBatchStart + kPrecision + 10);  // another batch, which nobody collects
  JobCreator creator(test_config(), *datastore, vdafs, nullptr);
  clock.set(kBatchStart + 3 * kPrecision + 3600);  // every batch closed
  EXPECT_EQ(creator.run_once(), 0u);               // no collection asks yet: nothing is claimed

  auto collect = [&](std::uint16_t level, const std::vector<std::uint64_t>& prefixes) {
    return put_poplar1_collection_job(level, prefixes);
  };
  auto jobs_under = [&](const Bytes& parameter, AggregationJobState state) {
    std::map<ReportId, int> seen;
    datastore->run_tx("read_jobs", [&](Transaction& tx) {
      for (const AggregationJob& job : tx.get_aggregation_jobs_for_task(task.task_id)) {
        if (job.aggregation_parameter != parameter) continue;
        EXPECT_EQ(job.state, state);
        for (const ReportAggregation& ra :
             tx.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id)) {
          if (state == AggregationJobState::InProgress) {
            EXPECT_EQ(ra.state, ReportAggregationState::StartLeader);
            EXPECT_EQ(ra.leader_input_share, Bytes({1, 2}));
          } else {
            EXPECT_EQ(ra.state, ReportAggregationState::Failed);
            EXPECT_EQ(ra.error_code, static_cast<std::uint8_t>(PrepareError::ReportReplayed));
          }
          seen[ra.report_id] += 1;
        }
      }
    });
    return seen;
  };

  // Level 0: one job of the five reports of the collected batch, at once (no minimum job
  // size: the collector waits), counted under its parameter; the reports keep their shares.
  const Bytes level0 = collect(0, {0, 1});
  EXPECT_EQ(creator.run_once(), 1u);
  std::map<ReportId, int> seen = jobs_under(level0, AggregationJobState::InProgress);
  ASSERT_EQ(seen.size(), 5u);
  for (const ReportId& id : ids) EXPECT_EQ(seen[id], 1);
  EXPECT_EQ(jobs_created_in_batch(level0), 1u);
  EXPECT_EQ(jobs_created_in_batch(), 0u);
  datastore->run_tx("kept", [&](Transaction& tx) {
    for (const ReportId& id : ids) EXPECT_TRUE(tx.get_client_report(task.task_id, id));
    EXPECT_FALSE(tx.interval_has_reports_unaggregated_under(
        task.task_id, Interval{kBatchStart, kPrecision}, level0));
  });
  EXPECT_EQ(creator.run_once(), 0u);

  // Level 1 takes the same reports again, under its own parameter.
  const Bytes level1 = collect(1, {0, 1, 2, 3});
  datastore->run_tx("waiting", [&](Transaction& tx) {
    EXPECT_TRUE(tx.interval_has_reports_unaggregated_under(
        task.task_id, Interval{kBatchStart, kPrecision}, level1));
  });
  EXPECT_EQ(creator.run_once(), 1u);
  EXPECT_EQ(jobs_under(level1, AggregationJobState::InProgress).size(), 5u);
  EXPECT_EQ(jobs_created_in_batch(level1), 1u);

  // Level 0 again with other prefixes: VDAF-08 forbids a second preparation at a level, so
  // the reports are settled as report_replayed in a finished job no driver steps.
  const Bytes level0_again = collect(0, {1});
  EXPECT_EQ(creator.run_once(), 0u);
  EXPECT_EQ(jobs_under(level0_again, AggregationJobState::Finished).size(), 5u);
  EXPECT_EQ(jobs_created_in_batch(level0_again), 0u);
  EXPECT_EQ(creator.run_once(), 0u);

  // Prio3's path never takes these reports (they are marked started).
  datastore->run_tx("prio3_path", [&](Transaction& tx) {
    EXPECT_TRUE(tx.lock_unaggregated_client_reports(task.task_id, 100).size() == 2u);
  });
}

// DAP-09 §4.5.1.4: a report that failed at level 0 was not in that collection, so after
// level 0 is collected it may not be in level 1's (a collector would learn about it alone);
// it is settled as batch_collected and the others go on.
TEST_F(JobCreatorTest, Poplar1ReportsLeftOutOfACollectionStayOutOfTheNext) {
  task.task_id = TaskId::random();
  task.vdaf = {"Poplar1", {{"bits", 4}}};
  datastore->run_tx("poplar1_task", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  const std::vector<ReportId> ids = upload(3, kBatchStart + 10);
  JobCreator creator(test_config(), *datastore, vdafs, nullptr);
  clock.set(kBatchStart + 3 * kPrecision);
  const Bytes level0 = put_poplar1_collection_job(0, {0, 1});
  EXPECT_EQ(creator.run_once(), 1u);
  // The level-0 job as its driver would leave it: ids[1] failed preparation. Then the
  // collection of level 0 completes.
  datastore->run_tx("drive_and_collect_level0", [&](Transaction& tx) {
    for (AggregationJob job : tx.get_aggregation_jobs_for_task(task.task_id)) {
      std::vector<ReportAggregation> ras =
          tx.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id);
      for (ReportAggregation& ra : ras) {
        ra.state = ra.report_id == ids[1] ? ReportAggregationState::Failed
                                          : ReportAggregationState::Finished;
        if (ra.report_id == ids[1])
          ra.error_code = static_cast<std::uint8_t>(PrepareError::VdafPrepError);
      }
      tx.update_report_aggregations(ras);
      job.state = AggregationJobState::Finished;
      tx.update_aggregation_job(job);
    }
    tx.mark_batch_aggregations_collected(task.task_id, {Interval{kBatchStart, kPrecision}}, level0,
                                         4);
  });

  const Bytes level1 = put_poplar1_collection_job(1, {0, 1, 2, 3});
  EXPECT_EQ(creator.run_once(), 1u);
  std::map<ReportId, ReportAggregation> under_level1;
  datastore->run_tx("read_level1", [&](Transaction& tx) {
    for (const AggregationJob& job : tx.get_aggregation_jobs_for_task(task.task_id)) {
      if (job.aggregation_parameter != level1) continue;
      for (const ReportAggregation& ra :
           tx.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id)) {
        EXPECT_TRUE(under_level1.emplace(ra.report_id, ra).second);
        // The rejected report is in a job no driver steps; the others in one it does.
        EXPECT_EQ(job.state, ra.report_id == ids[1] ? AggregationJobState::Finished
                                                    : AggregationJobState::InProgress);
      }
    }
  });
  ASSERT_EQ(under_level1.size(), 3u);
  EXPECT_EQ(under_level1[ids[0]].state, ReportAggregationState::StartLeader);
  EXPECT_EQ(under_level1[ids[2]].state, ReportAggregationState::StartLeader);
  EXPECT_EQ(under_level1[ids[1]].state, ReportAggregationState::Failed);
  EXPECT_EQ(under_level1[ids[1]].error_code,
            static_cast<std::uint8_t>(PrepareError::BatchCollected));
  // The collection of level 1 is then not kept waiting for it.
  datastore->run_tx("settled", [&](Transaction& tx) {
    EXPECT_FALSE(tx.interval_has_reports_unaggregated_under(
        task.task_id, Interval{kBatchStart, kPrecision}, level1));
  });
}

TEST_F(JobCreatorTest, Poplar1FixedSizeTasksAreRefusedNotMisaggregated) {
  task.task_id = TaskId::random();
  task.vdaf = {"Poplar1", {{"bits", 4}}};
  task.query_type.kind = TaskQueryType::Kind::FixedSize;
  task.query_type.max_batch_size = 10;
  datastore->run_tx("poplar1_task", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  upload(5, kBatchStart + 10);
  JobCreator creator(test_config(), *datastore, vdafs, nullptr);
  clock.set(kBatchStart + 3 * kPrecision);
  EXPECT_EQ(creator.run_once(), 0u);
  std::vector<AggregationJob> jobs;
  EXPECT_TRUE(reports_in_jobs(jobs).empty());
}

}  // namespace
}  // namespace janus::job_creator
