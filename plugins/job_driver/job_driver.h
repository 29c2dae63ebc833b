// The leader's aggregation job driver (Janus 0.7 `aggregation_job_driver`): leases
// IN_PROGRESS aggregation jobs and steps them against the helper (PUT init, POST continue
// for multi-round VDAFs), accumulating the leader's output shares into the sharded batch
// aggregations. Jobs that keep failing are abandoned and DELETEd at the helper.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <yaml-cpp/yaml.h>

#include "janus/aggregation.h"
#include "janus/config.h"
#include "janus/datastore.h"
#include "janus/http_client.h"
#include "janus/job_driver_config.h"
#include "janus/messages.h"
#include "janus/vdaf_registry.h"
#include "janus/worker.h"

namespace spdlog {
class logger;
}

namespace janus::job_driver {

struct AggregationJobDriverConfig : JobDriverConfig {
  std::uint64_t batch_aggregation_shard_count = 32;
  std::uint64_t task_counter_shard_count = 32;
};

// Reads the component's keys (janus-0.7.md §3.2). Unknown keys and bad values throw
// ConfigError naming file, key and line; `warn` hears about accepted-but-unimplemented ones.
AggregationJobDriverConfig parse_job_driver_config(const YAML::Node& section,
                                                   const std::string& file,
                                                   const ConfigWarningSink& warn);

class JobDriver {
 public:
  // `retry_sleep` replaces the sleeps between HTTP retries (tests); empty means sleep.
  JobDriver(AggregationJobDriverConfig config, Datastore& datastore, const VdafRegistry& vdafs,
            std::shared_ptr<spdlog::logger> logger,
            std::function<void(std::chrono::milliseconds)> retry_sleep = {});

  LeaseWorkerOptions worker_options(const std::string& name) const;
  LeaseWorkerFunctions worker_functions();

  // Steps one leased job (what the lease runner calls). Throws when the step failed and
  // the job should be retried once its lease expires.
  void step(const Lease<AcquiredAggregationJob>& lease, const StepContext& context);

 private:
  struct Loaded;
  struct Request;
  Loaded load(const AcquiredAggregationJob& acquired, const Vdaf& vdaf);
  Request build_request(const AggregatorTask& task, AggregationJob& job, const Vdaf& vdaf,
                        Loaded& loaded);
  AggregationJobResp send(const AggregatorTask& task, const AggregationJobId& job_id,
                          const Request& request, const StepContext& context);
  std::vector<std::optional<Bytes>> apply_response(const AggregationJob& job, const Vdaf& vdaf,
                                                   Request& request, const AggregationJobResp& resp,
                                                   Loaded& loaded);
  AggregationJobWriterOptions writer_options() const;
  void abandon(const Lease<AcquiredAggregationJob>& lease, const StepContext& context);
  std::string job_url(const AggregatorTask& task, const AggregationJobId& job_id) const;
  RetryPolicy retry_policy(const StepContext& context) const;

  AggregationJobDriverConfig config_;
  Datastore& datastore_;
  const VdafRegistry& vdafs_;
  std::shared_ptr<spdlog::logger> logger_;
  std::function<void(std::chrono::milliseconds)> retry_sleep_;
  HttpClient http_;
};

}  // namespace janus::job_driver
