// The built prio3 module loads like any plugin and registers its VDAFs.
#define BOOST_DLL_USE_STD_FS
#include <gtest/gtest.h>

#include <boost/dll/shared_library.hpp>

#include <janus/clock.h>
#include <janus/plugin.h>
#include <janus/testing/vdaf_plugin_context.h>
#include <janus/vdaf.h>
#include <janus/vdaf_registry.h>
#include <yaml-cpp/yaml.h>

namespace janus::prio3 {
namespace {

using janus::testing::VdafPluginContext;

TEST(Prio3Plugin, LoadsAndRegistersItsVdafs) {
  boost::dll::shared_library library(std::filesystem::path(JANUS_PRIO3_PLUGIN_PATH));
  EXPECT_EQ(library.get_alias<const std::uint32_t>("janus_plugin_abi_version"), kPluginAbiVersion);
  VdafRegistry registry;
  {
    auto plugin = library.get_alias<PluginFactory>("janus_plugin_create")();
    VdafPluginContext context(registry);
    plugin->configure(context);
    EXPECT_EQ(registry.names(),
              (std::vector<std::string>{"Prio3Count", "Prio3FixedPointBoundedL2VecSum",
                                        "Prio3Histogram", "Prio3Sum", "Prio3SumVec",
                                        "Prio3SumVecField64MultiproofHmacSha256Aes128"}));
    const auto vdaf = registry.create({"Prio3Histogram", {{"length", 4}, {"chunk_length", 2}}});
    EXPECT_EQ(vdaf->algorithm_id(), 3u);
    const Bytes nonce(16, 1), key(16, 2), no_param;
    const VdafShards shards = vdaf->shard(2, nonce);
    const auto leader =
        vdaf->prep_init(key, 0, no_param, nonce, shards.public_share, shards.input_shares[0]);
    const auto helper =
        vdaf->prep_init(key, 1, no_param, nonce, shards.public_share, shards.input_shares[1]);
    const Bytes message = vdaf->prep_shares_to_prep(
        no_param, std::vector<Bytes>{leader.prep_share, helper.prep_share});
    const std::vector<Bytes> out = {*vdaf->prep_next(leader.state, message).output_share,
                                    *vdaf->prep_next(helper.state, message).output_share};
    EXPECT_EQ(vdaf->unshard(no_param, out, 1), nlohmann::json({0, 0, 1, 0}));
    EXPECT_THROW(registry.create({"Prio3Sum", {}}), std::invalid_argument);

    // Janus 0.7's multiproof SumVec: the XOF's OpenSSL calls work inside the module.
    const auto multiproof =
        registry.create({"Prio3SumVecField64MultiproofHmacSha256Aes128",
                         {{"proofs", 2}, {"bits", 4}, {"length", 3}, {"chunk_length", 2}}});
    EXPECT_EQ(multiproof->algorithm_id(), 0xFFFF1003u);
    EXPECT_EQ(multiproof->verify_key_size(), 32u);
    const Bytes long_key(32, 2);
    const VdafShards report = multiproof->shard(nlohmann::json({3, 15, 0}), nonce);
    const auto mp_leader = multiproof->prep_init(long_key, 0, no_param, nonce, report.public_share,
                                                 report.input_shares[0]);
    const auto mp_helper = multiproof->prep_init(long_key, 1, no_param, nonce, report.public_share,
                                                 report.input_shares[1]);
    const Bytes mp_message = multiproof->prep_shares_to_prep(
        no_param, std::vector<Bytes>{mp_leader.prep_share, mp_helper.prep_share});
    const std::vector<Bytes> mp_out = {
        *multiproof->prep_next(mp_leader.state, mp_message).output_share,
        *multiproof->prep_next(mp_helper.state, mp_message).output_share};
    EXPECT_EQ(multiproof->unshard(no_param, mp_out, 1), nlohmann::json({3, 15, 0}));
    // Registering twice is refused (no silent duplicates).
    EXPECT_THROW(plugin->configure(context), std::invalid_argument);
    registry.clear();  // no factory outlives the library
  }
}

TEST(Prio3Plugin, RejectsConfiguration) {
  boost::dll::shared_library library(std::filesystem::path(JANUS_PRIO3_PLUGIN_PATH));
  VdafRegistry registry;
  auto plugin = library.get_alias<PluginFactory>("janus_plugin_create")();
  VdafPluginContext context(registry, YAML::Load("{unexpected: 1}"));
  EXPECT_THROW(plugin->configure(context), std::invalid_argument);
}

}  // namespace
}  // namespace janus::prio3
