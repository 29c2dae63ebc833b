// The leader's collection job driver (Janus 0.7 collection_job_driver.rs): leases START
// collection jobs, waits until their batch has finished aggregating, merges the leader's
// batch aggregation shards, asks the helper for its encrypted aggregate share and stores both
// for the collection routes (plugins/aggregator/collection.cpp) to serve.
#pragma once

#include <janus/clock.h>
#include <janus/datastore.h>
#include <janus/http_client.h>
#include <janus/vdaf_registry.h>
#include <janus/worker.h>

#include <chrono>
#include <memory>

#include "driver_config.h"

namespace spdlog {
class logger;
}

namespace janus::collection_driver {

class CollectionDriver {
 public:
  CollectionDriver(CollectionDriverConfig config, Datastore& datastore, const VdafRegistry& vdafs,
                   std::shared_ptr<spdlog::logger> logger = nullptr);

  // The acquire/step functions for a LeaseWorkerRunner. A step releases the job itself
  // (finished, abandoned or not ready yet); a step that throws leaves the lease to run out so
  // that the job is retried and, after maximum_attempts_before_failure, abandoned.
  LeaseWorkerFunctions functions();
  LeaseWorkerOptions options(const std::string& name) const;

  // One step of one leased job (the runner's `step`).
  void step(const Lease<AcquiredCollectionJob>& lease, const StepContext& context);

  // min * factor^step_attempts, capped at max.
  std::chrono::seconds retry_delay(std::uint64_t step_attempts) const;

  // Tests replace the helper requests' backoff sleep.
  RetryPolicy& retry_policy() { return retry_policy_; }

 private:
  void abandon(const Lease<AcquiredCollectionJob>& lease, const std::string& why);

  CollectionDriverConfig config_;
  Datastore& datastore_;
  const VdafRegistry& vdafs_;
  std::shared_ptr<spdlog::logger> logger_;
  HttpClient http_;
  RetryPolicy retry_policy_;
};

}  // namespace janus::collection_driver
