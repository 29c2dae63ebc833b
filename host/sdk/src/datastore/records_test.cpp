#include <gtest/gtest.h>

#include "janus/datastore/records.h"
// The datastore's records and the DAP messages live side by side in one namespace.
#include "janus/messages.h"

namespace janus {
namespace {

TEST(RecordsTest, TaskQueryTypeUsesJanusDatabaseForm) {
  EXPECT_EQ(TaskQueryType{}.to_json(), "TimeInterval");
  TaskQueryType fixed{TaskQueryType::Kind::FixedSize, 100, std::nullopt};
  EXPECT_EQ(fixed.to_json().dump(),
            R"({"FixedSize":{"batch_time_window_size":null,"max_batch_size":100}})");
  EXPECT_EQ(TaskQueryType::from_json(fixed.to_json()), fixed);
  EXPECT_EQ(TaskQueryType::from_json(nlohmann::json::parse(
                R"({"FixedSize":{"max_batch_size":null,"batch_time_window_size":3600}})")),
            (TaskQueryType{TaskQueryType::Kind::FixedSize, std::nullopt, 3600}));
  EXPECT_THROW(TaskQueryType::from_json("LeaderSelected"), std::invalid_argument);
  EXPECT_THROW(
      TaskQueryType::from_json(nlohmann::json::parse(R"({"FixedSize":{"max_batch_size":-1}})")),
      std::invalid_argument);
  EXPECT_THROW(TaskQueryType::from_json(nlohmann::json::parse(R"({"FixedSize":{"extra":1}})")),
               std::invalid_argument);
}

TEST(RecordsTest, BatchIdentifiersEncodeAsDap) {
  EXPECT_EQ(hex_encode(encode_batch_identifier(Interval{0x0102030405060708, 3600})),
            "01020304050607080000000000000e10");
  BatchId id;
  id.bytes.fill(0xab);
  EXPECT_EQ(encode_batch_identifier(id), Bytes(32, 0xab));
}

TEST(RecordsTest, PeerTaskUrlsJoinTheEndpointWithOneSlash) {
  AggregatorTask task;
  task.task_id.bytes.fill(0);
  const std::string id = task.task_id.to_base64url();
  task.peer_aggregator_endpoint = "https://helper.example.com/dap/";
  EXPECT_EQ(task.peer_task_url("aggregate_shares"),
            "https://helper.example.com/dap/tasks/" + id + "/aggregate_shares");
  task.peer_aggregator_endpoint = "https://helper.example.com";
  EXPECT_EQ(task.peer_task_url("aggregation_jobs/x"),
            "https://helper.example.com/tasks/" + id + "/aggregation_jobs/x");
}

}  // namespace
}  // namespace janus
