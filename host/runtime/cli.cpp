#include "cli.h"

#include <sys/resource.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>

#include <spdlog/spdlog.h>

#include "host.h"
#include "host_config.h"
#include "janus/config.h"
#include "janus/datastore/schema.h"
#include "janus/log.h"
#include "janus/tracing.h"
#include "janus/version.h"

namespace janus::runtime {
namespace {

// Each connection is a file descriptor: lift the soft limit to the hard one (often 1,024
// against 1,048,576) so that the listeners' connection limit, not the process's, applies.
void raise_open_file_limit(spdlog::logger& logger, std::size_t max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < max_connections + 256) {
    logger.warn(
        "the open-file limit ({}) is below http_server.max_connections ({}) plus room for the "
        "database and plugins: connections past it will be refused (raise `ulimit -n`)",
        limit.rlim_cur, max_connections);
  }
}

struct OptionSpec {
  const char* name;
  const char* env;
  std::optional<std::string> CommonOptions::*field;
  const char* help;
};

const OptionSpec kOptions[] = {
    {"--config-file", "CONFIG_FILE", &CommonOptions::config_file, "YAML config file (required)"},
    {"--plugin-dir", nullptr, &CommonOptions::plugin_directory,
     "directory of libjanus_<name>.so plugins (default: <executable dir>/../plugins, or "
     "../lib/janus/plugins when installed)"},
    {"--database-password", "PGPASSWORD", &CommonOptions::database_password,
     "database password (overrides one in the URL)"},
    {"--datastore-keys", "DATASTORE_KEYS", &CommonOptions::datastore_keys,
     "comma-separated unpadded base64url 16-byte keys; the first encrypts"},
    {"--hpke-config-signing-key", "HPKE_CONFIG_SIGNING_KEY",
     &CommonOptions::hpke_config_signing_key,
     "P-256 PEM private key signing /hpke_config answers (aggregator)"},
    {"--aggregator-api-auth-tokens", "AGGREGATOR_API_AUTH_TOKENS",
     &CommonOptions::aggregator_api_auth_tokens,
     "comma-separated bearer tokens of the aggregator API (aggregator)"},
};

// "janus", or "janus_cli" when invoked through that name.
std::string program_name = "janus";

void fail(const std::string& message) {
  std::cerr << program_name << ": error: " << message << std::endl;
}

// <prefix>/plugins beside bin/ (the build tree), else <prefix>/lib/janus/plugins (an
// installed tree: cmake --install, the Debian package).
std::filesystem::path default_plugin_directory() {
  std::error_code ec;
  std::filesystem::path exe = boost::dll::program_location(ec);
  if (ec) return std::filesystem::current_path() / "plugins";
  const std::filesystem::path prefix = exe.parent_path().parent_path();
  if (std::filesystem::is_directory(prefix / "plugins", ec)) return prefix / "plugins";
  return prefix / "lib" / "janus" / "plugins";
}

// Waits for SIGTERM or SIGINT (blocked in every thread since main started).
int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

HostOptions host_options_from(const CommonOptions& options);

// Secrets the host does not interpret reach the plugins through the environment, as
// Janus's aggregator reads them.
void export_plugin_secrets(const CommonOptions& options) {
  if (options.hpke_config_signing_key) {
    ::setenv("HPKE_CONFIG_SIGNING_KEY", options.hpke_config_signing_key->c_str(), 1);
  }
  if (options.aggregator_api_auth_tokens) {
    ::setenv("AGGREGATOR_API_AUTH_TOKENS", options.aggregator_api_auth_tokens->c_str(), 1);
  }
}

// Logs as the config and RUST_LOG (default "info") say; returns the host's logger, which
// has said what is starting and the config's warnings.
std::shared_ptr<spdlog::logger> configure_host_logging(const HostConfig& config) {
  const char* rust_log = std::getenv("RUST_LOG");
  log::LogFilter filter = log::LogFilter::parse("info");
  if (rust_log && *rust_log) {
    try {
      filter = log::LogFilter::parse(rust_log);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("RUST_LOG: ") + e.what());
    }
  }
  log::configure(
      log::choose_format(config.logging.force_json_output, config.logging.stackdriver_json_output),
      filter);
  auto logger = log::logger("janus::host");
  logger->info("janus {} (git revision {}) starting with config {}", janus::version(),
               janus::git_revision(), config.config_file);
  for (const auto& warning : config.warnings) logger->warn("{}", warning);
  return logger;
}

// Starts the OTLP span exporter when the config names an endpoint; its RAII stop flushes
// the spans still queued when the process ends normally.
struct TracingSession {
  TracingSession(const HostConfig& config, const std::string& service_name,
                 const std::shared_ptr<spdlog::logger>& logger) {
    if (!config.logging.otlp_endpoint) return;
    tracing::OtlpExporterOptions options;
    options.endpoint = *config.logging.otlp_endpoint;
    options.service_name = service_name;
    tracing::start_otlp_exporter(options, log::logger("janus::tracing"));
    logger->info("exporting trace spans over OTLP/HTTP to {}", options.endpoint);
    active = true;
  }
  ~TracingSession() {
    if (active) tracing::stop_exporter();
  }
  TracingSession(const TracingSession&) = delete;
  TracingSession& operator=(const TracingSession&) = delete;
  bool active = false;
};

// Runs the host until a stop signal; returns the exit code.
// `component`: the Janus component run (names the trace spans' service), if any.
int serve(HostConfig config, const CommonOptions& options, const std::string& component = "") {
  apply_secrets(config, options.database_password, options.datastore_keys);
  export_plugin_secrets(options);
  auto logger = configure_host_logging(config);
  TracingSession tracing_session(config, component.empty() ? "janus" : "janus_" + component,
                                 logger);

  raise_open_file_limit(*logger, config.http_server.max_connections);

  Host host(std::move(config), host_options_from(options));
  host.start();
  int signal_number = wait_for_stop_signal();
  logger->info("received {}; shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  if (!host.stop()) {
    logger->error("exiting with work still in flight");
    tracing::stop_exporter();
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(1);
  }
  logger->info("stopped");
  return 0;
}

// In the Janus form every plugin stands for a component: one whose library is missing is
// named as such, with the components this build has, before anything starts.
void check_components_built(const HostConfig& config, const CommonOptions& options) {
  const HostOptions host_options = host_options_from(options);
  const std::filesystem::path directory =
      host_options.plugin_directory_override.value_or(host_options.default_plugin_directory);
  auto built = [&](const std::string& plugin) {
    std::error_code ec;
    return std::filesystem::exists(plugin_library_path(directory, plugin), ec);
  };
  for (const PluginEntry& entry : config.plugins) {
    if (entry.skip_if_missing || entry.path || built(entry.plugin)) continue;
    std::string component = entry.plugin, available;
    for (const auto& mapping : janus_components()) {
      if (mapping.plugin == entry.plugin) component = mapping.component;
      if (built(mapping.plugin))
        available += (available.empty() ? "" : ", ") + std::string(mapping.component);
    }
    throw std::runtime_error(
        "component '" + component +
        "' is not part of this build; available: " + (available.empty() ? "none" : available) +
        " (no " + plugin_library_path(directory, entry.plugin).string() + ")");
  }
}

// A component Janus runs as a one-pass job (key_rotator): configure its plugin, run its
// command once, exit with the command's code.
int run_once(HostConfig config, const CommonOptions& options, const std::string& command) {
  apply_secrets(config, options.database_password, options.datastore_keys);
  export_plugin_secrets(options);
  auto logger = configure_host_logging(config);
  TracingSession tracing_session(config, "janus_" + command, logger);
  Host host(std::move(config), host_options_from(options));
  host.configure_plugins();
  const Commands::Entry* entry = host.commands().find(command);
  if (!entry) throw std::runtime_error("the plugin registered no '" + command + "' command");
  const int code = entry->handler({}, std::cout, std::cerr);
  std::cout.flush();
  host.stop();
  return code;
}

HostConfig load_native(const CommonOptions& options) {
  if (!options.config_file) throw UsageError("--config-file is required (or set CONFIG_FILE)");
  return parse_native_config(load_yaml_file(*options.config_file), *options.config_file);
}

HostConfig load_component(const CommonOptions& options, const std::string& component,
                          const std::string& plugin) {
  if (!options.config_file) throw UsageError("--config-file is required (or set CONFIG_FILE)");
  return parse_component_config(load_yaml_file(*options.config_file), *options.config_file,
                                component, plugin);
}

// Any config with a `database` section: a native host config or a Janus 0.7
// component config (janus_cli.yaml has only the common keys).
HostConfig load_any(const CommonOptions& options) {
  if (!options.config_file) throw UsageError("--config-file is required (or set CONFIG_FILE)");
  YAML::Node root = load_yaml_file(*options.config_file);
  if (root.IsMap() && root["plugins"]) return parse_native_config(root, *options.config_file);
  return parse_component_config(root, *options.config_file, "janus_cli", "janus_cli");
}

// `janus db migrate|status [OPTIONS]`: the words before the first option are
// the datastore command, the rest are the common options.
int run_db_command(const std::vector<std::string>& args) {
  auto first_option = std::find_if(args.begin(), args.end(),
                                   [](const std::string& arg) { return arg.rfind("-", 0) == 0; });
  std::vector<std::string> command(args.begin(), first_option);
  CommonOptions options = parse_common_options(std::vector<std::string>(first_option, args.end()));
  HostConfig config = load_any(options);
  if (!config.database) {
    throw ConfigError(*options.config_file + ": key 'database' is required for 'janus db'");
  }
  apply_secrets(config, options.database_password, std::nullopt);
  return run_database_command(command, *config.database, std::cout, std::cerr);
}

// provision-tasks checks VDAF parameters and sizes verify keys with the bundled VDAF plugins.
HostConfig cli_host_config(HostConfig config) {
  config.plugins.clear();
  add_bundled_vdaf_plugins(config);
  PluginEntry cli;
  cli.instance_name = "janus_cli";
  cli.plugin = "cli";
  config.plugins.push_back(std::move(cli));
  return config;
}

std::string cli_usage_text(const Commands& commands) {
  std::ostringstream out;
  out << "janus_cli " << janus::version() << " — Janus operator commands\n\n"
      << "Usage:\n"
      << "  janus_cli <subcommand> [ARGS] --config-file FILE [OPTIONS]\n"
      << "  janus janus_cli <subcommand> [ARGS] --config-file FILE [OPTIONS]\n"
      << "  janus_cli <subcommand> --help\n\nSubcommands:\n";
  for (const auto& [name, entry] : commands.all()) {
    out << "  " << name << std::string(28 - std::min<std::size_t>(name.size(), 27), ' ')
        << entry.summary << "\n";
  }
  out << "\nOptions (any subcommand):\n";
  for (const auto& spec : kOptions) {
    std::string name = std::string(spec.name) + " VALUE";
    out << "  " << name << std::string(28 - std::min<std::size_t>(name.size(), 27), ' ')
        << spec.help;
    if (spec.env) out << " [env " << spec.env << "]";
    out << "\n";
  }
  out << "  --dry-run                   check everything, change nothing\n"
      << "\nFILE is any config with a 'database' section (Janus's janus_cli.yaml, or a native\n"
      << "host config); DATASTORE_KEYS (or --datastore-keys) is required with it.\n";
  return out.str();
}

HostOptions host_options_from(const CommonOptions& options) {
  HostOptions host_options;
  host_options.default_plugin_directory = default_plugin_directory();
  if (options.plugin_directory) host_options.plugin_directory_override = *options.plugin_directory;
  return host_options;
}

void configure_cli_logging() {
  // Output belongs to the command (e.g. --echo-tasks YAML on stdout): the
  // host's own info lines stay quiet unless RUST_LOG asks for them.
  const char* rust_log = std::getenv("RUST_LOG");
  log::LogFilter filter = log::LogFilter::parse("error");
  if (rust_log && *rust_log) {
    try {
      filter = log::LogFilter::parse(rust_log);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("RUST_LOG: ") + e.what());
    }
  }
  log::configure(log::choose_format(false, false), filter);
}

}  // namespace

int run_janus_cli(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  CommonOptions options = split_common_options(args, rest);
  configure_cli_logging();

  // The first word is the subcommand; --dry-run is a global option in Janus
  // and may come before it.
  std::optional<std::string> command;
  std::vector<std::string> command_args;
  bool help = false;
  for (const auto& arg : rest) {
    for (const char* kubernetes_option : {"--secrets-k8s-namespace", "--datastore-keys-secret-name",
                                          "--datastore-keys-secret-data-key"}) {
      if (arg == kubernetes_option || arg.rfind(std::string(kubernetes_option) + "=", 0) == 0) {
        throw UsageError(std::string(kubernetes_option) +
                         ": reading datastore keys from a Kubernetes secret is not supported; "
                         "give --datastore-keys or DATASTORE_KEYS");
      }
    }
    if (command) {
      command_args.push_back(arg);
    } else if (arg == "--help" || arg == "-h" || arg == "help") {
      help = true;
    } else if (arg == "--dry-run") {
      command_args.push_back(arg);
    } else if (arg.rfind("-", 0) == 0) {
      throw UsageError("unknown option '" + arg + "' before the subcommand (see janus_cli --help)");
    } else {
      command = arg;
    }
  }

  // First without a database: --help and an unknown subcommand need none, and
  // must not wait for one.
  {
    HostConfig bare;
    Host host(cli_host_config(std::move(bare)), host_options_from(options));
    host.configure_plugins();
    if (help || !command) {
      if (!help) throw UsageError("missing subcommand (see janus_cli --help)");
      std::cout << cli_usage_text(host.commands());
      return 0;
    }
    if (!host.commands().find(*command)) {
      throw UsageError("unknown subcommand '" + *command + "' (see janus_cli --help)");
    }
  }

  HostConfig config;
  bool wants_help =
      std::find(command_args.begin(), command_args.end(), "--help") != command_args.end();
  if (options.config_file && !wants_help) {
    config = load_any(options);
    if (!config.database) {
      throw ConfigError(*options.config_file + ": key 'database' is required for janus_cli");
    }
    apply_secrets(config, options.database_password, options.datastore_keys);
  }
  HostConfig cli_config = cli_host_config(config);
  // A Janus janus_cli.yaml hands the keys the host does not read to the
  // plugin, which rejects them (a native host config's plugins are ignored).
  for (const PluginEntry& entry : config.plugins) {
    if (entry.plugin == "janus_cli") cli_config.plugins.back().config = entry.config;
  }
  Host host(std::move(cli_config), host_options_from(options));
  host.configure_plugins();
  const Commands::Entry* entry = host.commands().find(*command);
  int code = entry->handler(command_args, std::cout, std::cerr);
  std::cout.flush();
  host.stop();
  return code;
}

namespace {

struct Subcommand {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

std::vector<Subcommand> subcommands() {
  std::vector<Subcommand> out;
  for (const auto& mapping : janus_components()) {
    std::string component = mapping.component;
    std::string plugin = mapping.plugin;
    std::optional<std::string> once;
    if (mapping.run_once_command) once = mapping.run_once_command;
    out.push_back({component,
                   "run the Janus 0.7 '" + component + "' component (plugin '" + plugin + "')" +
                       (once ? ", once" : ""),
                   [component, plugin, once](const std::vector<std::string>& args) {
                     CommonOptions options = parse_common_options(args);
                     HostConfig config = load_component(options, component, plugin);
                     check_components_built(config, options);
                     if (once) return run_once(std::move(config), options, *once);
                     return serve(std::move(config), options, component);
                   }});
  }
  out.push_back(
      {"db", "migrate | status: apply or list the database schema migrations", run_db_command});
  out.push_back(
      {"janus_cli", "Janus operator commands (provision-tasks, global HPKE keys)", run_janus_cli});
  return out;
}

}  // namespace

CommonOptions parse_common_options(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  CommonOptions options = split_common_options(args, rest);
  if (!rest.empty()) throw UsageError("unknown argument '" + rest[0] + "' (see janus --help)");
  return options;
}

CommonOptions split_common_options(const std::vector<std::string>& args,
                                   std::vector<std::string>& rest) {
  CommonOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const OptionSpec* spec = nullptr;
    std::optional<std::string> value;
    for (const auto& candidate : kOptions) {
      std::string name = candidate.name;
      if (arg == name) {
        spec = &candidate;
        if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
        value = args[++i];
      } else if (arg.rfind(name + "=", 0) == 0) {
        spec = &candidate;
        value = arg.substr(name.size() + 1);
      }
      if (spec) break;
    }
    if (!spec) {
      rest.push_back(arg);
      continue;
    }
    options.*(spec->field) = *value;
  }
  for (const auto& spec : kOptions) {
    if (!(options.*(spec.field)) && spec.env) {
      if (const char* env = std::getenv(spec.env); env && *env) options.*(spec.field) = env;
    }
  }
  return options;
}

std::string usage_text() {
  std::ostringstream out;
  out << "janus " << janus::version() << " — a DAP-09 aggregator host\n\n"
      << "Usage:\n"
      << "  janus --config-file FILE [OPTIONS]              run the plugins a host config names\n"
      << "  janus <component> --config-file FILE [OPTIONS]  run a Janus 0.7 component config\n"
      << "  janus db migrate|status --config-file FILE        manage the database schema\n"
      << "  janus --help | --version\n\nCommands:\n";
  for (const auto& command : subcommands()) {
    out << "  " << command.name
        << std::string(26 - std::min<std::size_t>(command.name.size(), 25), ' ') << command.summary
        << "\n";
  }
  out << "\nOptions:\n";
  for (const auto& spec : kOptions) {
    std::string name = std::string(spec.name) + " VALUE";
    out << "  " << name << std::string(26 - std::min<std::size_t>(name.size(), 25), ' ')
        << spec.help;
    if (spec.env) out << " [env " << spec.env << "]";
    out << "\n";
  }
  out << "  -h, --help                "
      << "print this help\n"
      << "  -V, --version             "
      << "print the version and git revision\n"
      << "\nEnvironment: RUST_LOG sets the log filter (e.g. info,janus::aggregator=debug).\n";
  return out.str();
}

int run_main(const std::string& program, const std::vector<std::string>& args) {
  if (std::filesystem::path(program).filename() == "janus_cli") {
    // Invoked as janus_cli (a link to janus), like Janus's multicall binary.
    program_name = "janus_cli";
    std::vector<std::string> cli_args = {"janus_cli"};
    cli_args.insert(cli_args.end(), args.begin(), args.end());
    return run_main(cli_args);
  }
  return run_main(args);
}

int run_main(const std::vector<std::string>& args) {
  // Block the stop signals in every thread the host will start, so that only
  // the main thread's sigwait sees them; a broken connection must not kill us.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  try {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
      std::cout << usage_text();
      return 0;
    }
    if (!args.empty() && (args[0] == "--version" || args[0] == "-V")) {
      std::cout << "janus " << janus::version() << " (git revision " << janus::git_revision() << ")"
                << std::endl;
      return 0;
    }
    if (!args.empty() && args[0].rfind("-", 0) != 0) {
      for (const auto& command : subcommands()) {
        if (command.name == args[0]) {
          return command.run(std::vector<std::string>(args.begin() + 1, args.end()));
        }
      }
      throw UsageError("unknown command '" + args[0] + "' (see janus --help)");
    }
    CommonOptions options = parse_common_options(args);
    return serve(load_native(options), options);
  } catch (const UsageError& e) {
    fail(e.what());
    return 2;
  } catch (const std::exception& e) {
    fail(e.what());
    return 1;
  }
}

}  // namespace janus::runtime
