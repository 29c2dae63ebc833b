// Every official VDAF-08 Prio3 vector for Count, Sum, SumVec and Histogram
// (2-share `_0` and 3-share `_1` files), and the Field64 multiproof SumVec
// ones of VDAF-08 and libprio 0.16, reproduced bit for bit.
#include <gtest/gtest.h>

#include "prio3.h"
#include "test_support.h"

namespace janus::prio3 {
namespace {

using testing::Fields;
using testing::unhex;

std::string concat_hex(const nlohmann::json& elements) {
  std::string out;
  for (const auto& element : elements) out += element.get<std::string>();
  return out;
}

// Shards every measurement of the vector with its rand, prepares from the
// recorded shares, aggregates and unshards, comparing every value it has.
void reproduce_vector(const Vdaf& vdaf, Fields& top, const std::string& file) {
  const std::size_t shares = top["shares"].get<std::size_t>();
  ASSERT_EQ(vdaf.num_shares(), shares);
  const Bytes verify_key = unhex(top["verify_key"]);
  ASSERT_EQ(verify_key.size(), vdaf.verify_key_size());
  ASSERT_TRUE(top["agg_param"].is_null());
  const Bytes agg_param;

  std::vector<Bytes> aggregate_shares(shares, vdaf.empty_aggregate_share(agg_param));
  std::size_t num_measurements = 0;
  for (const nlohmann::json& prep_json : top["prep"]) {
    Fields prep(prep_json, file + " prep");
    const Bytes nonce = unhex(prep["nonce"]);
    const Bytes rand = unhex(prep["rand"]);
    ASSERT_EQ(rand.size(), vdaf.rand_size());
    const VdafShards shards = vdaf.shard(prep["measurement"], nonce, rand);
    EXPECT_EQ(hex_encode(shards.public_share), prep["public_share"].get<std::string>());
    ASSERT_EQ(shards.input_shares.size(), shares);
    const nlohmann::json& input_shares = prep["input_shares"];
    for (std::size_t j = 0; j < shares; ++j) {
      EXPECT_EQ(hex_encode(shards.input_shares[j]), input_shares[j].get<std::string>()) << j;
    }

    // Prepare from the recorded shares, not our own.
    const nlohmann::json& prep_shares_json = prep["prep_shares"];
    ASSERT_EQ(prep_shares_json.size(), vdaf.rounds());
    std::vector<Bytes> states, prep_shares;
    for (std::size_t j = 0; j < shares; ++j) {
      const VdafPrepInit init = vdaf.prep_init(verify_key, j, agg_param, nonce,
                                               unhex(prep["public_share"]), unhex(input_shares[j]));
      EXPECT_EQ(hex_encode(init.prep_share), prep_shares_json[0][j].get<std::string>()) << j;
      states.push_back(init.state);
      prep_shares.push_back(init.prep_share);
    }
    const Bytes prep_message = vdaf.prep_shares_to_prep(agg_param, prep_shares);
    EXPECT_EQ(hex_encode(prep_message), prep["prep_messages"][0].get<std::string>());
    const nlohmann::json& out_shares = prep["out_shares"];
    for (std::size_t j = 0; j < shares; ++j) {
      const VdafPrepNext next = vdaf.prep_next(states[j], prep_message);
      ASSERT_TRUE(next.finished());
      EXPECT_EQ(hex_encode(*next.output_share), concat_hex(out_shares[j])) << j;
      vdaf.accumulate(aggregate_shares[j], {}, *next.output_share);
    }
    ++num_measurements;
  }
  const nlohmann::json& expected_agg_shares = top["agg_shares"];
  for (std::size_t j = 0; j < shares; ++j) {
    EXPECT_EQ(hex_encode(aggregate_shares[j]), expected_agg_shares[j].get<std::string>()) << j;
  }
  EXPECT_EQ(vdaf.unshard(agg_param, aggregate_shares, num_measurements), top["agg_result"]);
}

class Prio3OfficialVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(Prio3OfficialVectors, ReproducesEveryValue) {
  const std::string file = GetParam();
  const nlohmann::json vector = testing::read_json("vectors/vdaf-08/" + file + ".json");
  Fields top(vector, file);

  VdafDescription description;
  description.name = file.substr(0, file.find('_'));
  for (const char* key : {"bits", "length", "chunk_length"}) {
    if (top.contains(key)) description.parameters[key] = top[key];
  }
  const auto vdaf = make_prio3(description, top["shares"].get<std::size_t>());
  reproduce_vector(*vdaf, top, file);
}

INSTANTIATE_TEST_SUITE_P(Vdaf08, Prio3OfficialVectors,
                         ::testing::Values("Prio3Count_0", "Prio3Count_1", "Prio3Sum_0",
                                           "Prio3Sum_1", "Prio3SumVec_0", "Prio3SumVec_1",
                                           "Prio3Histogram_0", "Prio3Histogram_1"));

// Prio3SumVec over Field64 with XofTurboShake128 and several proofs. Neither
// file records its number of proofs or algorithm ID: libprio 0.16's
// prio3_test.rs builds its Prio3SumVecField64Multiproof with 3 proofs and ID
// 0xFFFFFFFF; VDAF-08's Prio3SumVecWithMultiproof_0 (same private ID) has 4,
// as its share lengths show (leader input share 80 + 4·49 elements + blind).
std::size_t proofs_of(const std::string& file) {
  return file.find("Prio3SumVecWithMultiproof") != std::string::npos ? 4 : 3;
}

class Prio3MultiproofVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(Prio3MultiproofVectors, ReproducesEveryValue) {
  const std::string file = GetParam();
  const nlohmann::json vector = testing::read_json("vectors/vdaf-08/" + file + ".json");
  Fields top(vector, file);
  const auto vdaf = make_prio3_sum_vec_field64_multiproof_turboshake(
      proofs_of(file), top["bits"].get<std::size_t>(), top["length"].get<std::size_t>(),
      top["chunk_length"].get<std::size_t>(), top["shares"].get<std::size_t>(), 0xFFFFFFFF);
  reproduce_vector(*vdaf, top, file);
}

INSTANTIATE_TEST_SUITE_P(Vdaf08, Prio3MultiproofVectors,
                         ::testing::Values("libprio-0.16-extra/Prio3SumVecField64Multiproof_0",
                                           "libprio-0.16-extra/Prio3SumVecField64Multiproof_1",
                                           "Prio3SumVecWithMultiproof_0"));

}  // namespace
}  // namespace janus::prio3
