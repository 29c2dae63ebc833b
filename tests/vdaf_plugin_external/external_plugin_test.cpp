// Loads the separately built fake VDAF plugin named in a YAML config, creates
// VDAFs from task YAML (`vdaf: !Fake {rounds: 3}`) and drives them through
// the SDK's ping-pong topology for one and many rounds and failure points.
#define BOOST_DLL_USE_STD_FS
#include <gtest/gtest.h>

#include <boost/dll/shared_library.hpp>

#include <janus/clock.h>
#include <janus/codec.h>
#include <janus/ping_pong.h>
#include <janus/plugin.h>
#include <janus/testing/vdaf_plugin_context.h>
#include <janus/vdaf.h>
#include <janus/vdaf_registry.h>
#include <yaml-cpp/yaml.h>

namespace janus {
namespace {

using janus::testing::VdafPluginContext;

class ExternalVdafPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    const YAML::Node config = YAML::Load(std::string(R"(
plugins:
  - name: fake_vdaf
    library: )") + JANUS_FAKE_VDAF_PLUGIN_PATH +
                                         R"(
    config: {}
tasks:
  - {id: one, vdaf: !Fake {rounds: 1}}
  - {id: three, vdaf: !Fake {rounds: 3}}
  - {id: four, vdaf: !Fake {rounds: 4}}
  - {id: init_fails, vdaf: FakeFailsPrepInit}
  - {id: step_fails, vdaf: !FakeFailsPrepStep {rounds: 2}}
)");
    const YAML::Node plugin = config["plugins"][0];
    library_ = std::make_unique<boost::dll::shared_library>(
        std::filesystem::path(plugin["library"].as<std::string>()));
    ASSERT_EQ(library_->get_alias<const std::uint32_t>("janus_plugin_abi_version"),
              kPluginAbiVersion);
    plugin_ = library_->get_alias<PluginFactory>("janus_plugin_create")();
    VdafPluginContext context(registry_, plugin["config"]);
    plugin_->configure(context);
    for (const auto& task : config["tasks"]) {
      vdafs_[task["id"].as<std::string>()] = registry_.create(vdaf_from_yaml(task["vdaf"]));
    }
  }
  void TearDown() override {
    vdafs_.clear();
    registry_.clear();
    plugin_.reset();
    library_.reset();  // last: nothing from the plugin outlives it
  }

  std::unique_ptr<boost::dll::shared_library> library_;
  std::unique_ptr<Plugin> plugin_;
  VdafRegistry registry_;
  std::map<std::string, std::shared_ptr<const Vdaf>> vdafs_;
};

struct PingPongRun {
  Bytes leader_out, helper_out;
  std::size_t messages = 0;
};

// Runs the ping-pong topology to the end, encoding and decoding every message
// as it would cross the wire.
PingPongRun run_ping_pong(const Vdaf& vdaf, const VdafShards& shards, ByteSpan nonce) {
  const Bytes key, param;
  auto wire = [](const PingPongMessage& m) {
    return decode_message<PingPongMessage>(encode_message(m));
  };
  PingPongRun run;
  PingPongTransition leader = ping_pong_leader_initialized(
      vdaf, key, param, nonce, shards.public_share, shards.input_shares[0]);
  ++run.messages;
  PingPongTransition helper = ping_pong_helper_initialized(
      vdaf, key, param, nonce, shards.public_share, shards.input_shares[1], wire(*leader.outbound));
  ++run.messages;
  while (!(leader.state.finished() && helper.state.finished())) {
    if (!leader.state.finished()) {
      leader = ping_pong_leader_continued(vdaf, param, leader.state, wire(*helper.outbound));
      if (leader.outbound) ++run.messages;
    }
    if (!helper.state.finished()) {
      helper = ping_pong_helper_continued(vdaf, param, helper.state, wire(*leader.outbound));
      if (helper.outbound) ++run.messages;
    }
  }
  run.leader_out = leader.state.output_share;
  run.helper_out = helper.state.output_share;
  return run;
}

TEST_F(ExternalVdafPlugin, RegistersByNameAndRunsAnyNumberOfRounds) {
  EXPECT_EQ(registry_.names(),
            (std::vector<std::string>{"Fake", "FakeFailsPrepInit", "FakeFailsPrepStep"}));
  const Bytes nonce(16, 9);
  for (const auto& [id, rounds] :
       std::vector<std::pair<std::string, std::size_t>>{{"one", 1}, {"three", 3}, {"four", 4}}) {
    const Vdaf& vdaf = *vdafs_.at(id);
    EXPECT_EQ(vdaf.rounds(), rounds);
    const PingPongRun run = run_ping_pong(vdaf, vdaf.shard(1234, nonce), nonce);
    // VDAF-08 §5.8: ROUNDS+1 messages in total, alternating.
    EXPECT_EQ(run.messages, rounds + 1) << id;
    Bytes aggregate = vdaf.empty_aggregate_share({});
    vdaf.accumulate(aggregate, {}, run.leader_out);
    EXPECT_EQ(vdaf.unshard({}, std::vector<Bytes>{aggregate, run.helper_out}, 1), 1234) << id;
  }
}

TEST_F(ExternalVdafPlugin, FailurePointsAreVdafPrepErrors) {
  const Bytes nonce(16, 3);
  const Vdaf& init_fails = *vdafs_.at("init_fails");
  EXPECT_THROW(run_ping_pong(init_fails, init_fails.shard(1, nonce), nonce), VdafPrepError);
  const Vdaf& step_fails = *vdafs_.at("step_fails");
  EXPECT_THROW(run_ping_pong(step_fails, step_fails.shard(1, nonce), nonce), VdafPrepError);
}

TEST_F(ExternalVdafPlugin, OutOfOrderMessagesAreRejected) {
  const Vdaf& vdaf = *vdafs_.at("three");
  const Bytes nonce(16, 5), key, param;
  const VdafShards shards = vdaf.shard(7, nonce);
  const PingPongTransition leader = ping_pong_leader_initialized(
      vdaf, key, param, nonce, shards.public_share, shards.input_shares[0]);
  // A leader never receives initialize; a helper never starts with finish.
  EXPECT_THROW(ping_pong_leader_continued(vdaf, param, leader.state, *leader.outbound),
               PingPongError);
  EXPECT_THROW(ping_pong_helper_initialized(vdaf, key, param, nonce, shards.public_share,
                                            shards.input_shares[1], PingPongMessage::finish({0})),
               PingPongError);
  // Finishing while the leader still has rounds to go.
  EXPECT_THROW(ping_pong_leader_continued(vdaf, param, leader.state, PingPongMessage::finish({0})),
               PingPongError);
  // A prep message for the wrong round.
  EXPECT_THROW(ping_pong_leader_continued(vdaf, param, leader.state,
                                          PingPongMessage::continue_with({1}, {1})),
               VdafPrepError);
  EXPECT_THROW(vdaf.shard(-5, nonce), VdafInputError);
}

TEST_F(ExternalVdafPlugin, UnknownVdafOrParametersAreRejected) {
  EXPECT_THROW(registry_.create({"Prio3Count", {}}), std::invalid_argument);
  EXPECT_THROW(registry_.create(vdaf_from_yaml(YAML::Load("!Fake {rounds: 0}"))),
               std::invalid_argument);
  EXPECT_THROW(registry_.create(vdaf_from_yaml(YAML::Load("!Fake {colour: blue}"))),
               std::invalid_argument);
}

}  // namespace
}  // namespace janus
