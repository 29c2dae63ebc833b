// The official VDAF-08 vectors for Poplar1 (Poplar1_0..3: every level of a 4-bit tree),
// IdpfPoplar (IdpfPoplar_0) and the two XOFs Poplar1 uses, reproduced bit for bit.
#include <gtest/gtest.h>

#include "idpf.h"
#include "poplar1.h"
#include "test_support.h"
#include "xof.h"

namespace janus::poplar1 {
namespace {

using prio3::testing::Fields;
using prio3::testing::read_json;
using prio3::testing::unhex;

std::string concat_hex(const nlohmann::json& elements) {
  std::string out;
  for (const auto& element : elements) out += element.get<std::string>();
  return out;
}

Bytes vector_aggregation_parameter(const nlohmann::json& agg_param) {
  std::vector<std::uint64_t> prefixes;
  for (const auto& prefix : agg_param.at(1)) prefixes.push_back(prefix.get<std::uint64_t>());
  return encode_aggregation_parameter(
      aggregation_parameter(agg_param.at(0).get<std::uint16_t>(), prefixes));
}

class Poplar1Vectors : public ::testing::TestWithParam<const char*> {};

TEST_P(Poplar1Vectors, Reproduced) {
  const std::string file = std::string("vectors/vdaf-08/") + GetParam();
  const nlohmann::json json = read_json(file);
  Fields top(json, file);
  ASSERT_EQ(top["shares"].get<std::size_t>(), 2u);
  const auto vdaf = make_poplar1({"Poplar1", {{"bits", top["bits"].get<int>()}}});
  const Bytes verify_key = unhex(top["verify_key"]);
  ASSERT_EQ(verify_key.size(), vdaf->verify_key_size());
  const Bytes agg_param = vector_aggregation_parameter(top["agg_param"]);
  vdaf->check_aggregation_parameter(agg_param);

  std::vector<Bytes> aggregate_shares(2, vdaf->empty_aggregate_share(agg_param));
  std::size_t measurements = 0;
  for (const nlohmann::json& prep_json : top["prep"]) {
    Fields prep(prep_json, file + " prep");
    const Bytes nonce = unhex(prep["nonce"]);
    const Bytes rand = unhex(prep["rand"]);
    ASSERT_EQ(rand.size(), vdaf->rand_size());
    const VdafShards shards = vdaf->shard(prep["measurement"], nonce, rand);
    EXPECT_EQ(hex_encode(shards.public_share), prep["public_share"].get<std::string>());
    const nlohmann::json& input_shares = prep["input_shares"];
    for (std::size_t j = 0; j < 2; ++j) {
      EXPECT_EQ(hex_encode(shards.input_shares[j]), input_shares[j].get<std::string>()) << j;
    }

    // Both rounds from the recorded shares, not our own.
    const nlohmann::json& prep_shares_json = prep["prep_shares"];
    const nlohmann::json& prep_messages = prep["prep_messages"];
    ASSERT_EQ(prep_shares_json.size(), vdaf->rounds());
    std::vector<Bytes> states(2), prep_shares(2);
    for (std::size_t j = 0; j < 2; ++j) {
      const VdafPrepInit init = vdaf->prep_init(
          verify_key, j, agg_param, nonce, unhex(prep["public_share"]), unhex(input_shares[j]));
      EXPECT_EQ(hex_encode(init.prep_share), prep_shares_json[0][j].get<std::string>()) << j;
      states[j] = init.state;
      prep_shares[j] = init.prep_share;
    }
    for (std::size_t round = 0; round < vdaf->rounds(); ++round) {
      std::vector<Bytes> recorded;
      for (const auto& share : prep_shares_json[round]) recorded.push_back(unhex(share));
      const Bytes message = vdaf->prep_shares_to_prep(agg_param, recorded);
      EXPECT_EQ(hex_encode(message), prep_messages[round].get<std::string>()) << round;
      for (std::size_t j = 0; j < 2; ++j) {
        const VdafPrepNext next = vdaf->prep_next(states[j], message);
        if (round + 1 < vdaf->rounds()) {
          ASSERT_FALSE(next.finished());
          EXPECT_EQ(hex_encode(next.prep_share), prep_shares_json[round + 1][j].get<std::string>());
          states[j] = next.state;
        } else {
          ASSERT_TRUE(next.finished());
          EXPECT_EQ(hex_encode(*next.output_share), concat_hex(prep["out_shares"][j])) << j;
          vdaf->accumulate(aggregate_shares[j], agg_param, *next.output_share);
        }
      }
    }
    ++measurements;
  }
  const nlohmann::json& expected_aggregates = top["agg_shares"];
  for (std::size_t j = 0; j < 2; ++j) {
    EXPECT_EQ(hex_encode(aggregate_shares[j]), expected_aggregates[j].get<std::string>()) << j;
  }
  EXPECT_EQ(vdaf->unshard(agg_param, aggregate_shares, measurements), top["agg_result"]);
}

INSTANTIATE_TEST_SUITE_P(Official, Poplar1Vectors,
                         ::testing::Values("Poplar1_0.json", "Poplar1_1.json", "Poplar1_2.json",
                                           "Poplar1_3.json"));

std::uint64_t decimal(const nlohmann::json& value) { return std::stoull(value.get<std::string>()); }

TEST(IdpfPoplarVector, GenMatchesAndEvalRecoversBetaOnlyOnAlphasPath) {
  const std::string file = "vectors/vdaf-08/IdpfPoplar_0.json";
  const nlohmann::json json = read_json(file);
  Fields top(json, file);
  const std::size_t bits = top["bits"].get<std::size_t>();
  const IdpfPoplar idpf(bits);
  const Path alpha = path_from_integer(decimal(top["alpha"]), bits);
  std::vector<Pair<Field64>> beta_inner;
  for (const auto& pair : top["beta_inner"]) {
    beta_inner.push_back({Field64(decimal(pair[0])), Field64(decimal(pair[1]))});
  }
  const Pair<Field255> beta_leaf = {Field255(decimal(top["beta_leaf"][0])),
                                    Field255(decimal(top["beta_leaf"][1]))};
  const Bytes binder = unhex(top["binder"]);
  Bytes rand = unhex(top["keys"][0]);
  const Bytes second_key = unhex(top["keys"][1]);
  rand.insert(rand.end(), second_key.begin(), second_key.end());
  std::array<Seed, 2> keys;
  const Bytes public_share = idpf.gen(alpha, beta_inner, beta_leaf, binder, rand, keys);
  EXPECT_EQ(hex_encode(public_share), top["public_share"].get<std::string>());

  // At every level, the shares sum to beta on alpha's prefix and to zero on the others.
  const IdpfPublicShare decoded = idpf.decode_public_share(public_share);
  for (std::size_t level = 0; level < bits; ++level) {
    std::vector<Path> prefixes;
    const std::uint64_t on_path = decimal(top["alpha"]) >> (bits - 1 - level);
    for (std::uint64_t p = 0; p < (1u << (level + 1)) && p < 8; ++p) {
      prefixes.push_back(path_from_integer(p, level + 1));
    }
    if (on_path >= 8) prefixes.push_back(path_from_integer(on_path, level + 1));
    const IdpfValues v0 = idpf.eval(0, decoded, keys[0], level, prefixes, binder);
    const IdpfValues v1 = idpf.eval(1, decoded, keys[1], level, prefixes, binder);
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const bool hit = prefixes[i] == path_from_integer(on_path, level + 1);
      for (int k = 0; k < 2; ++k) {
        if (level + 1 < bits) {
          EXPECT_EQ(v0.inner[i][k] + v1.inner[i][k], hit ? beta_inner[level][k] : Field64(0))
              << level << " " << i;
        } else {
          EXPECT_EQ(v0.leaf[i][k] + v1.leaf[i][k], hit ? beta_leaf[k] : Field255(0)) << i;
        }
      }
    }
  }
}

// XofFixedKeyAes128 and XofTurboShake128: the derived seed and the stream (whose 16-byte
// Field128 candidates the vectors' expanded_vec_field128 accepts all of).
template <class Xof>
void check_xof_vector(const std::string& name, Xof make(const Bytes&, const Bytes&, const Bytes&)) {
  const std::string file = "vectors/vdaf-08/" + name;
  const nlohmann::json json = read_json(file);
  Fields top(json, file);
  const Bytes seed = unhex(top["seed"]), dst = unhex(top["dst"]), binder = unhex(top["binder"]);
  const Bytes expanded = unhex(top["expanded_vec_field128"]);
  ASSERT_EQ(expanded.size(), 16 * top["length"].get<std::size_t>());
  Xof derive = make(seed, dst, binder);
  Bytes derived(16);
  derive.next(derived.data(), derived.size());
  EXPECT_EQ(hex_encode(derived), top["derived_seed"].get<std::string>());
  Xof stream = make(seed, dst, binder);
  Bytes out(expanded.size());
  // In uneven pieces, to cross block and rate boundaries mid-read.
  for (std::size_t at = 0, step = 1; at < out.size(); at += step, step = step % 37 + 5) {
    stream.next(out.data() + at, std::min(step, out.size() - at));
  }
  EXPECT_EQ(hex_encode(out), hex_encode(expanded));
}

TEST(Poplar1Xof, TurboShake128Vector) {
  check_xof_vector<XofTurboShake128>("XofTurboShake128.json",
                                     [](const Bytes& seed, const Bytes& dst, const Bytes& binder) {
                                       return XofTurboShake128(seed, dst, binder);
                                     });
}

struct FixedKeyXof {
  FixedKeyXof(const Bytes& seed, const Bytes& dst, const Bytes& binder)
      : key(std::make_unique<FixedKeyAes128>(dst, binder)), xof(*key, seed) {}
  void next(std::uint8_t* out, std::size_t n) { xof.next(out, n); }
  std::unique_ptr<FixedKeyAes128> key;
  XofFixedKeyAes128 xof;
};

TEST(Poplar1Xof, FixedKeyAes128Vector) {
  check_xof_vector<FixedKeyXof>("XofFixedKeyAes128.json",
                                [](const Bytes& seed, const Bytes& dst, const Bytes& binder) {
                                  return FixedKeyXof(seed, dst, binder);
                                });
}

}  // namespace
}  // namespace janus::poplar1
