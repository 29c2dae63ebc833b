// The aggregation job writer against a real database, with Prio3Count (whose output and
// aggregate shares are one little-endian Field64 element, so sums can be read directly).
#include "janus/aggregation.h"

#include <gtest/gtest.h>

#include "janus/testing/test_database.h"
#include "prio3.h"
#include "test_util.h"

namespace janus {
namespace {

using namespace datastore_test;

constexpr Time kHour0 = 1'699'999'200;  // a multiple of the 3600 s time precision
constexpr Time kHour1 = kHour0 + 3600;

Bytes field64(std::uint64_t value) {
  Bytes bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
  return bytes;
}

class AggregationJobWriterTest : public ::testing::Test {
 protected:
  template <typename F>
  auto run(F&& body) {
    return datastore->run_tx("test", Isolation::ReadCommitted, std::forward<F>(body));
  }

  void SetUp() override {
    task = leader_task();
    task.vdaf = VdafDescription{"Prio3Count", {}};
    vdaf = prio3::make_prio3(task.vdaf);
    run([&](Transaction& tx) { tx.put_aggregator_task(task); });
    job.task_id = task.task_id;
    job.aggregation_job_id = AggregationJobId::random();
    job.client_timestamp_interval = {kHour0, 7200};
    job.state = AggregationJobState::InProgress;
  }

  ReportAggregation report_aggregation(std::uint64_t ord, Time time, ReportAggregationState state) {
    ReportAggregation ra;
    ra.task_id = task.task_id;
    ra.aggregation_job_id = job.aggregation_job_id;
    ra.report_id = ReportId::random();
    ra.client_timestamp = time;
    ra.ord = ord;
    ra.state = state;
    return ra;
  }

  MergedBatchAggregation batch(Time start) {
    auto shards = run([&](Transaction& tx) {
      return tx.get_batch_aggregations_for_batch(task.task_id, Interval{start, 3600}, {});
    });
    return merge_batch_aggregations(*vdaf, {}, shards);
  }

  testing::TestDatabase db;
  MockClock clock{1'700'000'000};
  std::unique_ptr<Datastore> datastore = db.open_datastore(clock);
  AggregatorTask task;
  std::shared_ptr<const Vdaf> vdaf;
  AggregationJob job;
  AggregationJobWriterOptions options{4, 4};
};

TEST_F(AggregationJobWriterTest, CountsJobsPerBatchAndAccumulatesOutputsOnceEach) {
  std::vector<ReportAggregation> ras{
      report_aggregation(0, kHour0 + 10, ReportAggregationState::Finished),
      report_aggregation(1, kHour0 + 20, ReportAggregationState::Finished),
      report_aggregation(2, kHour1 + 5, ReportAggregationState::WaitingHelper),
      report_aggregation(3, kHour1 + 6, ReportAggregationState::Failed)};
  {
    AggregationJobWriter writer(task, vdaf.get(), options);
    writer.add(ras[0], true, field64(1));
    writer.add(ras[1], true, field64(0));
    writer.add(ras[2]);
    writer.add(ras[3]);
    auto written = run([&](Transaction& tx) { return writer.write(tx, job, true); });
    EXPECT_EQ(written.job.state, AggregationJobState::InProgress);
    EXPECT_EQ(written.outputs, 2u);
    EXPECT_EQ(written.report_aggregations, ras);
  }
  MergedBatchAggregation hour0 = batch(kHour0), hour1 = batch(kHour1);
  EXPECT_EQ(hour0.report_count, 2u);
  EXPECT_EQ(hour0.aggregate_share, field64(1));
  EXPECT_EQ(hour0.client_timestamp_interval, (Interval{kHour0 + 10, 11}));
  ReportIdChecksum expected{};
  update_report_id_checksum(expected, ras[0].report_id);
  update_report_id_checksum(expected, ras[1].report_id);
  EXPECT_EQ(hour0.checksum, expected);
  EXPECT_EQ(hour0.aggregation_jobs_created, 1u);
  EXPECT_EQ(hour0.aggregation_jobs_terminated, 0u);
  EXPECT_EQ(hour1.report_count, 0u);
  EXPECT_EQ(hour1.aggregation_jobs_created, 1u);
  EXPECT_EQ(run([&](Transaction& tx) { return tx.get_task_aggregation_counter(task.task_id); }),
            2u);

  // The next step finishes the last report: the job is over, each of its batches counts
  // it as terminated once, and only the new output is added.
  ras[2].state = ReportAggregationState::Finished;
  job.step = 1;
  {
    AggregationJobWriter writer(task, vdaf.get(), options);
    writer.add(ras[0], false);
    writer.add(ras[1], false);
    writer.add(ras[2], true, field64(1));
    writer.add(ras[3], false);
    auto written = run([&](Transaction& tx) { return writer.write(tx, job, false); });
    EXPECT_EQ(written.job.state, AggregationJobState::Finished);
  }
  EXPECT_EQ(run([&](Transaction& tx) {
              return tx.get_aggregation_job(task.task_id, job.aggregation_job_id);
            })->state,
            AggregationJobState::Finished);
  hour0 = batch(kHour0);
  hour1 = batch(kHour1);
  EXPECT_EQ(hour0.report_count, 2u);
  EXPECT_EQ(hour0.aggregate_share, field64(1));
  EXPECT_EQ(hour0.aggregation_jobs_created, 1u);
  EXPECT_EQ(hour0.aggregation_jobs_terminated, 1u);
  EXPECT_EQ(hour1.report_count, 1u);
  EXPECT_EQ(hour1.aggregate_share, field64(1));
  EXPECT_EQ(hour1.aggregation_jobs_created, 1u);
  EXPECT_EQ(hour1.aggregation_jobs_terminated, 1u);
  EXPECT_EQ(run([&](Transaction& tx) { return tx.get_task_aggregation_counter(task.task_id); }),
            3u);
  EXPECT_EQ(run([&](Transaction& tx) {
              return tx.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id);
            }),
            ras);
}

TEST_F(AggregationJobWriterTest, ANewJobThatIsAlreadyOverIsCreatedAndTerminated) {
  AggregationJobWriter writer(task, vdaf.get(), options);
  writer.add(report_aggregation(0, kHour0 + 1, ReportAggregationState::Failed));
  auto written = run([&](Transaction& tx) { return writer.write(tx, job, true); });
  EXPECT_EQ(written.job.state, AggregationJobState::Finished);
  EXPECT_EQ(batch(kHour0).aggregation_jobs_created, 1u);
  EXPECT_EQ(batch(kHour0).aggregation_jobs_terminated, 1u);
}

TEST_F(AggregationJobWriterTest, FinishingReportsInACollectedBatchFailAndAddNothing) {
  run([&](Transaction& tx) {
    tx.mark_batch_aggregations_collected(task.task_id, {Interval{kHour0, 3600}}, {}, 4);
  });
  ReportAggregation collected = report_aggregation(0, kHour0 + 1, ReportAggregationState::Finished);
  collected.last_prep_resp = encode_message(PrepareResp::finished(collected.report_id));
  ReportAggregation open = report_aggregation(1, kHour1 + 1, ReportAggregationState::Finished);
  AggregationJobWriter writer(task, vdaf.get(), options);
  writer.add(collected, true, field64(1));
  writer.add(open, true, field64(1));
  auto written = run([&](Transaction& tx) { return writer.write(tx, job, true); });
  ASSERT_EQ(written.report_aggregations.size(), 2u);
  const ReportAggregation& failed = written.report_aggregations[0];
  EXPECT_EQ(failed.state, ReportAggregationState::Failed);
  EXPECT_EQ(failed.error_code, static_cast<std::uint8_t>(PrepareError::BatchCollected));
  // A helper's stored answer becomes the rejection it now sends.
  EXPECT_EQ(failed.last_prep_resp,
            encode_message(PrepareResp::reject(collected.report_id, PrepareError::BatchCollected)));
  EXPECT_EQ(written.report_aggregations[1], open);
  EXPECT_EQ(written.outputs, 1u);
  EXPECT_EQ(written.job.state, AggregationJobState::Finished);
  EXPECT_EQ(batch(kHour0).report_count, 0u);
  EXPECT_EQ(batch(kHour1).report_count, 1u);
}

TEST_F(AggregationJobWriterTest, AnOutputShareNeedsAFinishedReport) {
  AggregationJobWriter writer(task, vdaf.get(), options);
  EXPECT_THROW(writer.add(report_aggregation(0, kHour0, ReportAggregationState::WaitingLeader),
                          true, field64(1)),
               std::logic_error);
}

TEST(Aggregation, ReportsFallInTheirTimePrecisionBatchOrTheJobsBatchId) {
  AggregatorTask task = leader_task();
  AggregationJob job;
  EXPECT_EQ(batch_of_report(task, job, kHour0 + 3599), BatchIdentifier(Interval{kHour0, 3600}));
  job.batch_id = BatchId::random();
  EXPECT_EQ(batch_of_report(task, job, kHour0 + 3599), BatchIdentifier(*job.batch_id));
  EXPECT_EQ(extend_interval({}, 7), (Interval{7, 1}));
  EXPECT_EQ(extend_interval({10, 5}, 7), (Interval{7, 8}));
  EXPECT_EQ(extend_interval({10, 5}, 20), (Interval{10, 11}));
  for (int i = 0; i < 100; ++i) EXPECT_LT(random_shard(3), 3u);
  EXPECT_EQ(random_shard(1), 0u);
}

}  // namespace
}  // namespace janus
