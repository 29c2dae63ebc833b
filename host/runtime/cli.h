// The `janus` command line: subcommand dispatch and the common options of
// every Janus component.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace janus::runtime {

struct CommonOptions {
  std::optional<std::string> config_file;        // --config-file / CONFIG_FILE
  std::optional<std::string> plugin_directory;   // --plugin-dir
  std::optional<std::string> database_password;  // --database-password / PGPASSWORD
  std::optional<std::string> datastore_keys;     // --datastore-keys / DATASTORE_KEYS
  // --hpke-config-signing-key / HPKE_CONFIG_SIGNING_KEY: a P-256 PEM key; the aggregator
  // plugin reads it from the environment, where serve() puts a command-line value.
  std::optional<std::string> hpke_config_signing_key;
  // --aggregator-api-auth-tokens / AGGREGATOR_API_AUTH_TOKENS: comma-separated bearer tokens
  // of the aggregator API, passed to the plugin the same way.
  std::optional<std::string> aggregator_api_auth_tokens;
};

// A usage mistake (exit code 2); what() is one line.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses the common options (`--name value` or `--name=value`); environment
// variables fill what the command line leaves out. Throws UsageError.
CommonOptions parse_common_options(const std::vector<std::string>& args);

// As parse_common_options, but arguments that are not common options are
// appended to `rest` (in order) instead of being errors.
CommonOptions split_common_options(const std::vector<std::string>& args,
                                   std::vector<std::string>& rest);

// `janus janus_cli <subcommand> ...`: loads the `cli` plugin (and the VDAF
// plugins present), opens the datastore from --config-file and runs the
// subcommand; returns its exit code. Throws UsageError / std::exception.
int run_janus_cli(const std::vector<std::string>& args);

// The text of `janus --help`.
std::string usage_text();

// Runs `janus`; returns the process exit code. `argv0` locates the default
// plugin directory (<dir of executable>/../plugins).
int run_main(const std::vector<std::string>& args);
// As above; `program` is argv[0]: invoked as `janus_cli`, it runs
// `janus janus_cli ARGS`.
int run_main(const std::string& program, const std::vector<std::string>& args);

}  // namespace janus::runtime
