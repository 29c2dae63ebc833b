// The host's configuration: the common keys every Janus component has, plus
// the plugins to load. Two source forms:
//  - native:  `janus --config-file FILE`, FILE lists `plugins:` with their own
//             `config:` sections (see config/*.yaml);
//  - Janus:   `janus <component> --config-file FILE`, FILE is a Janus 0.7
//             component config; the common keys are the host's and every
//             other key is the component plugin's config section.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "janus/bytes.h"
#include "janus/database_config.h"
#include "janus/datastore/keys.h"
#include "janus/http.h"

namespace janus::runtime {

struct LoggingConfig {
  bool force_json_output = false;
  bool stackdriver_json_output = false;
  // open_telemetry_config.otlp.endpoint: spans go there over OTLP/HTTP (JSON).
  std::optional<std::string> otlp_endpoint;
};

struct PrometheusExporterConfig {
  std::string host = "0.0.0.0";
  std::uint16_t port = 9464;
};

struct MetricsConfig {
  std::optional<PrometheusExporterConfig> prometheus;
};

struct PluginEntry {
  std::string instance_name;        // unique in the file; defaults to `plugin`
  std::string plugin;               // library name: <plugin_directory>/libjanus_<plugin>.so
  std::optional<std::string> path;  // explicit library path instead
  YAML::Node config;                // the plugin's own section (may be Null)
  // Skipped when its library is absent (the bundled VDAF plugins of the Janus forms).
  bool skip_if_missing = false;
};

struct HostConfig {
  std::string config_file;
  std::optional<DatabaseConfig> database;
  std::string health_check_listen_address = "127.0.0.1:9001";
  LoggingConfig logging;
  MetricsConfig metrics;
  // Host-only keys (native form; the command line overrides them).
  std::optional<std::string> plugin_directory;
  std::chrono::seconds shutdown_grace_period{30};
  // `http_server:` (both forms) and, in the native form, `max_request_body_bytes`.
  HttpServerOptions http_server;
  std::vector<PluginEntry> plugins;
  // Secrets from the command line or environment (never from YAML).
  std::optional<DatastoreKeys> datastore_keys;
  // Keys Janus accepts that this build does not implement (logged as warnings).
  std::vector<std::string> warnings;
};

// Janus component names (`janus <component>`) and the plugin each one loads.
struct ComponentMapping {
  const char* component;
  const char* plugin;
  // Set when Janus's binary does one pass and exits (key_rotator, a cron job): the host
  // configures the plugin and runs its command of this name instead of serving.
  const char* run_once_command = nullptr;
};
const std::vector<ComponentMapping>& janus_components();

// The Janus forms (`janus <component>`, `janus_cli`) have no plugin list, yet their components
// need VDAFs: they load these bundled VDAF plugins first, each only if its library is present.
void add_bundled_vdaf_plugins(HostConfig& config);

// Both throw janus::ConfigError with a one-line "FILE:LINE: ..." message.
HostConfig parse_native_config(const YAML::Node& root, const std::string& file);
HostConfig parse_component_config(const YAML::Node& root, const std::string& file,
                                  const std::string& component, const std::string& plugin);

// Secrets given on the command line or in PGPASSWORD / DATASTORE_KEYS.
// Throws ConfigError (e.g. a datastore key that is not 16 bytes of base64url).
void apply_secrets(HostConfig& config, const std::optional<std::string>& database_password,
                   const std::optional<std::string>& datastore_keys);

}  // namespace janus::runtime
