// The collection_job_driver section (janus-0.7.md §3.2): Janus's JobDriverConfig keys plus
// the batch aggregation shard count and the "not ready yet" retry delays.
#pragma once

#include <janus/config.h>
#include <janus/job_driver_config.h>

#include <chrono>
#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

namespace janus::collection_driver {

struct CollectionDriverConfig : JobDriverConfig {
  // Collection job driver
  std::uint64_t batch_aggregation_shard_count = 32;
  std::chrono::seconds min_collection_job_retry_delay{600};
  std::chrono::seconds max_collection_job_retry_delay{3600};
  double collection_job_retry_delay_exponential_factor = 1.25;
};

// Throws ConfigError naming the file and key for a missing, malformed or unknown key.
CollectionDriverConfig parse_collection_driver_config(const YAML::Node& section,
                                                      const std::string& file);

}  // namespace janus::collection_driver
