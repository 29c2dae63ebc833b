// The leader's aggregation job creator (Janus 0.7 `aggregation_job_creator`): claims
// unaggregated reports of each leader task and writes them as aggregation jobs whose
// report aggregations start in StartLeader, for the job driver to step.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "janus/config.h"
#include "janus/datastore.h"
#include "janus/vdaf_registry.h"

namespace spdlog {
class logger;
}

namespace janus::job_creator {

struct JobCreatorConfig {
  std::uint64_t batch_aggregation_shard_count = 32;
  std::chrono::seconds tasks_update_frequency{3600};
  std::chrono::seconds aggregation_job_creation_interval{60};
  std::uint64_t min_aggregation_job_size = 10;
  std::uint64_t max_aggregation_job_size = 100;
  std::uint64_t aggregation_job_creation_report_window = 5000;
  Duration late_report_grace_period = 3600;
};

// Reads the component's keys (janus-0.7.md §3.2); unknown keys and bad values throw
// ConfigError naming file, key and line.
JobCreatorConfig parse_job_creator_config(const YAML::Node& section, const std::string& file);

class JobCreator {
 public:
  // Times come from the datastore's clock (Transaction::now()). The VDAF of a task says
  // whether its reports are aggregated as they arrive (Prio3) or per collection (Poplar1).
  JobCreator(JobCreatorConfig config, Datastore& datastore, const VdafRegistry& vdafs,
             std::shared_ptr<spdlog::logger> logger);

  // One pass over every leader task. Returns the number of jobs written.
  std::size_t run_once();
  // The jobs for one task: one transaction per window of reports, another at once while a
  // window was full. Returns the number of jobs written.
  std::size_t create_jobs_for_task(const AggregatorTask& task);

 private:
  struct CreationPass {
    std::size_t jobs = 0;
    bool full_window = false;  // the pass found a whole window of reports
  };
  std::vector<AggregatorTask> leader_tasks();
  CreationPass create_jobs_pass(const AggregatorTask& task);
  CreationPass create_fixed_size_jobs(Transaction& tx, const AggregatorTask& task);
  CreationPass create_collection_jobs(Transaction& tx, const AggregatorTask& task,
                                      const Vdaf& vdaf);

  JobCreatorConfig config_;
  Datastore& datastore_;
  const VdafRegistry& vdafs_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  std::vector<AggregatorTask> tasks_;
  std::optional<std::chrono::steady_clock::time_point> tasks_loaded_at_;
};

}  // namespace janus::job_creator
