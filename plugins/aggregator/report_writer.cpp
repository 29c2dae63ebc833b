#include "report_writer.h"

#include <map>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "janus/aggregation.h"

namespace janus::aggregator {
namespace {

void add_counter(TaskUploadCounter& total, const TaskUploadCounter& delta) {
  total.interval_collected += delta.interval_collected;
  total.report_decode_failure += delta.report_decode_failure;
  total.report_decrypt_failure += delta.report_decrypt_failure;
  total.report_expired += delta.report_expired;
  total.report_outdated_key += delta.report_outdated_key;
  total.report_success += delta.report_success;
  total.report_too_early += delta.report_too_early;
  total.task_expired += delta.task_expired;
}

}  // namespace

ReportWriteBatcher::ReportWriteBatcher(Datastore& datastore, ReportWriterOptions options,
                                       std::shared_ptr<spdlog::logger> logger)
    : datastore_(datastore), options_(options), logger_(std::move(logger)) {
  if (options_.max_batch_size == 0) options_.max_batch_size = 1;
  if (options_.counter_shard_count == 0) options_.counter_shard_count = 1;
  if (options_.writers == 0) options_.writers = 1;
}

ReportWriteBatcher::~ReportWriteBatcher() { stop(); }

void ReportWriteBatcher::start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  for (std::size_t i = 0; i < options_.writers; ++i) threads_.emplace_back([this] { loop(); });
}

void ReportWriteBatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty() && queue_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  flush_counters();
  // Anything queued without a running writer (never started) fails.
  std::deque<Pending> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  for (Pending& pending : left) pending.done(std::nullopt);
}

void ReportWriteBatcher::write_report(LeaderStoredReport report,
                                      std::optional<Duration> batch_time_precision,
                                      WriteCallback done) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(report), batch_time_precision, std::move(done),
                               std::chrono::steady_clock::now()});
      done = nullptr;
      // Wake a writer only when this report can change what one does: none is busy (so one
      // takes it now), the queue was empty (a sleeping writer's deadline is now this
      // report's delay), or a full batch has queued (another writer joins in). Under load a
      // writer is busy and the queue is partial, so most uploads wake no one: a wake-up that
      // finds nothing to do costs two context switches, per report.
      wake =
          busy_writers_ == 0 || queue_.size() == 1 || queue_.size() % options_.max_batch_size == 0;
    }
  }
  if (done) {
    if (logger_) logger_->warn("an upload arrived after the report writer stopped");
    done(std::nullopt);
    return;
  }
  if (wake) wake_.notify_one();
}

void ReportWriteBatcher::record_rejection(const TaskId& task_id, const TaskUploadCounter& delta) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = counters_.empty();
    if (first) counters_since_ = std::chrono::steady_clock::now();
    add_counter(counters_[task_id], delta);
  }
  // Sleeping writers must learn the flush deadline only when it starts.
  if (first) wake_.notify_one();
}

std::uint64_t ReportWriteBatcher::transactions() const {
  std::lock_guard lock(mutex_);
  return transactions_;
}

std::size_t ReportWriteBatcher::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool ReportWriteBatcher::counters_due(std::chrono::steady_clock::time_point now) const {
  return !counters_.empty() &&
         (stopping_ || now - counters_since_ >= options_.counter_flush_interval);
}

bool ReportWriteBatcher::batch_ready(std::chrono::steady_clock::time_point now) const {
  if (queue_.empty()) return false;
  // The first free writer takes whatever has queued at once. Further writers join in only
  // for a full batch, or for reports that have waited max_batch_write_delay: concurrent
  // small transactions would cost the database more per report than one larger one.
  return busy_writers_ == 0 || stopping_ || queue_.size() >= options_.max_batch_size ||
         now - queue_.front().queued_at >= options_.max_batch_write_delay;
}

void ReportWriteBatcher::loop() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto now = Clock::now();
    if (batch_ready(now)) {
      std::vector<Pending> batch;
      while (!queue_.empty() && batch.size() < options_.max_batch_size) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++busy_writers_;
      // What is left may be ready for another writer too (a second full batch, reports past
      // their delay).
      if (batch_ready(now)) wake_.notify_one();
      lock.unlock();
      write_batch(batch);
      lock.lock();
      --busy_writers_;
      // This writer, free again, loops and takes what is ready itself; the others sleep on
      // until their deadline or a wake-up above.
      continue;
    }
    if (counters_due(now)) {
      lock.unlock();
      flush_counters();
      lock.lock();
      continue;
    }
    if (stopping_ && queue_.empty()) return;
    // Sleep until something changes or a deadline (counters due, a report's delay) passes;
    // every wake-up re-checks from the top.
    Clock::time_point wake_at = Clock::time_point::max();
    if (!counters_.empty()) wake_at = counters_since_ + options_.counter_flush_interval;
    if (!queue_.empty()) {
      wake_at = std::min(wake_at, queue_.front().queued_at + options_.max_batch_write_delay);
    }
    if (wake_at == Clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, wake_at);
    }
  }
}

void ReportWriteBatcher::write_batch(std::vector<Pending>& batch) {
  auto finish = [&](Pending& pending, std::optional<WriteOutcome> outcome) {
    try {
      pending.done(outcome);
    } catch (const std::exception& e) {
      if (logger_) logger_->error("an upload's completion failed: {}", e.what());
    }
  };
  std::vector<Pending*> all;
  for (Pending& pending : batch) all.push_back(&pending);
  try {
    std::vector<WriteOutcome> outcomes = write_in_transaction(all);
    for (std::size_t i = 0; i < batch.size(); ++i) finish(batch[i], outcomes[i]);
    return;
  } catch (const std::exception& e) {
    if (batch.size() == 1) {
      if (logger_) logger_->error("writing an uploaded report failed: {}", e.what());
      finish(batch[0], std::nullopt);
      return;
    }
    if (logger_) {
      logger_->warn("writing a batch of {} uploads failed ({}); writing each alone", batch.size(),
                    e.what());
    }
  }
  for (Pending& pending : batch) {
    std::vector<Pending*> one{&pending};
    std::optional<WriteOutcome> outcome;
    try {
      outcome = write_in_transaction(one).at(0);
    } catch (const std::exception& e) {
      if (logger_) logger_->error("writing an uploaded report failed: {}", e.what());
    }
    finish(pending, outcome);
  }
}

std::vector<WriteOutcome> ReportWriteBatcher::write_in_transaction(std::vector<Pending*>& items) {
  {
    std::lock_guard lock(mutex_);
    ++transactions_;
  }
  std::vector<WriteOutcome> outcomes = datastore_.run_tx("upload_reports", [&](Transaction& tx) {
    std::vector<WriteOutcome> result(items.size(), WriteOutcome::Stored);
    // Reports of one batch mostly share a time_interval batch: ask once per batch.
    std::map<std::pair<TaskId, Time>, bool> collected;
    std::vector<LeaderStoredReport> to_insert;
    std::vector<std::size_t> inserted_index;
    for (std::size_t i = 0; i < items.size(); ++i) {
      Pending& item = *items[i];
      if (item.batch_time_precision && *item.batch_time_precision > 0) {
        const Duration precision = *item.batch_time_precision;
        const Time start = item.report.client_timestamp / precision * precision;
        auto [it, fresh] = collected.try_emplace({item.report.task_id, start}, false);
        if (fresh)
          it->second = tx.is_batch_collected(item.report.task_id, Interval{start, precision});
        if (it->second) {
          result[i] = WriteOutcome::IntervalCollected;
          continue;
        }
      }
      to_insert.push_back(item.report);
      inserted_index.push_back(i);
    }
    if (!to_insert.empty()) {
      std::vector<bool> inserted = tx.put_client_reports(to_insert);
      for (std::size_t j = 0; j < inserted.size(); ++j) {
        result[inserted_index[j]] = inserted[j] ? WriteOutcome::Stored : WriteOutcome::Duplicate;
      }
    }
    return result;
  });
  // Counted once the reports are committed, in the counters' own transaction.
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (outcomes[i] == WriteOutcome::Duplicate) continue;
    if (counters_.empty()) counters_since_ = std::chrono::steady_clock::now();
    TaskUploadCounter& counter = counters_[items[i]->report.task_id];
    if (outcomes[i] == WriteOutcome::Stored) {
      counter.report_success += 1;
    } else {
      counter.interval_collected += 1;
    }
  }
  return outcomes;
}

void ReportWriteBatcher::flush_counters() {
  std::lock_guard writing(counter_write_);
  std::map<TaskId, TaskUploadCounter> pending;
  {
    std::lock_guard lock(mutex_);
    pending.swap(counters_);
  }
  if (pending.empty()) return;
  try {
    datastore_.run_tx("increment_task_upload_counters", [&](Transaction& tx) {
      for (const auto& [task_id, delta] : pending) {
        tx.increment_task_upload_counter(task_id, random_shard(options_.counter_shard_count),
                                         delta);
      }
    });
  } catch (const std::exception& e) {
    // Kept for the next flush rather than lost.
    if (logger_) logger_->warn("writing upload counters failed (will retry): {}", e.what());
    std::lock_guard lock(mutex_);
    if (counters_.empty()) counters_since_ = std::chrono::steady_clock::now();
    for (const auto& [task_id, delta] : pending) add_counter(counters_[task_id], delta);
  }
}

}  // namespace janus::aggregator
