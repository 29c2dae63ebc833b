#include "collector_role.h"

#include <optional>
#include <stdexcept>

#include "janus/auth.h"
#include "janus/codec.h"
#include "janus/hpke.h"

namespace janus::interop {

void InteropCollector::register_routes(RouteRegistrar& routes) {
  const std::string& address = config_.listen_address;
  add_ready(routes, address);
  add_command(routes, address, "/internal/test/add_task",
              [this](const nlohmann::json& request) { return add_task(request); });
  add_command(routes, address, "/internal/test/collection_start",
              [this](const nlohmann::json& request) { return collection_start(request); });
  add_command(routes, address, "/internal/test/collection_poll",
              [this](const nlohmann::json& request) { return collection_poll(request); });
}

nlohmann::json InteropCollector::add_task(const nlohmann::json& request) {
  const TaskId task_id = task_id_field(request);
  const std::string leader = cli::with_trailing_slash(string_field(request, "leader"));
  const VdafDescription description = vdaf_from_object(field(request, "vdaf"));
  auto token = AuthToken::create(AuthTokenType::DapAuth,
                                 string_field(request, "collector_authentication_token"));
  if (!token) {
    throw BadRequest("\"collector_authentication_token\": not a valid DAP-Auth-Token value");
  }
  (void)query_type_from_json(field(request, "query_type"));  // checked; queries carry their own
  HttpHeaders auth;
  const auto [header, value] = token->request_header();
  auth.add(header, value);
  std::uint8_t id = 0;
  random_bytes(std::span<std::uint8_t>(&id, 1));
  // vdafs_.create throws for a VDAF we do not have: status "error".
  cli::CollectorTask task{task_id, leader, auth, DapHpkeKeyPair::generate(id, kDapMandatorySuite),
                          vdafs_.create(description)};

  nlohmann::json response = success();
  response["collector_hpke_config"] = base64url_encode(encode_message(task.hpke_key.config));
  std::lock_guard lock(mutex_);
  tasks_.insert_or_assign(task_id, std::move(task));
  return response;
}

nlohmann::json InteropCollector::collection_start(const nlohmann::json& request) {
  const TaskId task_id = task_id_field(request);
  Job job{task_id, {CollectionJobId::random(), query_from_object(field(request, "query")), {}}};
  job.job.aggregation_parameter = base64url_field(request, "agg_param");
  std::optional<cli::CollectorTask> task;
  {
    std::lock_guard lock(mutex_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return error("unknown task " + task_id.to_base64url());
    task = it->second;
  }
  HttpClient client;
  cli::start_collection(client, *task, job.job);
  const std::string handle = job.job.id.to_base64url();
  {
    std::lock_guard lock(mutex_);
    jobs_.insert_or_assign(handle, job);
  }
  nlohmann::json response = success();
  response["handle"] = handle;
  return response;
}

nlohmann::json InteropCollector::collection_poll(const nlohmann::json& request) {
  const std::string handle = string_field(request, "handle");
  std::optional<Job> job;
  std::optional<cli::CollectorTask> task;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(handle);
    if (it == jobs_.end()) return error("unknown collection job handle " + handle);
    job = it->second;
    task = tasks_.at(job->task_id);
  }
  HttpClient client;
  const std::optional<cli::CollectionResult> result = cli::poll_collection(client, *task, job->job);
  if (!result) return {{"status", "in progress"}};
  nlohmann::json response = {{"status", "complete"},
                             {"report_count", result->report_count},
                             {"interval_start", result->interval.start},
                             {"interval_duration", result->interval.duration},
                             {"result", result_to_json(result->aggregate)}};
  if (result->batch_id) response["batch_id"] = result->batch_id->to_base64url();
  return response;
}

}  // namespace janus::interop
