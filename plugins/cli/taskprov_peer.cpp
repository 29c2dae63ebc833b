// janus_cli add-taskprov-peer-aggregator, with Janus 0.7's flags and environment variables.
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <ostream>

#include "cli_arguments.h"
#include "commands.h"
#include "janus/messages.h"
#include "janus/taskprov.h"

namespace janus::cli {
namespace {

const char kAddPeerUsage[] =
    "Usage: janus_cli add-taskprov-peer-aggregator --peer-endpoint URL --role leader|helper\n"
    "         --verify-key-init KEY --collector-hpke-config-file FILE\n"
    "         --tolerable-clock-skew-secs N [--report-expiry-age-secs N]\n"
    "         --aggregator-auth-token TOKEN [--collector-auth-token TOKEN] [--dry-run]\n"
    "         --config-file FILE\n\n"
    "Adds a taskprov peer aggregator: another aggregator this one runs advertised tasks with\n"
    "(aggregator taskprov_config.enabled: true).\n\n"
    "  --peer-endpoint URL               the peer's DAP endpoint, as task configs name it\n"
    "  --role leader|helper              the peer's role (leader when this aggregator helps)\n"
    "  --verify-key-init KEY             32 bytes, unpadded base64url, shared with the peer\n"
    "                                    (or VERIFY_KEY_INIT)\n"
    "  --collector-hpke-config-file FILE the collector's encoded DAP HpkeConfig\n"
    "  --tolerable-clock-skew-secs N     copied into every task made with this peer\n"
    "  --report-expiry-age-secs N        likewise; omitted, reports never expire\n"
    "  --aggregator-auth-token TOKEN     bearer:VALUE or dap:VALUE, the leader-to-helper token\n"
    "                                    (or AGGREGATOR_AUTH_TOKEN)\n"
    "  --collector-auth-token TOKEN      bearer:VALUE or dap:VALUE, the collector's token when\n"
    "                                    this aggregator leads (or COLLECTOR_AUTH_TOKEN)\n"
    "  --dry-run                         check everything, store nothing\n";

// An option, else the environment variable Janus reads for it.
std::optional<std::string> option_or_env(const Arguments& parsed, const std::string& option,
                                         const char* variable) {
  if (auto value = parsed.option(option)) return value;
  if (const char* value = std::getenv(variable); value && *value) return std::string(value);
  return std::nullopt;
}

// Janus's AuthenticationToken text form: "bearer:VALUE" or "dap:VALUE".
AuthToken parse_token(const std::string& option, const std::string& text) {
  const auto colon = text.find(':');
  std::optional<AuthToken> token;
  if (colon != std::string::npos) {
    const std::string kind = text.substr(0, colon), value = text.substr(colon + 1);
    if (kind == "bearer") token = AuthToken::create(AuthTokenType::Bearer, value);
    if (kind == "dap") token = AuthToken::create(AuthTokenType::DapAuth, value);
  }
  if (!token) throw UsageError(option + ": expected bearer:VALUE or dap:VALUE with a valid token");
  return *token;
}

std::uint64_t parse_seconds(const std::string& option, const std::string& text) {
  try {
    std::size_t used = 0;
    const unsigned long long value = std::stoull(text, &used);
    if (used == text.size() && !text.empty() && text[0] != '-') return value;
  } catch (const std::exception&) {
  }
  throw UsageError(option + ": expected a number of seconds, not '" + text + "'");
}

}  // namespace

int add_taskprov_peer_aggregator(const std::vector<std::string>& args, Datastore* datastore,
                                 std::ostream& out, std::ostream& err) {
  return run_command("add-taskprov-peer-aggregator", kAddPeerUsage, args, out, err, [&] {
    Arguments parsed = parse_arguments(
        args, {"--dry-run"},
        {"--peer-endpoint", "--role", "--verify-key-init", "--collector-hpke-config-file",
         "--report-expiry-age-secs", "--tolerable-clock-skew-secs", "--aggregator-auth-token",
         "--collector-auth-token"});
    if (!parsed.positional.empty()) {
      throw UsageError("unexpected argument '" + parsed.positional[0] + "'");
    }
    TaskprovPeerAggregator peer;
    peer.endpoint = parsed.required("--peer-endpoint");
    if (peer.endpoint.rfind("https://", 0) != 0 && peer.endpoint.rfind("http://", 0) != 0) {
      throw UsageError("--peer-endpoint: expected an http:// or https:// URL");
    }
    const std::string role = parsed.required("--role");
    if (role == "leader") {
      peer.role = Role::Leader;
    } else if (role == "helper") {
      peer.role = Role::Helper;
    } else {
      throw UsageError("--role: expected leader or helper, not '" + role + "'");
    }
    auto key_text = option_or_env(parsed, "--verify-key-init", "VERIFY_KEY_INIT");
    if (!key_text) throw UsageError("missing required option --verify-key-init");
    auto key = base64url_decode(*key_text);
    if (!key || key->size() != taskprov::kVerifyKeyInitLength) {
      throw UsageError("--verify-key-init: expected 32 bytes in unpadded base64url");
    }
    peer.verify_key_init = std::move(*key);

    const std::string config_file = parsed.required("--collector-hpke-config-file");
    std::ifstream in(config_file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + config_file);
    peer.collector_hpke_config =
        Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    try {
      decode_message<HpkeConfig>(peer.collector_hpke_config);
    } catch (const DecodeError& e) {
      throw std::runtime_error(config_file + ": not an encoded DAP HpkeConfig (" + e.what() + ")");
    }
    if (auto age = parsed.option("--report-expiry-age-secs")) {
      peer.report_expiry_age = parse_seconds("--report-expiry-age-secs", *age);
    }
    peer.tolerable_clock_skew = parse_seconds("--tolerable-clock-skew-secs",
                                              parsed.required("--tolerable-clock-skew-secs"));
    auto aggregator_token =
        option_or_env(parsed, "--aggregator-auth-token", "AGGREGATOR_AUTH_TOKEN");
    if (!aggregator_token) throw UsageError("missing required option --aggregator-auth-token");
    peer.aggregator_auth_tokens = {parse_token("--aggregator-auth-token", *aggregator_token)};
    if (auto collector_token =
            option_or_env(parsed, "--collector-auth-token", "COLLECTOR_AUTH_TOKEN")) {
      peer.collector_auth_tokens = {parse_token("--collector-auth-token", *collector_token)};
    }

    if (parsed.flag("--dry-run")) {
      out << "dry run: would add taskprov peer " << role << " at "
          << taskprov::normalize_endpoint(peer.endpoint) << std::endl;
      return 0;
    }
    if (!datastore) {
      throw UsageError(
          "a database is needed: give --config-file FILE (a config with a 'database' section)");
    }
    datastore->run_tx("add_taskprov_peer_aggregator",
                      [&](Transaction& tx) { tx.put_taskprov_peer_aggregator(peer); });
    out << "added taskprov peer " << role << " at " << taskprov::normalize_endpoint(peer.endpoint)
        << std::endl;
    return 0;
  });
}

}  // namespace janus::cli
