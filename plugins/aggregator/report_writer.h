// The leader's upload writer (Janus's ReportWriteBatcher, with group commit): uploads queue
// their report with a completion callback and hold no thread while they wait. When no
// writer is busy, one takes whatever has queued (up to max_batch_size) and commits it in
// one transaction with one batched insert, so a lone upload is written at once and batches
// grow under load while that transaction runs. More writers (up to `writers`) join in for
// a full batch, or for reports that have waited max_batch_write_delay: the delay is a
// maximum that this meets while the database keeps up, not a wait.
//
// Upload counters (successes and rejections) are summed in memory and written in their own
// transaction (as Janus does), at most every counter_flush_interval: a rejection never waits
// for a database write, and a counter conflict between replicas never retries a batch.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "janus/datastore.h"

namespace spdlog {
class logger;
}

namespace janus::aggregator {

enum class WriteOutcome {
  Stored,             // a new row
  Duplicate,          // the report id was already stored: DAP says ignore it
  IntervalCollected,  // the report's time_interval batch was already collected
};

// Called once, on a writer thread, after the report's transaction ended: the outcome, or
// nullopt when the report could not be written (logged).
using WriteCallback = std::function<void(std::optional<WriteOutcome>)>;

struct ReportWriterOptions {
  std::size_t max_batch_size = 100;
  std::chrono::milliseconds max_batch_write_delay{250};
  std::uint64_t counter_shard_count = 32;
  // Transactions writing reports at once (each on its own database connection).
  std::size_t writers = 4;
  std::chrono::milliseconds counter_flush_interval{1000};
};

class ReportWriteBatcher {
 public:
  ReportWriteBatcher(Datastore& datastore, ReportWriterOptions options,
                     std::shared_ptr<spdlog::logger> logger);
  ~ReportWriteBatcher();  // stops (writing what is queued)
  ReportWriteBatcher(const ReportWriteBatcher&) = delete;
  ReportWriteBatcher& operator=(const ReportWriteBatcher&) = delete;

  // Reports queued before start() are written once it runs.
  void start();
  // Writes what is queued and the counters, then stops the writers. Later writes fail at once.
  void stop();

  // `batch_time_precision`: set for time_interval tasks, whose batch (the report time
  // rounded down to it) must not be collected yet.
  void write_report(LeaderStoredReport report, std::optional<Duration> batch_time_precision,
                    WriteCallback done);
  // Adds `delta` to the task's upload counters (a rejected upload); returns at once.
  void record_rejection(const TaskId& task_id, const TaskUploadCounter& delta);
  // Writes the counters summed so far now, in the caller's thread (tests; stop()).
  void flush_counters();

  // Report transactions run so far (tests check that concurrent uploads share them).
  std::uint64_t transactions() const;
  std::size_t queued() const;

 private:
  struct Pending {
    LeaderStoredReport report;
    std::optional<Duration> batch_time_precision;
    WriteCallback done;
    std::chrono::steady_clock::time_point queued_at;
  };
  void loop();
  // Whether a free writer should take a batch now (under the lock).
  bool batch_ready(std::chrono::steady_clock::time_point now) const;
  // Writes `batch` in one transaction, or, if that fails, each alone (so one bad report
  // cannot fail the others); calls every callback.
  void write_batch(std::vector<Pending>& batch);
  std::vector<WriteOutcome> write_in_transaction(std::vector<Pending*>& items);
  bool counters_due(std::chrono::steady_clock::time_point now) const;

  Datastore& datastore_;
  ReportWriterOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::map<TaskId, TaskUploadCounter> counters_;  // not yet written
  std::chrono::steady_clock::time_point counters_since_;
  std::mutex counter_write_;  // one counter transaction at a time
  std::size_t busy_writers_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  std::uint64_t transactions_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace janus::aggregator
