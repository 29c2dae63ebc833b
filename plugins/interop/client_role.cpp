#include "client_role.h"

#include <chrono>
#include <stdexcept>

#include "collector.h"
#include "janus/client_report.h"
#include "janus/codec.h"
#include "janus/hpke.h"

namespace janus::interop {
namespace {

std::string body_text(const HttpClientResponse& response) {
  return std::string(response.body.begin(), response.body.end());
}

// Janus's client retries the same way it does towards a peer, for a bounded time.
RetryPolicy client_retry_policy() {
  RetryPolicy policy;
  policy.initial_interval = std::chrono::milliseconds(500);
  policy.max_interval = std::chrono::milliseconds(5'000);
  policy.max_elapsed = std::chrono::milliseconds(30'000);
  return policy;
}

}  // namespace

HpkeConfig fetch_hpke_config(const HttpClient& client, const std::string& endpoint,
                             const TaskId& task_id) {
  const std::string url =
      cli::with_trailing_slash(endpoint) + "hpke_config?task_id=" + task_id.to_base64url();
  HttpHeaders headers;
  headers.add("Accept", std::string(media_type::kHpkeConfigList));
  HttpClientResponse response =
      send_with_retry(client, HttpMethod::Get, url, headers, {}, client_retry_policy());
  if (response.status != 200) {
    throw std::runtime_error("GET " + url + " answered " + std::to_string(response.status) + ": " +
                             body_text(response));
  }
  for (const HpkeConfig& config : decode_message<HpkeConfigList>(response.body).configs) {
    if (hpke_suite_supported(suite_of(config))) return config;
  }
  throw std::runtime_error("GET " + url + ": no HPKE config with a suite we implement");
}

void InteropClient::register_routes(RouteRegistrar& routes) const {
  add_ready(routes, config_.listen_address);
  add_command(routes, config_.listen_address, "/internal/test/upload",
              [this](const nlohmann::json& request) { return upload(request); });
}

nlohmann::json InteropClient::upload(const nlohmann::json& request) const {
  const TaskId task_id = task_id_field(request);
  const std::string leader = cli::with_trailing_slash(string_field(request, "leader"));
  const std::string helper = cli::with_trailing_slash(string_field(request, "helper"));
  const VdafDescription description = vdaf_from_object(field(request, "vdaf"));
  const nlohmann::json measurement = measurement_from_json(field(request, "measurement"));
  const Duration time_precision = number_field(request, "time_precision");
  if (time_precision == 0) throw BadRequest("\"time_precision\": must be at least 1");
  Time time = 0;
  if (request.contains("time") && !request.at("time").is_null()) {
    time = number_field(request, "time");
  } else {
    time = static_cast<Time>(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
  }
  time -= time % time_precision;  // DAP clients round report times down to the precision

  const std::shared_ptr<const Vdaf> vdaf = vdafs_.create(description);
  HttpClient client;
  const HpkeConfig leader_config = fetch_hpke_config(client, leader, task_id);
  const HpkeConfig helper_config = fetch_hpke_config(client, helper, task_id);
  const Report report =
      make_client_report(task_id, *vdaf, measurement, time, leader_config, helper_config);

  const std::string url = leader + "tasks/" + task_id.to_base64url() + "/reports";
  HttpHeaders headers;
  headers.add("Content-Type", std::string(media_type::kReport));
  HttpClientResponse response = send_with_retry(client, HttpMethod::Put, url, headers,
                                                encode_message(report), client_retry_policy());
  if (response.status != 200 && response.status != 201) {
    return error("PUT " + url + " answered " + std::to_string(response.status) + ": " +
                 body_text(response));
  }
  return success();
}

}  // namespace janus::interop
