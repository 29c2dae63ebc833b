// VDAF plugins loaded by the real `janus` process from its YAML config — the
// in-tree prio3 plugin and the separately built fake VDAF plugin — and used by
// another plugin through the host's VDAF registry, end to end: shard,
// ping-pong preparation (one round and several), aggregation, unshard.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class JanusVdafPlugins : public ::testing::Test {
 protected:
  void SetUp() override {
    health_ = free_port();
    port_ = free_port();
    std::string config =
        write_file("vdaf_plugins.yaml",
                   "health_check_listen_address: 127.0.0.1:" + std::to_string(health_) +
                       "\nplugins:\n"
                       "  - plugin: prio3\n    path: " JANUS_PRIO3_PLUGIN_PATH
                       "\n"
                       "  - plugin: fake_vdaf\n    path: " JANUS_FAKE_VDAF_PLUGIN_PATH
                       "\n"
                       "  - plugin: host_test\n    config:\n      listen_address: 127.0.0.1:" +
                       std::to_string(port_) + "\n");
    janus_ = std::make_unique<Process>(
        JANUS_EXECUTABLE,
        std::vector<std::string>{"--config-file", config, "--plugin-dir", JANUS_TEST_PLUGIN_DIR});
    ASSERT_TRUE(eventually([&] { return http(health_, "GET", "/healthz").status == 200; }))
        << janus_->stdout_text() << janus_->stderr_text();
  }

  void TearDown() override {
    if (!janus_) return;
    EXPECT_TRUE(stops_cleanly(*janus_));
  }

  Reply aggregate(const json& vdaf, const json& measurements) {
    return http(port_, "POST", "/vdaf/aggregate",
                json{{"vdaf", vdaf}, {"measurements", measurements}}.dump());
  }

  std::uint16_t health_ = 0, port_ = 0;
  std::unique_ptr<Process> janus_;
};

TEST_F(JanusVdafPlugins, Prio3VariantsFromTheRegistryAggregate) {
  Reply count = aggregate({{"name", "Prio3Count"}}, {1, 0, 1, 1});
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(json::parse(count.body), json(3));

  Reply sum = aggregate({{"name", "Prio3Sum"}, {"parameters", {{"bits", 8}}}}, {1, 2, 250});
  ASSERT_EQ(sum.status, 200) << sum.body;
  EXPECT_EQ(json::parse(sum.body), json(253));

  Reply sum_vec = aggregate(
      {{"name", "Prio3SumVec"}, {"parameters", {{"bits", 2}, {"length", 3}, {"chunk_length", 2}}}},
      {{1, 2, 3}, {3, 0, 1}});
  ASSERT_EQ(sum_vec.status, 200) << sum_vec.body;
  EXPECT_EQ(json::parse(sum_vec.body), json({4, 2, 4}));

  Reply histogram =
      aggregate({{"name", "Prio3Histogram"}, {"parameters", {{"length", 4}, {"chunk_length", 2}}}},
                {0, 3, 3});
  ASSERT_EQ(histogram.status, 200) << histogram.body;
  EXPECT_EQ(json::parse(histogram.body), json({1, 0, 0, 2}));
}

TEST_F(JanusVdafPlugins, SeparatelyBuiltFakeVdafRunsSeveralRounds) {
  for (int rounds : {1, 2, 3}) {
    Reply fake = aggregate({{"name", "Fake"}, {"parameters", {{"rounds", rounds}}}}, {5, 7, 30});
    ASSERT_EQ(fake.status, 200) << "rounds " << rounds << ": " << fake.body;
    EXPECT_EQ(json::parse(fake.body), json(42)) << "rounds " << rounds;
  }
  Reply failing = aggregate({{"name", "FakeFailsPrepInit"}}, {1});
  EXPECT_EQ(failing.status, 400);
  EXPECT_NE(failing.body.find("prep_init fails"), std::string::npos) << failing.body;
}

TEST_F(JanusVdafPlugins, UnknownVdafOrBadParametersAreRejected) {
  Reply unknown = aggregate({{"name", "NoSuchVdaf"}, {"parameters", {{"bits", 8}}}}, {1});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("NoSuchVdaf"), std::string::npos) << unknown.body;
  Reply bad = aggregate({{"name", "Prio3Sum"}, {"parameters", {{"bits", 0}}}}, {1});
  EXPECT_EQ(bad.status, 400) << bad.body;
  Reply out_of_range = aggregate({{"name", "Prio3Count"}}, {2});
  EXPECT_EQ(out_of_range.status, 400) << out_of_range.body;
}

}  // namespace
}  // namespace janus::testing
