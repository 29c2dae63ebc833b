#include "host_config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "janus/config.h"

namespace janus::runtime {
namespace {

const std::string kSamples = std::string(JANUS_SHARED_DIR) + "/reference/janus-0.7-samples";

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

const char* plugin_for(const std::string& component) {
  for (const auto& mapping : janus_components()) {
    if (component == mapping.component) return mapping.plugin;
  }
  return nullptr;
}

// Every Janus 0.7 sample component config parses (the common part), and the
// rest of the file becomes the component plugin's section.
TEST(ComponentConfig, JanusSamplesParse) {
  int parsed = 0;
  for (const char* flavour : {"basic_config", "advanced_config"}) {
    for (const auto& file : std::filesystem::directory_iterator(kSamples + "/" + flavour)) {
      std::string component = file.path().stem().string();
      if (component == "janus_cli") continue;  // not a component: a CLI config
      const char* plugin = plugin_for(component);
      ASSERT_NE(plugin, nullptr) << component;
      std::string path = file.path().string();
      HostConfig config = parse_component_config(load_yaml_file(path), path, component, plugin);
      ASSERT_TRUE(config.database.has_value()) << path;
      EXPECT_EQ(config.database->url, "postgres://postgres:postgres@localhost:5432/postgres");
      // The bundled VDAF plugins first (loaded if present), then the component; the advanced
      // aggregator's key_rotator and garbage_collection sections run as their own plugins,
      // the key rotator before the aggregator.
      const bool embeds = component == "aggregator" && std::string(flavour) == "advanced_config";
      ASSERT_EQ(config.plugins.size(), embeds ? 5u : 3u);
      EXPECT_EQ(config.plugins[0].plugin, "prio3");
      EXPECT_EQ(config.plugins[1].plugin, "poplar1");
      EXPECT_TRUE(config.plugins[0].skip_if_missing);
      EXPECT_TRUE(config.plugins[1].skip_if_missing);
      const PluginEntry& entry = config.plugins[embeds ? 3 : 2];
      if (embeds) {
        EXPECT_EQ(config.plugins[2].plugin, "key_rotator");
        EXPECT_EQ(config.plugins[2].config["key_rotator"]["frequency_s"].as<int>(), 3600);
        EXPECT_EQ(config.plugins[4].plugin, "garbage_collector");
        EXPECT_EQ(config.plugins[4].config["garbage_collection"]["gc_frequency_s"].as<int>(), 60);
        EXPECT_FALSE(entry.config["key_rotator"].IsDefined());
        EXPECT_FALSE(entry.config["garbage_collection"].IsDefined());
      }
      EXPECT_EQ(entry.plugin, plugin);
      EXPECT_EQ(entry.instance_name, component);
      EXPECT_FALSE(entry.skip_if_missing);
      EXPECT_FALSE(entry.config["database"].IsDefined());
      EXPECT_FALSE(entry.config["logging_config"].IsDefined());
      if (std::string(flavour) == "advanced_config") {
        EXPECT_EQ(config.database->connection_pool_max_size, 8u) << path;
        EXPECT_EQ(config.database->tls_trust_store_path, "/path/to/file.pem");
        EXPECT_EQ(config.database->max_transaction_retries, 1000u);
        if (component != "key_rotator") {
          EXPECT_TRUE(config.logging.force_json_output) << path;
          ASSERT_TRUE(config.metrics.prometheus.has_value()) << path;
          EXPECT_EQ(config.metrics.prometheus->port, 9464);
          // tokio_console enabled: accepted, not implemented; open_telemetry_config is served.
          EXPECT_GE(config.warnings.size(), 1u) << path;
          EXPECT_EQ(config.logging.otlp_endpoint, "https://example.com") << path;
          for (const auto& warning : config.warnings) {
            EXPECT_EQ(warning.find("open_telemetry_config"), std::string::npos) << warning;
          }
        }
      } else {
        EXPECT_TRUE(config.warnings.empty()) << path;
      }
      ++parsed;
    }
  }
  EXPECT_EQ(parsed, 12);
}

TEST(ComponentConfig, OtlpEndpointMustBeAnHttpUrl) {
  auto parse = [](const std::string& telemetry) {
    return parse_component_config(YAML::Load("database:\n  url: postgres://x@y/z\nlogging_config:\n"
                                             "  open_telemetry_config:\n" +
                                             telemetry),
                                  "agg.yaml", "aggregator", "aggregator");
  };
  EXPECT_EQ(parse("    otlp:\n      endpoint: http://127.0.0.1:4318\n").logging.otlp_endpoint,
            "http://127.0.0.1:4318");
  EXPECT_EQ(error_of([&] { parse("    otlp:\n      endpoint: localhost:4317\n"); }),
            "agg.yaml:6: key 'logging_config.open_telemetry_config.otlp.endpoint': expected an "
            "http:// or https:// URL, got 'localhost:4317'");
  EXPECT_NE(error_of([&] {
              parse("    otlp: {}\n");
            }).find("missing required key 'logging_config.open_telemetry_config.otlp.endpoint'"),
            std::string::npos);
}

TEST(ComponentConfig, PluginSectionKeepsLinesAndSkipsCommonKeys) {
  std::string yaml =
      "database:\n  url: postgres://x@y/z\nhealth_check_listen_address: 127.0.0.1:1\n"
      "listen_address: 0.0.0.0:8080\nbogus: 1\n";
  HostConfig config =
      parse_component_config(YAML::Load(yaml), "agg.yaml", "aggregator", "aggregator");
  EXPECT_EQ(config.health_check_listen_address, "127.0.0.1:1");
  ConfigMap section(config.plugins.back().config, "agg.yaml");
  EXPECT_EQ(section.required<std::string>("listen_address"), "0.0.0.0:8080");
  EXPECT_EQ(error_of([&] { section.finish(); }), "agg.yaml:5: unknown key 'bogus'");
}

TEST(ComponentConfig, HttpServerLimits) {
  std::string yaml =
      "database:\n  url: postgres://x@y/z\nlisten_address: 0.0.0.0:8080\n"
      "http_server:\n  io_threads: 2\n  handler_threads: 8\n  max_connections: 500\n"
      "  max_header_bytes: 4096\n  header_timeout_ms: 1000\n  body_timeout_ms: 2000\n"
      "  idle_timeout_ms: 3000\n  write_timeout_ms: 4000\n";
  HostConfig config =
      parse_component_config(YAML::Load(yaml), "agg.yaml", "aggregator", "aggregator");
  const HttpServerOptions& options = config.http_server;
  EXPECT_EQ(options.io_threads, 2);
  EXPECT_EQ(options.max_threads, 8);
  EXPECT_EQ(options.max_connections, 500u);
  EXPECT_EQ(options.max_header_bytes, 4096u);
  EXPECT_EQ(options.header_timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(options.body_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(options.keep_alive_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(options.write_timeout, std::chrono::milliseconds(4000));
  // Not the component's key.
  EXPECT_FALSE(config.plugins.back().config["http_server"].IsDefined());
  EXPECT_EQ(
      error_of([] {
        parse_component_config(
            YAML::Load("database:\n  url: postgres://x\nhttp_server:\n  max_connections: 0\n"),
            "a.yaml", "aggregator", "aggregator");
      }),
      "a.yaml:4: key 'http_server.max_connections': must be at least 1");
  EXPECT_EQ(error_of([] {
              parse_component_config(
                  YAML::Load("database:\n  url: postgres://x\nhttp_server:\n  threads: 3\n"),
                  "a.yaml", "aggregator", "aggregator");
            }),
            "a.yaml:4: unknown key 'http_server.threads'");
}

TEST(ComponentConfig, DatabaseIsRequiredAndChecked) {
  EXPECT_EQ(error_of([] {
              parse_component_config(YAML::Load("listen_address: x\n"), "a.yaml", "aggregator",
                                     "aggregator");
            }),
            "a.yaml: missing required key 'database.url'");
  EXPECT_EQ(error_of([] {
              parse_component_config(YAML::Load("database:\n  url: mysql://x\n"), "a.yaml",
                                     "aggregator", "aggregator");
            }),
            "a.yaml:2: key 'database.url': expected a postgres:// URL");
  EXPECT_EQ(error_of([] {
              parse_component_config(YAML::Load("database:\n  url: postgres://x\n  pool: 3\n"),
                                     "a.yaml", "aggregator", "aggregator");
            }),
            "a.yaml:3: unknown key 'database.pool'");
  EXPECT_EQ(error_of([] {
              parse_component_config(
                  YAML::Load("database:\n  url: postgres://x\nmax_transaction_retries: lots\n"),
                  "a.yaml", "aggregator", "aggregator");
            }),
            "a.yaml:3: key 'max_transaction_retries': expected an unsigned 64-bit integer, "
            "found 'lots'");
}

TEST(NativeConfig, ParsesPluginsAndHostKeys) {
  std::string yaml = R"(
health_check_listen_address: 127.0.0.1:9100
plugin_directory: ../plugins
shutdown_grace_period_s: 5
logging_config:
  force_json_output: true
plugins:
  - plugin: aggregator
    config:
      listen_address: 127.0.0.1:8080
  - plugin: prio3
    name: vdafs
    path: /opt/janus/libjanus_prio3.so
)";
  HostConfig config = parse_native_config(YAML::Load(yaml), "host.yaml");
  EXPECT_FALSE(config.database.has_value());
  EXPECT_EQ(config.health_check_listen_address, "127.0.0.1:9100");
  EXPECT_EQ(config.plugin_directory, "../plugins");
  EXPECT_EQ(config.shutdown_grace_period.count(), 5);
  EXPECT_TRUE(config.logging.force_json_output);
  ASSERT_EQ(config.plugins.size(), 2u);
  EXPECT_EQ(config.plugins[0].instance_name, "aggregator");
  EXPECT_EQ(config.plugins[0].config["listen_address"].Scalar(), "127.0.0.1:8080");
  EXPECT_EQ(config.plugins[1].instance_name, "vdafs");
  EXPECT_EQ(config.plugins[1].path, "/opt/janus/libjanus_prio3.so");
  EXPECT_FALSE(config.plugins[1].config.IsDefined() && !config.plugins[1].config.IsNull());
}

// The commented sample in config/ stays valid.
TEST(NativeConfig, ProjectSampleParses) {
  std::string path = std::string(JANUS_SOURCE_DIR) + "/config/host.yaml";
  HostConfig config = parse_native_config(load_yaml_file(path), path);
  ASSERT_TRUE(config.database.has_value());
  EXPECT_EQ(config.health_check_listen_address, "127.0.0.1:9001");
  ASSERT_EQ(config.plugins.size(), 2u);
  EXPECT_EQ(config.plugins[1].plugin, "aggregator");
  EXPECT_TRUE(config.warnings.empty());
}

TEST(NativeConfig, Errors) {
  EXPECT_EQ(error_of([] { parse_native_config(YAML::Load("plugins: []\nplugin: x\n"), "h.yaml"); }),
            "h.yaml:2: unknown key 'plugin'");
  EXPECT_EQ(error_of([] { parse_native_config(YAML::Load("a: 1\n"), "h.yaml"); }),
            "h.yaml:1: missing required key 'plugins'");
  EXPECT_EQ(error_of([] { parse_native_config(YAML::Load("plugins: x\n"), "h.yaml"); }),
            "h.yaml:1: key 'plugins': expected a sequence of plugin entries");
  EXPECT_EQ(error_of([] {
              parse_native_config(YAML::Load("plugins:\n  - plugin: a\n    confg: {}\n"), "h.yaml");
            }),
            "h.yaml:3: unknown key 'plugins[0].confg' (did you mean 'plugins[0].config'?)");
  EXPECT_EQ(error_of([] {
              parse_native_config(YAML::Load("plugins:\n  - plugin: a\n  - plugin: a\n"), "h.yaml");
            }),
            "h.yaml:3: plugin name 'a' is used twice (give one a different 'name')");
  EXPECT_EQ(error_of([] {
              parse_native_config(YAML::Load("max_transaction_retries: 3\nplugins: []\n"),
                                  "h.yaml");
            }),
            "h.yaml:1: key 'max_transaction_retries' needs a 'database' section");
  EXPECT_EQ(error_of([] {
              parse_native_config(
                  YAML::Load("plugins: []\nlogging_config:\n  force_json_output: maybe\n"),
                  "h.yaml");
            }),
            "h.yaml:3: key 'logging_config.force_json_output': expected true or false, found "
            "'maybe'");
}

TEST(Secrets, PasswordAndDatastoreKeys) {
  HostConfig config = parse_native_config(
      YAML::Load("database: {url: 'postgres://u@h/d'}\nplugins: []\n"), "h.yaml");
  apply_secrets(config, std::string("pw"),
                std::string("AAAAAAAAAAAAAAAAAAAAAA,AQEBAQEBAQEBAQEBAQEBAQ"));
  EXPECT_EQ(config.database->password, "pw");
  ASSERT_TRUE(config.datastore_keys.has_value());
  ASSERT_EQ(config.datastore_keys->all().size(), 2u);
  EXPECT_EQ(Bytes(config.datastore_keys->all()[1].begin(), config.datastore_keys->all()[1].end()),
            Bytes(16, 1));
  EXPECT_NE(error_of([&] {
              apply_secrets(config, std::nullopt, std::string("AAAA"));
            }).find("datastore key #1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              apply_secrets(config, std::nullopt, std::string("AAAAAAAAAAAAAAAAAAAAAA,"));
            }).find("datastore key #2"),
            std::string::npos);
}

}  // namespace
}  // namespace janus::runtime
