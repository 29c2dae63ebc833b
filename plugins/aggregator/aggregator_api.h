// Janus 0.7's aggregator API (its `aggregator_api` crate): the JSON control plane that
// divviup-api drives to create, inspect and delete tasks, read their upload and aggregation
// counters, manage the global HPKE keys and the taskprov peer aggregators. Served by the aggregator
// plugin, on its own listen address or under a path prefix of the DAP listener, when the aggregator
// config has an `aggregator_api` section. Every request needs one of the bearer tokens of
// AGGREGATOR_API_AUTH_TOKENS and the versioned media type below.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "janus/auth.h"
#include "janus/datastore.h"
#include "janus/http.h"
#include "janus/vdaf_registry.h"

namespace spdlog {
class logger;
}

namespace janus::aggregator {

inline constexpr std::string_view kAggregatorApiMediaType =
    "application/vnd.janus.aggregator+json;version=0.1";
inline constexpr const char* kAggregatorApiAuthTokensEnv = "AGGREGATOR_API_AUTH_TOKENS";

struct AggregatorApiConfig {
  // Exactly one of the two (Janus: mutually exclusive).
  std::optional<std::string> listen_address;
  std::optional<std::string> path_prefix;  // e.g. "aggregator-api", under the DAP listener
  std::string public_dap_url;
  // Bearer tokens (a secret: AGGREGATOR_API_AUTH_TOKENS / --aggregator-api-auth-tokens).
  std::vector<AuthToken> auth_tokens;
};

// "a,b,c" → bearer tokens (empty entries skipped); throws std::invalid_argument naming the
// variable for a value that is not a bearer token.
std::vector<AuthToken> parse_aggregator_api_auth_tokens(std::string_view list);

class AggregatorApi {
 public:
  AggregatorApi(AggregatorApiConfig config, Datastore& datastore, const VdafRegistry& vdafs,
                std::shared_ptr<spdlog::logger> logger);

  // Adds the routes on config.listen_address, or under /{path_prefix} of `dap_listen_address`.
  void register_routes(RouteRegistrar& routes, const std::string& dap_listen_address);

  // One request (routes call this; tests too): authentication, media types, then the route.
  HttpResponse handle(const HttpRequest& request, const std::string& route) const;

 private:
  HttpResponse route(const HttpRequest& request, const std::string& route) const;
  HttpResponse get_config() const;
  HttpResponse get_task_ids(const HttpRequest& request) const;
  HttpResponse post_task(const HttpRequest& request) const;
  HttpResponse get_task(const TaskId& task_id) const;
  HttpResponse patch_task(const HttpRequest& request, const TaskId& task_id) const;
  HttpResponse delete_task(const TaskId& task_id) const;
  HttpResponse get_upload_metrics(const TaskId& task_id) const;
  HttpResponse get_aggregation_metrics(const TaskId& task_id) const;
  HttpResponse get_hpke_configs() const;
  HttpResponse get_hpke_config(std::uint8_t config_id) const;
  HttpResponse put_hpke_config(const HttpRequest& request) const;
  HttpResponse patch_hpke_config(const HttpRequest& request, std::uint8_t config_id) const;
  HttpResponse delete_hpke_config(std::uint8_t config_id) const;
  HttpResponse get_taskprov_peer_aggregators() const;
  HttpResponse post_taskprov_peer_aggregator(const HttpRequest& request) const;
  HttpResponse delete_taskprov_peer_aggregator(const HttpRequest& request) const;

  AggregatorApiConfig config_;
  Datastore& datastore_;
  const VdafRegistry& vdafs_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace janus::aggregator
