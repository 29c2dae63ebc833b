// The aggregator component's own config section (Janus 0.7 `aggregator` binary Config,
// janus-0.7.md §3.2). The host has already taken the common keys (database, logging, ...).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "aggregator_api.h"
#include "janus/config.h"
#include "request_queue.h"

namespace janus::aggregator {

struct AggregatorConfig {
  std::string listen_address;
  std::uint64_t max_upload_batch_size = 0;
  std::chrono::milliseconds max_upload_batch_write_delay{0};
  // Ours: upload transactions written at once (group commit keeps each as full as the load).
  std::uint64_t max_concurrent_upload_writes = 4;
  std::uint64_t batch_aggregation_shard_count = 0;
  std::uint64_t task_counter_shard_count = 32;
  std::chrono::milliseconds global_hpke_configs_refresh_interval{1'800'000};
  std::chrono::seconds task_cache_ttl{600};
  std::uint64_t task_cache_capacity = 10'000;
  bool require_global_hpke_keys = false;
  // A P-256 PEM private key that signs GET /hpke_config answers. A secret: never from YAML,
  // only HPKE_CONFIG_SIGNING_KEY / --hpke-config-signing-key (the plugin reads it).
  std::optional<std::string> hpke_config_signing_key = std::nullopt;
  // Janus's experimental LIFO queue for the helper's aggregation-job requests.
  std::optional<RequestQueueOptions> helper_aggregation_request_queue = std::nullopt;
  // Janus's aggregator API; its tokens come from AGGREGATOR_API_AUTH_TOKENS (the plugin).
  std::optional<AggregatorApiConfig> aggregator_api = std::nullopt;
  // Janus's taskprov_config: opt into tasks advertised in the dap-taskprov header by a known
  // peer (taskprov_peer_aggregators). Implies global HPKE keys on /hpke_config.
  struct Taskprov {
    bool enabled = false;
    bool ignore_unknown_differential_privacy_mechanism = false;
  } taskprov;
};

// Reads and validates the section; unknown keys and bad values throw ConfigError naming
// file, key and line. Keys Janus accepts but this build does not implement
// (log_forbidden_mutations) are reported through `warn`.
AggregatorConfig parse_aggregator_config(const YAML::Node& section, const std::string& file,
                                         const ConfigWarningSink& warn);

}  // namespace janus::aggregator
