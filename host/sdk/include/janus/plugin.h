// The plugin boundary: what a plugin shared library exports and what the host
// hands it. A plugin includes only headers from <janus/...>.
//
// A plugin library exports two symbols through Boost.DLL aliases (use the
// JANUS_PLUGIN macro below):
//   janus_plugin_abi_version : std::uint32_t, must equal kPluginAbiVersion
//   janus_plugin_create      : std::unique_ptr<janus::Plugin>()
// The host keeps every Plugin object beside its loaded library and destroys
// the object (and everything it registered) before unloading the library.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/dll/alias.hpp>

namespace YAML {
class Node;
}
namespace spdlog {
class logger;
}

namespace janus {

// Bumped whenever a header under <janus/...> changes in a way that breaks
// binary compatibility with already-built plugins.
// 2: PluginContext::commands() (command-line subcommands).
// 3: asynchronous HTTP handlers (RouteRegistrar::add_async_route, HttpResponder).
// 4: run_tx isolation levels, Datastore::listen / Transaction::notify,
//    LeaseWorkerFunctions::wait_for_work, the aggregation writer (janus/aggregation.h).
// 5: taskprov (AggregatorTask::taskprov_task_config, the peer-aggregator datastore methods),
//    Vdaf::add_noise_to_aggregate_share (differential privacy).
// 6: RouteOptions (handlers that may run on the event loop).
// 7: Vdaf::accumulate/merge take the aggregation parameter;
//    Vdaf::requires_aggregation_parameter (Poplar1).
// 8: Vdaf::aggregation_parameter_from_json; Transaction::is_batch_collected takes an optional
//    parameter (is_batch_collected_under is gone), Transaction::reports_left_out_of_collections.
inline constexpr std::uint32_t kPluginAbiVersion = 8;

class RouteRegistrar;   // <janus/http.h>: HTTP routes on a listener
class WorkerRegistrar;  // <janus/worker.h>: periodic and lease-based workers
class VdafRegistry;     // <janus/vdaf.h>: VDAF factories by name
class Datastore;        // <janus/datastore.h>: the only way to the database
class Clock;            // <janus/clock.h>: injectable wall clock

// Runs one command-line subcommand: `args` are the words after its name (the
// host has already removed --config-file, --database-password,
// --datastore-keys and --plugin-dir). Normal output goes to `out`, messages
// to `err`; the return value is the process exit code (0 success, 1 failure,
// 2 usage mistake). Exceptions are reported by the host as one line, exit 1.
using CommandHandler =
    std::function<int(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)>;

// Subcommands a plugin offers on the command line (`janus janus_cli <name>`).
class CommandRegistrar {
 public:
  virtual ~CommandRegistrar() = default;
  // `summary` is the one-line help shown by --help. Throws std::invalid_argument
  // if `name` is already registered.
  virtual void add(const std::string& name, const std::string& summary, CommandHandler handler) = 0;
};

// What the host gives a plugin while it is configured. The references stay
// valid until the plugin object is destroyed.
class PluginContext {
 public:
  virtual ~PluginContext() = default;

  // The name this plugin instance was given in the host config.
  virtual const std::string& instance_name() const = 0;
  // The plugin's own config section (may be Null when it has none). Unknown
  // keys must be rejected by the plugin (see <janus/config.h>).
  virtual const YAML::Node& config() const = 0;
  // The file the config came from, for error messages.
  virtual const std::string& config_file() const = 0;

  virtual std::shared_ptr<spdlog::logger> logger() const = 0;
  virtual RouteRegistrar& routes() = 0;
  virtual WorkerRegistrar& workers() = 0;
  virtual VdafRegistry& vdafs() = 0;
  virtual const Clock& clock() const = 0;
  // nullptr when the host runs without a database (e.g. a VDAF-only host).
  virtual Datastore* datastore() = 0;
  // Subcommands; registering them outside command mode (`janus_cli`) is harmless.
  virtual CommandRegistrar& commands() = 0;
};

// A component or VDAF plugin. Lifecycle: configure → start → stop; the host
// stops plugins in reverse order of starting.
class Plugin {
 public:
  virtual ~Plugin() = default;
  // Parse config, register routes, workers and VDAFs. Throwing here aborts
  // startup with the exception's message.
  virtual void configure(PluginContext& context) = 0;
  // Called once every plugin is configured and listeners are bound.
  virtual void start() {}
  // Stop accepting new work and finish what is in flight (bounded).
  virtual void stop() {}
};

using PluginFactory = std::unique_ptr<Plugin>();

}  // namespace janus

// Exports the ABI version and a factory for PluginClass from a plugin library.
#define JANUS_PLUGIN(PluginClass)                                                              \
  namespace janus_plugin_exports {                                                             \
  inline std::unique_ptr<::janus::Plugin> create() { return std::make_unique<PluginClass>(); } \
  inline const std::uint32_t abi_version = ::janus::kPluginAbiVersion;                         \
  }                                                                                            \
  BOOST_DLL_ALIAS(janus_plugin_exports::create, janus_plugin_create)                           \
  BOOST_DLL_ALIAS(janus_plugin_exports::abi_version, janus_plugin_abi_version)
