#include "driver_config.h"

namespace janus::collection_driver {
namespace {

ConfigError bad_value(ConfigMap& map, const std::string& key, const std::string& why) {
  return ConfigError(config_location(map.file(), map.node()[key]) + ": key '" + map.key_path(key) +
                     "': " + why);
}

}  // namespace

CollectionDriverConfig parse_collection_driver_config(const YAML::Node& section,
                                                      const std::string& file) {
  ConfigMap map(section, file);
  CollectionDriverConfig config;
  read_job_driver_config(map, config);
  config.batch_aggregation_shard_count = read_positive(map, "batch_aggregation_shard_count");
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
