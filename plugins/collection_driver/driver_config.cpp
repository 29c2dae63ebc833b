#include "driver_config.h"

namespace janus::collection_driver {
namespace {

ConfigError bad_value(ConfigMap& map, const std::string& key, const std::string& why) {
  return ConfigError(config_location(map.file(), map.node()[key]) + ": key '" + map.key_path(key) +
                     "': " + why);
}

std::uint64_t positive(ConfigMap& map, const std::string& key, std::uint64_t value) {
  if (value == 0) throw bad_value(map, key, "must be greater than 0");
  return value;
}

}  // namespace

CollectionDriverConfig parse_collection_driver_config(const YAML::Node& section,
                                                      const std::string& file) {
  ConfigMap map(section, file);
  CollectionDriverConfig config;
  config.job_discovery_interval = std::chrono::seconds(positive(
      map, "job_discovery_interval_s", map.required<std::uint64_t>("job_discovery_interval_s")));
  config.max_concurrent_job_workers = positive(
      map, "max_concurrent_job_workers", map.required<std::uint64_t>("max_concurrent_job_workers"));
  config.worker_lease_duration = std::chrono::seconds(positive(
      map, "worker_lease_duration_s", map.required<std::uint64_t>("worker_lease_duration_s")));
  config.worker_lease_clock_skew_allowance =
      std::chrono::seconds(map.required<std::uint64_t>("worker_lease_clock_skew_allowance_s"));
  if (config.worker_lease_clock_skew_allowance >= config.worker_lease_duration) {
    // Every step's deadline would already have passed when it starts.
    throw bad_value(map, "worker_lease_clock_skew_allowance_s",
                    "must be less than worker_lease_duration_s");
  }
  config.maximum_attempts_before_failure =
      map.required<std::uint64_t>("maximum_attempts_before_failure");
  config.http_request_connection_timeout = std::chrono::seconds(
      positive(map, "http_request_connection_timeout_s",
               map.get<std::uint64_t>("http_request_connection_timeout_s",
                                      config.http_request_connection_timeout.count())));
  config.http_request_timeout = std::chrono::seconds(positive(
      map, "http_request_timeout_s",
      map.get<std::uint64_t>("http_request_timeout_s", config.http_request_timeout.count())));
  config.retry_initial_interval = std::chrono::milliseconds(
      map.get<std::uint64_t>("retry_initial_interval_ms", config.retry_initial_interval.count()));
  config.retry_max_interval = std::chrono::milliseconds(
      map.get<std::uint64_t>("retry_max_interval_ms", config.retry_max_interval.count()));
  config.retry_max_elapsed_time = std::chrono::milliseconds(
      map.get<std::uint64_t>("retry_max_elapsed_time_ms", config.retry_max_elapsed_time.count()));
  config.batch_aggregation_shard_count =
      positive(map, "batch_aggregation_shard_count",
               map.required<std::uint64_t>("batch_aggregation_shard_count"));
  config.min_collection_job_retry_delay = std::chrono::seconds(map.get<std::uint64_t>(
      "min_collection_job_retry_delay_s", config.min_collection_job_retry_delay.count()));
  config.max_collection_job_retry_delay = std::chrono::seconds(map.get<std::uint64_t>(
      "max_collection_job_retry_delay_s", config.max_collection_job_retry_delay.count()));
  if (config.max_collection_job_retry_delay < config.min_collection_job_retry_delay) {
    throw bad_value(map, "max_collection_job_retry_delay_s",
                    "must not be less than min_collection_job_retry_delay_s");
  }
  config.collection_job_retry_delay_exponential_factor =
      map.get<double>("collection_job_retry_delay_exponential_factor",
                      config.collection_job_retry_delay_exponential_factor);
  if (!(config.collection_job_retry_delay_exponential_factor >= 1.0)) {
    throw bad_value(map, "collection_job_retry_delay_exponential_factor", "must be at least 1.0");
  }
  // Janus bounds its async fan-out with this; each step here runs on its own thread.
  map.get<std::uint64_t>("max_future_concurrency", 10'000);
  map.finish();
  return config;
}

}  // namespace janus::collection_driver
