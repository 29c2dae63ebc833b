#include "janus/worker.h"

#include <gtest/gtest.h>

#include <deque>

#include "janus/tracing.h"
#include "otlp_receiver.h"

namespace janus {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicWorker, RunOnceAndThreadedPasses) {
  std::atomic<int> calls{0};
  PeriodicWorker worker({"test", 10ms, 0ms, true}, [&] { ++calls; });
  worker.run_once();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(worker.passes(), 1u);
  worker.start();
  auto until = std::chrono::steady_clock::now() + 5s;
  while (worker.passes() < 4 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  worker.request_stop();
  EXPECT_TRUE(worker.wait_stopped(std::chrono::steady_clock::now() + 5s));
  EXPECT_GE(worker.passes(), 4u);
  int after_stop = calls;
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(calls, after_stop);
}

TEST(PeriodicWorker, JitterStaysInBounds) {
  PeriodicWorker worker({"jitter", 100ms, 50ms, true}, [] {});
  bool saw_extra = false;
  for (int i = 0; i < 200; ++i) {
    auto delay = worker.next_delay();
    EXPECT_GE(delay, 100ms);
    EXPECT_LE(delay, 150ms);
    saw_extra |= delay > 100ms;
  }
  EXPECT_TRUE(saw_extra);
}

TEST(PeriodicWorker, FailingPassKeepsRunningAndStopIsPrompt) {
  std::atomic<int> calls{0};
  PeriodicWorker worker({"fails", 1ms, 0ms, true}, [&] {
    ++calls;
    throw std::runtime_error("boom");
  });
  EXPECT_THROW(worker.run_once(), std::runtime_error);
  worker.start();
  while (calls < 3) std::this_thread::sleep_for(1ms);
  worker.request_stop();
  EXPECT_TRUE(worker.wait_stopped(std::chrono::steady_clock::now() + 5s));
}

TEST(PeriodicWorker, LongIntervalStopsWithoutWaitingForIt) {
  PeriodicWorker worker({"slow", 1h, 0ms, false}, [] {});
  worker.start();
  auto started = std::chrono::steady_clock::now();
  worker.request_stop();
  EXPECT_TRUE(worker.wait_stopped(started + 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(worker.passes(), 0u);
}

// An in-memory job source with leases, standing in for the datastore.
struct FakeJobSource {
  std::mutex mutex;
  std::deque<int> pending;
  std::vector<int> released;
  UnixSeconds lease_duration = 600;
  const Clock* clock = nullptr;

  std::vector<LeasedJob> acquire(std::size_t max) {
    std::lock_guard lock(mutex);
    std::vector<LeasedJob> out;
    while (!pending.empty() && out.size() < max) {
      int id = pending.front();
      pending.pop_front();
      out.push_back(
          {std::make_shared<int>(id), clock->now() + lease_duration, "job-" + std::to_string(id)});
    }
    return out;
  }
  void release(const LeasedJob& job) {
    std::lock_guard lock(mutex);
    released.push_back(*std::static_pointer_cast<int>(job.job));
  }
};

TEST(LeaseWorkerRunner, StepsAndReleasesWithBoundedConcurrency) {
  MockClock clock(1'000'000);
  FakeJobSource source;
  source.clock = &clock;
  for (int i = 0; i < 20; ++i) source.pending.push_back(i);
  std::atomic<int> concurrent{0}, peak{0};
  LeaseWorkerFunctions functions{
      [&](std::size_t max) { return source.acquire(max); },
      [&](const LeasedJob&, const StepContext& context) {
        int now = ++concurrent;
        int expected = peak.load();
        while (now > expected && !peak.compare_exchange_weak(expected, now)) {
        }
        EXPECT_FALSE(context.cancelled());
        EXPECT_GT(context.remaining(), 500s);
        std::this_thread::sleep_for(5ms);
        --concurrent;
      },
      [&](const LeasedJob& job) { source.release(job); }};
  LeaseWorkerRunner runner({"lease", 5ms, 3, 60s, false}, functions, clock);
  runner.start();
  auto until = std::chrono::steady_clock::now() + 10s;
  while (runner.stats().succeeded < 20 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  runner.request_stop();
  EXPECT_TRUE(runner.wait_stopped(std::chrono::steady_clock::now() + 5s));
  auto stats = runner.stats();
  EXPECT_EQ(stats.acquired, 20u);
  EXPECT_EQ(stats.succeeded, 20u);
  EXPECT_LE(stats.max_in_flight_seen, 3u);
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 2);  // it did run jobs side by side
  EXPECT_EQ(source.released.size(), 20u);
}

TEST(LeaseWorkerRunner, FailedAndLateStepsAreNotReleased) {
  MockClock clock(1'000'000);
  FakeJobSource source;
  source.clock = &clock;
  source.lease_duration = 62;  // 2 s left after the 60 s skew allowance
  source.pending = {1, 2, 3};
  LeaseWorkerFunctions functions{[&](std::size_t max) { return source.acquire(max); },
                                 [&](const LeasedJob& job, const StepContext& context) {
                                   int id = *std::static_pointer_cast<int>(job.job);
                                   EXPECT_LE(context.remaining(), 2s);
                                   if (id == 1) throw std::runtime_error("step failed");
                                   if (id == 2) {
                                     // Runs past its deadline (cooperatively noticing it).
                                     while (!context.cancelled()) std::this_thread::sleep_for(10ms);
                                   }
                                 },
                                 [&](const LeasedJob& job) { source.release(job); }};
  LeaseWorkerRunner runner({"lease_failures", 1h, 10, 60s}, functions, clock);
  EXPECT_EQ(runner.run_once(), 3u);
  auto stats = runner.stats();
  EXPECT_EQ(stats.failed, 1u);
  EXPECT_EQ(stats.timed_out, 1u);
  EXPECT_EQ(stats.succeeded, 1u);
  EXPECT_EQ(source.released, std::vector<int>{3});
  std::string exposed = metrics::registry().serialize();
  EXPECT_NE(exposed.find("janus_job_cancellations{worker=\"lease_failures\"} 1"), std::string::npos)
      << exposed;
  EXPECT_NE(exposed.find("janus_job_step_time_seconds_count{worker=\"lease_failures\"} 3"),
            std::string::npos)
      << exposed;
}

TEST(LeaseWorkerRunner, JobWithExpiredLeaseIsNotStepped) {
  MockClock clock(1'000'000);
  FakeJobSource source;
  source.clock = &clock;
  source.lease_duration = 30;  // less than the skew allowance
  source.pending = {7};
  std::atomic<int> steps{0};
  LeaseWorkerRunner runner({"lease", 1h, 2, 60s},
                           {[&](std::size_t max) { return source.acquire(max); },
                            [&](const LeasedJob&, const StepContext&) { ++steps; }, nullptr},
                           clock);
  EXPECT_EQ(runner.run_once(), 1u);
  EXPECT_EQ(steps, 0);
  EXPECT_EQ(runner.stats().expired_before_step, 1u);
}

// Jobs that arrive without lease left are not stepped, and the loop waits
// for the discovery interval instead of asking again at once.
TEST(LeaseWorkerRunner, LoopDoesNotSpinOnUnsteppableJobs) {
  MockClock clock(1'000'000);
  std::atomic<int> acquisitions{0};
  LeaseWorkerRunner runner(
      {"spin", 200ms, 2, 60s, false},
      {[&](std::size_t) {
         ++acquisitions;
         return std::vector<LeasedJob>{{std::make_shared<int>(1), clock.now() + 10, "short"}};
       },
       [](const LeasedJob&, const StepContext&) {}, nullptr},
      clock);
  runner.start();
  std::this_thread::sleep_for(300ms);
  runner.request_stop();
  EXPECT_TRUE(runner.wait_stopped(std::chrono::steady_clock::now() + 5s));
  EXPECT_GE(acquisitions, 1);
  EXPECT_LE(acquisitions, 3);
}

// With wait_for_work, a sign of new work ends the discovery wait at once: a job that
// appears is stepped long before the (hour-long) discovery interval.
TEST(LeaseWorkerRunner, ASignOfWorkEndsTheDiscoveryWait) {
  MockClock clock(1'000'000);
  FakeJobSource source;
  source.clock = &clock;
  std::atomic<bool> announced{false};
  std::atomic<int> waits{0};
  LeaseWorkerFunctions functions{[&](std::size_t max) { return source.acquire(max); },
                                 [](const LeasedJob&, const StepContext&) {},
                                 [&](const LeasedJob& job) { source.release(job); }};
  functions.wait_for_work = [&](std::chrono::milliseconds slice) {
    EXPECT_LE(slice, 100ms);
    if (++waits == 3) throw std::runtime_error("notification connection lost");  // survived
    std::this_thread::sleep_for(std::min(slice, 5ms));
    return announced.exchange(false);
  };
  LeaseWorkerRunner runner({"notified", 1h, 2, 60s, false}, functions, clock);
  runner.start();
  auto until = std::chrono::steady_clock::now() + 10s;
  while (waits < 5 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  {
    std::lock_guard lock(source.mutex);
    source.pending.push_back(7);
  }
  announced = true;
  while (runner.stats().succeeded < 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  runner.request_stop();
  EXPECT_TRUE(runner.wait_stopped(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(runner.stats().succeeded, 1u);
  EXPECT_EQ(source.released, std::vector<int>{7});
}

TEST(LeaseWorkerRunner, AcquireFailureIsSurvived) {
  MockClock clock(1);
  int attempts = 0;
  LeaseWorkerRunner runner({"lease", 1h, 2, 60s},
                           {[&](std::size_t) -> std::vector<LeasedJob> {
                              ++attempts;
                              throw std::runtime_error("database down");
                            },
                            [](const LeasedJob&, const StepContext&) {}, nullptr},
                           clock);
  EXPECT_EQ(runner.run_once(), 0u);
  EXPECT_EQ(attempts, 1);
}

// With tracing on, each step is a span named after the worker, carrying the job's
// description and what the step adds (the job drivers' task and job ids); a failed step's
// span is marked failed and a pass of a periodic worker is a span too. The step's own spans
// (its transactions) are its children.
TEST(WorkerTracing, StepsAndPassesAreSpans) {
  testing::OtlpReceiver receiver;
  tracing::OtlpExporterOptions options;
  options.endpoint = receiver.endpoint();
  options.flush_interval = 20ms;
  tracing::start_otlp_exporter(options);
  MockClock clock(1'000'000);
  FakeJobSource source;
  source.clock = &clock;
  source.pending = {1, 2};
  LeaseWorkerFunctions functions{[&](std::size_t max) { return source.acquire(max); },
                                 [&](const LeasedJob& job, const StepContext&) {
                                   const int id = *std::static_pointer_cast<int>(job.job);
                                   tracing::set_current_attribute("task_id",
                                                                  "task-" + std::to_string(id));
                                   tracing::Span::start("tx inner").end();
                                   if (id == 2) throw std::runtime_error("peer answered 500");
                                 },
                                 [&](const LeasedJob& job) { source.release(job); }};
  LeaseWorkerRunner runner({"aggregation_job_driver", 1h, 10, 60s}, functions, clock);
  EXPECT_EQ(runner.run_once(), 2u);
  PeriodicWorker periodic({"garbage_collector", 1h}, [] {});
  periodic.run_once();
  tracing::stop_exporter();

  std::map<std::string, testing::ReceivedSpan> steps;
  std::vector<testing::ReceivedSpan> inner;
  bool pass = false;
  for (const auto& span : receiver.spans()) {
    if (span.name == "aggregation_job_driver step") steps[span.attributes.at("janus.job")] = span;
    if (span.name == "tx inner") inner.push_back(span);
    if (span.name == "garbage_collector pass") pass = true;
  }
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps["job-1"].attributes.at("task_id"), "task-1");
  EXPECT_EQ(steps["job-1"].status_code, 0);
  EXPECT_EQ(steps["job-2"].attributes.at("task_id"), "task-2");
  EXPECT_EQ(steps["job-2"].status_code, 2);
  EXPECT_EQ(steps["job-2"].status_message, "peer answered 500");
  ASSERT_EQ(inner.size(), 2u);
  for (const auto& span : inner) {
    EXPECT_TRUE(span.parent_span_id == steps["job-1"].span_id ||
                span.parent_span_id == steps["job-2"].span_id);
  }
  EXPECT_TRUE(pass);
}

}  // namespace
}  // namespace janus
