#include "janus/ids.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace janus {
namespace {

TEST(FixedId, Base64UrlRoundTripAndLength) {
  TaskId id = TaskId::random();
  auto text = id.to_base64url();
  EXPECT_EQ(text.size(), 43u);
  EXPECT_EQ(TaskId::from_base64url(text), id);
  EXPECT_EQ(ReportId::from_base64url(text), std::nullopt);  // 32 bytes is not a ReportId
  EXPECT_EQ(TaskId::from_base64url("not base64url!"), std::nullopt);
}

TEST(FixedId, RandomIdsDifferAndHash) {
  std::unordered_set<ReportId> ids;
  for (int i = 0; i < 100; ++i) ids.insert(ReportId::random());
  EXPECT_EQ(ids.size(), 100u);
}

}  // namespace
}  // namespace janus
