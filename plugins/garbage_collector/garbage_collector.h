// The garbage collector (Janus 0.7's `garbage_collector`, also run inside the aggregator
// from its `garbage_collection:` section): for every task with a report_expiry_age it
// deletes, per run and task, up to report_limit expired client reports, up to
// aggregation_limit expired aggregation jobs (with their report aggregations) and up to
// collection_limit expired batches (with their collection artifacts), tasks_per_tx tasks
// to a transaction and at most concurrent_tx_limit transactions at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "janus/datastore.h"
#include "janus/metrics.h"

namespace spdlog {
class logger;
}

namespace janus::garbage_collector {

struct GarbageCollectorConfig {
  std::chrono::seconds gc_frequency{60};
  std::uint64_t report_limit = 5000;
  std::uint64_t aggregation_limit = 500;
  std::uint64_t collection_limit = 50;
  std::size_t tasks_per_tx = 1;
  std::optional<std::size_t> concurrent_tx_limit;  // none: no limit of our own
};

// Reads the `garbage_collection` mapping (janus-0.7.md): gc_frequency_s, report_limit,
// aggregation_limit and collection_limit required; tasks_per_tx (1) and
// concurrent_tx_limit (null) optional. Unknown keys and bad values throw ConfigError.
GarbageCollectorConfig parse_garbage_collection(const YAML::Node& section, const std::string& file,
                                                const std::string& path);

// What one run deleted.
struct Deleted {
  std::uint64_t client_reports = 0;
  std::uint64_t aggregation_jobs = 0;
  std::uint64_t batches = 0;
  Deleted& operator+=(const Deleted& other);
};

class GarbageCollector {
 public:
  // Times come from the datastore's clock (Transaction::now()).
  GarbageCollector(GarbageCollectorConfig config, Datastore& datastore,
                   std::shared_ptr<spdlog::logger> logger);

  // One run over every task. A chunk of tasks whose transaction fails is logged and
  // skipped (the next run tries again), as in Janus.
  Deleted run_once();
  // One transaction over `tasks` (those without report_expiry_age are skipped).
  Deleted collect_tasks(const std::vector<AggregatorTask>& tasks);

  // Transactions run at once during the last run_once (for tests).
  std::size_t max_concurrent_transactions_seen() const { return max_concurrent_seen_; }

 private:
  GarbageCollectorConfig config_;
  Datastore& datastore_;
  std::shared_ptr<spdlog::logger> logger_;
  metrics::Counter deleted_reports_, deleted_aggregation_jobs_, deleted_batches_;
  std::size_t max_concurrent_seen_ = 0;
};

}  // namespace janus::garbage_collector
