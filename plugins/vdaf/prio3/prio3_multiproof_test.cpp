// Prio3SumVecField64MultiproofHmacSha256Aes128 (Janus 0.7, algorithm ID
// 0xFFFF1003): sizes, round trips, and rejection of bad parameters, keys and
// tampered reports. Its parts have vectors elsewhere: the XOF in
// xof_hmac_test.cpp, the Field64 multiproof SumVec (with TurboSHAKE) in
// prio3_vectors_test.cpp. No published vector covers the combination.
#include <gtest/gtest.h>

#include <random>

#include "prio3.h"
#include "test_support.h"

namespace janus::prio3 {
namespace {

const Bytes kVerifyKey(32, 0x42);
const Bytes kNonce(16, 0x07);
const Bytes kNoAggParam;

VdafDescription multiproof(std::size_t proofs, std::size_t bits = 8, std::size_t length = 10,
                           std::size_t chunk_length = 9) {
  return VdafDescription{
      kSumVecField64MultiproofHmacSha256Aes128,
      {{"proofs", proofs}, {"bits", bits}, {"length", length}, {"chunk_length", chunk_length}}};
}

// Runs preparation for every aggregator; throws what the VDAF throws.
std::vector<Bytes> prepare(const Vdaf& vdaf, const VdafShards& shards,
                           const Bytes& verify_key = kVerifyKey) {
  std::vector<Bytes> states, prep_shares;
  for (std::size_t j = 0; j < vdaf.num_shares(); ++j) {
    VdafPrepInit init = vdaf.prep_init(verify_key, j, kNoAggParam, kNonce, shards.public_share,
                                       shards.input_shares[j]);
    vdaf.check_prep_share(init.prep_share);
    states.push_back(init.state);
    prep_shares.push_back(init.prep_share);
  }
  const Bytes message = vdaf.prep_shares_to_prep(kNoAggParam, prep_shares);
  std::vector<Bytes> out;
  for (const Bytes& state : states) out.push_back(*vdaf.prep_next(state, message).output_share);
  return out;
}

// SumVec(bits 8, length 10, chunk 9) over Field64: MEAS_LEN 80, one
// ParallelSum(Mul, 9) gadget called 9 times: PROOF_LEN = 18 + 2·15 + 1 = 49,
// VERIFIER_LEN = 1 + 18 + 1 = 20.
constexpr std::size_t kMeasLen = 80, kProofLen = 49, kVerifierLen = 20;

TEST(Prio3Multiproof, SizesAndIdentity) {
  for (std::size_t proofs : {2, 3, 5}) {
    const auto vdaf = make_prio3(multiproof(proofs));
    EXPECT_EQ(vdaf->algorithm_id(), 0xFFFF1003u);
    EXPECT_EQ(vdaf->verify_key_size(), 32u);
    EXPECT_EQ(vdaf->nonce_size(), 16u);
    EXPECT_EQ(vdaf->rand_size(), 5 * 32u);
    EXPECT_EQ(vdaf->description().name, "Prio3SumVecField64MultiproofHmacSha256Aes128");
    const nlohmann::json measurement = {0, 1, 2, 3, 4, 5, 6, 7, 8, 255};
    const VdafShards shards = vdaf->shard(measurement, kNonce);
    EXPECT_EQ(shards.public_share.size(), 2 * 32u);
    ASSERT_EQ(shards.input_shares.size(), 2u);
    EXPECT_EQ(shards.input_shares[0].size(), (kMeasLen + proofs * kProofLen) * 8 + 32);
    EXPECT_EQ(shards.input_shares[1].size(), 3 * 32u);
    const VdafPrepInit init = vdaf->prep_init(kVerifyKey, 0, kNoAggParam, kNonce,
                                              shards.public_share, shards.input_shares[0]);
    EXPECT_EQ(init.prep_share.size(), proofs * kVerifierLen * 8 + 32);
    const std::vector<Bytes> out = prepare(*vdaf, shards);
    EXPECT_EQ(out[0].size(), 10 * 8u);
    EXPECT_EQ(vdaf->unshard(kNoAggParam, out, 1), measurement) << proofs;
  }
}

TEST(Prio3Multiproof, RoundTripsAndAggregates) {
  // Three aggregators too (Janus uses two; the construction takes any number).
  for (std::size_t shares : {2, 3}) {
    const auto vdaf = make_prio3(multiproof(3, 16, 3, 7), shares);
    std::vector<Bytes> aggregates(shares, vdaf->empty_aggregate_share(kNoAggParam));
    const std::vector<nlohmann::json> measurements = {
        {10000, 32000, 9}, {19342, 19615, 3061}, {15986, 24671, 65535}};
    for (const auto& measurement : measurements) {
      const std::vector<Bytes> out = prepare(*vdaf, vdaf->shard(measurement, kNonce));
      for (std::size_t j = 0; j < shares; ++j) vdaf->accumulate(aggregates[j], {}, out[j]);
    }
    EXPECT_EQ(vdaf->unshard(kNoAggParam, aggregates, measurements.size()),
              nlohmann::json({45328, 76286, 68605}));
  }
  // bits = 1 takes the identity-truncation path; bits = 63 is the largest.
  const auto one_bit = make_prio3(multiproof(2, 1, 7, 3));
  const nlohmann::json bits = {1, 0, 1, 1, 0, 0, 1};
  EXPECT_EQ(one_bit->unshard(kNoAggParam, prepare(*one_bit, one_bit->shard(bits, kNonce)), 1),
            bits);
  const auto wide = make_prio3(multiproof(2, 63, 2, 10));
  const nlohmann::json big = {(std::uint64_t{1} << 63) - 1, 12345};
  EXPECT_EQ(wide->unshard(kNoAggParam, prepare(*wide, wide->shard(big, kNonce)), 1), big);
  EXPECT_THROW(wide->shard(nlohmann::json({std::uint64_t{1} << 63, 0}), kNonce), VdafInputError);
}

TEST(Prio3Multiproof, WrongVerifyKeyLengthIsRefused) {
  const auto vdaf = make_prio3(multiproof(2));
  const VdafShards shards = vdaf->shard(nlohmann::json({1, 1, 1, 1, 1, 1, 1, 1, 1, 1}), kNonce);
  for (std::size_t size : {0, 16, 31, 33}) {
    EXPECT_THROW(prepare(*vdaf, shards, Bytes(size, 0x42)), VdafDecodeError) << size;
  }
  // The 16-byte VDAFs refuse a 32-byte key alike.
  const auto sumvec = make_prio3(
      VdafDescription{"Prio3SumVec", {{"bits", 8}, {"length", 10}, {"chunk_length", 9}}});
  const VdafShards plain = sumvec->shard(nlohmann::json({1, 1, 1, 1, 1, 1, 1, 1, 1, 1}), kNonce);
  EXPECT_THROW(prepare(*sumvec, plain, kVerifyKey), VdafDecodeError);
  EXPECT_THROW(
      vdaf->shard(nlohmann::json({1, 1, 1, 1, 1, 1, 1, 1, 1, 1}), kNonce, Bytes(5 * 16, 0)),
      std::invalid_argument);
}

TEST(Prio3Multiproof, InvalidParametersAreRejected) {
  const std::string name = kSumVecField64MultiproofHmacSha256Aes128;
  auto with = [&](nlohmann::json parameters) { return VdafDescription{name, parameters}; };
  for (const nlohmann::json& proofs : {nlohmann::json(0), nlohmann::json(1), nlohmann::json(256),
                                       nlohmann::json(-2), nlohmann::json("x")}) {
    EXPECT_THROW(
        make_prio3(with({{"proofs", proofs}, {"bits", 8}, {"length", 10}, {"chunk_length", 9}})),
        std::invalid_argument)
        << proofs;
  }
  EXPECT_NO_THROW(make_prio3(multiproof(255, 1, 1, 1)));
  EXPECT_NO_THROW(
      make_prio3(with({{"proofs", "2"}, {"bits", "8"}, {"length", 10}, {"chunk_length", 9}})));
  EXPECT_THROW(make_prio3(with({{"bits", 8}, {"length", 10}, {"chunk_length", 9}})),
               std::invalid_argument);
  EXPECT_THROW(make_prio3(multiproof(2, 0)), std::invalid_argument);
  EXPECT_THROW(make_prio3(multiproof(2, 64)), std::invalid_argument);
  EXPECT_THROW(make_prio3(multiproof(2, 8, 0)), std::invalid_argument);
  EXPECT_THROW(make_prio3(multiproof(2, 8, 10, 0)), std::invalid_argument);
  EXPECT_THROW(
      make_prio3(with(
          {{"proofs", 2}, {"bits", 8}, {"length", 10}, {"chunk_length", 9}, {"num_proofs", 2}})),
      std::invalid_argument);
  EXPECT_THROW(make_prio3(with({{"proofs", 2},
                                {"bits", 8},
                                {"length", 10},
                                {"chunk_length", 9},
                                {"dp_strategy", {{"dp_strategy", "PureDpDiscreteLaplace"}}}})),
               std::invalid_argument);
  EXPECT_NO_THROW(make_prio3(with({{"proofs", 2},
                                   {"bits", 8},
                                   {"length", 10},
                                   {"chunk_length", 9},
                                   {"dp_strategy", {{"dp_strategy", "NoDifferentialPrivacy"}}}})));
  // The multiproof parameter does not leak into the standard VDAFs.
  EXPECT_THROW(
      make_prio3(VdafDescription{
          "Prio3SumVec", {{"proofs", 2}, {"bits", 8}, {"length", 10}, {"chunk_length", 9}}}),
      std::invalid_argument);
}

// Adds one to field element `index` of the leader's input share (Field64).
Bytes tamper_leader_element(const Vdaf& vdaf, Bytes share, std::size_t index) {
  std::uint8_t* element = share.data() + index * 8;
  element[0] = static_cast<std::uint8_t>(element[0] == 0 ? 1 : element[0] - 1);
  vdaf.check_input_share(0, share);  // still a well-formed share
  return share;
}

TEST(Prio3Multiproof, TamperedReportsFailPreparation) {
  const std::size_t proofs = 3;
  const auto vdaf = make_prio3(multiproof(proofs));
  const nlohmann::json measurement = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const VdafShards shards = vdaf->shard(measurement, kNonce);
  EXPECT_NO_THROW(prepare(*vdaf, shards));
  // Every element of every proof in turn (the last proof included: a check
  // of only the first proof would miss those).
  for (std::size_t index = kMeasLen; index < kMeasLen + proofs * kProofLen; ++index) {
    VdafShards tampered = shards;
    tampered.input_shares[0] = tamper_leader_element(*vdaf, shards.input_shares[0], index);
    EXPECT_THROW(prepare(*vdaf, tampered), VdafPrepError) << index;
  }
  // A measurement element.
  VdafShards tampered = shards;
  tampered.input_shares[0] = tamper_leader_element(*vdaf, shards.input_shares[0], 3);
  EXPECT_THROW(prepare(*vdaf, tampered), VdafPrepError);
  // Each of the helper's seeds: measurement, proofs, joint randomness blind.
  for (std::size_t byte : {5, 32 + 5, 64 + 5}) {
    VdafShards bad = shards;
    bad.input_shares[1][byte] ^= 1;
    EXPECT_THROW(prepare(*vdaf, bad), VdafPrepError) << byte;
  }
  // The leader's blind and the public share's joint randomness parts.
  VdafShards bad_blind = shards;
  bad_blind.input_shares[0].back() ^= 1;
  EXPECT_THROW(prepare(*vdaf, bad_blind), VdafPrepError);
  for (std::size_t byte : {0, 40}) {
    VdafShards bad_public = shards;
    bad_public.public_share[byte] ^= 1;
    EXPECT_THROW(prepare(*vdaf, bad_public), VdafPrepError) << byte;
  }
  // A different verify key on one side only.
  const VdafPrepInit leader = vdaf->prep_init(kVerifyKey, 0, kNoAggParam, kNonce,
                                              shards.public_share, shards.input_shares[0]);
  const VdafPrepInit helper = vdaf->prep_init(Bytes(32, 0x43), 1, kNoAggParam, kNonce,
                                              shards.public_share, shards.input_shares[1]);
  EXPECT_THROW(vdaf->prep_shares_to_prep(kNoAggParam,
                                         std::vector<Bytes>{leader.prep_share, helper.prep_share}),
               VdafPrepError);
}

TEST(Prio3Multiproof, WrongLengthsAreDecodeErrors) {
  const auto vdaf = make_prio3(multiproof(2));
  const VdafShards shards = vdaf->shard(nlohmann::json({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), kNonce);
  for (std::size_t j = 0; j < 2; ++j) {
    Bytes longer = shards.input_shares[j];
    longer.push_back(0);
    Bytes shorter(shards.input_shares[j].begin(), shards.input_shares[j].end() - 1);
    EXPECT_THROW(vdaf->check_input_share(j, longer), VdafDecodeError);
    EXPECT_THROW(vdaf->prep_init(kVerifyKey, j, kNoAggParam, kNonce, shards.public_share, longer),
                 VdafDecodeError);
    EXPECT_THROW(vdaf->prep_init(kVerifyKey, j, kNoAggParam, kNonce, shards.public_share, shorter),
                 VdafDecodeError);
  }
  EXPECT_THROW(vdaf->check_public_share(Bytes(32, 0)), VdafDecodeError);
  const VdafPrepInit leader = vdaf->prep_init(kVerifyKey, 0, kNoAggParam, kNonce,
                                              shards.public_share, shards.input_shares[0]);
  const VdafPrepInit helper = vdaf->prep_init(kVerifyKey, 1, kNoAggParam, kNonce,
                                              shards.public_share, shards.input_shares[1]);
  // One proof's worth of verifier only.
  const Bytes one_proof(leader.prep_share.begin() + kVerifierLen * 8, leader.prep_share.end());
  EXPECT_THROW(vdaf->check_prep_share(one_proof), VdafDecodeError);
  EXPECT_THROW(
      vdaf->prep_shares_to_prep(kNoAggParam, std::vector<Bytes>{one_proof, helper.prep_share}),
      VdafDecodeError);
  const Bytes message = vdaf->prep_shares_to_prep(
      kNoAggParam, std::vector<Bytes>{leader.prep_share, helper.prep_share});
  EXPECT_EQ(message.size(), 32u);
  EXPECT_THROW(vdaf->prep_next(leader.state, Bytes(16, 0)), VdafDecodeError);
  Bytes wrong = message;
  wrong[7] ^= 1;
  EXPECT_THROW(vdaf->prep_next(leader.state, wrong), VdafPrepError);
  EXPECT_THROW(vdaf->check_aggregate_share(Bytes(10 * 16, 0)), VdafDecodeError);
}

TEST(Prio3Multiproof, RandomBytesNeverCrash) {
  const auto vdaf = make_prio3(multiproof(2, 4, 6, 4));
  testing::prepare_with_random_bytes(*vdaf, vdaf->shard(nlohmann::json({1, 2, 3, 4, 5, 6}), kNonce),
                                     kVerifyKey, kNonce, 200, 11);
}

}  // namespace
}  // namespace janus::prio3
