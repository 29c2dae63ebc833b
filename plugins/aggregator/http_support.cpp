#include "http_support.h"

#include <nlohmann/json.hpp>

#include "janus/messages.h"

namespace janus::aggregator {
namespace {

HttpResponse json_problem(int status, nlohmann::json document) {
  std::string body = document.dump();
  return HttpResponse::bytes(status, std::string(media_type::kProblemJson), to_bytes(body));
}

}  // namespace

HttpResponse problem_response(DapProblemType type, const std::optional<TaskId>& task_id,
                              std::string_view detail) {
  const int status = problem_type_http_status(type);
  nlohmann::json document = {
      {"type", problem_type_uri(type)},
      {"title", std::string(problem_type_title(type))},
      {"status", status},
  };
  if (task_id) document["taskid"] = task_id->to_base64url();
  if (!detail.empty()) document["detail"] = std::string(detail);
  return json_problem(status, std::move(document));
}

HttpResponse janus_problem_response(int status, std::string_view type, std::string_view title,
                                    const std::optional<TaskId>& task_id) {
  nlohmann::json document = {
      {"type", std::string(type)}, {"title", std::string(title)}, {"status", status}};
  if (task_id) document["taskid"] = task_id->to_base64url();
  return json_problem(status, std::move(document));
}

HttpResponse bad_request_response(const std::optional<TaskId>& task_id, std::string_view detail) {
  nlohmann::json document = {{"title", "Bad Request"}, {"status", 400}};
  if (task_id) document["taskid"] = task_id->to_base64url();
  if (!detail.empty()) document["detail"] = std::string(detail);
  return json_problem(400, std::move(document));
}

bool has_content_type(const HttpRequest& request, std::string_view media_type) {
  auto content_type = request.headers.get("Content-Type");
  return content_type && *content_type == media_type;
}

void add_cors_headers(const HttpRequest& request, HttpResponse& response) {
  if (auto origin = request.headers.get("Origin")) {
    response.headers.set("Access-Control-Allow-Origin", *origin);
    response.headers.add("Vary", "Origin");
  }
}

HttpResponse cors_preflight_response(const HttpRequest& request, std::string_view methods) {
  HttpResponse response = HttpResponse::empty(200);
  add_cors_headers(request, response);
  response.headers.set("Access-Control-Allow-Methods", std::string(methods));
  response.headers.set("Access-Control-Allow-Headers", "content-type");
  response.headers.set("Access-Control-Max-Age", "86400");
  return response;
}

}  // namespace janus::aggregator
