// The host process: loads the configured plugins, gives each a context,
// serves their routes and runs their workers, then shuts everything down in
// reverse order.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host_config.h"
#include "janus/clock.h"
#include "janus/datastore.h"
#include "janus/http.h"
#include "janus/plugin.h"
#include "janus/vdaf_registry.h"
#include "janus/worker.h"
#include "plugin_loader.h"

namespace spdlog {
class logger;
}

namespace janus::runtime {

// One HttpServer per distinct listen address, shared by every plugin that
// names it.
class Listeners final : public RouteRegistrar {
 public:
  // `defaults`: every listener's limits (its listen_address is set per listener).
  Listeners(HttpServerOptions defaults, std::shared_ptr<spdlog::logger> logger);
  void add_async_route(const std::string& listen_address, HttpMethod method,
                       std::string_view pattern, AsyncHttpHandler handler,
                       RouteOptions options = {}) override;
  void start_all();
  // Stops every server; false if some request outlived the drain deadline.
  bool stop_all(std::chrono::steady_clock::time_point deadline);
  // Drops every handler (before plugins are unloaded).
  void clear_routes();
  std::uint16_t port_of(const std::string& listen_address) const;

 private:
  HttpServerOptions defaults_;
  std::shared_ptr<spdlog::logger> logger_;
  std::map<std::string, std::unique_ptr<HttpServer>> servers_;
  bool started_ = false;
};

// The subcommands plugins registered (`janus janus_cli <name>`), by name.
class Commands final : public CommandRegistrar {
 public:
  struct Entry {
    std::string summary;
    CommandHandler handler;
  };
  void add(const std::string& name, const std::string& summary, CommandHandler handler) override;
  const Entry* find(const std::string& name) const;
  const std::map<std::string, Entry>& all() const { return entries_; }
  void clear() { entries_.clear(); }

 private:
  std::map<std::string, Entry> entries_;
};

struct HostOptions {
  // Where libjanus_<name>.so files are looked up when the config does not say.
  std::filesystem::path default_plugin_directory;
  // Overrides the config's plugin_directory (--plugin-dir).
  std::optional<std::filesystem::path> plugin_directory_override;
};

class Host {
 public:
  Host(HostConfig config, HostOptions options);
  ~Host();

  // Binds the health listener, loads and configures every plugin, starts the
  // listeners, the plugins and their workers. Throws std::runtime_error with
  // a one-line cause; a failed start leaves nothing running.
  void start();
  // Only the first half of start(): loads and configures the plugins (opening
  // the datastore when one is configured) without binding any listener or
  // starting plugins and workers. For running a plugin's subcommand; call
  // either this or start(), once.
  void configure_plugins();
  bool ready() const { return ready_.load(); }
  // Stops listeners and workers (bounded by shutdown_grace_period), then the
  // plugins in reverse order, then destroys and unloads them. Returns false
  // if the drain deadline passed with work still running; then plugin code
  // may still be executing and the caller must exit without unloading.
  bool stop();

  VdafRegistry& vdafs() { return vdafs_; }
  const Commands& commands() const { return commands_; }
  Datastore* datastore() { return datastore_.get(); }

 private:
  class Context;
  struct Instance;

  void add_health_routes();
  void open_datastore();
  void shutdown_plugins();

  HostConfig config_;
  HostOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  RealClock clock_;
  VdafRegistry vdafs_;
  Commands commands_;
  // Declared before the plugin instances so that it outlives them.
  std::unique_ptr<Datastore> datastore_;
  Listeners listeners_;
  std::vector<std::unique_ptr<Instance>> instances_;  // in start order
  std::atomic<bool> ready_{false};
  bool drain_failed_ = false;
};

}  // namespace janus::runtime
