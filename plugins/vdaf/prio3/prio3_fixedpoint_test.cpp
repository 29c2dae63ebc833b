// Prio3FixedPointBoundedL2VecSum (prio3.h) against libprio 0.16.8's definition
// (src/flp/types/fixedpoint_l2.rs and its tests, src/vdaf/prio3.rs tests) and Janus 0.7's use
// of it. There are no official vectors for this VDAF; what libprio's own tests fix is checked
// here: the circuit's lengths, the offset encoding of the entries and of the norm, which inputs
// the circuit accepts, the sums and their decoding, and the seeded noise and its decoding.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include <openssl/bn.h>

#include "circuits.h"
#include "dp.h"
#include "flp.h"
#include "prio3.h"
#include "test_support.h"

namespace janus::prio3 {
namespace {

using nlohmann::json;
using testing::aggregate;

json no_dp() { return {{"dp_strategy", "NoDifferentialPrivacy"}}; }

std::shared_ptr<const Vdaf> fixed_point(std::size_t bits, std::size_t length,
                                        const json& strategy = no_dp()) {
  return make_prio3(VdafDescription{kFixedPointBoundedL2VecSum,
                                    {{"bitsize", bits == 16 ? "BitSize16" : "BitSize32"},
                                     {"dp_strategy", strategy},
                                     {"length", length}}});
}

// Both aggregate shares added: the field elements of the aggregate.
std::vector<uint128> aggregate_integers(const Vdaf& vdaf, std::vector<Bytes> shares) {
  vdaf.merge(shares[0], {}, shares[1]);
  std::vector<uint128> out;
  for (std::size_t offset = 0; offset < shares[0].size(); offset += 16) {
    out.push_back(Field128::decode(shares[0].data() + offset)->to_integer());
  }
  return out;
}

json sum_of(const Vdaf& vdaf, const std::vector<json>& measurements) {
  return vdaf.unshard({}, aggregate(vdaf, measurements), measurements.size());
}

// FL:262-357 and the FLP's layout: sizes worked out from libprio's constructor.
TEST(FixedPointL2Circuit, LengthsAsLibprioDerivesThem) {
  struct Row {
    std::size_t length, bits, input, chunk0, calls0, chunk1, calls1, proof, verifier;
  };
  for (const Row& row : std::vector<Row>{{3, 16, 78, 8, 10, 1, 3, 55, 20},
                                         {3, 32, 158, 12, 14, 1, 3, 63, 28},
                                         {5, 32, 222, 14, 16, 2, 3, 100, 33},
                                         {10, 16, 190, 13, 15, 3, 4, 75, 32},
                                         {1000, 16, 16030, 126, 128, 31, 33, 921, 286}}) {
    const auto circuit = std::make_shared<FixedPointL2Circuit>(row.bits, row.length);
    const FlpGeneric<Field128> flp(circuit);
    EXPECT_EQ(flp.meas_len(), row.input) << row.length << "/" << row.bits;
    EXPECT_EQ(flp.output_len(), row.length);
    ASSERT_EQ(circuit->gadgets().size(), 2u);
    EXPECT_EQ(circuit->gadgets()[0].chunk_length, row.chunk0);
    EXPECT_EQ(circuit->gadgets()[0].calls, row.calls0);
    EXPECT_EQ(circuit->gadgets()[1].chunk_length, row.chunk1);
    EXPECT_EQ(circuit->gadgets()[1].calls, row.calls1);
    EXPECT_EQ(flp.proof_len(), row.proof);
    EXPECT_EQ(flp.verifier_len(), row.verifier);
    EXPECT_EQ(flp.prove_rand_len(), 2 * row.chunk0 + row.chunk1);
    EXPECT_EQ(flp.query_rand_len(), 2u);
    EXPECT_EQ(flp.joint_rand_len(), 2u);
  }
  EXPECT_THROW(FixedPointL2Circuit(8, 3), std::invalid_argument);
  EXPECT_THROW(FixedPointL2Circuit(16, 0), std::invalid_argument);
}

// Entries as offset integers (raw + 2^(n−1)) and a norm, as circuit input bits.
std::vector<Field128> circuit_input(std::size_t bits, const std::vector<std::uint64_t>& entries,
                                    uint128 norm) {
  std::vector<Field128> out;
  for (std::uint64_t y : entries) {
    for (std::size_t l = 0; l < bits; ++l) out.push_back(Field128::from_u64((y >> l) & 1));
  }
  for (std::size_t l = 0; l < 2 * bits - 2; ++l) {
    out.push_back(Field128::from_u64(static_cast<std::uint64_t>((norm >> l) & 1)));
  }
  return out;
}

// Prove and verify one whole (unshared) input: what the two aggregators decide together.
bool circuit_accepts(const FlpGeneric<Field128>& flp, const std::vector<Field128>& input) {
  std::vector<Field128> prove_rand, query_rand, joint_rand;
  for (std::size_t i = 0; i < flp.prove_rand_len(); ++i)
    prove_rand.push_back(Field128::from_u64(i + 3));
  for (std::size_t i = 0; i < flp.query_rand_len(); ++i)
    query_rand.push_back(Field128::from_u64(1000 + i));
  for (std::size_t i = 0; i < flp.joint_rand_len(); ++i)
    joint_rand.push_back(Field128::from_u64(77 + i));
  const std::vector<Field128> proof = flp.prove(input, prove_rand, joint_rand);
  return flp.decide(flp.query(input, proof, query_rand, joint_rand, 1));
}

// FL:721-855: [1/4, 1/8, 1/16] encodes to these integers (raw 8192, 4096, 2048 plus 2^15) with
// squared norm 8192² + 4096² + 2048² (n = 16); the circuit takes it, and refuses a flipped bit, a
// non-bit, the all-ones input and a norm that only its low bits match.
TEST(FixedPointL2Circuit, AcceptsExactlyBitsWithTheirNorm) {
  const FlpGeneric<Field128> flp(std::make_shared<FixedPointL2Circuit>(16, 3));
  const std::vector<std::uint64_t> entries = {40960, 36864, 34816};
  const uint128 norm = 88080384;
  EXPECT_EQ(norm, uint128{8192} * 8192 + 4096 * 4096 + 2048 * 2048);
  std::vector<Field128> input = circuit_input(16, entries, norm);
  EXPECT_TRUE(circuit_accepts(flp, input));
  // The entries as truncate() gives them.
  std::vector<Field128> output(3);
  flp.circuit().truncate(input, output.data());
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(output[i].to_integer(), entries[i]);

  std::vector<Field128> flipped = input;
  flipped[0] = Field128::one();
  EXPECT_FALSE(circuit_accepts(flp, flipped));
  std::vector<Field128> not_a_bit = input;
  not_a_bit[0] = Field128::from_u64(2);
  EXPECT_FALSE(circuit_accepts(flp, not_a_bit));
  EXPECT_FALSE(circuit_accepts(flp, std::vector<Field128>(flp.meas_len(), Field128::one())));
  // [−1, 0, 0]: norm 2^30, which 30 bits cannot hold; its low bits (all zero) are refused.
  EXPECT_FALSE(circuit_accepts(flp, circuit_input(16, {0, 32768, 32768}, 0)));
  // Zeros (norm 0) and the extremes that fit (FL:829-854).
  EXPECT_TRUE(circuit_accepts(flp, circuit_input(16, {32768, 32768, 32768}, 0)));
  EXPECT_TRUE(
      circuit_accepts(flp, circuit_input(16, {65535, 32768, 32768}, uint128{32767} * 32767)));
  // d = 5 with n = 32: the norm gadget's second chunk is padded.
  const FlpGeneric<Field128> padded(std::make_shared<FixedPointL2Circuit>(32, 5));
  const std::uint64_t zero = std::uint64_t{1} << 31;
  EXPECT_TRUE(circuit_accepts(padded, circuit_input(32, {zero, zero, zero, zero, zero + 1}, 1)));
  EXPECT_FALSE(circuit_accepts(padded, circuit_input(32, {zero, zero, zero, zero, zero + 1}, 0)));
}

// The encoded integers of FL:693-697 and FL:721-760, as the aggregate of one report.
TEST(Prio3FixedPoint, EncodesEntriesAsLibprioDoes) {
  const std::vector<json> one = {json::array({0.25, 0.125, 0.0625})};
  auto vdaf16 = fixed_point(16, 3);
  EXPECT_EQ(aggregate_integers(*vdaf16, aggregate(*vdaf16, one)),
            (std::vector<uint128>{40960, 36864, 34816}));
  auto vdaf32 = fixed_point(32, 3);
  EXPECT_EQ(aggregate_integers(*vdaf32, aggregate(*vdaf32, one)),
            (std::vector<uint128>{2684354560, 2415919104, 2281701376}));
  EXPECT_EQ(aggregate_integers(*vdaf16, aggregate(*vdaf16, {json::array({-0.5, 0, 0})})),
            (std::vector<uint128>{16384, 32768, 32768}));
}

// P3:1752-1945 and Janus's collector test: sums of two reports, for both entry sizes.
TEST(Prio3FixedPoint, SumsDecodeAsLibprioDoes) {
  for (std::size_t bits : {16, 32}) {
    auto vdaf = fixed_point(bits, 3);
    EXPECT_EQ(
        sum_of(*vdaf, {json::array({0.25, 0.125, 0.0625}), json::array({0.25, 0.125, 0.0625})}),
        json::array({0.5, 0.25, 0.125}))
        << bits;
    EXPECT_EQ(sum_of(*vdaf, {json::array({-0.25, -0.125, -0.0625}),
                             json::array({-0.25, -0.125, -0.0625})}),
              json::array({-0.5, -0.25, -0.125}))
        << bits;
    EXPECT_EQ(
        sum_of(*vdaf, {json::array({0.25, -0.125, -0.0625}), json::array({0.25, 0.125, 0.0625})}),
        json::array({0.5, 0.0, 0.0}))
        << bits;
    // A sum of exactly zero decodes to +0.0.
    const json zero = sum_of(*vdaf, {json::array({0.25, 0, 0}), json::array({-0.25, 0, 0})});
    EXPECT_FALSE(std::signbit(zero[0].get<double>()));
  }
  auto five = fixed_point(32, 5);
  EXPECT_EQ(sum_of(*five, {json::array({0, 0, 0, 0, 0})}), json::array({0.0, 0.0, 0.0, 0.0, 0.0}));
  // Janus 0.7 collector/src/lib.rs: one report of [1/16, 1/8, 1/4] with BitSize32.
  EXPECT_EQ(sum_of(*fixed_point(32, 3), {json::array({0.0625, 0.125, 0.25})}),
            json::array({0.0625, 0.125, 0.25}));
  // The largest entry, 1 − 2^−15, and a sum beyond [−1, 1).
  auto vdaf = fixed_point(16, 2);
  EXPECT_EQ(sum_of(*vdaf, {json::array({0.999969482421875, 0})}),
            json::array({0.999969482421875, 0.0}));
  EXPECT_EQ(sum_of(*vdaf, {json::array({0.75, 0.5}), json::array({0.75, -0.5}),
                           json::array({0.75, 0.25})}),
            json::array({2.25, 0.25}));
}

// Decimal strings (the interop API's form) round to nearest, ties to even, as the fixed
// crate parses them; numbers likewise.
TEST(Prio3FixedPoint, MeasurementsAsNumbersOrDecimalStrings) {
  auto vdaf = fixed_point(16, 3);
  EXPECT_EQ(sum_of(*vdaf, {json::array({"0.25", "-0.125", ".0625"})}),
            json::array({0.25, -0.125, 0.0625}));
  // 2^−16 is half a unit (ties to the even 0); 3·2^−16 is one and a half units (to 2).
  EXPECT_EQ(
      sum_of(*vdaf,
             {json::array({"0.0000152587890625", "0.0000457763671875", "-0.0000457763671875"})}),
      json::array({0.0, 0.00006103515625, -0.00006103515625}));
  EXPECT_EQ(sum_of(*vdaf, {json::array({0.0000152587890625, 0.0000457763671875, 0})}),
            json::array({0.0, 0.00006103515625, 0.0}));
  // 0.1·2^15 = 3276.8 rounds to 3277.
  EXPECT_EQ(aggregate_integers(*vdaf, aggregate(*vdaf, {json::array({"-0.5", "+0", "0.1"})})),
            (std::vector<uint128>{16384, 32768, 36045}));
  // The crate's other forms: exponents after e, E or @; "0." and "-.5"; any number of leading
  // zeros or digits (a 1 three hundred places down still rounds, here to nothing).
  const uint128 zero = 32768;  // the offset: the encoding of 0
  auto encodes = [&](const json& entries) {
    return aggregate_integers(*vdaf, aggregate(*vdaf, {entries}));
  };
  EXPECT_EQ(encodes(json::array({"5e-1", "-2.5E-1", "6.25@-2"})),
            (std::vector<uint128>{zero + 16384, zero - 8192, zero + 2048}));
  // 0.001·2^15 = 32.768 → 33, however it is written; 10^-2147483648 (an i32's least exponent)
  // is 0.
  EXPECT_EQ(encodes(json::array({"1e-3", "0.00001e+2", "1e-2147483648"})),
            (std::vector<uint128>{zero + 33, zero + 33, zero}));
  EXPECT_EQ(encodes(json::array({"0.", "-.5", std::string(300, '0') + "0.25"})),
            (std::vector<uint128>{zero, zero - 16384, zero + 8192}));
  EXPECT_EQ(encodes(json::array({"0.5" + std::string(300, '0') + "1", "-0", "0e999"})),
            (std::vector<uint128>{zero + 16384, zero, zero}));
}

// What libprio refuses to shard: a wrong length, entries outside [−1, 1), and a norm of 1 or
// more (FL:393-422: the norm must fit 2n − 2 bits), which a lone −1 already reaches.
TEST(Prio3FixedPoint, RefusesMeasurementsOutsideTheBall) {
  auto vdaf = fixed_point(16, 3);
  const Bytes nonce(16, 0);
  for (const json& bad : {json::array({0.25, 0.125}),
                          json::array({0.25, 0.125, 0, 0}),
                          json(0.25),
                          json::array({1.0, 0, 0}),
                          json::array({-1.5, 0, 0}),
                          json::array({-1, 0, 0}),
                          json::array({0.75, 0.75, 0}),
                          json::array({0.6, 0.6, 0.6}),
                          json::array({"abc", 0, 0}),
                          json::array({"", 0, 0}),
                          json::array({".", 0, 0}),
                          json::array({"-.", 0, 0}),
                          json::array({"1.", 0, 0}),
                          json::array({"1e0", 0, 0}),
                          json::array({"0.1e1", 0, 0}),
                          json::array({"1.2.3", 0, 0}),
                          json::array({"+-0.5", 0, 0}),
                          json::array({"e5", 0, 0}),
                          json::array({"1e", 0, 0}),
                          json::array({"0.5E+", 0, 0}),
                          json::array({"0.5e1.0", 0, 0}),
                          json::array({"0.5e--1", 0, 0}),
                          json::array({" 0.5", 0, 0}),
                          json::array({"0_5", 0, 0}),
                          json::array({"1e-2147483649", 0, 0}),
                          json::array({"0e2147483648", 0, 0}),
                          json::array({"5e2147483647", 0, 0}),
                          json::array({true, 0, 0}),
                          json::array({nullptr, 0, 0}),
                          json::array({"0.99999", 0, 0})}) {
    EXPECT_THROW(vdaf->shard(bad, nonce), VdafInputError) << bad.dump();
  }
  // Just inside: the norm (1 − 2^−15)² and 0.5² + 0.5² + 0.5².
  EXPECT_NO_THROW(vdaf->shard(json::array({-0.999969482421875, 0, 0}), nonce));
  EXPECT_NO_THROW(vdaf->shard(json::array({0.5, 0.5, -0.5}), nonce));
}

// P3:1880-1945: tampering with the leader's measurement share, its proof share or its joint
// randomness blind fails preparation; random bytes anywhere fail cleanly.
TEST(Prio3FixedPoint, TamperedSharesFailPreparation) {
  auto vdaf = fixed_point(16, 3);
  const Bytes verify_key(16, 5), nonce(16, 6);
  const VdafShards shards = vdaf->shard(json::array({0.25, 0.125, 0.0625}), nonce);
  const std::size_t meas_bytes = 78 * 16, proof_bytes = 55 * 16;
  ASSERT_EQ(shards.input_shares[0].size(), meas_bytes + proof_bytes + 16);
  auto prepares = [&](const Bytes& leader_share) {
    try {
      const VdafPrepInit leader =
          vdaf->prep_init(verify_key, 0, {}, nonce, shards.public_share, leader_share);
      const VdafPrepInit helper =
          vdaf->prep_init(verify_key, 1, {}, nonce, shards.public_share, shards.input_shares[1]);
      const Bytes message =
          vdaf->prep_shares_to_prep({}, std::vector<Bytes>{leader.prep_share, helper.prep_share});
      vdaf->prep_next(leader.state, message);
      vdaf->prep_next(helper.state, message);
      return true;
    } catch (const VdafError&) {
      return false;
    }
  };
  EXPECT_TRUE(prepares(shards.input_shares[0]));
  for (const std::size_t offset : {std::size_t{0}, meas_bytes + 16, meas_bytes + proof_bytes}) {
    Bytes tampered = shards.input_shares[0];
    tampered[offset] ^= 1;
    EXPECT_FALSE(prepares(tampered)) << "byte " << offset;
  }
  testing::prepare_with_random_bytes(*vdaf, shards, verify_key, nonce, 200, 41);
}

// FL:762-763: noise from libprio's seeded stream for epsilon 100/3 (sigma = 2^n·3/100), added to
// the encoded [1/4, 1/8, 1/16] and decoded over one report.
TEST(Prio3FixedPoint, SeededGaussianNoiseDecodesAsLibprio) {
  const json strategy = json::parse(
      R"({"dp_strategy": "ZCdpDiscreteGaussian", "budget": {"epsilon": [[100], [3]]}})");
  const auto budget =
      dp::parse_dp_strategy(strategy, "test", dp::DpStrategy::kZCdpDiscreteGaussian);
  ASSERT_TRUE(budget);
  struct Case {
    std::size_t bits;
    std::vector<std::int64_t> noise;
    json decoded;
  };
  for (const Case& c : std::vector<Case>{
           {16, {1277, 1437, 759}, {0.288970947265625, 0.168853759765625, 0.085662841796875}},
           {32,
            {16772479, -40057908, 83730467},
            {0.257810294162482, 0.10634658299386501, 0.10149003705009818}}}) {
    dp::Bignum sensitivity = dp::bignum(0);
    ASSERT_EQ(BN_set_bit(sensitivity.get(), static_cast<int>(c.bits)), 1);
    const dp::DiscreteGaussian gaussian = dp::gaussian_for(*budget, sensitivity.get());
    const std::array<std::uint8_t, 16> zero_seed{};
    auto random = dp::seeded_turboshake_random(zero_seed);
    auto vdaf = fixed_point(c.bits, 3, strategy);
    std::vector<Bytes> shares = aggregate(*vdaf, {json::array({0.25, 0.125, 0.0625})});
    vdaf->merge(shares[0], {}, shares[1]);
    Bytes noised;
    for (std::size_t i = 0; i < 3; ++i) {
      const dp::Bignum sample = gaussian.sample(*random);
      const std::int64_t value = static_cast<std::int64_t>(BN_get_word(sample.get()));
      EXPECT_EQ(BN_is_negative(sample.get()) ? -value : value, c.noise[i]) << c.bits;
      Field128 element = *Field128::decode(shares[0].data() + 16 * i);
      element += c.noise[i] >= 0 ? Field128::from_u64(static_cast<std::uint64_t>(c.noise[i]))
                                 : -Field128::from_u64(static_cast<std::uint64_t>(-c.noise[i]));
      noised.resize(16 * (i + 1));
      element.encode(noised.data() + 16 * i);
    }
    EXPECT_EQ(vdaf->unshard({}, std::vector<Bytes>{noised, vdaf->empty_aggregate_share({})}, 1),
              c.decoded)
        << c.bits;
  }
}

VdafDescription from_yaml(const std::string& text) { return vdaf_from_yaml(YAML::Load(text)); }

// Janus 0.7's tasks.yaml spelling (core/src/vdaf.rs:820-845), its required dp_strategy, and
// noise on the aggregate shares that still decode.
TEST(Prio3FixedPoint, JanusConfigurationAndNoise) {
  const std::string yaml =
      "!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize16\ndp_strategy:\n"
      "  dp_strategy: ZCdpDiscreteGaussian\n  budget:\n    epsilon: [[1], [2]]\nlength: 10\n";
  auto noisy = make_prio3(from_yaml(yaml));
  EXPECT_EQ(noisy->algorithm_id(), kFixedPointBoundedL2VecSumId);
  EXPECT_EQ(noisy->verify_key_size(), 16u);
  std::vector<json> measurements(4, json::array({0.125, 0, 0, 0, 0, 0, 0, 0, 0, -0.125}));
  std::vector<Bytes> shares = aggregate(*noisy, measurements);
  const std::vector<Bytes> before = shares;
  for (Bytes& share : shares) noisy->add_noise_to_aggregate_share(share, {}, 4);
  // sigma = 2^17 on 20 elements: all draws zero has probability below 1e-90.
  EXPECT_NE(shares, before);
  const json noised = noisy->unshard({}, shares, 4);
  ASSERT_TRUE(noised.is_array());
  ASSERT_EQ(noised.size(), 10u);
  for (const json& value : noised) EXPECT_TRUE(value.is_number_float());

  // A huge epsilon: sigma = 2^16 / 10^6, so the noise is zero (with probability 1 − 1e-48).
  auto precise =
      make_prio3(from_yaml("!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize32\ndp_strategy:\n"
                           "  dp_strategy: ZCdpDiscreteGaussian\n  budget:\n    epsilon: "
                           "[[1000000], [1]]\nlength: 2\n"));
  shares = aggregate(*precise, {json::array({0.5, -0.25}), json::array({0.25, 0.5})});
  for (Bytes& share : shares) precise->add_noise_to_aggregate_share(share, {}, 2);
  // sigma = 2^32 / 10^6 ≈ 4295 raw units: the result moves by well under 2^−12.
  const json result = precise->unshard({}, shares, 2);
  EXPECT_NEAR(result[0].get<double>(), 0.75, 1.0 / 4096);
  EXPECT_NEAR(result[1].get<double>(), 0.25, 1.0 / 4096);

  auto plain =
      make_prio3(from_yaml("!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize32\ndp_strategy:\n"
                           "  dp_strategy: NoDifferentialPrivacy\nlength: 2\n"));
  shares = aggregate(*plain, {json::array({0.5, -0.25})});
  const std::vector<Bytes> untouched = shares;
  plain->add_noise_to_aggregate_share(shares[0], {}, 1);
  EXPECT_EQ(shares, untouched);

  for (const std::string bad : {
           "!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize16\nlength: 10\n",
           "!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize8\nlength: 10\n"
           "dp_strategy:\n  dp_strategy: NoDifferentialPrivacy\n",
           "!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize16\nlength: 0\n"
           "dp_strategy:\n  dp_strategy: NoDifferentialPrivacy\n",
           "!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize16\nlength: 10\n"
           "dp_strategy:\n  dp_strategy: PureDpDiscreteLaplace\n  budget:\n    epsilon: [[1], "
           "[2]]\n",
           "!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize16\nlength: 10\n"
           "dp_strategy:\n  dp_strategy: ZCdpDiscreteGaussian\n  budget:\n    epsilon: [[0], "
           "[2]]\n",
           "!Prio3FixedPointBoundedL2VecSum\nbitsize: BitSize16\nlength: 10\nchunk_length: 3\n"
           "dp_strategy:\n  dp_strategy: NoDifferentialPrivacy\n",
       }) {
    EXPECT_THROW(make_prio3(from_yaml(bad)), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace janus::prio3
