// DAP-09 §3.2 problem types (RFC 9457 problem documents), plus Janus 0.7's
// non-spec "invalidTask". Only the names, URNs and default HTTP statuses live
// here; building the JSON document is the HTTP layer's job.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace janus {

enum class DapProblemType {
  InvalidMessage,
  UnrecognizedTask,
  StepMismatch,
  MissingTaskId,
  UnrecognizedAggregationJob,
  OutdatedConfig,
  ReportRejected,
  ReportTooEarly,
  BatchInvalid,
  InvalidBatchSize,
  BatchQueriedTooManyTimes,
  BatchMismatch,
  UnauthorizedRequest,
  BatchOverlap,
  InvalidTask,  // Janus extension
};

inline constexpr std::string_view kDapProblemTypePrefix = "urn:ietf:params:ppm:dap:error:";

// The name after the prefix, e.g. "outdatedConfig" (the client matches on it).
std::string_view problem_type_name(DapProblemType type);
// The full `type` URN, e.g. "urn:ietf:params:ppm:dap:error:outdatedConfig".
std::string problem_type_uri(DapProblemType type);
// A short human-readable `title`.
std::string_view problem_type_title(DapProblemType type);
// The HTTP status Janus 0.7 sends: 403 for unauthorizedRequest, else 400.
int problem_type_http_status(DapProblemType type);
// Parses a full URN; nullopt for anything else.
std::optional<DapProblemType> problem_type_from_uri(std::string_view uri);

}  // namespace janus
