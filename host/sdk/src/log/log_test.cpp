#include "janus/log.h"

#include <gtest/gtest.h>

namespace janus::log {
namespace {

TEST(LogFilter, DefaultLevelAndTargets) {
  auto filter = LogFilter::parse("info,janus::aggregator=debug,janus::aggregator::http=off");
  EXPECT_EQ(filter.level_for("janus::host"), spdlog::level::info);
  EXPECT_EQ(filter.level_for("janus::aggregator"), spdlog::level::debug);
  EXPECT_EQ(filter.level_for("janus::aggregator::upload"), spdlog::level::debug);
  EXPECT_EQ(filter.level_for("janus::aggregator::http"), spdlog::level::off);
  EXPECT_EQ(filter.spec(), "info,janus::aggregator=debug,janus::aggregator::http=off");
}

TEST(LogFilter, BareTargetEnablesAllLevelsAndUnmatchedIsOff) {
  auto filter = LogFilter::parse(" janus::datastore , ");
  EXPECT_EQ(filter.level_for("janus::datastore"), spdlog::level::trace);
  EXPECT_EQ(filter.level_for("janus::host"), spdlog::level::off);
  EXPECT_EQ(filter.spec(), "janus::datastore=trace");
}

TEST(LogFilter, LaterDirectiveWinsAndLevelsAreCaseInsensitive) {
  auto filter = LogFilter::parse("WARN,janus=info,janus=Error");
  EXPECT_EQ(filter.level_for("other"), spdlog::level::warn);
  EXPECT_EQ(filter.level_for("janus::x"), spdlog::level::err);
}

TEST(LogFilter, RejectsBadDirectives) {
  EXPECT_THROW(LogFilter::parse("janus=loud"), std::invalid_argument);
  EXPECT_THROW(LogFilter::parse("=info"), std::invalid_argument);
  EXPECT_THROW(LogFilter::parse("janus[span]=debug"), std::invalid_argument);
  EXPECT_THROW(LogFilter::parse("not a target"), std::invalid_argument);
}

TEST(Log, SetFilterChangesExistingLoggers) {
  configure(LogFormat::Json, LogFilter::parse("info"));
  auto logger = janus::log::logger("janus::log_test");
  EXPECT_FALSE(logger->should_log(spdlog::level::debug));
  set_filter(LogFilter::parse("info,janus::log_test=debug"));
  EXPECT_TRUE(logger->should_log(spdlog::level::debug));
  EXPECT_EQ(current_filter().spec(), "info,janus::log_test=debug");
  EXPECT_EQ(janus::log::logger("janus::log_test"), logger);
}

}  // namespace
}  // namespace janus::log
