#include "janus/job_driver_config.h"

namespace janus {

void read_job_driver_config(ConfigMap& map, JobDriverConfig& config) {
  config.job_discovery_interval =
      std::chrono::seconds(read_positive(map, "job_discovery_interval_s"));
  config.max_concurrent_job_workers = read_positive(map, "max_concurrent_job_workers");
  config.worker_lease_duration =
      std::chrono::seconds(read_positive(map, "worker_lease_duration_s"));
  config.worker_lease_clock_skew_allowance =
      std::chrono::seconds(map.required<std::uint64_t>("worker_lease_clock_skew_allowance_s"));
  if (config.worker_lease_clock_skew_allowance >= config.worker_lease_duration) {
    // Every step's deadline would already have passed when it starts.
    throw ConfigError(
        config_location(map.file(), map.node()["worker_lease_clock_skew_allowance_s"]) + ": key '" +
        map.key_path("worker_lease_clock_skew_allowance_s") +
        "': must be less than worker_lease_duration_s");
  }
  config.maximum_attempts_before_failure =
      map.required<std::uint64_t>("maximum_attempts_before_failure");
  config.http_request_connection_timeout = std::chrono::seconds(read_positive(
      map, "http_request_connection_timeout_s", config.http_request_connection_timeout.count()));
  config.http_request_timeout = std::chrono::seconds(
      read_positive(map, "http_request_timeout_s", config.http_request_timeout.count()));
  config.retry_initial_interval = std::chrono::milliseconds(
      map.get<std::uint64_t>("retry_initial_interval_ms", config.retry_initial_interval.count()));
  config.retry_max_interval = std::chrono::milliseconds(
      map.get<std::uint64_t>("retry_max_interval_ms", config.retry_max_interval.count()));
  config.retry_max_elapsed_time = std::chrono::milliseconds(
      map.get<std::uint64_t>("retry_max_elapsed_time_ms", config.retry_max_elapsed_time.count()));
}

LeaseWorkerOptions JobDriverConfig::lease_worker_options(const std::string& name) const {
  LeaseWorkerOptions options;
  options.name = name;
  options.discovery_interval = job_discovery_interval;
  options.max_concurrent_jobs = max_concurrent_job_workers;
  options.clock_skew_allowance = worker_lease_clock_skew_allowance;
  return options;
}

HttpClientOptions JobDriverConfig::http_client_options() const {
  HttpClientOptions options;
  options.connect_timeout = http_request_connection_timeout;
  options.request_timeout = http_request_timeout;
  return options;
}

RetryPolicy JobDriverConfig::retry_policy() const {
  RetryPolicy policy;
  policy.initial_interval = retry_initial_interval;
  policy.max_interval = retry_max_interval;
  policy.max_elapsed = retry_max_elapsed_time;
  return policy;
}

}  // namespace janus
