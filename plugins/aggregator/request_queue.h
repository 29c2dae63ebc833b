// Janus 0.7's helper_aggregation_request_queue (experimental there): a bounded LIFO queue in
// front of the helper's aggregation-job routes. At most `concurrency` requests run at once;
// up to `depth` more wait, and the newest waiting request runs first (the leader has likely
// given up on the oldest: https://encore.dev/blog/queueing); a request that finds the stack
// full, or waits longer than `timeout`, is refused (429 with Retry-After, see aggregator.cpp)
// instead of piling up work the leader will retry anyway.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "janus/metrics.h"

namespace janus::aggregator {

struct RequestQueueOptions {
  std::size_t concurrency = 1;  // > 0
  std::size_t depth = 0;
  std::optional<std::chrono::milliseconds> timeout;
};

enum class QueueRejection { Full, TimedOut, Stopped };

class LifoRequestQueue {
 public:
  explicit LifoRequestQueue(RequestQueueOptions options);
  ~LifoRequestQueue();
  LifoRequestQueue(const LifoRequestQueue&) = delete;
  LifoRequestQueue& operator=(const LifoRequestQueue&) = delete;

  // Runs `run` on one of the queue's `concurrency` threads, or calls `reject` (at once on a
  // full stack; from the queue's timer thread on a timeout). Exactly one of them is called.
  void submit(std::function<void()> run, std::function<void(QueueRejection)> reject);
  // Refuses what waits (Stopped), lets running requests finish and joins the threads.
  void stop();

  std::size_t waiting() const;

 private:
  struct Entry {
    std::function<void()> run;
    std::function<void(QueueRejection)> reject;
    std::chrono::steady_clock::time_point deadline;
  };
  void work();
  void expire();

  const RequestQueueOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_workers_, wake_timer_;
  std::deque<Entry> stack_;  // oldest at the front, newest at the back
  std::size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  metrics::Counter immediate_, queued_, rejected_, timed_out_;
};

}  // namespace janus::aggregator
