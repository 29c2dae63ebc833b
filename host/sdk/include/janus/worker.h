// Background work for plugins: a periodic worker (a pass every interval plus
// random jitter) and the generic lease-worker runner of Janus's job drivers
// (acquire up to N leased jobs, step each before its lease runs out, at most N
// at a time, release). Both are started and stopped by the host once
// registered through WorkerRegistrar.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "janus/clock.h"
#include "janus/metrics.h"

namespace spdlog {
class logger;
}

namespace janus {

class Worker {
 public:
  virtual ~Worker() = default;
  virtual const std::string& name() const = 0;
  virtual void start() = 0;
  // Asks the worker to stop: no new passes or jobs; returns at once.
  virtual void request_stop() = 0;
  // Waits until the in-flight pass or steps have finished. Returns false if
  // they were still running at `deadline` (then the worker must not be
  // destroyed while its code is unloaded).
  virtual bool wait_stopped(std::chrono::steady_clock::time_point deadline) = 0;
};

struct PeriodicWorkerOptions {
  std::string name;
  std::chrono::milliseconds interval{60'000};
  // Each wait is interval + uniform[0, jitter].
  std::chrono::milliseconds jitter{0};
  // Run the first pass at start (true) or after the first wait (false).
  bool run_at_start = true;
};

class PeriodicWorker final : public Worker {
 public:
  using Pass = std::function<void()>;

  // `logger` may be null. Exceptions from a pass are logged and the worker
  // carries on with the next pass.
  PeriodicWorker(PeriodicWorkerOptions options, Pass pass,
                 std::shared_ptr<spdlog::logger> logger = nullptr);
  ~PeriodicWorker() override;

  const std::string& name() const override { return options_.name; }
  void start() override;
  void request_stop() override;
  bool wait_stopped(std::chrono::steady_clock::time_point deadline) override;

  // Test hook: one pass on the calling thread (exceptions propagate).
  void run_once();
  // Passes run so far (by the thread or run_once).
  std::uint64_t passes() const { return passes_.load(); }
  // The next wait: interval + uniform[0, jitter].
  std::chrono::milliseconds next_delay();

 private:
  void loop();

  PeriodicWorkerOptions options_;
  Pass pass_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mt19937_64 rng_;
  std::atomic<std::uint64_t> passes_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;
  bool finished_ = false;
  std::thread thread_;
};

// A job acquired with a lease; the job itself is opaque to the runner.
struct LeasedJob {
  std::shared_ptr<void> job;
  UnixSeconds lease_expiry = 0;
  std::string description;  // for logs (e.g. the job id)
};

// What a step may look at: its deadline (lease expiry minus the clock-skew
// allowance) and whether it should give up early. Stepping is cooperative: a
// step must bound its own I/O by remaining() and check cancelled().
class StepContext {
 public:
  StepContext(std::chrono::steady_clock::time_point deadline, const std::atomic<bool>& stopping)
      : deadline_(deadline), stopping_(stopping) {}
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  std::chrono::milliseconds remaining() const;
  // True once the deadline has passed or the host is stopping.
  bool cancelled() const;

 private:
  std::chrono::steady_clock::time_point deadline_;
  const std::atomic<bool>& stopping_;
};

struct LeaseWorkerOptions {
  std::string name;
  // Wait between acquisitions when no job was found (Janus: job_discovery_interval_s).
  std::chrono::milliseconds discovery_interval{10'000};
  std::size_t max_concurrent_jobs = 10;  // max_concurrent_job_workers
  // A step's deadline is lease expiry minus this (worker_lease_clock_skew_allowance_s).
  std::chrono::seconds clock_skew_allowance{60};
  // Start the loop after a random delay in [0, discovery_interval), as Janus
  // does, so that drivers started together do not acquire in lockstep.
  bool random_start_delay = true;
};

struct LeaseWorkerFunctions {
  // Acquire up to `max` jobs (the datastore sets their leases).
  std::function<std::vector<LeasedJob>(std::size_t max)> acquire;
  // Step one job. Throwing, or returning after the deadline, counts as a
  // failure: the job is not released, its lease runs out and it is retried
  // (Janus counts lease attempts to abandon a job).
  std::function<void(const LeasedJob&, const StepContext&)> step;
  // Release a job after a successful step, before its deadline. May be empty
  // when the step releases the lease itself (in its own transaction).
  std::function<void(const LeasedJob&)> release;
  // Optional: instead of sleeping the discovery interval after finding no job, wait up to
  // the given time for a sign of new work (true: look again now). Called in slices of at
  // most 100 ms so that a stop is heard; an exception counts as no sign.
  std::function<bool(std::chrono::milliseconds)> wait_for_work = {};
};

class LeaseWorkerRunner final : public Worker {
 public:
  LeaseWorkerRunner(LeaseWorkerOptions options, LeaseWorkerFunctions functions, const Clock& clock,
                    std::shared_ptr<spdlog::logger> logger = nullptr);
  ~LeaseWorkerRunner() override;

  const std::string& name() const override { return options_.name; }
  void start() override;
  void request_stop() override;
  bool wait_stopped(std::chrono::steady_clock::time_point deadline) override;

  // Test hook: one acquisition on the calling thread; steps the jobs (up to
  // the free slots) concurrently and returns once they are done. Returns the
  // number of jobs acquired.
  std::size_t run_once();

  struct Stats {
    std::uint64_t acquired = 0, succeeded = 0, failed = 0, timed_out = 0, expired_before_step = 0;
    std::size_t max_in_flight_seen = 0;
  };
  Stats stats() const;
  std::size_t in_flight() const;

 private:
  struct Launch {
    std::size_t acquired = 0, launched = 0;
  };
  Launch acquire_and_launch();
  void wait_for_discovery();
  void run_step(std::shared_ptr<LeasedJob> job, std::chrono::steady_clock::time_point deadline);
  void reap_finished_locked();
  void loop();

  struct Running {
    std::thread thread;
    bool done = false;
  };

  LeaseWorkerOptions options_;
  LeaseWorkerFunctions functions_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> logger_;
  metrics::Histogram acquire_time_, step_time_;
  metrics::Counter cancellations_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::list<Running> running_;
  std::size_t in_flight_ = 0;
  Stats stats_;
  bool loop_finished_ = false;
  std::thread driver_;
};

// How a plugin hands workers to the host, which starts them after every plugin
// has started and stops them (before the plugins' stop()) at shutdown.
class WorkerRegistrar {
 public:
  virtual ~WorkerRegistrar() = default;
  // The returned reference stays valid until the plugin is destroyed.
  virtual Worker& add(std::unique_ptr<Worker> worker) = 0;

  PeriodicWorker& add_periodic(PeriodicWorkerOptions options, PeriodicWorker::Pass pass,
                               std::shared_ptr<spdlog::logger> logger = nullptr) {
    return static_cast<PeriodicWorker&>(add(
        std::make_unique<PeriodicWorker>(std::move(options), std::move(pass), std::move(logger))));
  }
};

}  // namespace janus
