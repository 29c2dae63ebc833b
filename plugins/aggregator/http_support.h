// Small HTTP pieces the DAP handlers share: problem documents (RFC 9457, as Janus 0.7
// writes them), content-type checks and the CORS headers browser clients need.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "janus/http.h"
#include "janus/ids.h"
#include "janus/problem_types.h"

namespace janus::aggregator {

// Every answer other than success that a DAP route gives, as one value (Janus's `Error`):
// a DAP problem type, one of Janus's own, a plain Bad Request, or an internal error. It is
// turned into its HTTP answer in one place (to_response), and may be thrown from anywhere
// below a route (the route's wrapper catches it).
class DapError : public std::runtime_error {
 public:
  // A DAP problem document with the type's own status (400, or 403 for unauthorizedRequest).
  DapError(DapProblemType type, std::optional<TaskId> task_id, std::string detail = {});
  // A problem document of Janus's own `type` URL with `title` and `status`.
  static DapError janus(int status, std::string_view type, std::string_view title,
                        std::optional<TaskId> task_id);
  // A 400 problem document without a type (e.g. a wrong Content-Type), as Janus answers.
  static DapError bad_request(std::optional<TaskId> task_id, std::string detail);
  // An empty 500 (datastore, VDAF or other internal failures; the cause is logged).
  static DapError internal();
  // A plain-text answer without a problem document (e.g. Janus's 409 for a conflicting retry).
  static DapError plain(int status, std::string text);

  int status() const { return status_; }
  const std::optional<TaskId>& task_id() const { return task_id_; }
  std::optional<DapProblemType> problem_type() const { return problem_type_; }
  HttpResponse to_response() const;

 private:
  DapError(int status, std::string type, std::string title, std::optional<TaskId> task_id,
           std::string detail);
  int status_;
  std::optional<DapProblemType> problem_type_;
  // Empty type: none in the document; empty title: no document (a plain-text `detail`, or
  // nothing).
  std::string type_, title_;
  std::optional<TaskId> task_id_;
  std::string detail_;
};

// Janus's own problem types (https://docs.divviup.org/references/janus-errors#...).
inline constexpr std::string_view kAggregationJobDeletedType =
    "https://docs.divviup.org/references/janus-errors#aggregation-job-deleted";

// Whether the request's Content-Type is exactly `media_type` (Janus compares exactly).
bool has_content_type(const HttpRequest& request, std::string_view media_type);

// Echoes the request's Origin (if any) in Access-Control-Allow-Origin.
void add_cors_headers(const HttpRequest& request, HttpResponse& response);
void add_cors_headers(const std::optional<std::string>& origin, HttpResponse& response);

// The answer to a CORS preflight for a route allowing `methods` (e.g. "PUT").
HttpResponse cors_preflight_response(const HttpRequest& request, std::string_view methods);

}  // namespace janus::aggregator
