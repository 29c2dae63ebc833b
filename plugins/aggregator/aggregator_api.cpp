#include "aggregator_api.h"

#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/ids.h"
#include "janus/messages.h"
#include "janus/taskprov.h"
#include "janus/vdaf.h"
#include "janus/version.h"

namespace janus::aggregator {
namespace {

using json = nlohmann::json;

// Janus's aggregator API answers: a status, and a plain-text reason for 400 and 409.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message)
      : std::runtime_error(message), status(status), message(std::move(message)) {}
  int status;
  std::string message;
};

[[noreturn]] void bad_request(std::string message) { throw ApiError(400, std::move(message)); }

HttpResponse json_response(int status, const json& body) {
  const std::string text = body.dump();
  return HttpResponse::bytes(status, std::string(kAggregatorApiMediaType),
                             Bytes(text.begin(), text.end()));
}

json parse_body(const HttpRequest& request) {
  try {
    return json::parse(request.body.begin(), request.body.end());
  } catch (const json::exception& e) {
    bad_request(std::string("the body is not JSON: ") + e.what());
  }
}

// A field of a JSON object, with the reason a client gets when it is missing or mistyped.
template <typename T>
T field(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) {
    bad_request(std::string("missing field '") + key + "'");
  }
  try {
    return object.at(key).get<T>();
  } catch (const json::exception&) {
    bad_request(std::string("field '") + key + "' has the wrong type");
  }
}

template <typename T>
std::optional<T> optional_field(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) return std::nullopt;
  return field<T>(object, key);
}

// ---- Janus's serde forms ----

json hpke_config_json(const HpkeConfig& config) {
  return {{"id", config.id},
          {"kem_id", std::string(hpke_kem_id_name(config.kem_id))},
          {"kdf_id", std::string(hpke_kdf_id_name(config.kdf_id))},
          {"aead_id", std::string(hpke_aead_id_name(config.aead_id))},
          {"public_key", base64url_encode(config.public_key)}};
}

HpkeConfig hpke_config_from_json(const json& object) {
  HpkeConfig config;
  const auto id = field<std::uint64_t>(object, "id");
  if (id > 255) bad_request("collector_hpke_config.id must be 0 to 255");
  config.id = static_cast<HpkeConfigId>(id);
  auto kem = parse_hpke_kem_id(field<std::string>(object, "kem_id"));
  auto kdf = parse_hpke_kdf_id(field<std::string>(object, "kdf_id"));
  auto aead = parse_hpke_aead_id(field<std::string>(object, "aead_id"));
  auto key = base64url_decode(field<std::string>(object, "public_key"));
  if (!kem || !kdf || !aead || !key) bad_request("invalid collector_hpke_config");
  config.kem_id = *kem;
  config.kdf_id = *kdf;
  config.aead_id = *aead;
  config.public_key = std::move(*key);
  return config;
}

std::string_view state_name(HpkeKeyState state) {
  switch (state) {
    case HpkeKeyState::Pending:
      return "Pending";
    case HpkeKeyState::Active:
      return "Active";
    case HpkeKeyState::Expired:
      return "Expired";
  }
  return "";
}

json global_key_json(const GlobalHpkeKeypair& key) {
  return {{"config", hpke_config_json(decode_message<HpkeConfig>(key.keypair.config))},
          {"state", std::string(state_name(key.state))}};
}

json optional_json(const std::optional<std::uint64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

json task_json(const AggregatorTask& task) {
  std::vector<HpkeConfig> configs;
  for (const StoredHpkeKeypair& key : task.hpke_keys) {
    configs.push_back(decode_message<HpkeConfig>(key.config));
  }
  std::sort(configs.begin(), configs.end(),
            [](const HpkeConfig& a, const HpkeConfig& b) { return a.id < b.id; });
  json hpke_configs = json::array();
  for (const HpkeConfig& config : configs) hpke_configs.push_back(hpke_config_json(config));
  return {
      {"task_id", task.task_id.to_base64url()},
      {"peer_aggregator_endpoint", task.peer_aggregator_endpoint},
      {"query_type", task.query_type.to_json()},
      {"vdaf", vdaf_to_json(task.vdaf)},
      {"role", task.role == Role::Leader ? "Leader" : "Helper"},
      {"vdaf_verify_key", base64url_encode(task.vdaf_verify_key)},
      {"max_batch_query_count", task.max_batch_query_count},
      {"task_expiration", optional_json(task.task_expiration)},
      {"report_expiry_age", optional_json(task.report_expiry_age)},
      {"min_batch_size", task.min_batch_size},
      {"time_precision", task.time_precision},
      {"tolerable_clock_skew", task.tolerable_clock_skew},
      // Never the stored token: only a helper's fresh one, in post_task's answer.
      {"aggregator_auth_token", nullptr},
      {"collector_hpke_config",
       task.collector_hpke_config
           ? hpke_config_json(decode_message<HpkeConfig>(*task.collector_hpke_config))
           : json(nullptr)},
      {"aggregator_hpke_configs", hpke_configs},
  };
}

AuthToken token_from_json(const json& object, const char* what) {
  auto type = parse_auth_token_type(field<std::string>(object, "type"));
  if (!type) bad_request(std::string(what) + ": unknown token type");
  auto token = AuthToken::create(*type, field<std::string>(object, "token"));
  if (!token) bad_request(std::string(what) + ": not a valid token");
  return *token;
}

AuthTokenHash token_hash_from_json(const json& object, const char* what) {
  auto type = parse_auth_token_type(field<std::string>(object, "type"));
  if (!type) bad_request(std::string(what) + ": unknown token type");
  auto hash = AuthTokenHash::from_base64url(*type, field<std::string>(object, "hash"));
  if (!hash) bad_request(std::string(what) + ": not a valid token hash");
  return *hash;
}

TaskId task_id_param(const HttpRequest& request) {
  auto id = TaskId::from_base64url(request.path_param("task_id").value_or(""));
  if (!id) bad_request("invalid task_id");
  return *id;
}

std::uint8_t config_id_param(const HttpRequest& request) {
  const std::string text = request.path_param("config_id").value_or("");
  if (text.empty() || text.size() > 3 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(text) > 255) {
    bad_request("Invalid config_id parameter");
  }
  return static_cast<std::uint8_t>(std::stoul(text));
}

bool same_except_generated(const AggregatorTask& a, const AggregatorTask& b) {
  return a.peer_aggregator_endpoint == b.peer_aggregator_endpoint &&
         a.query_type.to_json() == b.query_type.to_json() &&
         vdaf_to_json(a.vdaf) == vdaf_to_json(b.vdaf) && a.vdaf_verify_key == b.vdaf_verify_key &&
         a.role == b.role && a.max_batch_query_count == b.max_batch_query_count &&
         a.task_expiration == b.task_expiration && a.min_batch_size == b.min_batch_size &&
         a.time_precision == b.time_precision && a.collector_hpke_config == b.collector_hpke_config;
}

}  // namespace

std::vector<AuthToken> parse_aggregator_api_auth_tokens(std::string_view list) {
  std::vector<AuthToken> tokens;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view entry = list.substr(start, comma - start);
    if (!entry.empty()) {
      auto token = AuthToken::create(AuthTokenType::Bearer, std::string(entry));
      if (!token) {
        throw std::invalid_argument(std::string(kAggregatorApiAuthTokensEnv) +
                                    ": an entry is not a valid bearer token");
      }
      tokens.push_back(std::move(*token));
    }
    start = comma + 1;
  }
  return tokens;
}

// Janus's TaskprovPeerAggregatorResp: the peer without its secrets.
json taskprov_peer_json(const TaskprovPeerAggregator& peer) {
  return {{"endpoint", peer.endpoint},
          {"role", peer.role == Role::Leader ? "Leader" : "Helper"},
          {"collector_hpke_config",
           hpke_config_json(decode_message<HpkeConfig>(peer.collector_hpke_config))},
          {"report_expiry_age", optional_json(peer.report_expiry_age)},
          {"tolerable_clock_skew", peer.tolerable_clock_skew}};
}

Role peer_role_from_json(const json& req) {
  const std::string role = field<std::string>(req, "role");
  if (role == "Leader") return Role::Leader;
  if (role == "Helper") return Role::Helper;
  bad_request("role must be Leader or Helper");
}

AggregatorApi::AggregatorApi(AggregatorApiConfig config, Datastore& datastore,
                             const VdafRegistry& vdafs, std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)), datastore_(datastore), vdafs_(vdafs), logger_(std::move(logger)) {
  if (config_.listen_address.has_value() == config_.path_prefix.has_value()) {
    throw std::invalid_argument("aggregator_api: give either listen_address or path_prefix");
  }
}

void AggregatorApi::register_routes(RouteRegistrar& routes, const std::string& dap_listen_address) {
  const std::string address = config_.listen_address.value_or(dap_listen_address);
  std::string prefix;
  if (config_.path_prefix) {
    prefix = "/" + *config_.path_prefix;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  }
  const std::pair<HttpMethod, const char*> table[] = {
      {HttpMethod::Get, "/"},
      {HttpMethod::Get, "/task_ids"},
      {HttpMethod::Post, "/tasks"},
      {HttpMethod::Get, "/tasks/{task_id}"},
      {HttpMethod::Patch, "/tasks/{task_id}"},
      {HttpMethod::Delete, "/tasks/{task_id}"},
      {HttpMethod::Get, "/tasks/{task_id}/metrics/uploads"},
      {HttpMethod::Get, "/tasks/{task_id}/metrics/aggregations"},
      {HttpMethod::Get, "/hpke_configs"},
      {HttpMethod::Put, "/hpke_configs"},
      {HttpMethod::Get, "/hpke_configs/{config_id}"},
      {HttpMethod::Patch, "/hpke_configs/{config_id}"},
      {HttpMethod::Delete, "/hpke_configs/{config_id}"},
      {HttpMethod::Get, "/taskprov/peer_aggregators"},
      {HttpMethod::Post, "/taskprov/peer_aggregators"},
      {HttpMethod::Delete, "/taskprov/peer_aggregators"},
  };
  for (const auto& [method, pattern] : table) {
    const std::string route = std::string(to_string(method)) + " " + pattern;
    std::vector<std::string> paths = {prefix + pattern};
    // The root under a prefix answers with and without its slash.
    if (!prefix.empty() && std::string_view(pattern) == "/") paths = {prefix, prefix + "/"};
    for (const std::string& path : paths) {
      routes.add_route(address, method, path, [this, route](const HttpRequest& request) {
        return handle(request, route);
      });
    }
  }
}

HttpResponse AggregatorApi::handle(const HttpRequest& request, const std::string& route) const {
  // Janus's order: the token, then the media types, then the route.
  const auto authorization = request.headers.get("Authorization");
  const std::string bearer = "Bearer ";
  bool authorized = false;
  if (authorization && authorization->rfind(bearer, 0) == 0) {
    auto presented = AuthToken::create(AuthTokenType::Bearer, authorization->substr(bearer.size()));
    for (const AuthToken& token : config_.auth_tokens) {
      if (presented && token.hash().validate(*presented)) authorized = true;
    }
  }
  if (!authorized) return HttpResponse::empty(401);
  const auto content_type = request.headers.get("Content-Type");
  if (content_type && *content_type != kAggregatorApiMediaType) return HttpResponse::empty(415);
  if (request.headers.get("Accept").value_or("") != kAggregatorApiMediaType) {
    return HttpResponse::empty(406);
  }
  try {
    return this->route(request, route);
  } catch (const ApiError& error) {
    return error.message.empty() ? HttpResponse::empty(error.status)
                                 : HttpResponse::text(error.status, error.message);
  } catch (const MutationTargetNotFound&) {
    return HttpResponse::empty(404);
  } catch (const MutationTargetAlreadyExists&) {
    return HttpResponse::empty(409);
  } catch (const std::exception& e) {
    if (logger_) logger_->error("aggregator API {} failed: {}", route, e.what());
    return HttpResponse::empty(500);
  }
}

HttpResponse AggregatorApi::route(const HttpRequest& request, const std::string& route) const {
  if (route == "GET /") return get_config();
  if (route == "GET /task_ids") return get_task_ids(request);
  if (route == "POST /tasks") return post_task(request);
  if (route == "GET /tasks/{task_id}") return get_task(task_id_param(request));
  if (route == "PATCH /tasks/{task_id}") return patch_task(request, task_id_param(request));
  if (route == "DELETE /tasks/{task_id}") return delete_task(task_id_param(request));
  if (route == "GET /tasks/{task_id}/metrics/uploads") {
    return get_upload_metrics(task_id_param(request));
  }
  if (route == "GET /tasks/{task_id}/metrics/aggregations") {
    return get_aggregation_metrics(task_id_param(request));
  }
  if (route == "GET /hpke_configs") return get_hpke_configs();
  if (route == "PUT /hpke_configs") return put_hpke_config(request);
  if (route == "GET /hpke_configs/{config_id}") return get_hpke_config(config_id_param(request));
  if (route == "PATCH /hpke_configs/{config_id}") {
    return patch_hpke_config(request, config_id_param(request));
  }
  if (route == "DELETE /hpke_configs/{config_id}") {
    return delete_hpke_config(config_id_param(request));
  }
  if (route == "GET /taskprov/peer_aggregators") return get_taskprov_peer_aggregators();
  if (route == "POST /taskprov/peer_aggregators") return post_taskprov_peer_aggregator(request);
  if (route == "DELETE /taskprov/peer_aggregators") return delete_taskprov_peer_aggregator(request);
  throw std::logic_error("unrouted aggregator API route " + route);
}

HttpResponse AggregatorApi::get_config() const {
  json vdafs = json::array();
  for (const char* name : {"Prio3Count", "Prio3Sum", "Prio3Histogram", "Prio3SumVec"}) {
    if (vdafs_.contains(name)) vdafs.push_back(name);
  }
  // The features divviup-api asks about that this build has; PureDpDiscreteLaplace only when
  // the Prio3 plugin that adds the noise is loaded.
  json features = {"TokenHash", "UploadMetrics", "TimeBucketedFixedSize", "AggregationJobMetrics"};
  if (vdafs_.contains("Prio3Histogram")) features.push_back("PureDpDiscreteLaplace");
  return json_response(
      200, {{"protocol", "DAP-09"},
            {"dap_url", config_.public_dap_url},
            {"role", "Either"},
            {"vdafs", vdafs},
            {"query_types", {"TimeInterval", "FixedSize"}},
            {"features", features},
            {"software_name", "janus-cpp"},
            {"software_version", version()}});
}

HttpResponse AggregatorApi::get_task_ids(const HttpRequest& request) const {
  std::optional<TaskId> after;
  if (auto token = request.query_param("pagination_token")) {
    after = TaskId::from_base64url(*token);
    if (!after) bad_request("Couldn't parse pagination_token");
  }
  // Pages of the ids after the token, in id order, as Janus pages them; the database reads
  // only the page.
  constexpr std::size_t kPageSize = 1000;
  const std::vector<TaskId> ids = datastore_.run_tx(
      "get_task_ids", [&](Transaction& tx) { return tx.get_task_ids(after, kPageSize); });
  json page = json::array();
  for (const TaskId& id : ids) page.push_back(id.to_base64url());
  json body = {{"task_ids", page}};
  if (!ids.empty()) body["pagination_token"] = ids.back().to_base64url();
  return json_response(200, body);
}

HttpResponse AggregatorApi::post_task(const HttpRequest& request) const {
  const json req = parse_body(request);
  AggregatorTask task;
  const std::string role = field<std::string>(req, "role");
  if (role != "Leader" && role != "Helper") bad_request("invalid role " + role);
  task.role = role == "Leader" ? Role::Leader : Role::Helper;
  task.peer_aggregator_endpoint = field<std::string>(req, "peer_aggregator_endpoint");
  if (task.peer_aggregator_endpoint.rfind("http://", 0) != 0 &&
      task.peer_aggregator_endpoint.rfind("https://", 0) != 0) {
    bad_request("peer_aggregator_endpoint is not an http(s) URL");
  }
  try {
    task.query_type = TaskQueryType::from_json(field<json>(req, "query_type"));
    task.vdaf = vdaf_from_json(field<json>(req, "vdaf"));
  } catch (const std::invalid_argument& e) {
    bad_request(e.what());
  }
  std::size_t verify_key_size = 0;
  try {
    verify_key_size = vdafs_.create(task.vdaf)->verify_key_size();
  } catch (const std::exception& e) {
    bad_request(std::string("Error constructing task: ") + e.what());
  }
  auto verify_key = base64url_decode(field<std::string>(req, "vdaf_verify_key"));
  if (!verify_key) bad_request("Invalid base64 value for vdaf_verify_key");
  if (verify_key->size() != verify_key_size) {
    bad_request("Wrong VDAF verify key length, expected " + std::to_string(verify_key_size) +
                ", got " + std::to_string(verify_key->size()));
  }
  task.vdaf_verify_key = *verify_key;
  // As Janus (and DAP's advice): the task id is SHA-256 of the verify key.
  Bytes digest(SHA256_DIGEST_LENGTH);
  SHA256(task.vdaf_verify_key.data(), task.vdaf_verify_key.size(), digest.data());
  task.task_id = *TaskId::from_bytes(digest);
  task.max_batch_query_count = field<std::uint64_t>(req, "max_batch_query_count");
  task.task_expiration = optional_field<std::uint64_t>(req, "task_expiration");
  task.min_batch_size = field<std::uint64_t>(req, "min_batch_size");
  task.time_precision = field<std::uint64_t>(req, "time_precision");
  if (task.time_precision == 0) bad_request("Error constructing task: time_precision is zero");
  // Janus's fixed choices for tasks made here: two weeks of reports, five minutes of skew.
  task.report_expiry_age = 3600 * 24 * 7 * 2;
  task.tolerable_clock_skew = 300;
  task.collector_hpke_config =
      encode_message(hpke_config_from_json(field<json>(req, "collector_hpke_config")));
  std::optional<AuthToken> helper_token;
  if (task.role == Role::Leader) {
    auto token = optional_field<json>(req, "aggregator_auth_token");
    auto hash = optional_field<json>(req, "collector_auth_token_hash");
    if (!token) {
      bad_request("aggregator acting in leader role must be provided an aggregator auth token");
    }
    if (!hash) {
      bad_request("aggregator acting in leader role must be provided a collector auth token hash");
    }
    task.aggregator_auth_token = token_from_json(*token, "aggregator_auth_token");
    task.collector_auth_token_hash = token_hash_from_json(*hash, "collector_auth_token_hash");
  } else {
    if (optional_field<json>(req, "aggregator_auth_token")) {
      bad_request("aggregator acting in helper role cannot be given an aggregator auth token");
    }
    // The helper keeps only the hash; the token goes back once, for the leader.
    helper_token = AuthToken::generate(AuthTokenType::Bearer);
    task.aggregator_auth_token_hash = helper_token->hash();
  }
  HpkeConfigId key_id = 0;
  random_bytes(std::span<std::uint8_t>(&key_id, 1));
  const DapHpkeKeyPair key = DapHpkeKeyPair::generate(key_id);
  task.hpke_keys.push_back({key.config.id, encode_message(key.config), key.key_pair.private_key()});

  const AggregatorTask stored = datastore_.run_tx("post_task", [&](Transaction& tx) {
    if (auto existing = tx.get_aggregator_task(task.task_id)) {
      // The same request again (its random parts aside) is answered with the stored task.
      if (same_except_generated(*existing, task)) return *existing;
      throw ApiError(409,
                     "task with same VDAF verify key and task ID already exists with different "
                     "parameters");
    }
    tx.put_aggregator_task(task);
    return task;
  });
  json body = task_json(stored);
  if (helper_token && stored.hpke_keys == task.hpke_keys) {
    body["aggregator_auth_token"] = {{"type", "Bearer"}, {"token", helper_token->value()}};
  }
  return json_response(200, body);
}

HttpResponse AggregatorApi::get_task(const TaskId& task_id) const {
  auto task = datastore_.run_tx("get_task",
                                [&](Transaction& tx) { return tx.get_aggregator_task(task_id); });
  if (!task) throw ApiError(404, "");
  return json_response(200, task_json(*task));
}

HttpResponse AggregatorApi::patch_task(const HttpRequest& request, const TaskId& task_id) const {
  const json req = parse_body(request);
  if (!req.is_object()) bad_request("the body is not a JSON object");
  auto task = datastore_.run_tx("patch_task", [&](Transaction& tx) {
    // Present (a time, or null to clear it) changes it; absent leaves it.
    if (req.contains("task_expiration")) {
      tx.update_task_expiration(task_id, optional_field<std::uint64_t>(req, "task_expiration"));
    }
    return tx.get_aggregator_task(task_id);
  });
  if (!task) throw ApiError(404, "");
  return json_response(200, task_json(*task));
}

HttpResponse AggregatorApi::delete_task(const TaskId& task_id) const {
  try {
    datastore_.run_tx("delete_task", [&](Transaction& tx) { tx.delete_task(task_id); });
  } catch (const MutationTargetNotFound&) {
    // Deleting what is not there succeeds, as in Janus.
  }
  return HttpResponse::empty(204);
}

HttpResponse AggregatorApi::get_upload_metrics(const TaskId& task_id) const {
  auto counter = datastore_.run_tx("get_task_upload_metrics",
                                   [&](Transaction& tx) -> std::optional<TaskUploadCounter> {
                                     if (!tx.get_aggregator_task(task_id)) return std::nullopt;
                                     return tx.get_task_upload_counter(task_id);
                                   });
  if (!counter) throw ApiError(404, "");
  return json_response(200, {{"interval_collected", counter->interval_collected},
                             {"report_decode_failure", counter->report_decode_failure},
                             {"report_decrypt_failure", counter->report_decrypt_failure},
                             {"report_expired", counter->report_expired},
                             {"report_outdated_key", counter->report_outdated_key},
                             {"report_success", counter->report_success},
                             {"report_too_early", counter->report_too_early},
                             {"task_expired", counter->task_expired}});
}

HttpResponse AggregatorApi::get_aggregation_metrics(const TaskId& task_id) const {
  auto success = datastore_.run_tx("get_task_aggregation_metrics",
                                   [&](Transaction& tx) -> std::optional<std::uint64_t> {
                                     if (!tx.get_aggregator_task(task_id)) return std::nullopt;
                                     return tx.get_task_aggregation_counter(task_id);
                                   });
  if (!success) throw ApiError(404, "");
  return json_response(200, {{"success", *success}});
}

HttpResponse AggregatorApi::get_hpke_configs() const {
  auto keys = datastore_.run_tx("get_global_hpke_configs",
                                [](Transaction& tx) { return tx.get_global_hpke_keypairs(); });
  json body = json::array();
  for (const GlobalHpkeKeypair& key : keys) body.push_back(global_key_json(key));
  return json_response(200, body);
}

HttpResponse AggregatorApi::get_hpke_config(std::uint8_t config_id) const {
  auto key = datastore_.run_tx("get_global_hpke_config", [&](Transaction& tx) {
    return tx.get_global_hpke_keypair(config_id);
  });
  if (!key) throw ApiError(404, "");
  return json_response(200, global_key_json(*key));
}

HttpResponse AggregatorApi::put_hpke_config(const HttpRequest& request) const {
  const json req = request.body.empty() ? json::object() : parse_body(request);
  HpkeSuite suite;
  if (auto name = optional_field<std::string>(req, "kem_id")) {
    auto kem = parse_hpke_kem_id(*name);
    if (!kem) bad_request("unknown kem_id " + *name);
    suite.kem = *kem;
  }
  if (auto name = optional_field<std::string>(req, "kdf_id")) {
    auto kdf = parse_hpke_kdf_id(*name);
    if (!kdf) bad_request("unknown kdf_id " + *name);
    suite.kdf = *kdf;
  }
  if (auto name = optional_field<std::string>(req, "aead_id")) {
    auto aead = parse_hpke_aead_id(*name);
    if (!aead) bad_request("unknown aead_id " + *name);
    suite.aead = *aead;
  }
  auto inserted = datastore_.run_tx("put_global_hpke_config", [&](Transaction& tx) {
    // The lowest free config id, as Janus picks it.
    std::vector<bool> taken(256, false);
    for (const GlobalHpkeKeypair& key : tx.get_global_hpke_keypairs()) {
      taken[key.keypair.config_id] = true;
    }
    auto free = std::find(taken.begin(), taken.end(), false);
    if (free == taken.end()) {
      throw ApiError(409, "All possible IDs for global HPKE key have been taken");
    }
    const auto id = static_cast<HpkeConfigId>(free - taken.begin());
    const DapHpkeKeyPair key = DapHpkeKeyPair::generate(id, suite);
    tx.put_global_hpke_keypair({id, encode_message(key.config), key.key_pair.private_key()});
    return tx.get_global_hpke_keypair(id);
  });
  if (!inserted) throw std::runtime_error("the new global HPKE key disappeared");
  return json_response(201, global_key_json(*inserted));
}

HttpResponse AggregatorApi::patch_hpke_config(const HttpRequest& request,
                                              std::uint8_t config_id) const {
  const json req = parse_body(request);
  const std::string name = field<std::string>(req, "state");
  std::optional<HpkeKeyState> state;
  for (HpkeKeyState candidate :
       {HpkeKeyState::Pending, HpkeKeyState::Active, HpkeKeyState::Expired}) {
    if (state_name(candidate) == name) state = candidate;
  }
  if (!state) bad_request("unknown state " + name);
  datastore_.run_tx("patch_hpke_global_keypair",
                    [&](Transaction& tx) { tx.set_global_hpke_keypair_state(config_id, *state); });
  return HttpResponse::empty(200);
}

HttpResponse AggregatorApi::delete_hpke_config(std::uint8_t config_id) const {
  try {
    datastore_.run_tx("delete_global_hpke_config",
                      [&](Transaction& tx) { tx.delete_global_hpke_keypair(config_id); });
  } catch (const MutationTargetNotFound&) {
  }
  return HttpResponse::empty(204);
}

// ---- /taskprov/peer_aggregators ----

HttpResponse AggregatorApi::get_taskprov_peer_aggregators() const {
  auto peers = datastore_.run_tx("get_taskprov_peer_aggregators", [](Transaction& tx) {
    return tx.get_taskprov_peer_aggregators();
  });
  json list = json::array();
  for (const TaskprovPeerAggregator& peer : peers) list.push_back(taskprov_peer_json(peer));
  return json_response(200, list);
}

HttpResponse AggregatorApi::post_taskprov_peer_aggregator(const HttpRequest& request) const {
  const json req = parse_body(request);
  TaskprovPeerAggregator peer;
  peer.endpoint = field<std::string>(req, "endpoint");
  peer.role = peer_role_from_json(req);
  peer.collector_hpke_config =
      encode_message(hpke_config_from_json(field<json>(req, "collector_hpke_config")));
  auto key = base64url_decode(field<std::string>(req, "verify_key_init"));
  if (!key || key->size() != taskprov::kVerifyKeyInitLength) {
    bad_request("verify_key_init must be 32 bytes in unpadded base64url");
  }
  peer.verify_key_init = std::move(*key);
  peer.report_expiry_age = optional_field<std::uint64_t>(req, "report_expiry_age");
  peer.tolerable_clock_skew = field<std::uint64_t>(req, "tolerable_clock_skew");
  auto tokens = [&](const char* key) {
    const json list = field<json>(req, key);
    if (!list.is_array()) bad_request(std::string(key) + " must be an array");
    std::vector<AuthToken> parsed;
    for (const json& token : list) parsed.push_back(token_from_json(token, key));
    return parsed;
  };
  peer.aggregator_auth_tokens = tokens("aggregator_auth_tokens");
  if (peer.aggregator_auth_tokens.empty()) bad_request("aggregator_auth_tokens must not be empty");
  peer.collector_auth_tokens = tokens("collector_auth_tokens");
  auto stored = datastore_.run_tx("post_taskprov_peer_aggregator", [&](Transaction& tx) {
    tx.put_taskprov_peer_aggregator(peer);
    return tx.get_taskprov_peer_aggregator(peer.endpoint, peer.role);
  });
  if (!stored) throw std::runtime_error("the peer aggregator just stored is not readable");
  return json_response(201, taskprov_peer_json(*stored));
}

HttpResponse AggregatorApi::delete_taskprov_peer_aggregator(const HttpRequest& request) const {
  const json req = parse_body(request);
  const std::string endpoint = field<std::string>(req, "endpoint");
  const Role role = peer_role_from_json(req);
  try {
    datastore_.run_tx("delete_taskprov_peer_aggregator",
                      [&](Transaction& tx) { tx.delete_taskprov_peer_aggregator(endpoint, role); });
  } catch (const MutationTargetNotFound&) {
    // Janus: deleting a peer that is not there succeeds.
  }
  return HttpResponse::empty(204);
}

}  // namespace janus::aggregator
