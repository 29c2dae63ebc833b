#include "host.h"

#include <spdlog/spdlog.h>

#include "janus/config.h"
#include "janus/datastore.h"
#include "janus/log.h"
#include "janus/metrics.h"
#include "janus/plugin.h"

namespace janus::runtime {

// ---- Listeners ------------------------------------------------------------

Listeners::Listeners(HttpServerOptions defaults, std::shared_ptr<spdlog::logger> logger)
    : defaults_(std::move(defaults)), logger_(std::move(logger)) {}

void Listeners::add_async_route(const std::string& listen_address, HttpMethod method,
                                std::string_view pattern, AsyncHttpHandler handler,
                                RouteOptions options) {
  // Routers are not locked while serving: routes are fixed once listening.
  if (started_) {
    throw std::logic_error("routes can only be added while plugins are configured (" +
                           std::string(pattern) + " on " + listen_address + ")");
  }
  auto it = servers_.find(listen_address);
  if (it == servers_.end()) {
    HttpServerOptions options = defaults_;
    options.listen_address = listen_address;
    it = servers_.emplace(listen_address, std::make_unique<HttpServer>(options, logger_)).first;
  }
  it->second->router().add_async(method, pattern, std::move(handler), std::move(options));
}

void Listeners::start_all() {
  started_ = true;
  for (auto& [address, server] : servers_) {
    server->start();
    if (logger_) logger_->info("listening on {} (port {})", address, server->port());
  }
}

bool Listeners::stop_all(std::chrono::steady_clock::time_point deadline) {
  bool drained = true;
  for (auto& [address, server] : servers_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    drained = server->stop(std::max(left, std::chrono::milliseconds(0))) && drained;
  }
  return drained;
}

void Listeners::clear_routes() {
  for (auto& [address, server] : servers_) server->router().clear();
}

std::uint16_t Listeners::port_of(const std::string& listen_address) const {
  auto it = servers_.find(listen_address);
  return it == servers_.end() ? 0 : it->second->port();
}

// ---- Commands -------------------------------------------------------------

void Commands::add(const std::string& name, const std::string& summary, CommandHandler handler) {
  if (name.empty() || name.rfind("-", 0) == 0) {
    throw std::invalid_argument("command name '" + name + "' must not be empty or start with '-'");
  }
  if (!handler) throw std::invalid_argument("command '" + name + "' has no handler");
  if (!entries_.emplace(name, Entry{summary, std::move(handler)}).second) {
    throw std::invalid_argument("command '" + name + "' is registered twice");
  }
}

const Commands::Entry* Commands::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

// ---- Plugin instances -----------------------------------------------------

class Host::Context final : public PluginContext, public WorkerRegistrar {
 public:
  Context(Host& host, const PluginEntry& entry, std::vector<std::unique_ptr<Worker>>& workers)
      : host_(host),
        entry_(entry),
        workers_(workers),
        logger_(log::logger("janus::" + entry.instance_name)) {}

  const std::string& instance_name() const override { return entry_.instance_name; }
  const YAML::Node& config() const override { return entry_.config; }
  const std::string& config_file() const override { return host_.config_.config_file; }
  std::shared_ptr<spdlog::logger> logger() const override { return logger_; }
  RouteRegistrar& routes() override { return host_.listeners_; }
  WorkerRegistrar& workers() override { return *this; }
  VdafRegistry& vdafs() override { return host_.vdafs_; }
  const Clock& clock() const override { return host_.clock_; }
  Datastore* datastore() override { return host_.datastore_.get(); }
  CommandRegistrar& commands() override { return host_.commands_; }

  Worker& add(std::unique_ptr<Worker> worker) override {
    if (!worker) throw std::invalid_argument("a null worker was registered");
    workers_.push_back(std::move(worker));
    return *workers_.back();
  }

 private:
  Host& host_;
  const PluginEntry& entry_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  std::shared_ptr<spdlog::logger> logger_;
};

struct Host::Instance {
  PluginEntry entry;
  LoadedPlugin loaded;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<Context> context;
  bool started = false;

  Instance(PluginEntry e, LoadedPlugin l) : entry(std::move(e)), loaded(std::move(l)) {}
};

// ---- Host -----------------------------------------------------------------

Host::Host(HostConfig config, HostOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      logger_(log::logger("janus::host")),
      listeners_(config_.http_server, log::logger("janus::http")) {}

Host::~Host() {
  if (drain_failed_) {
    // Plugin code may still be running: keep every library loaded.
    for (auto& instance : instances_) instance.release();
    return;
  }
  stop();
}

void Host::add_health_routes() {
  const std::string& address = config_.health_check_listen_address;
  listeners_.add_route(address, HttpMethod::Get, "/healthz", [this](const HttpRequest&) {
    return HttpResponse::empty(ready_ ? 200 : 503);
  });
  listeners_.add_route(address, HttpMethod::Get, "/traceconfigz", [](const HttpRequest&) {
    return HttpResponse::text(200, log::current_filter().spec());
  });
  listeners_.add_route(address, HttpMethod::Put, "/traceconfigz", [this](const HttpRequest& r) {
    std::string spec(r.body.begin(), r.body.end());
    try {
      auto filter = log::LogFilter::parse(spec);
      log::set_filter(filter);
      logger_->info("log filter set to '{}'", filter.spec());
      return HttpResponse::text(200, filter.spec());
    } catch (const std::invalid_argument& e) {
      return HttpResponse::text(400, std::string(e.what()) + "\n");
    }
  });
}

void Host::open_datastore() {
  if (!config_.database) return;
  if (!config_.datastore_keys) {
    throw std::runtime_error(
        "a database is configured but no datastore keys were given: set DATASTORE_KEYS or "
        "--datastore-keys");
  }
  // Retries the connection for connection_pool_timeouts_s and checks the
  // schema version (unless check_schema_version is false) before any plugin
  // is configured, so no component starts against the wrong schema.
  datastore_ = Datastore::open(*config_.database, *config_.datastore_keys, clock_);
  logger_->info("connected to the database (schema version check {})",
                config_.database->check_schema_version ? "passed" : "skipped");
}

void Host::start() {
  try {
    add_health_routes();
    if (config_.metrics.prometheus) {
      const auto& prometheus = *config_.metrics.prometheus;
      bool ipv6 = prometheus.host.find(':') != std::string::npos;
      std::string address = (ipv6 ? "[" + prometheus.host + "]" : prometheus.host) + ":" +
                            std::to_string(prometheus.port);
      listeners_.add_route(address, HttpMethod::Get, "/metrics", [](const HttpRequest&) {
        return HttpResponse::bytes(200, "text/plain; version=0.0.4; charset=utf-8",
                                   to_bytes(metrics::registry().serialize()));
      });
      logger_->info("serving Prometheus metrics on http://{}/metrics", address);
    }

    configure_plugins();

    listeners_.start_all();
    for (auto& instance : instances_) {
      try {
        instance->loaded.plugin().start();
      } catch (const std::exception& e) {
        throw std::runtime_error("plugin '" + instance->entry.instance_name +
                                 "': start failed: " + e.what());
      }
      instance->started = true;
      for (auto& worker : instance->workers) worker->start();
    }
    ready_ = true;
    logger_->info("startup complete: {} plugin(s), health on {}", instances_.size(),
                  config_.health_check_listen_address);
  } catch (...) {
    stop();
    throw;
  }
}

void Host::configure_plugins() {
  std::filesystem::path directory = options_.default_plugin_directory;
  if (options_.plugin_directory_override) {
    directory = *options_.plugin_directory_override;
  } else if (config_.plugin_directory) {
    // Relative to the config file, so a config and its plugins can move together.
    directory =
        std::filesystem::path(config_.config_file).parent_path() / *config_.plugin_directory;
  }
  bool needs_directory = false;
  for (const auto& entry : config_.plugins) needs_directory |= !entry.path.has_value();
  if (needs_directory) check_plugin_directory(directory);

  // Load every library first: a missing or foreign plugin is reported before
  // the (possibly slow) database connection is attempted.
  for (const auto& entry : config_.plugins) {
    std::filesystem::path path = entry.path ? std::filesystem::path(*entry.path)
                                            : plugin_library_path(directory, entry.plugin);
    if (entry.skip_if_missing && !std::filesystem::exists(path)) continue;
    LoadedPlugin loaded = load_plugin(entry.plugin, path);
    logger_->info("loaded plugin '{}' ({}) from {}", entry.instance_name, entry.plugin,
                  path.string());
    instances_.push_back(std::make_unique<Instance>(entry, std::move(loaded)));
  }
  open_datastore();
  for (auto& instance : instances_) {
    instance->context = std::make_unique<Context>(*this, instance->entry, instance->workers);
    try {
      instance->loaded.plugin().configure(*instance->context);
    } catch (const std::exception& e) {
      throw std::runtime_error("plugin '" + instance->entry.instance_name + "': " + e.what());
    }
  }
}

bool Host::stop() {
  ready_ = false;
  if (drain_failed_) return false;
  const auto deadline = std::chrono::steady_clock::now() + config_.shutdown_grace_period;
  // 1. Stop accepting requests; let in-flight ones finish.
  bool drained = listeners_.stop_all(deadline);
  // 2. Stop every worker, then wait for their in-flight passes and steps.
  for (auto it = instances_.rbegin(); it != instances_.rend(); ++it) {
    for (auto& worker : (*it)->workers) worker->request_stop();
  }
  for (auto it = instances_.rbegin(); it != instances_.rend(); ++it) {
    for (auto& worker : (*it)->workers) {
      if (!worker->wait_stopped(deadline)) {
        logger_->error("worker {} of plugin '{}' did not finish within the grace period",
                       worker->name(), (*it)->entry.instance_name);
        drained = false;
      }
    }
  }
  if (!drained) {
    logger_->error("graceful drain did not finish within {} s",
                   config_.shutdown_grace_period.count());
    drain_failed_ = true;
    return false;
  }
  // 3. The plugins' own stop, in reverse order of starting.
  for (auto it = instances_.rbegin(); it != instances_.rend(); ++it) {
    if (!(*it)->started) continue;
    (*it)->started = false;
    try {
      (*it)->loaded.plugin().stop();
    } catch (const std::exception& e) {
      logger_->error("plugin '{}': stop failed: {}", (*it)->entry.instance_name, e.what());
    }
  }
  shutdown_plugins();
  return true;
}

void Host::shutdown_plugins() {
  // Nothing a plugin created may outlive its library: objects first (plugin,
  // then its workers), then route handlers and VDAF factories, then the
  // libraries, all in reverse order of loading.
  for (auto it = instances_.rbegin(); it != instances_.rend(); ++it) {
    (*it)->loaded.destroy_plugin();
    (*it)->workers.clear();
  }
  listeners_.clear_routes();
  vdafs_.clear();
  commands_.clear();
  while (!instances_.empty()) instances_.pop_back();
}

}  // namespace janus::runtime
