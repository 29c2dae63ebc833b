// Janus's JobDriverConfig (janus-0.7.md §3.2): the keys every lease-based job driver
// (aggregation_job_driver, collection_job_driver) shares, read once, and what the SDK's
// lease runner, HTTP client and retry loop take from them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "janus/config.h"
#include "janus/datastore.h"
#include "janus/http_client.h"
#include "janus/worker.h"

namespace janus {

struct JobDriverConfig {
  std::chrono::seconds job_discovery_interval{10};
  std::size_t max_concurrent_job_workers = 10;
  std::chrono::seconds worker_lease_duration{600};
  std::chrono::seconds worker_lease_clock_skew_allowance{60};
  std::uint64_t maximum_attempts_before_failure = 10;
  std::chrono::seconds http_request_connection_timeout{10};
  std::chrono::seconds http_request_timeout{30};
  std::chrono::milliseconds retry_initial_interval{1'000};
  std::chrono::milliseconds retry_max_interval{30'000};
  std::chrono::milliseconds retry_max_elapsed_time{300'000};

  LeaseWorkerOptions lease_worker_options(const std::string& name) const;
  HttpClientOptions http_client_options() const;
  RetryPolicy retry_policy() const;

  // The lease runner's functions for one kind of job, the plumbing both drivers share:
  // acquire = one transaction `acquire_tx` calling `acquire` with worker_lease_duration,
  // each lease described by `describe` for the logs; step = `step` on the typed lease;
  // wait_for_work = NOTIFY on `channel`. The step releases its lease itself.
  template <typename Acquired>
  LeaseWorkerFunctions lease_worker_functions(
      Datastore& datastore, std::string acquire_tx,
      std::vector<Lease<Acquired>> (Transaction::*acquire)(Duration, std::uint64_t),
      std::function<std::string(const Lease<Acquired>&)> describe,
      std::function<void(const Lease<Acquired>&, const StepContext&)> step,
      std::string_view channel) const {
    LeaseWorkerFunctions functions;
    const auto lease_duration = static_cast<Duration>(worker_lease_duration.count());
    functions.acquire = [&datastore, acquire_tx = std::move(acquire_tx), acquire, lease_duration,
                         describe = std::move(describe)](std::size_t max) {
      auto leases = datastore.run_tx(
          acquire_tx, [&](Transaction& tx) { return (tx.*acquire)(lease_duration, max); });
      std::vector<LeasedJob> jobs;
      jobs.reserve(leases.size());
      for (auto& lease : leases) {
        LeasedJob job;
        job.lease_expiry = static_cast<UnixSeconds>(lease.expiry);
        job.description = describe(lease);
        job.job = std::make_shared<Lease<Acquired>>(std::move(lease));
        jobs.push_back(std::move(job));
      }
      return jobs;
    };
    functions.step = [step = std::move(step)](const LeasedJob& job, const StepContext& context) {
      step(*std::static_pointer_cast<Lease<Acquired>>(job.job), context);
    };
    functions.wait_for_work = datastore.work_notifications(channel);
    return functions;
  }
};

// Reads the JobDriverConfig keys from a component's section; the component reads its own keys
// from `map` and calls finish(). Throws ConfigError naming file, key and line for a missing key,
// a zero where one makes no sense, or a clock-skew allowance not below the lease duration.
void read_job_driver_config(ConfigMap& map, JobDriverConfig& config);

}  // namespace janus
