#include "report_writer.h"

#include <map>
#include <random>
#include <stdexcept>

#include <spdlog/spdlog.h>

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

std::uint64_t random_shard(std::uint64_t shard_count) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_int_distribution<std::uint64_t>(0, shard_count - 1)(rng);
}

}  // namespace

ReportWriteBatcher::ReportWriteBatcher(Datastore& datastore, ReportWriterOptions options,
                                       std::shared_ptr<spdlog::logger> logger)
    : datastore_(datastore), options_(options), logger_(std::move(logger)) {
  if (options_.max_batch_size == 0) options_.max_batch_size = 1;
  if (options_.counter_shard_count == 0) options_.counter_shard_count = 1;
}

ReportWriteBatcher::~ReportWriteBatcher() { stop(); }

void ReportWriteBatcher::start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { loop(); });
}

void ReportWriteBatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Anything queued without a running writer (never started) fails.
  std::deque<Pending> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  for (Pending& pending : left) {
    pending.outcome.set_exception(
        std::make_exception_ptr(std::runtime_error("the report writer is not running")));
  }
}

std::future<WriteOutcome> ReportWriteBatcher::write_report(
    LeaderStoredReport report, std::optional<Duration> batch_time_precision) {
  Pending pending;
  pending.task_id = report.task_id;
  pending.report = std::move(report);
  pending.batch_time_precision = batch_time_precision;
  return enqueue(std::move(pending));
}

std::future<WriteOutcome> ReportWriteBatcher::record_rejection(const TaskId& task_id,
                                                               TaskUploadCounter delta) {
  Pending pending;
  pending.task_id = task_id;
  pending.rejection = delta;
  return enqueue(std::move(pending));
}

std::future<WriteOutcome> ReportWriteBatcher::enqueue(Pending pending) {
  std::future<WriteOutcome> future = pending.outcome.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !started_) {
      pending.outcome.set_exception(
          std::make_exception_ptr(std::runtime_error("the report writer is not running")));
      return future;
    }
    if (queue_.empty()) first_queued_at_ = std::chrono::steady_clock::now();
    queue_.push_back(std::move(pending));
  }
  wake_.notify_all();
  return future;
}

std::uint64_t ReportWriteBatcher::transactions() const {
  std::lock_guard lock(mutex_);
  return transactions_;
}

void ReportWriteBatcher::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping with nothing left
    // Wait for a full batch or the write delay, whichever comes first; when stopping,
    // write at once.
    wake_.wait_until(lock, first_queued_at_ + options_.max_batch_write_delay,
                     [&] { return stopping_ || queue_.size() >= options_.max_batch_size; });
    std::vector<Pending> batch;
    while (!queue_.empty() && batch.size() < options_.max_batch_size) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (!queue_.empty()) first_queued_at_ = std::chrono::steady_clock::now();
    lock.unlock();
    write_batch(batch);
    lock.lock();
  }
}

void ReportWriteBatcher::write_batch(std::vector<Pending>& batch) {
  std::vector<Pending*> all;
  for (Pending& pending : batch) all.push_back(&pending);
  try {
    std::vector<WriteOutcome> outcomes = write_in_transaction(all);
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].outcome.set_value(outcomes[i]);
    return;
  } catch (const std::exception& e) {
    if (batch.size() == 1) {
      if (logger_) logger_->error("writing an uploaded report failed: {}", e.what());
      batch[0].outcome.set_exception(std::current_exception());
      return;
    }
    if (logger_) {
      logger_->warn("writing a batch of {} uploads failed ({}); writing each alone", batch.size(),
                    e.what());
    }
  }
  for (Pending& pending : batch) {
    std::vector<Pending*> one{&pending};
    try {
      pending.outcome.set_value(write_in_transaction(one).at(0));
    } catch (const std::exception& e) {
      if (logger_) logger_->error("writing an uploaded report failed: {}", e.what());
      pending.outcome.set_exception(std::current_exception());
    }
  }
}

std::vector<WriteOutcome> ReportWriteBatcher::write_in_transaction(std::vector<Pending*>& items) {
  {
    std::lock_guard lock(mutex_);
    ++transactions_;
  }
  return datastore_.run_tx("upload_reports", [&](Transaction& tx) {
    std::vector<WriteOutcome> outcomes(items.size(), WriteOutcome::CounterRecorded);
    std::map<TaskId, TaskUploadCounter> counters;
    std::vector<LeaderStoredReport> to_insert;
    std::vector<std::size_t> inserted_index;
    for (std::size_t i = 0; i < items.size(); ++i) {
      Pending& item = *items[i];
      if (!item.report) {
        add_counter(counters[item.task_id], item.rejection);
        continue;
      }
      if (item.batch_time_precision && *item.batch_time_precision > 0) {
        const Duration precision = *item.batch_time_precision;
        const Time start = item.report->client_timestamp / precision * precision;
        if (tx.is_batch_collected(item.task_id, Interval{start, precision})) {
          outcomes[i] = WriteOutcome::IntervalCollected;
          counters[item.task_id].interval_collected += 1;
          continue;
        }
      }
      to_insert.push_back(*item.report);
      inserted_index.push_back(i);
    }
    if (!to_insert.empty()) {
      std::vector<bool> inserted = tx.put_client_reports(to_insert);
      for (std::size_t j = 0; j < inserted.size(); ++j) {
        const std::size_t i = inserted_index[j];
        if (inserted[j]) {
          outcomes[i] = WriteOutcome::Stored;
          counters[items[i]->task_id].report_success += 1;
        } else {
          outcomes[i] = WriteOutcome::Duplicate;
        }
      }
    }
    for (const auto& [task_id, delta] : counters) {
      if (delta == TaskUploadCounter{}) continue;
      tx.increment_task_upload_counter(task_id, random_shard(options_.counter_shard_count), delta);
    }
    return outcomes;
  });
}

}  // namespace janus::aggregator
