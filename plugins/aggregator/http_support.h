// Small HTTP pieces the DAP handlers share: problem documents (RFC 9457, as Janus 0.7
// writes them), content-type checks and the CORS headers browser clients need.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "janus/http.h"
#include "janus/ids.h"
#include "janus/problem_types.h"

namespace janus::aggregator {

// An application/problem+json response for a DAP problem type. `taskid` is included
// whenever the task is known: @divviup/dap cannot parse a problem document without it.
HttpResponse problem_response(DapProblemType type, const std::optional<TaskId>& task_id,
                              std::string_view detail = {});

// Janus's own problem types (https://docs.divviup.org/references/janus-errors#...).
inline constexpr std::string_view kAggregationJobDeletedType =
    "https://docs.divviup.org/references/janus-errors#aggregation-job-deleted";
HttpResponse janus_problem_response(int status, std::string_view type, std::string_view title,
                                    const std::optional<TaskId>& task_id);

// A 400 problem document without a DAP type (e.g. a wrong Content-Type), as Janus answers.
HttpResponse bad_request_response(const std::optional<TaskId>& task_id, std::string_view detail);

// Whether the request's Content-Type is exactly `media_type` (Janus compares exactly).
bool has_content_type(const HttpRequest& request, std::string_view media_type);

// Echoes the request's Origin (if any) in Access-Control-Allow-Origin.
void add_cors_headers(const HttpRequest& request, HttpResponse& response);

// The answer to a CORS preflight for a route allowing `methods` (e.g. "PUT").
HttpResponse cors_preflight_response(const HttpRequest& request, std::string_view methods);

}  // namespace janus::aggregator
