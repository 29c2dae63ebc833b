#include "janus/problem_types.h"

#include <array>
#include <utility>

namespace janus {
namespace {

struct ProblemInfo {
  DapProblemType type;
  std::string_view name;
  std::string_view title;
};

// Titles are the DAP-09 §3.2 table's descriptions.
constexpr std::array<ProblemInfo, 15> kProblems{{
    {DapProblemType::InvalidMessage, "invalidMessage",
     "A message received by a protocol participant could not be parsed or otherwise was invalid."},
    {DapProblemType::UnrecognizedTask, "unrecognizedTask",
     "An endpoint received a message with an unknown task ID."},
    {DapProblemType::StepMismatch, "stepMismatch",
     "The Aggregators disagree on the current step of the DAP aggregation protocol."},
    {DapProblemType::MissingTaskId, "missingTaskID",
     "HPKE configuration was requested without specifying a task ID."},
    {DapProblemType::UnrecognizedAggregationJob, "unrecognizedAggregationJob",
     "An endpoint received a message with an unknown aggregation job ID."},
    {DapProblemType::OutdatedConfig, "outdatedConfig",
     "The message was generated using an outdated configuration."},
    {DapProblemType::ReportRejected, "reportRejected",
     "Report could not be processed for an unspecified reason."},
    {DapProblemType::ReportTooEarly, "reportTooEarly",
     "Report could not be processed because its timestamp is too far in the future."},
    {DapProblemType::BatchInvalid, "batchInvalid",
     "The batch boundary check for Collector's query failed."},
    {DapProblemType::InvalidBatchSize, "invalidBatchSize",
     "There are an invalid number of reports in the batch."},
    {DapProblemType::BatchQueriedTooManyTimes, "batchQueriedTooManyTimes",
     "The maximum number of batch queries has been exceeded for one or more reports included in "
     "the batch."},
    {DapProblemType::BatchMismatch, "batchMismatch",
     "Aggregators disagree on the report shares that were aggregated in a batch."},
    {DapProblemType::UnauthorizedRequest, "unauthorizedRequest",
     "Authentication of an HTTP request failed (see DAP-09 §3.1)."},
    {DapProblemType::BatchOverlap, "batchOverlap",
     "A request's query includes reports that were previously collected in a different batch."},
    {DapProblemType::InvalidTask, "invalidTask", "Aggregator has opted out of the indicated task."},
}};

const ProblemInfo& info(DapProblemType type) {
  for (const auto& entry : kProblems)
    if (entry.type == type) return entry;
  return kProblems[0];  // unreachable for valid enumerators
}

}  // namespace

std::string_view problem_type_name(DapProblemType type) { return info(type).name; }

std::string problem_type_uri(DapProblemType type) {
  std::string uri(kDapProblemTypePrefix);
  uri += info(type).name;
  return uri;
}

std::string_view problem_type_title(DapProblemType type) { return info(type).title; }

int problem_type_http_status(DapProblemType type) {
  return type == DapProblemType::UnauthorizedRequest ? 403 : 400;
}

std::optional<DapProblemType> problem_type_from_uri(std::string_view uri) {
  if (!uri.starts_with(kDapProblemTypePrefix)) return std::nullopt;
  uri.remove_prefix(kDapProblemTypePrefix.size());
  for (const auto& entry : kProblems)
    if (entry.name == uri) return entry.type;
  return std::nullopt;
}

}  // namespace janus
