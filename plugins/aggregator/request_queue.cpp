#include "request_queue.h"

#include <stdexcept>

namespace janus::aggregator {
namespace {

metrics::Counter queue_counter(const char* outcome) {
  return metrics::registry().counter("janus_helper_request_queue_requests",
                                     "Helper aggregation requests by queue outcome.",
                                     {{"outcome", outcome}});
}

}  // namespace

LifoRequestQueue::LifoRequestQueue(RequestQueueOptions options)
    : options_(options),
      immediate_(queue_counter("immediate")),
      queued_(queue_counter("queued")),
      rejected_(queue_counter("rejected")),
      timed_out_(queue_counter("timed_out")) {
  if (options_.concurrency == 0) throw std::invalid_argument("concurrency must be greater than 0");
  for (std::size_t i = 0; i < options_.concurrency; ++i) threads_.emplace_back([this] { work(); });
  threads_.emplace_back([this] { expire(); });
}

LifoRequestQueue::~LifoRequestQueue() { stop(); }

void LifoRequestQueue::submit(std::function<void()> run,
                              std::function<void(QueueRejection)> reject) {
  std::optional<QueueRejection> refused;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      refused = QueueRejection::Stopped;
    } else if (stack_.size() >= idle_ + options_.depth) {
      // Every idle thread already has a request to take and the stack is at its depth.
      refused = QueueRejection::Full;
    } else {
      const bool at_once = stack_.size() < idle_;
      (at_once ? immediate_ : queued_).increment();
      const auto now = std::chrono::steady_clock::now();
      stack_.push_back(Entry{std::move(run), std::move(reject),
                             options_.timeout ? now + *options_.timeout
                                              : std::chrono::steady_clock::time_point::max()});
    }
  }
  if (refused) {
    rejected_.increment();
    reject(*refused);
    return;
  }
  wake_workers_.notify_one();
  wake_timer_.notify_one();
}

void LifoRequestQueue::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    wake_workers_.wait(lock, [&] { return stopping_ || !stack_.empty(); });
    --idle_;
    if (stack_.empty()) return;  // stopping, nothing left
    Entry entry = std::move(stack_.back());
    stack_.pop_back();
    lock.unlock();
    entry.run();
    lock.lock();
  }
}

void LifoRequestQueue::expire() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    // Deadlines grow from the front (oldest) to the back.
    std::vector<Entry> expired;
    while (!stack_.empty() && stack_.front().deadline <= now) {
      expired.push_back(std::move(stack_.front()));
      stack_.pop_front();
    }
    if (!expired.empty()) {
      lock.unlock();
      for (Entry& entry : expired) {
        timed_out_.increment();
        entry.reject(QueueRejection::TimedOut);
      }
      lock.lock();
      continue;
    }
    if (stack_.empty() || stack_.front().deadline == std::chrono::steady_clock::time_point::max()) {
      wake_timer_.wait(lock);
    } else {
      wake_timer_.wait_until(lock, stack_.front().deadline);
    }
  }
}

void LifoRequestQueue::stop() {
  std::deque<Entry> left;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    left.swap(stack_);
  }
  wake_workers_.notify_all();
  wake_timer_.notify_all();
  for (Entry& entry : left) entry.reject(QueueRejection::Stopped);
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

std::size_t LifoRequestQueue::waiting() const {
  std::lock_guard lock(mutex_);
  return stack_.size();
}

}  // namespace janus::aggregator
