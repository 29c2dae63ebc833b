#include "janus/worker.h"

#include <spdlog/spdlog.h>

#include "janus/tracing.h"

namespace janus {

// ---- PeriodicWorker -------------------------------------------------------

PeriodicWorker::PeriodicWorker(PeriodicWorkerOptions options, Pass pass,
                               std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      pass_(std::move(pass)),
      logger_(std::move(logger)),
      rng_(std::random_device{}()) {
  if (!pass_) throw std::invalid_argument("periodic worker '" + options_.name + "' has no pass");
  if (options_.interval.count() <= 0) {
    throw std::invalid_argument("periodic worker '" + options_.name +
                                "': interval must be positive");
  }
  if (options_.jitter.count() < 0) {
    throw std::invalid_argument("periodic worker '" + options_.name +
                                "': jitter must not be negative");
  }
}

PeriodicWorker::~PeriodicWorker() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

std::chrono::milliseconds PeriodicWorker::next_delay() {
  if (options_.jitter.count() == 0) return options_.interval;
  std::uniform_int_distribution<std::int64_t> extra(0, options_.jitter.count());
  std::lock_guard lock(mutex_);
  return options_.interval + std::chrono::milliseconds(extra(rng_));
}

void PeriodicWorker::run_once() {
  tracing::Span span =
      tracing::enabled() ? tracing::Span::start(options_.name + " pass") : tracing::Span();
  auto scope = span.activate();
  try {
    pass_();
  } catch (const std::exception& e) {
    span.set_error(e.what());
    throw;
  }
  ++passes_;
}

void PeriodicWorker::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stop_requested_) return;
  thread_ = std::thread([this] { loop(); });
}

void PeriodicWorker::loop() {
  bool first = true;
  while (true) {
    if (!first || !options_.run_at_start) {
      auto delay = next_delay();
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, delay, [&] { return stop_requested_; })) break;
    }
    first = false;
    {
      std::lock_guard lock(mutex_);
      if (stop_requested_) break;
    }
    try {
      run_once();
    } catch (const std::exception& e) {
      if (logger_) logger_->error("worker {}: pass failed: {}", options_.name, e.what());
    } catch (...) {
      if (logger_) logger_->error("worker {}: pass failed", options_.name);
    }
  }
  std::lock_guard lock(mutex_);
  finished_ = true;
  wake_.notify_all();
}

void PeriodicWorker::request_stop() {
  std::lock_guard lock(mutex_);
  stop_requested_ = true;
  wake_.notify_all();
}

bool PeriodicWorker::wait_stopped(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (!thread_.joinable()) return true;
  if (!wake_.wait_until(lock, deadline, [&] { return finished_; })) return false;
  lock.unlock();
  thread_.join();
  return true;
}

// ---- StepContext ----------------------------------------------------------

std::chrono::milliseconds StepContext::remaining() const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline_ - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

bool StepContext::cancelled() const {
  return stopping_.load() || std::chrono::steady_clock::now() >= deadline_;
}

// ---- LeaseWorkerRunner ----------------------------------------------------

LeaseWorkerRunner::LeaseWorkerRunner(LeaseWorkerOptions options, LeaseWorkerFunctions functions,
                                     const Clock& clock, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      functions_(std::move(functions)),
      clock_(clock),
      logger_(std::move(logger)) {
  if (!functions_.acquire || !functions_.step) {
    throw std::invalid_argument("lease worker '" + options_.name + "' needs acquire and step");
  }
  if (options_.max_concurrent_jobs == 0) {
    throw std::invalid_argument("lease worker '" + options_.name +
                                "': max_concurrent_jobs must be positive");
  }
  // Janus's job driver metrics, per worker.
  const metrics::Labels labels = {{"worker", options_.name}};
  acquire_time_ = metrics::registry().histogram("janus_job_acquire_time_seconds",
                                                "Time spent acquiring leased jobs.",
                                                metrics::duration_buckets(), labels);
  step_time_ = metrics::registry().histogram("janus_job_step_time_seconds",
                                             "Time spent stepping one leased job.",
                                             metrics::duration_buckets(), labels);
  cancellations_ = metrics::registry().counter("janus_job_cancellations",
                                               "Steps that ran past their lease deadline.", labels);
}

LeaseWorkerRunner::~LeaseWorkerRunner() {
  request_stop();
  wait_stopped(std::chrono::steady_clock::time_point::max());
}

void LeaseWorkerRunner::start() {
  std::lock_guard lock(mutex_);
  if (driver_.joinable() || stopping_) return;
  driver_ = std::thread([this] { loop(); });
}

void LeaseWorkerRunner::loop() {
  if (options_.random_start_delay && options_.discovery_interval.count() > 0) {
    std::mt19937_64 rng(std::random_device{}());
    std::uniform_int_distribution<std::int64_t> offset(0, options_.discovery_interval.count() - 1);
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::milliseconds(offset(rng)),
                      [&] { return stopping_.load(); });
  }
  while (!stopping_) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || in_flight_ < options_.max_concurrent_jobs; });
      reap_finished_locked();
      if (stopping_) break;
    }
    // Nothing stepped (no job, or only jobs without lease left): wait before
    // asking again rather than spinning on the database.
    if (acquire_and_launch().launched == 0) wait_for_discovery();
  }
  std::lock_guard lock(mutex_);
  loop_finished_ = true;
  changed_.notify_all();
}

void LeaseWorkerRunner::wait_for_discovery() {
  if (!functions_.wait_for_work) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, options_.discovery_interval, [&] { return stopping_.load(); });
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.discovery_interval;
  while (!stopping_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    try {
      if (functions_.wait_for_work(std::min(left, std::chrono::milliseconds(100)))) return;
    } catch (const std::exception& e) {
      if (logger_) logger_->warn("worker {}: waiting for work failed: {}", options_.name, e.what());
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::min(left, std::chrono::milliseconds(100)),
                        [&] { return stopping_.load(); });
    }
  }
}

LeaseWorkerRunner::Launch LeaseWorkerRunner::acquire_and_launch() {
  std::size_t free_slots;
  {
    std::lock_guard lock(mutex_);
    free_slots = options_.max_concurrent_jobs - std::min(in_flight_, options_.max_concurrent_jobs);
  }
  if (free_slots == 0 || stopping_) return {};
  std::vector<LeasedJob> jobs;
  const auto acquire_started = std::chrono::steady_clock::now();
  try {
    jobs = functions_.acquire(free_slots);
  } catch (const std::exception& e) {
    if (logger_) logger_->error("worker {}: acquiring jobs failed: {}", options_.name, e.what());
    return {};
  }
  acquire_time_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - acquire_started).count());
  if (jobs.size() > free_slots && logger_) {
    logger_->error("worker {}: acquire returned {} jobs for {} free slots; the rest will expire",
                   options_.name, jobs.size(), free_slots);
  }
  const UnixSeconds now = clock_.now();
  const auto steady_now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  stats_.acquired += jobs.size();
  std::size_t launched = 0;
  for (auto& leased : jobs) {
    if (launched == free_slots) break;
    // Seconds left on the lease once the clock-skew allowance is taken off.
    std::int64_t left = static_cast<std::int64_t>(leased.lease_expiry) -
                        static_cast<std::int64_t>(now) - options_.clock_skew_allowance.count();
    if (left <= 0) {
      ++stats_.expired_before_step;
      if (logger_) {
        logger_->warn("worker {}: job {} acquired with too little lease left; not stepping it",
                      options_.name, leased.description);
      }
      continue;
    }
    auto job = std::make_shared<LeasedJob>(std::move(leased));
    auto deadline = steady_now + std::chrono::seconds(left);
    auto it = running_.emplace(running_.end());
    ++in_flight_;
    ++launched;
    stats_.max_in_flight_seen = std::max(stats_.max_in_flight_seen, in_flight_);
    it->thread = std::thread([this, it, job, deadline] {
      run_step(job, deadline);
      std::lock_guard done_lock(mutex_);
      it->done = true;
      --in_flight_;
      changed_.notify_all();
    });
  }
  return {jobs.size(), launched};
}

void LeaseWorkerRunner::run_step(std::shared_ptr<LeasedJob> job,
                                 std::chrono::steady_clock::time_point deadline) {
  StepContext context(deadline, stopping_);
  auto count = [&](std::uint64_t Stats::*field) {
    std::lock_guard lock(mutex_);
    ++(stats_.*field);
  };
  const auto step_started = std::chrono::steady_clock::now();
  struct RecordStepTime {
    const metrics::Histogram& histogram;
    std::chrono::steady_clock::time_point started;
    ~RecordStepTime() {
      histogram.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  } record_step_time{step_time_, step_started};
  // One span per step; the step's plugin adds the task and job ids it knows
  // (tracing::set_current_attribute) and its transactions and requests are children.
  tracing::Span span =
      tracing::enabled() ? tracing::Span::start(options_.name + " step") : tracing::Span();
  auto scope = span.activate();
  span.set_attribute("janus.job", job->description);
  try {
    functions_.step(*job, context);
  } catch (const std::exception& e) {
    span.set_error(e.what());
    count(&Stats::failed);
    if (logger_) {
      logger_->error("worker {}: stepping job {} failed: {}", options_.name, job->description,
                     e.what());
    }
    return;
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    // The lease may already belong to someone else: leave it to expire.
    span.set_error("step ran past its lease deadline");
    count(&Stats::timed_out);
    cancellations_.increment();
    if (logger_) {
      logger_->error("worker {}: stepping job {} timed out; its lease will expire", options_.name,
                     job->description);
    }
    return;
  }
  if (functions_.release) {
    try {
      functions_.release(*job);
    } catch (const std::exception& e) {
      count(&Stats::failed);
      if (logger_) {
        logger_->error("worker {}: releasing job {} failed: {}", options_.name, job->description,
                       e.what());
      }
      return;
    }
  }
  count(&Stats::succeeded);
}

void LeaseWorkerRunner::reap_finished_locked() {
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->done) {
      it->thread.join();
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t LeaseWorkerRunner::run_once() {
  std::size_t acquired = acquire_and_launch().acquired;
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return in_flight_ == 0; });
  reap_finished_locked();
  return acquired;
}

void LeaseWorkerRunner::request_stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  changed_.notify_all();
}

bool LeaseWorkerRunner::wait_stopped(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  auto wait = [&](auto done) {
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      changed_.wait(lock, done);
      return true;
    }
    return changed_.wait_until(lock, deadline, done);
  };
  if (driver_.joinable()) {
    if (!wait([&] { return loop_finished_; })) return false;
    lock.unlock();
    driver_.join();
    lock.lock();
  }
  if (!wait([&] { return in_flight_ == 0; })) return false;
  reap_finished_locked();
  return true;
}

LeaseWorkerRunner::Stats LeaseWorkerRunner::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::size_t LeaseWorkerRunner::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

}  // namespace janus
