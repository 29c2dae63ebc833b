#include "garbage_collector.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "janus/config.h"

namespace janus::garbage_collector {
namespace {

// With concurrent_tx_limit null Janus starts every chunk's transaction at once and lets
// its connection pool queue them; we run at most this many threads, which the pool would
// serialize anyway.
constexpr std::size_t kUnlimitedConcurrency = 8;

}  // namespace

GarbageCollectorConfig parse_garbage_collection(const YAML::Node& section, const std::string& file,
                                                const std::string& path) {
  ConfigMap map(section, file, path);
  GarbageCollectorConfig config;
  config.gc_frequency = std::chrono::seconds(read_positive(map, "gc_frequency_s"));
  config.report_limit = map.required<std::uint64_t>("report_limit");
  config.aggregation_limit = map.required<std::uint64_t>("aggregation_limit");
  config.collection_limit = map.required<std::uint64_t>("collection_limit");
  config.tasks_per_tx = read_positive(map, "tasks_per_tx", 1);
  // Absent or null: no limit beyond the collector's own.
  if (map.optional<std::uint64_t>("concurrent_tx_limit")) {
    config.concurrent_tx_limit = read_positive(map, "concurrent_tx_limit");
  }
  map.finish();
  return config;
}

Deleted& Deleted::operator+=(const Deleted& other) {
  client_reports += other.client_reports;
  aggregation_jobs += other.aggregation_jobs;
  batches += other.batches;
  return *this;
}

GarbageCollector::GarbageCollector(GarbageCollectorConfig config, Datastore& datastore,
                                   std::shared_ptr<spdlog::logger> logger)
    : config_(config),
      datastore_(datastore),
      logger_(std::move(logger)),
      deleted_reports_(metrics::registry().counter(
          "janus_gc_deleted_reports", "Count of client reports deleted by the garbage collector.")),
      deleted_aggregation_jobs_(metrics::registry().counter(
          "janus_gc_deleted_aggregation_jobs",
          "Count of aggregation jobs deleted by the garbage collector.")),
      deleted_batches_(metrics::registry().counter(
          "janus_gc_deleted_batches", "Count of batches deleted by the garbage collector.")) {}

Deleted GarbageCollector::collect_tasks(const std::vector<AggregatorTask>& tasks) {
  Deleted deleted = datastore_.run_tx("garbage_collector", [&](Transaction& tx) {
    Deleted in_tx;
    for (const AggregatorTask& task : tasks) {
      if (!task.report_expiry_age) continue;
      const Time threshold =
          tx.now() > *task.report_expiry_age ? tx.now() - *task.report_expiry_age : 0;
      in_tx.client_reports +=
          tx.delete_expired_client_reports(task.task_id, threshold, config_.report_limit);
      in_tx.aggregation_jobs +=
          tx.delete_expired_aggregation_jobs(task.task_id, threshold, config_.aggregation_limit);
      in_tx.batches +=
          tx.delete_expired_collection_artifacts(task.task_id, threshold, config_.collection_limit);
    }
    return in_tx;
  });
  deleted_reports_.increment(static_cast<double>(deleted.client_reports));
  deleted_aggregation_jobs_.increment(static_cast<double>(deleted.aggregation_jobs));
  deleted_batches_.increment(static_cast<double>(deleted.batches));
  return deleted;
}

Deleted GarbageCollector::run_once() {
  std::vector<AggregatorTask> tasks = datastore_.run_tx(
      "garbage_collector_get_tasks", [](Transaction& tx) { return tx.get_aggregator_tasks(); });
  std::vector<std::vector<AggregatorTask>> chunks;
  for (std::size_t i = 0; i < tasks.size(); i += config_.tasks_per_tx) {
    const std::size_t end = std::min(tasks.size(), i + config_.tasks_per_tx);
    chunks.emplace_back(tasks.begin() + static_cast<std::ptrdiff_t>(i),
                        tasks.begin() + static_cast<std::ptrdiff_t>(end));
  }

  std::mutex mutex;
  Deleted total;
  std::atomic<std::size_t> next{0}, in_flight{0}, max_in_flight{0};
  auto work = [&] {
    for (std::size_t i = next++; i < chunks.size(); i = next++) {
      const std::size_t now_in_flight = ++in_flight;
      std::size_t seen = max_in_flight.load();
      while (now_in_flight > seen && !max_in_flight.compare_exchange_weak(seen, now_in_flight)) {
      }
      try {
        Deleted deleted = collect_tasks(chunks[i]);
        std::lock_guard lock(mutex);
        total += deleted;
      } catch (const std::exception& e) {
        if (logger_) logger_->error("GC failure for {} task(s): {}", chunks[i].size(), e.what());
      }
      --in_flight;
    }
  };
  const std::size_t threads =
      std::min(chunks.size(), config_.concurrent_tx_limit.value_or(kUnlimitedConcurrency));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  max_concurrent_seen_ = max_in_flight.load();
  if (logger_ && (total.client_reports || total.aggregation_jobs || total.batches)) {
    logger_->info(
        "garbage collection: deleted {} client report(s), {} aggregation job(s), {} batch(es)",
        total.client_reports, total.aggregation_jobs, total.batches);
  }
  return total;
}

}  // namespace janus::garbage_collector
