// The leader's upload write batcher (Janus's ReportWriteBatcher): upload requests queue
// their report, one transaction writes up to max_upload_batch_size reports with one
// batched insert (or whatever has queued once max_upload_batch_write_delay has passed
// since the first one), and each request waits for the outcome of its own report.
// Rejected uploads go through the same queue so that their upload counters are written
// in the same few transactions.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "janus/datastore.h"

namespace spdlog {
class logger;
}

namespace janus::aggregator {

enum class WriteOutcome {
  Stored,             // a new row
  Duplicate,          // the report id was already stored: DAP says ignore it
  IntervalCollected,  // the report's time_interval batch was already collected
  CounterRecorded,    // a rejection's counter was written
};

struct ReportWriterOptions {
  std::size_t max_batch_size = 100;
  std::chrono::milliseconds max_batch_write_delay{250};
  std::uint64_t counter_shard_count = 32;
};

class ReportWriteBatcher {
 public:
  ReportWriteBatcher(Datastore& datastore, ReportWriterOptions options,
                     std::shared_ptr<spdlog::logger> logger);
  ~ReportWriteBatcher();  // stops (writing what is queued)
  ReportWriteBatcher(const ReportWriteBatcher&) = delete;
  ReportWriteBatcher& operator=(const ReportWriteBatcher&) = delete;

  void start();
  // Writes what is queued, then stops the writer thread. Later writes fail at once.
  void stop();

  // `batch_time_precision`: set for time_interval tasks, whose batch (the report time
  // rounded down to it) must not be collected yet.
  std::future<WriteOutcome> write_report(LeaderStoredReport report,
                                         std::optional<Duration> batch_time_precision);
  // Adds `delta` to the task's upload counters (a rejected upload).
  std::future<WriteOutcome> record_rejection(const TaskId& task_id, TaskUploadCounter delta);

  // Transactions run so far (tests check that concurrent uploads share them).
  std::uint64_t transactions() const;

 private:
  struct Pending {
    TaskId task_id;
    std::optional<LeaderStoredReport> report;  // absent: a counter-only rejection
    std::optional<Duration> batch_time_precision;
    TaskUploadCounter rejection;
    std::promise<WriteOutcome> outcome;
  };
  std::future<WriteOutcome> enqueue(Pending pending);
  void loop();
  // Writes `batch` in one transaction, or, if that fails, each alone (so one bad
  // report cannot fail the others); fulfils every promise.
  void write_batch(std::vector<Pending>& batch);
  std::vector<WriteOutcome> write_in_transaction(std::vector<Pending*>& items);

  Datastore& datastore_;
  ReportWriterOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::chrono::steady_clock::time_point first_queued_at_;
  bool started_ = false;
  bool stopping_ = false;
  std::uint64_t transactions_ = 0;
  std::thread thread_;
};

}  // namespace janus::aggregator
