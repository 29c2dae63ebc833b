#include "janus/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

std::string format_line(LogFormat format, spdlog::level::level_enum level,
                        const std::string& message) {
  spdlog::details::log_msg msg("janus::test", level, message);
  spdlog::memory_buf_t buffer;
  make_formatter(format)->format(msg, buffer);
  return std::string(buffer.data(), buffer.size());
}

TEST(LogFormat, JsonLinesInJanusShape) {
  std::string line = format_line(LogFormat::Json, spdlog::level::warn, "say \"hi\"\n");
  ASSERT_EQ(line.back(), '\n');
  auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["level"], "WARN");
  EXPECT_EQ(json["fields"]["message"], "say \"hi\"\n");
  EXPECT_EQ(json["target"], "janus::test");
  EXPECT_EQ(json["timestamp"].get<std::string>().back(), 'Z');
}

TEST(LogFormat, StackdriverAndHuman) {
  auto json = nlohmann::json::parse(format_line(LogFormat::Stackdriver, spdlog::level::warn, "x"));
  EXPECT_EQ(json["severity"], "WARNING");
  EXPECT_EQ(json["message"], "x");
  EXPECT_TRUE(json.contains("time"));
  std::string human = format_line(LogFormat::Human, spdlog::level::info, "hello");
  EXPECT_NE(human.find("info janus::test: hello"), std::string::npos) << human;
  EXPECT_EQ(choose_format(false, true), LogFormat::Stackdriver);
  EXPECT_EQ(choose_format(true, false), LogFormat::Json);
}

}  // namespace
}  // namespace janus::log
