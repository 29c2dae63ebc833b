#include "aggregator_config.h"

namespace janus::aggregator {

AggregatorConfig parse_aggregator_config(const YAML::Node& section, const std::string& file,
                                         const ConfigWarningSink& warn) {
  ConfigMap map(section, file);
  AggregatorConfig config;
  config.listen_address = map.required<std::string>("listen_address");
  config.max_upload_batch_size = read_positive(map, "max_upload_batch_size");
  config.max_upload_batch_write_delay =
      std::chrono::milliseconds(map.required<std::uint64_t>("max_upload_batch_write_delay_ms"));
  config.max_concurrent_upload_writes =
      read_positive(map, "max_concurrent_upload_writes", config.max_concurrent_upload_writes);
  config.batch_aggregation_shard_count = read_positive(map, "batch_aggregation_shard_count");
  config.task_counter_shard_count =
      read_positive(map, "task_counter_shard_count", config.task_counter_shard_count);
  config.global_hpke_configs_refresh_interval =
      std::chrono::milliseconds(read_positive(map, "global_hpke_configs_refresh_interval",
                                              config.global_hpke_configs_refresh_interval.count()));
  config.task_cache_ttl = std::chrono::seconds(
      map.get<std::uint64_t>("task_cache_ttl_s", config.task_cache_ttl.count()));
  config.task_cache_capacity =
      read_positive(map, "task_cache_capacity", config.task_cache_capacity);
  config.require_global_hpke_keys =
      map.get<bool>("require_global_hpke_keys", config.require_global_hpke_keys);

  // Janus bounds its async fan-out with this; our handlers run on the server's threads.
  map.get<std::uint64_t>("max_future_concurrency", 10'000);

  if (map.has("taskprov_config")) {
    ConfigMap taskprov = map.section("taskprov_config");
    config.taskprov.enabled = taskprov.get<bool>("enabled", false);
    config.taskprov.ignore_unknown_differential_privacy_mechanism =
        taskprov.get<bool>("ignore_unknown_differential_privacy_mechanism", false);
    taskprov.finish();
  }
  map.unimplemented("log_forbidden_mutations", warn);
  // `janus aggregator` runs these sections as plugins of their own (host_config.cpp); in a
  // native host config they belong to those plugins' entries.
  for (const auto& [key, plugin] : {std::pair{"garbage_collection", "garbage_collector"},
                                    std::pair{"key_rotator", "key_rotator"}}) {
    if (map.has(key)) {
      throw ConfigError(config_location(file, map.node()[key]) + ": key '" + map.key_path(key) +
                        "': in a native host config, give it to a '" + plugin +
                        "' plugin entry instead");
    }
  }
  if (map.has("aggregator_api") && !map.node()["aggregator_api"].IsNull()) {
    ConfigMap api = map.section("aggregator_api");
    AggregatorApiConfig options;
    options.listen_address = api.optional<std::string>("listen_address");
    options.path_prefix = api.optional<std::string>("path_prefix");
    if (options.listen_address.has_value() == options.path_prefix.has_value()) {
      throw ConfigError(config_location(file, api.node()) + ": key '" +
                        map.key_path("aggregator_api") +
                        "': give exactly one of listen_address and path_prefix");
    }
    options.public_dap_url = api.required<std::string>("public_dap_url");
    api.finish();
    config.aggregator_api = options;
  }
  if (map.has("helper_aggregation_request_queue") &&
      !map.node()["helper_aggregation_request_queue"].IsNull()) {
    ConfigMap queue = map.section("helper_aggregation_request_queue");
    RequestQueueOptions options;
    options.concurrency = read_positive(queue, "concurrency");
    options.depth = queue.required<std::uint64_t>("depth");
    // Absent or null: no timeout, as in Janus.
    if (auto timeout = queue.optional<std::uint64_t>("timeout_ms")) {
      options.timeout = std::chrono::milliseconds(*timeout);
    }
    queue.finish();
    config.helper_aggregation_request_queue = options;
  }
  map.finish();
  return config;
}

}  // namespace janus::aggregator
