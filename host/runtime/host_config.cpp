#include "host_config.h"

#include <set>

#include "janus/config.h"

namespace janus::runtime {
namespace {

// The keys every Janus 0.7 component reads itself (janus-0.7.md §3.1).
const std::set<std::string> kCommonKeys = {
    "database",       "health_check_listen_address", "logging_config",
    "metrics_config", "max_transaction_retries",     "thread_pool_stack_size",
    "http_server",  // ours, not Janus's: the listeners' limits
};

std::chrono::milliseconds milliseconds_key(ConfigMap& map, const std::string& key,
                                           std::chrono::milliseconds default_value) {
  return std::chrono::milliseconds(
      map.get<std::uint64_t>(key, static_cast<std::uint64_t>(default_value.count())));
}

// `http_server:` (every listener of the process, DAP and health alike).
void parse_http_server(ConfigMap map, HttpServerOptions& options) {
  auto positive = [&](const std::string& key, std::uint64_t value) {
    if (value == 0) {
      throw ConfigError(config_location(map.file(), map.raw(key)) + ": key '" + map.key_path(key) +
                        "': must be at least 1");
    }
    return value;
  };
  if (map.has("handler_threads")) {
    options.max_threads = static_cast<int>(
        positive("handler_threads",
                 std::min<std::uint64_t>(map.get<std::uint64_t>("handler_threads", 1), 1024)));
  }
  options.io_threads =
      static_cast<int>(std::min<std::uint64_t>(map.get<std::uint64_t>("io_threads", 0), 64));
  if (map.has("max_connections")) {
    options.max_connections =
        positive("max_connections", map.get<std::uint64_t>("max_connections", 1));
  }
  options.max_header_bytes = map.get<std::uint64_t>("max_header_bytes", options.max_header_bytes);
  options.header_timeout = milliseconds_key(map, "header_timeout_ms", options.header_timeout);
  options.body_timeout = milliseconds_key(map, "body_timeout_ms", options.body_timeout);
  options.keep_alive_timeout = milliseconds_key(map, "idle_timeout_ms", options.keep_alive_timeout);
  options.write_timeout = milliseconds_key(map, "write_timeout_ms", options.write_timeout);
  map.finish();
}

DatabaseConfig parse_database(ConfigMap map) {
  DatabaseConfig db;
  db.url = map.required<std::string>("url");
  if (db.url.rfind("postgres://", 0) != 0 && db.url.rfind("postgresql://", 0) != 0) {
    throw ConfigError(config_location(map.file(), map.raw("url")) + ": key '" +
                      map.key_path("url") + "': expected a postgres:// URL");
  }
  db.connection_pool_timeouts_s =
      map.get<std::uint64_t>("connection_pool_timeouts_s", db.connection_pool_timeouts_s);
  db.connection_pool_max_size =
      map.get<std::uint32_t>("connection_pool_max_size", db.connection_pool_max_size);
  db.check_schema_version = map.get<bool>("check_schema_version", db.check_schema_version);
  db.tls_trust_store_path = map.optional<std::string>("tls_trust_store_path");
  db.statement_timeout_ms = map.get<std::uint64_t>("statement_timeout_ms", db.statement_timeout_ms);
  map.finish();
  return db;
}

// Reads the common keys from `map` into `config`.
void parse_common(ConfigMap& map, HostConfig& config, bool database_required) {
  auto warn = [&](const std::string& message) { config.warnings.push_back(message); };
  if (database_required || map.has("database")) {
    config.database = parse_database(map.section("database"));
  }
  auto retries = map.optional<std::uint64_t>("max_transaction_retries");
  if (retries) {
    if (!config.database) {
      throw ConfigError(config_location(map.file(), map.raw("max_transaction_retries")) +
                        ": key 'max_transaction_retries' needs a 'database' section");
    }
    config.database->max_transaction_retries = *retries;
  }
  config.health_check_listen_address =
      map.get<std::string>("health_check_listen_address", config.health_check_listen_address);
  map.unimplemented("thread_pool_stack_size", warn);
  parse_http_server(map.section("http_server"), config.http_server);

  ConfigMap logging = map.section("logging_config");
  config.logging.force_json_output = logging.get<bool>("force_json_output", false);
  config.logging.stackdriver_json_output = logging.get<bool>("stackdriver_json_output", false);
  logging.unimplemented("chrome", warn);
  if (logging.has("tokio_console_config")) {
    ConfigMap console = logging.section("tokio_console_config");
    console.unimplemented("enabled", warn);
    console.accept("listen_address");
    console.finish();
  }
  if (logging.has("open_telemetry_config") && !logging.node()["open_telemetry_config"].IsNull()) {
    // Janus's enum of exporters has one member, otlp: {endpoint}.
    ConfigMap telemetry = logging.section("open_telemetry_config");
    ConfigMap otlp = telemetry.section("otlp");
    const std::string endpoint = otlp.required<std::string>("endpoint");
    if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
      throw ConfigError(config_location(otlp.file(), otlp.node()["endpoint"]) + ": key '" +
                        otlp.key_path("endpoint") +
                        "': expected an http:// or https:// URL, got '" + endpoint + "'");
    }
    config.logging.otlp_endpoint = endpoint;
    otlp.finish();
    telemetry.finish();
  }
  logging.finish();

  ConfigMap metrics = map.section("metrics_config");
  ConfigMap exporter = metrics.section("exporter");
  if (exporter.has("prometheus")) {
    ConfigMap prometheus = exporter.section("prometheus");
    PrometheusExporterConfig prom;
    prom.host = prometheus.get<std::string>("host", prom.host);
    prom.port = prometheus.get<std::uint16_t>("port", prom.port);
    prometheus.finish();
    config.metrics.prometheus = prom;
  }
  exporter.unimplemented("otlp", warn);
  exporter.finish();
  if (metrics.has("tokio")) {
    ConfigMap tokio = metrics.section("tokio");
    tokio.unimplemented("enabled", warn);
    tokio.unimplemented("enable_poll_time_histogram", warn);
    tokio.accept("poll_time_histogram");
    tokio.finish();
  }
  metrics.finish();
}

}  // namespace

const std::vector<ComponentMapping>& janus_components() {
  static const std::vector<ComponentMapping> components = {
      {"aggregator", "aggregator"},
      {"aggregation_job_creator", "job_creator"},
      {"aggregation_job_driver", "job_driver"},
      {"collection_job_driver", "collection_driver"},
      {"garbage_collector", "garbage_collector"},
      {"key_rotator", "key_rotator", "key_rotator"},
  };
  return components;
}

HostConfig parse_native_config(const YAML::Node& root, const std::string& file) {
  HostConfig config;
  config.config_file = file;
  ConfigMap map(root, file);
  parse_common(map, config, /*database_required=*/false);
  config.plugin_directory = map.optional<std::string>("plugin_directory");
  config.shutdown_grace_period =
      std::chrono::seconds(map.get<std::uint64_t>("shutdown_grace_period_s", 30));
  config.http_server.max_request_body_bytes =
      map.get<std::uint64_t>("max_request_body_bytes", config.http_server.max_request_body_bytes);

  YAML::Node plugins = map.raw("plugins");
  if (!plugins.IsDefined() || plugins.IsNull()) {
    throw ConfigError(config_location(file, root) + ": missing required key 'plugins'");
  }
  if (!plugins.IsSequence()) {
    throw ConfigError(config_location(file, plugins) +
                      ": key 'plugins': expected a sequence of plugin entries");
  }
  std::set<std::string> instance_names;
  for (std::size_t i = 0; i < plugins.size(); ++i) {
    ConfigMap entry(plugins[i], file, "plugins[" + std::to_string(i) + "]");
    PluginEntry plugin;
    plugin.plugin = entry.required<std::string>("plugin");
    plugin.instance_name = entry.get<std::string>("name", plugin.plugin);
    plugin.path = entry.optional<std::string>("path");
    plugin.config = entry.raw("config");
    entry.finish();
    if (!instance_names.insert(plugin.instance_name).second) {
      throw ConfigError(config_location(file, plugins[i]) + ": plugin name '" +
                        plugin.instance_name + "' is used twice (give one a different 'name')");
    }
    config.plugins.push_back(std::move(plugin));
  }
  map.finish();
  return config;
}

HostConfig parse_component_config(const YAML::Node& root, const std::string& file,
                                  const std::string& component, const std::string& plugin) {
  HostConfig config;
  config.config_file = file;
  ConfigMap map(root, file);
  parse_common(map, config, /*database_required=*/true);
  // Every other key belongs to the component: hand the plugin a mapping of
  // them, sharing the nodes so that its errors still name their lines.
  // Janus's aggregator also runs the key rotator and the garbage collector when its config
  // has their sections: each becomes an instance of its own plugin, beside the aggregator,
  // with its section under the same key. The key rotator comes first, so that the keys it
  // bootstraps are there when the aggregator first reads them.
  struct Embedded {
    const char* key;
    const char* plugin;
    bool before;
  };
  static const Embedded kAggregatorEmbedded[] = {
      {"key_rotator", "key_rotator", true}, {"garbage_collection", "garbage_collector", false}};
  std::vector<PluginEntry> before, after;
  YAML::Node section(YAML::NodeType::Map);
  for (const auto& item : root) {
    if (item.first.IsScalar() && kCommonKeys.count(item.first.Scalar())) continue;
    const Embedded* embedded = nullptr;
    for (const Embedded& candidate : kAggregatorEmbedded) {
      if (component == "aggregator" && item.first.IsScalar() &&
          item.first.Scalar() == candidate.key && !item.second.IsNull()) {
        embedded = &candidate;
      }
    }
    if (!embedded) {
      section.force_insert(item.first, item.second);
      continue;
    }
    PluginEntry entry;
    entry.instance_name = entry.plugin = embedded->plugin;
    entry.config = YAML::Node(YAML::NodeType::Map);
    entry.config.force_insert(item.first, item.second);
    (embedded->before ? before : after).push_back(std::move(entry));
  }
  add_bundled_vdaf_plugins(config);
  for (PluginEntry& entry : before) config.plugins.push_back(std::move(entry));
  PluginEntry entry;
  entry.instance_name = component;
  entry.plugin = plugin;
  entry.config = section;
  config.plugins.push_back(std::move(entry));
  for (PluginEntry& entry : after) config.plugins.push_back(std::move(entry));
  return config;
}

void add_bundled_vdaf_plugins(HostConfig& config) {
  for (const char* vdaf_plugin : {"prio3", "poplar1"}) {
    PluginEntry entry;
    entry.instance_name = entry.plugin = vdaf_plugin;
    entry.skip_if_missing = true;
    config.plugins.push_back(std::move(entry));
  }
}

void apply_secrets(HostConfig& config, const std::optional<std::string>& database_password,
                   const std::optional<std::string>& datastore_keys) {
  if (database_password && config.database) config.database->password = database_password;
  if (datastore_keys) {
    try {
      config.datastore_keys = DatastoreKeys::parse(*datastore_keys);
    } catch (const DatastoreKeyError& e) {
      throw ConfigError(std::string(e.what()) + " (--datastore-keys / DATASTORE_KEYS)");
    }
  }
}

}  // namespace janus::runtime
