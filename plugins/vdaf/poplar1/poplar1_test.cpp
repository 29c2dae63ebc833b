// Poplar1 beyond the vectors: heavy hitters over many reports and every level, the
// aggregation parameter's encoding and validity, bad input of every kind, and the plugin
// module loading like any plugin.
#define BOOST_DLL_USE_STD_FS
#include <gtest/gtest.h>

#include <boost/dll/shared_library.hpp>

#include <map>
#include <random>

#include <janus/plugin.h>
#include <janus/testing/vdaf_plugin_context.h>
#include <janus/vdaf.h>
#include <janus/vdaf_registry.h>
#include <yaml-cpp/yaml.h>

#include "poplar1.h"
#include "test_support.h"

namespace janus::poplar1 {
namespace {

struct Report {
  Bytes nonce;
  VdafShards shards;
};

Report make_report(const Vdaf& vdaf, const nlohmann::json& measurement, std::mt19937_64& rng) {
  Report report;
  report.nonce.resize(vdaf.nonce_size());
  for (auto& b : report.nonce) b = static_cast<std::uint8_t>(rng());
  Bytes rand(vdaf.rand_size());
  for (auto& b : rand) b = static_cast<std::uint8_t>(rng());
  report.shards = vdaf.shard(measurement, report.nonce, rand);
  return report;
}

// Both aggregators' two rounds; nullopt if preparation rejected the report.
std::optional<std::array<Bytes, 2>> prepare(const Vdaf& vdaf, const Bytes& verify_key,
                                            const Bytes& agg_param, const Report& report) {
  std::array<Bytes, 2> states, shares;
  for (std::size_t j = 0; j < 2; ++j) {
    const VdafPrepInit init =
        vdaf.prep_init(verify_key, j, agg_param, report.nonce, report.shards.public_share,
                       report.shards.input_shares[j]);
    states[j] = init.state;
    shares[j] = init.prep_share;
  }
  try {
    for (std::size_t round = 0;; ++round) {
      const Bytes message =
          vdaf.prep_shares_to_prep(agg_param, std::vector<Bytes>{shares[0], shares[1]});
      std::array<Bytes, 2> out;
      for (std::size_t j = 0; j < 2; ++j) {
        const VdafPrepNext next = vdaf.prep_next(states[j], message);
        if (next.finished()) {
          out[j] = *next.output_share;
        } else {
          states[j] = next.state;
          shares[j] = next.prep_share;
        }
      }
      if (!out[0].empty() || round == 1) return out;
    }
  } catch (const VdafPrepError&) {
    return std::nullopt;
  }
}

nlohmann::json aggregate(const Vdaf& vdaf, const Bytes& verify_key, const Bytes& agg_param,
                         const std::vector<Report>& reports) {
  std::vector<Bytes> totals(2, vdaf.empty_aggregate_share(agg_param));
  for (const Report& report : reports) {
    const auto out = prepare(vdaf, verify_key, agg_param, report);
    EXPECT_TRUE(out.has_value());
    if (!out) continue;
    for (std::size_t j = 0; j < 2; ++j) vdaf.accumulate(totals[j], agg_param, (*out)[j]);
  }
  return vdaf.unshard(agg_param, totals, reports.size());
}

TEST(Poplar1, HeavyHittersLevelByLevel) {
  // 8-bit strings; 5 is frequent, 200 and 201 share a long prefix, the rest are noise.
  const auto vdaf = make_poplar1({"Poplar1", {{"bits", 8}}});
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> values = {5, 5, 5, 5, 200, 201, 200, 17, 255, 0};
  std::vector<Report> reports;
  for (std::uint64_t v : values) reports.push_back(make_report(*vdaf, v, rng));
  const Bytes verify_key(16, 0x42);

  const std::size_t threshold = 2;
  std::vector<std::uint64_t> candidates = {0, 1};
  for (std::uint16_t level = 0; level < 8; ++level) {
    const Bytes param = encode_aggregation_parameter(aggregation_parameter(level, candidates));
    const nlohmann::json counts = aggregate(*vdaf, verify_key, param, reports);
    ASSERT_EQ(counts.size(), candidates.size());
    std::vector<std::uint64_t> next;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      std::uint64_t expected = 0;
      for (std::uint64_t v : values) expected += (v >> (7 - level)) == candidates[i];
      EXPECT_EQ(counts[i].get<std::uint64_t>(), expected) << "level " << level;
      if (expected >= threshold && level < 7) {
        next.push_back(candidates[i] << 1);
        next.push_back(candidates[i] << 1 | 1);
      } else if (expected >= threshold) {
        next.push_back(candidates[i]);
      }
    }
    candidates = next;
  }
  EXPECT_EQ(candidates, (std::vector<std::uint64_t>{5, 200}));
}

TEST(Poplar1, WideStringsAndOneBit) {
  std::mt19937_64 rng(11);
  const Bytes verify_key(16, 1);
  // 80 bits: more than an integer holds; measurements are bit strings.
  const auto wide = make_poplar1({"Poplar1", {{"bits", 80}}});
  std::string heavy(80, '0');
  heavy[3] = heavy[79] = '1';
  std::string other = heavy;
  other[79] = '0';
  const std::vector<Report> reports = {make_report(*wide, heavy, rng),
                                       make_report(*wide, heavy, rng),
                                       make_report(*wide, other, rng)};
  AggregationParameter leaf;
  leaf.level = 79;
  for (const std::string& s : {other, heavy}) {
    Path p;
    for (char c : s) p.push_back(c == '1');
    leaf.prefixes.push_back(p);
  }
  EXPECT_EQ(aggregate(*wide, verify_key, encode_aggregation_parameter(leaf), reports),
            nlohmann::json({1, 2}));
  EXPECT_THROW(wide->shard(5, Bytes(16), Bytes(80)), VdafInputError);
  EXPECT_THROW(wide->shard(std::string(79, '0'), Bytes(16), Bytes(80)), VdafInputError);

  const auto one = make_poplar1({"Poplar1", {{"bits", 1}}});
  const std::vector<Report> bits = {make_report(*one, 1, rng), make_report(*one, 0, rng),
                                    make_report(*one, 1, rng)};
  EXPECT_EQ(aggregate(*one, verify_key,
                      encode_aggregation_parameter(aggregation_parameter(0, {0, 1})), bits),
            nlohmann::json({1, 2}));
}

TEST(Poplar1, AggregationParameterEncoding) {
  // Level 2, prefixes 1, 3, 6 packed 3 bits each, the first lowest: 0b110_011_001 = 0x0D9.
  const Bytes encoded = encode_aggregation_parameter(aggregation_parameter(2, {1, 3, 6}));
  EXPECT_EQ(hex_encode(encoded), "0002000000030199");
  const AggregationParameter decoded = decode_aggregation_parameter(encoded, 4);
  EXPECT_EQ(decoded.level, 2);
  EXPECT_EQ(decoded.prefixes, aggregation_parameter(2, {1, 3, 6}).prefixes);

  auto rejects = [](const std::string& hex, std::size_t bits) {
    EXPECT_THROW(decode_aggregation_parameter(*hex_decode(hex), bits), VdafDecodeError) << hex;
  };
  rejects("", 4);
  rejects("00020000", 4);
  rejects("0004000000010001", 4);    // level 4 with BITS = 4
  rejects("00020000000301", 4);      // packing too short
  rejects("000200000003000199", 4);  // packing too long
  rejects("0002000000030399", 4);    // padding bit set
  rejects("0002000000030019", 4);    // 1, 3, 0: not increasing
  rejects("0002000000020009", 4);    // 1, 1: repeated
  rejects("0002ffffffff0199", 4);    // count far beyond the bytes
  const auto vdaf = make_poplar1({"Poplar1", {{"bits", 4}}});
  EXPECT_THROW(vdaf->check_aggregation_parameter({}), VdafDecodeError);
  EXPECT_TRUE(vdaf->requires_aggregation_parameter());

  // The collector's JSON form: the same bytes from integers, bit strings or Boolean arrays.
  EXPECT_EQ(vdaf->aggregation_parameter_from_json(
                {{"level", 2}, {"prefixes", {1, "011", {true, true, false}}}}),
            encoded);
  EXPECT_EQ(hex_encode(vdaf->aggregation_parameter_from_json(
                {{"level", 0}, {"prefixes", nlohmann::json::array()}})),
            "0000"
            "00000000");
  for (const nlohmann::json& bad :
       std::vector<nlohmann::json>{nullptr,
                                   {{"level", 2}},
                                   {{"level", 2}, {"prefixes", {1}}, {"extra", 0}},
                                   {{"level", -1}, {"prefixes", {1}}},
                                   {{"level", 4}, {"prefixes", {1}}},
                                   {{"level", "2"}, {"prefixes", {1}}},
                                   {{"level", 2}, {"prefixes", 1}},
                                   {{"level", 2}, {"prefixes", {8}}},
                                   {{"level", 2}, {"prefixes", {"01"}}},
                                   {{"level", 2}, {"prefixes", {-1}}},
                                   {{"level", 2}, {"prefixes", {3, 1}}},
                                   {{"level", 2}, {"prefixes", {3, 3}}}}) {
    EXPECT_THROW(vdaf->aggregation_parameter_from_json(bad), VdafInputError) << bad.dump();
  }

  // A report is prepared at most once per level (VDAF-08 is_valid).
  const Bytes level0 = encode_aggregation_parameter(aggregation_parameter(0, {0, 1}));
  const Bytes level0_again = encode_aggregation_parameter(aggregation_parameter(0, {1}));
  const Bytes level1 = encode_aggregation_parameter(aggregation_parameter(1, {2, 3}));
  EXPECT_TRUE(vdaf->is_valid_aggregation_parameter(level0, {}));
  EXPECT_TRUE(vdaf->is_valid_aggregation_parameter(level1, std::vector<Bytes>{level0}));
  EXPECT_FALSE(vdaf->is_valid_aggregation_parameter(level0_again, std::vector<Bytes>{level0}));
}

TEST(Poplar1, RejectsBadParametersAndMeasurements) {
  EXPECT_THROW(make_poplar1({"Poplar1", {}}), std::invalid_argument);
  EXPECT_THROW(make_poplar1({"Poplar1", {{"bits", 0}}}), std::invalid_argument);
  EXPECT_THROW(make_poplar1({"Poplar1", {{"bits", 65536}}}), std::invalid_argument);
  EXPECT_THROW(make_poplar1({"Poplar1", {{"bits", 8}, {"length", 2}}}), std::invalid_argument);
  EXPECT_THROW(make_poplar1({"Poplar1", {{"bits", "8"}}}), std::invalid_argument);
  const auto vdaf = make_poplar1({"Poplar1", {{"bits", 4}}});
  const Bytes nonce(16), rand(80);
  EXPECT_THROW(vdaf->shard(16, nonce, rand), VdafInputError);
  EXPECT_THROW(vdaf->shard(-1, nonce, rand), VdafInputError);
  EXPECT_THROW(vdaf->shard("01x1", nonce, rand), VdafInputError);
  EXPECT_THROW(vdaf->shard(nlohmann::json::array(), nonce, rand), VdafInputError);
  EXPECT_THROW(vdaf->shard(3, nonce, Bytes(79)), VdafInputError);
  EXPECT_THROW(vdaf->shard(nlohmann::json({true, false, true}), nonce, rand), VdafInputError);
  EXPECT_THROW(vdaf->shard(nlohmann::json({true, false, true, 1}), nonce, rand), VdafInputError);
  // The three forms of one measurement shard alike.
  const VdafShards integer = vdaf->shard(11, nonce, rand);
  EXPECT_EQ(vdaf->shard("1011", nonce, rand).input_shares, integer.input_shares);
  EXPECT_EQ(vdaf->shard(nlohmann::json({true, false, true, true}), nonce, rand).public_share,
            integer.public_share);
}

// A client that programs a value other than 1, or two paths, fails the sketch; malformed
// bytes of every kind are VdafDecodeError or VdafPrepError, never a crash.
TEST(Poplar1, TamperedReportsFailAndBadBytesThrow) {
  const auto vdaf = make_poplar1({"Poplar1", {{"bits", 6}}});
  std::mt19937_64 rng(3);
  const Bytes verify_key(16, 9);
  const Bytes param = encode_aggregation_parameter(aggregation_parameter(2, {0, 1, 5, 7}));
  const Report good = make_report(*vdaf, 21, rng);  // 010101: level-2 prefix 2 (not counted)
  ASSERT_TRUE(prepare(*vdaf, verify_key, param, good).has_value());

  // A flipped byte in a correlation share or an IDPF correction word breaks one-hotness
  // or the authenticator; the sketch catches it.
  int rejected = 0;
  for (std::size_t at : {0ul, 17ul, 64ul, 72ul}) {  // key, seed, level 2's A and B
    Report bad = good;
    bad.shards.input_shares[1][at] ^= 0x01;
    try {
      if (!prepare(*vdaf, verify_key, param, bad)) ++rejected;
    } catch (const VdafDecodeError&) {
      ++rejected;  // an element pushed out of range
    }
  }
  EXPECT_EQ(rejected, 4);
  Report bad_public = good;
  bad_public.shards.public_share[5] ^= 0x10;  // a seed correction word
  EXPECT_FALSE(prepare(*vdaf, verify_key, param, bad_public).has_value());
  // Different verify keys: the aggregators' sketches do not agree.
  {
    const VdafPrepInit a = vdaf->prep_init(verify_key, 0, param, good.nonce,
                                           good.shards.public_share, good.shards.input_shares[0]);
    const VdafPrepInit b = vdaf->prep_init(Bytes(16, 8), 1, param, good.nonce,
                                           good.shards.public_share, good.shards.input_shares[1]);
    const Bytes message =
        vdaf->prep_shares_to_prep(param, std::vector<Bytes>{a.prep_share, b.prep_share});
    const VdafPrepNext na = vdaf->prep_next(a.state, message);
    const VdafPrepNext nb = vdaf->prep_next(b.state, message);
    EXPECT_THROW(vdaf->prep_shares_to_prep(param, std::vector<Bytes>{na.prep_share, nb.prep_share}),
                 VdafPrepError);
  }

  // Lengths and encodings.
  EXPECT_THROW(vdaf->check_public_share(Bytes(good.shards.public_share.size() - 1)),
               VdafDecodeError);
  Bytes padded_ctrl = good.shards.public_share;
  padded_ctrl[1] |= 0x80;  // 12 control bits in 2 bytes: bit 15 is padding
  EXPECT_THROW(vdaf->check_public_share(padded_ctrl), VdafDecodeError);
  EXPECT_THROW(vdaf->check_input_share(0, Bytes(3)), VdafDecodeError);
  Bytes out_of_range = good.shards.input_shares[0];
  std::fill(out_of_range.begin() + 32, out_of_range.begin() + 40, 0xFF);  // Field64 >= p
  EXPECT_THROW(vdaf->check_input_share(0, out_of_range), VdafDecodeError);
  EXPECT_THROW(vdaf->check_prep_share(Bytes(7)), VdafDecodeError);
  EXPECT_THROW(vdaf->check_prep_message(Bytes(8)), VdafDecodeError);
  EXPECT_NO_THROW(vdaf->check_prep_message(Bytes()));
  EXPECT_THROW(vdaf->prep_next(Bytes{3, 0, 0}, {}), VdafDecodeError);
  EXPECT_THROW(vdaf->prep_next(Bytes{1, 0, 9}, {}), VdafDecodeError);  // level beyond BITS
  const VdafPrepInit init = vdaf->prep_init(verify_key, 0, param, good.nonce,
                                            good.shards.public_share, good.shards.input_shares[0]);
  EXPECT_THROW(vdaf->prep_next(init.state, Bytes(16)), VdafDecodeError);
  EXPECT_THROW(vdaf->prep_shares_to_prep(param, std::vector<Bytes>{Bytes(24), Bytes(8)}),
               VdafDecodeError);
  EXPECT_THROW(vdaf->prep_shares_to_prep(param, std::vector<Bytes>{Bytes(24)}), VdafDecodeError);
  Bytes aggregate = vdaf->empty_aggregate_share(param);
  EXPECT_THROW(vdaf->accumulate(aggregate, param, Bytes(8)), VdafDecodeError);
  EXPECT_THROW(vdaf->merge(aggregate, param, Bytes(33)), VdafDecodeError);

  // Random bytes in every place a client or a peer controls: each attempt works or throws
  // VdafError (a crash, over-read or UB is the sanitizers' and the fuzzer's to find).
  for (int trial = 0; trial < 300; ++trial) {
    auto random_bytes = [&](std::size_t n) {
      Bytes out(n);
      for (auto& b : out) b = static_cast<std::uint8_t>(rng());
      return out;
    };
    const std::size_t size = rng() % 3 == 0 ? rng() % 200 : good.shards.input_shares[0].size();
    try {
      const Bytes input = trial % 2 ? random_bytes(size) : good.shards.input_shares[0];
      const Bytes public_share =
          trial % 2 ? good.shards.public_share : random_bytes(good.shards.public_share.size());
      const VdafPrepInit a = vdaf->prep_init(verify_key, 0, param, good.nonce, public_share, input);
      const Bytes message = vdaf->prep_shares_to_prep(
          param, std::vector<Bytes>{a.prep_share, random_bytes(trial % 3 ? 24 : 8)});
      const VdafPrepNext next = vdaf->prep_next(a.state, trial % 5 ? message : random_bytes(24));
      vdaf->prep_next(next.state, random_bytes(trial % 4 ? 0 : 8));
    } catch (const VdafError&) {
    }
  }
}

TEST(Poplar1Plugin, LoadsAndRegistersPoplar1) {
  boost::dll::shared_library library(std::filesystem::path(JANUS_POPLAR1_PLUGIN_PATH));
  EXPECT_EQ(library.get_alias<const std::uint32_t>("janus_plugin_abi_version"), kPluginAbiVersion);
  VdafRegistry registry;
  {
    auto plugin = library.get_alias<PluginFactory>("janus_plugin_create")();
    testing::VdafPluginContext context(registry);
    plugin->configure(context);
    EXPECT_EQ(registry.names(), std::vector<std::string>{"Poplar1"});
    const auto vdaf = registry.create(vdaf_from_yaml(YAML::Load("!Poplar1 {bits: 4}")));
    EXPECT_EQ(vdaf->algorithm_id(), kAlgorithmId);
    std::mt19937_64 rng(1);
    const std::vector<Report> reports = {make_report(*vdaf, 13, rng)};
    EXPECT_EQ(aggregate(*vdaf, Bytes(16, 3),
                        encode_aggregation_parameter(aggregation_parameter(3, {12, 13})), reports),
              nlohmann::json({0, 1}));
    registry.clear();
  }
  testing::VdafPluginContext bad(registry, YAML::Load("{unexpected: 1}"));
  auto plugin = library.get_alias<PluginFactory>("janus_plugin_create")();
  EXPECT_THROW(plugin->configure(bad), std::invalid_argument);
}

}  // namespace
}  // namespace janus::poplar1
