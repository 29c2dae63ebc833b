#include "http_support.h"

#include <nlohmann/json.hpp>

#include "janus/messages.h"

namespace janus::aggregator {
DapError::DapError(DapProblemType type, std::optional<TaskId> task_id, std::string detail)
    : DapError(problem_type_http_status(type), problem_type_uri(type),
               std::string(problem_type_title(type)), std::move(task_id), std::move(detail)) {
  problem_type_ = type;
}

DapError::DapError(int status, std::string type, std::string title, std::optional<TaskId> task_id,
                   std::string detail)
    : std::runtime_error("HTTP " + std::to_string(status) + (title.empty() ? "" : " " + title) +
                         (detail.empty() ? "" : ": " + detail)),
      status_(status),
      type_(std::move(type)),
      title_(std::move(title)),
      task_id_(std::move(task_id)),
      detail_(std::move(detail)) {}

DapError DapError::janus(int status, std::string_view type, std::string_view title,
                         std::optional<TaskId> task_id) {
  return DapError(status, std::string(type), std::string(title), std::move(task_id), {});
}

DapError DapError::bad_request(std::optional<TaskId> task_id, std::string detail) {
  return DapError(400, {}, "Bad Request", std::move(task_id), std::move(detail));
}

DapError DapError::internal() { return DapError(500, {}, {}, std::nullopt, {}); }

DapError DapError::plain(int status, std::string text) {
  return DapError(status, {}, {}, std::nullopt, std::move(text));
}

HttpResponse DapError::to_response() const {
  if (title_.empty()) {
    return detail_.empty() ? HttpResponse::empty(status_) : HttpResponse::text(status_, detail_);
  }
  nlohmann::json document;
  if (!type_.empty()) document["type"] = type_;
  document["title"] = title_;
  document["status"] = status_;
  // @divviup/dap cannot parse a problem document without `taskid`.
  if (task_id_) document["taskid"] = task_id_->to_base64url();
  if (!detail_.empty()) document["detail"] = detail_;
  return HttpResponse::bytes(status_, std::string(media_type::kProblemJson),
                             to_bytes(document.dump()));
}

bool has_content_type(const HttpRequest& request, std::string_view media_type) {
  auto content_type = request.headers.get("Content-Type");
  return content_type && *content_type == media_type;
}

void add_cors_headers(const HttpRequest& request, HttpResponse& response) {
  add_cors_headers(request.headers.get("Origin"), response);
}

void add_cors_headers(const std::optional<std::string>& origin, HttpResponse& response) {
  if (origin) {
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
