#include "janus/problem_types.h"

#include <gtest/gtest.h>

namespace janus {
namespace {

TEST(DapProblemType, UrnsRoundTrip) {
  const DapProblemType all[] = {DapProblemType::InvalidMessage,
                                DapProblemType::UnrecognizedTask,
                                DapProblemType::StepMismatch,
                                DapProblemType::MissingTaskId,
                                DapProblemType::UnrecognizedAggregationJob,
                                DapProblemType::OutdatedConfig,
                                DapProblemType::ReportRejected,
                                DapProblemType::ReportTooEarly,
                                DapProblemType::BatchInvalid,
                                DapProblemType::InvalidBatchSize,
                                DapProblemType::BatchQueriedTooManyTimes,
                                DapProblemType::BatchMismatch,
                                DapProblemType::UnauthorizedRequest,
                                DapProblemType::BatchOverlap,
                                DapProblemType::InvalidTask};
  for (DapProblemType type : all) {
    const std::string uri = problem_type_uri(type);
    EXPECT_TRUE(uri.starts_with("urn:ietf:params:ppm:dap:error:"));
    EXPECT_EQ(problem_type_from_uri(uri), type);
    EXPECT_FALSE(problem_type_title(type).empty());
  }
  EXPECT_EQ(problem_type_uri(DapProblemType::OutdatedConfig),
            "urn:ietf:params:ppm:dap:error:outdatedConfig");
  EXPECT_EQ(problem_type_name(DapProblemType::MissingTaskId), "missingTaskID");
  EXPECT_EQ(problem_type_http_status(DapProblemType::UnauthorizedRequest), 403);
  EXPECT_EQ(problem_type_http_status(DapProblemType::ReportRejected), 400);
  EXPECT_EQ(problem_type_from_uri("urn:ietf:params:ppm:dap:error:nope"), std::nullopt);
  EXPECT_EQ(problem_type_from_uri("outdatedConfig"), std::nullopt);
}

}  // namespace
}  // namespace janus
