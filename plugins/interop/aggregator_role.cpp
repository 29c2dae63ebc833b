#include "aggregator_role.h"

#include <stdexcept>

#include "collector.h"
#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/vdaf.h"
#include "provisioning.h"

namespace janus::interop {
namespace {

AuthToken dap_auth_token(const nlohmann::json& request, std::string_view key) {
  auto token = AuthToken::create(AuthTokenType::DapAuth, string_field(request, key));
  if (!token) throw BadRequest("\"" + std::string(key) + "\": not a valid DAP-Auth-Token value");
  return *token;
}

std::optional<std::uint64_t> optional_number(const nlohmann::json& request, std::string_view key) {
  if (!request.contains(key) || request.at(std::string(key)).is_null()) return std::nullopt;
  return number_field(request, key);
}

}  // namespace

AggregatorTask task_from_add_task(const nlohmann::json& request, const VdafRegistry& vdafs) {
  AggregatorTask task;
  task.task_id = task_id_field(request);
  const std::string role = string_field(request, "role");
  if (role == "leader") {
    task.role = Role::Leader;
  } else if (role == "helper") {
    task.role = Role::Helper;
  } else {
    throw BadRequest("\"role\": expected \"leader\" or \"helper\", not \"" + role + "\"");
  }
  task.peer_aggregator_endpoint = cli::with_trailing_slash(
      string_field(request, task.role == Role::Leader ? "helper" : "leader"));

  task.vdaf = vdaf_from_object(field(request, "vdaf"));
  const std::shared_ptr<const Vdaf> vdaf = vdafs.create(task.vdaf);  // throws when unknown
  task.vdaf_verify_key = base64url_field(request, "vdaf_verify_key");
  if (task.vdaf_verify_key.size() != vdaf->verify_key_size()) {
    throw std::invalid_argument("\"vdaf_verify_key\": " + task.vdaf.name + " needs " +
                                std::to_string(vdaf->verify_key_size()) + " bytes, not " +
                                std::to_string(task.vdaf_verify_key.size()));
  }

  if (query_type_from_json(field(request, "query_type")) == QueryType::FixedSize) {
    task.query_type.kind = TaskQueryType::Kind::FixedSize;
    task.query_type.max_batch_size = optional_number(request, "max_batch_size");
  }
  task.max_batch_query_count = number_field(request, "max_batch_query_count");
  task.min_batch_size = number_field(request, "min_batch_size");
  task.time_precision = number_field(request, "time_precision");
  if (task.time_precision == 0) throw BadRequest("\"time_precision\": must be at least 1");
  task.task_expiration = optional_number(request, "task_expiration");
  // Janus's interop aggregator is strict: its peers run on the same host.
  task.tolerable_clock_skew = 1;

  const Bytes collector_config = base64url_field(request, "collector_hpke_config");
  try {
    (void)decode_message<HpkeConfig>(collector_config);
  } catch (const DecodeError& e) {
    throw BadRequest(std::string("\"collector_hpke_config\": not an encoded HpkeConfig: ") +
                     e.what());
  }
  task.collector_hpke_config = collector_config;

  const AuthToken aggregator_token = dap_auth_token(request, "leader_authentication_token");
  if (task.role == Role::Leader) {
    task.aggregator_auth_token = aggregator_token;
    task.collector_auth_token_hash =
        dap_auth_token(request, "collector_authentication_token").hash();
  } else {
    task.aggregator_auth_token_hash = aggregator_token.hash();
  }

  std::uint8_t id = 0;
  random_bytes(std::span<std::uint8_t>(&id, 1));
  const DapHpkeKeyPair key = DapHpkeKeyPair::generate(id, kDapMandatorySuite);
  task.hpke_keys.push_back({id, encode_message(key.config), key.key_pair.private_key()});
  return task;
}

void InteropAggregator::register_routes(RouteRegistrar& routes) const {
  const std::string& address = config_.listen_address;
  add_ready(routes, address);
  add_command(routes, address, "/internal/test/endpoint_for_task",
              [this](const nlohmann::json& request) { return endpoint_for_task(request); });
  add_command(routes, address, "/internal/test/add_task",
              [this](const nlohmann::json& request) { return add_task(request); });
}

nlohmann::json InteropAggregator::endpoint_for_task(const nlohmann::json& request) const {
  (void)task_id_field(request);
  const std::string role = string_field(request, "role");
  if (role != "leader" && role != "helper") {
    throw BadRequest("\"role\": expected \"leader\" or \"helper\", not \"" + role + "\"");
  }
  nlohmann::json response = success();
  response["endpoint"] = config_.dap_endpoint;
  return response;
}

nlohmann::json InteropAggregator::add_task(const nlohmann::json& request) const {
  cli::replace_tasks(datastore_, {task_from_add_task(request, vdafs_)}, "interop-add-task");
  return success();
}

}  // namespace janus::interop
