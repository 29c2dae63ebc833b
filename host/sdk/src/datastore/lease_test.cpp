#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "janus/datastore.h"
#include "janus/testing/test_database.h"
#include "test_util.h"

namespace janus {
namespace {

using namespace datastore_test;

constexpr Duration kLease = 600;

class LeaseTest : public ::testing::Test {
 protected:
  AggregatorTask put_task(AggregatorTask task = leader_task()) {
    datastore_->run_tx("put_task", [&](Transaction& t) { t.put_aggregator_task(task); });
    return task;
  }
  std::vector<AggregationJobId> put_jobs(const TaskId& task_id, int count,
                                         Interval interval = {1'700'000'000, 100}) {
    std::vector<AggregationJobId> ids;
    datastore_->run_tx("put_jobs", [&](Transaction& t) {
      ids.clear();
      for (int i = 0; i < count; ++i) {
        auto job = aggregation_job(task_id, interval);
        t.put_aggregation_job(job);
        ids.push_back(job.aggregation_job_id);
      }
    });
    return ids;
  }
  std::vector<Lease<AcquiredAggregationJob>> acquire(Datastore& datastore, std::uint64_t limit) {
    return datastore.run_tx("acquire", [&](Transaction& t) {
      return t.acquire_incomplete_aggregation_jobs(kLease, limit);
    });
  }

  testing::TestDatabase db_;
  MockClock clock_{1'700'000'000};
  std::unique_ptr<Datastore> datastore_ = db_.open_datastore(clock_);
};

TEST_F(LeaseTest, AcquireGivesTokenExpiryAttemptsAndTheTaskSettings) {
  AggregatorTask task = put_task();
  auto ids = put_jobs(task.task_id, 1);
  auto leases = acquire(*datastore_, 10);
  ASSERT_EQ(leases.size(), 1u);
  const auto& lease = leases[0];
  EXPECT_EQ(lease.leased.task_id, task.task_id);
  EXPECT_EQ(lease.leased.aggregation_job_id, ids[0]);
  EXPECT_EQ(lease.leased.query_type, task.query_type);
  EXPECT_EQ(lease.leased.vdaf.name, "Prio3Sum");
  EXPECT_EQ(lease.token.size(), 16u);
  EXPECT_EQ(lease.expiry, clock_.now() + kLease);
  EXPECT_EQ(lease.attempts, 1u);
  // Held: nobody else gets it.
  EXPECT_TRUE(acquire(*datastore_, 10).empty());
}

// Two workers acquire at the same time, each inside an open transaction: SKIP LOCKED hands
// them disjoint jobs, and neither waits for the other.
TEST_F(LeaseTest, TwoConcurrentAcquirersNeverGetTheSameJob) {
  AggregatorTask task = put_task();
  auto ids = put_jobs(task.task_id, 10);
  auto other = db_.open_datastore(clock_);
  std::vector<Lease<AcquiredAggregationJob>> first, second;
  datastore_->run_tx("first", [&](Transaction& t) {
    first = t.acquire_incomplete_aggregation_jobs(kLease, 4);
    // The second worker runs while the first still holds its row locks.
    auto future = std::async(std::launch::async, [&] { return acquire(*other, 100); });
    ASSERT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready)
        << "the second acquirer blocked on the first one's locks";
    second = future.get();
  });
  EXPECT_EQ(first.size(), 4u);
  EXPECT_EQ(second.size(), 6u);
  std::set<AggregationJobId> seen;
  for (const auto& lease : first) seen.insert(lease.leased.aggregation_job_id);
  for (const auto& lease : second) {
    EXPECT_TRUE(seen.insert(lease.leased.aggregation_job_id).second) << "acquired twice";
  }
  EXPECT_EQ(seen, std::set<AggregationJobId>(ids.begin(), ids.end()));
}

TEST_F(LeaseTest, ManyWorkersRacingAcquireEachJobExactlyOnce) {
  AggregatorTask task = put_task();
  auto ids = put_jobs(task.task_id, 40);
  std::mutex mutex;
  std::map<AggregationJobId, int> acquisitions;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      auto datastore = db_.open_datastore(clock_);
      while (true) {
        auto leases = acquire(*datastore, 3);
        if (leases.empty()) break;
        std::lock_guard lock(mutex);
        for (const auto& lease : leases) ++acquisitions[lease.leased.aggregation_job_id];
      }
    });
  }
  for (auto& worker : workers) worker.join();
  ASSERT_EQ(acquisitions.size(), ids.size());
  for (const auto& [id, count] : acquisitions) EXPECT_EQ(count, 1) << id.to_base64url();
}

TEST_F(LeaseTest, AnExpiredLeaseIsTakenOverByAnotherWorker) {
  AggregatorTask task = put_task();
  put_jobs(task.task_id, 1);
  auto other = db_.open_datastore(clock_);
  auto first = acquire(*datastore_, 1);
  ASSERT_EQ(first.size(), 1u);
  clock_.advance(kLease - 1);
  EXPECT_TRUE(acquire(*other, 1).empty());  // not yet expired
  clock_.advance(1);
  auto second = acquire(*other, 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].leased.aggregation_job_id, first[0].leased.aggregation_job_id);
  EXPECT_NE(second[0].token, first[0].token);
  EXPECT_EQ(second[0].attempts, 2u);
  // The first worker lost its lease: releasing with the old token does nothing.
  EXPECT_THROW(
      datastore_->run_tx("release", [&](Transaction& t) { t.release_aggregation_job(first[0]); }),
      MutationTargetNotFound);
  other->run_tx("release", [&](Transaction& t) { t.release_aggregation_job(second[0]); });
}

TEST_F(LeaseTest, ReleaseNeedsTheMatchingTokenAndMakesTheJobAcquirableAgain) {
  AggregatorTask task = put_task();
  put_jobs(task.task_id, 1);
  auto lease = acquire(*datastore_, 1).at(0);
  auto forged = lease;
  forged.token[0] ^= 1;
  EXPECT_THROW(
      datastore_->run_tx("release", [&](Transaction& t) { t.release_aggregation_job(forged); }),
      MutationTargetNotFound);
  EXPECT_TRUE(acquire(*datastore_, 1).empty());
  datastore_->run_tx("release", [&](Transaction& t) { t.release_aggregation_job(lease); });
  auto again = acquire(*datastore_, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1u);  // a release resets the attempt count
}

TEST_F(LeaseTest, AJobIsAbandonedAfterTooManyAttempts) {
  constexpr std::uint64_t kMaximumAttemptsBeforeFailure = 3;
  AggregatorTask task = put_task();
  auto ids = put_jobs(task.task_id, 1);
  // A worker that crashes every time: the lease expires and is taken again.
  std::optional<Lease<AcquiredAggregationJob>> lease;
  for (int i = 0; i < 10; ++i) {
    auto leases = acquire(*datastore_, 1);
    ASSERT_EQ(leases.size(), 1u);
    lease = leases[0];
    if (lease->attempts > kMaximumAttemptsBeforeFailure) break;
    clock_.advance(kLease);
  }
  ASSERT_EQ(lease->attempts, kMaximumAttemptsBeforeFailure + 1);
  datastore_->run_tx("abandon", [&](Transaction& t) { t.abandon_aggregation_job(*lease); });
  clock_.advance(kLease * 10);
  EXPECT_TRUE(acquire(*datastore_, 1).empty());
  auto job = datastore_->run_tx(
      "get", [&](Transaction& t) { return t.get_aggregation_job(task.task_id, ids[0]); });
  EXPECT_EQ(job->state, AggregationJobState::Abandoned);
}

TEST_F(LeaseTest, FinishedJobsAndJobsWithExpiredReportsAreNotAcquired) {
  AggregatorTask task = leader_task();
  task.report_expiry_age = 3600;
  put_task(task);
  put_jobs(task.task_id, 1, {clock_.now() - 7200, 100});  // every report expired
  auto live = put_jobs(task.task_id, 2, {clock_.now() - 100, 100});
  datastore_->run_tx("finish", [&](Transaction& t) {
    auto job = *t.get_aggregation_job(task.task_id, live[1]);
    job.state = AggregationJobState::Finished;
    t.update_aggregation_job(job);
  });
  auto leases = acquire(*datastore_, 10);
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].leased.aggregation_job_id, live[0]);
}

TEST_F(LeaseTest, CollectionJobLeasesCarryRetryState) {
  AggregatorTask task = put_task();
  CollectionJob job;
  job.task_id = task.task_id;
  job.collection_job_id = CollectionJobId::random();
  job.query = {0};
  job.batch_identifier = Interval{1'699'999'200, 3600};
  datastore_->run_tx("put", [&](Transaction& t) { t.put_collection_job(job); });
  auto acquire_collection = [&] {
    return datastore_->run_tx("acquire", [&](Transaction& t) {
      return t.acquire_incomplete_collection_jobs(kLease, 10);
    });
  };
  auto leases = acquire_collection();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].leased.collection_job_id, job.collection_job_id);
  EXPECT_EQ(leases[0].leased.step_attempts, 0u);
  EXPECT_TRUE(acquire_collection().empty());
  // A failed step: retry no earlier than 600 s from now.
  datastore_->run_tx("release", [&](Transaction& t) { t.release_collection_job(leases[0], 600); });
  clock_.advance(599);
  EXPECT_TRUE(acquire_collection().empty());
  clock_.advance(1);
  leases = acquire_collection();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].leased.step_attempts, 1u);
  // Finished jobs are not leased again.
  job.state = CollectionJobState::Finished;
  datastore_->run_tx("finish", [&](Transaction& t) {
    t.update_collection_job(job);
    t.release_collection_job(leases[0]);
  });
  EXPECT_TRUE(acquire_collection().empty());
}

}  // namespace
}  // namespace janus
