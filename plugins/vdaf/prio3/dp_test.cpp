// Differential privacy (dp.h): the exact discrete Laplace sampler against its distribution
// (fixed seeds, so each check is deterministic; the bounds are many standard errors wide, so
// a correct sampler fails them with negligible probability for any seed), Janus's dp_strategy
// forms, and the noise on Prio3 aggregate shares, which still unshard.
#include "dp.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <map>
#include <random>

#include "prio3.h"

namespace janus::prio3::dp {
namespace {

class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  void fill(std::span<std::uint8_t> out) override {
    for (std::uint8_t& byte : out) byte = static_cast<std::uint8_t>(engine_());
  }

 private:
  std::mt19937_64 engine_;
};

std::int64_t to_int(const Bignum& value) {
  const std::int64_t magnitude = static_cast<std::int64_t>(BN_get_word(value.get()));
  return BN_is_negative(value.get()) ? -magnitude : magnitude;
}

std::vector<std::int64_t> samples(std::uint64_t scale_numerator, std::uint64_t scale_denominator,
                                  std::size_t n, std::uint64_t seed) {
  const Bignum numerator = bignum(scale_numerator), denominator = bignum(scale_denominator);
  DiscreteLaplace laplace(numerator.get(), denominator.get());
  SeededRandom random(seed);
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(to_int(laplace.sample(random)));
  return out;
}

// L_Z(0, b): P(x) = (1 - q) / (1 + q) · q^|x| with q = exp(-1/b); variance 2q / (1 - q)^2.
TEST(DiscreteLaplace, MatchesItsDistribution) {
  for (const auto& [numerator, denominator, seed] :
       std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>>{
           {5, 2, 1}, {1, 1, 2}, {20, 1, 3}, {10, 4, 4}}) {
    const double b = static_cast<double>(numerator) / static_cast<double>(denominator);
    const double q = std::exp(-1.0 / b);
    const double variance = 2 * q / ((1 - q) * (1 - q));
    const std::size_t n = 20'000;
    const std::vector<std::int64_t> xs = samples(numerator, denominator, n, seed);
    double sum = 0, squares = 0;
    std::map<std::int64_t, std::size_t> counts;
    for (std::int64_t x : xs) {
      sum += static_cast<double>(x);
      squares += static_cast<double>(x) * static_cast<double>(x);
      ++counts[x];
    }
    const double mean = sum / n;
    // The mean within 6 standard errors of 0; the variance within 12 % (kurtosis 6: that is
    // over 5 standard errors at n = 20,000).
    EXPECT_LT(std::abs(mean), 6 * std::sqrt(variance / n)) << "scale " << b;
    EXPECT_NEAR(squares / n - mean * mean, variance, 0.12 * variance) << "scale " << b;

    // Pearson's chi-square over the values with at least 50 expected, and the two tails.
    double chi_square = 0, expected_in_bins = 0;
    std::size_t observed_in_bins = 0, bins = 0;
    for (std::int64_t x = 0;; ++x) {
      const double p = (1 - q) / (1 + q) * std::pow(q, static_cast<double>(x));
      if (p * n < 50) break;
      for (std::int64_t value :
           x == 0 ? std::vector<std::int64_t>{0} : std::vector<std::int64_t>{x, -x}) {
        const double observed = static_cast<double>(counts[value]);
        chi_square += (observed - p * n) * (observed - p * n) / (p * n);
        expected_in_bins += p * n;
        observed_in_bins += counts[value];
        ++bins;
      }
    }
    const double tail_expected = n - expected_in_bins;
    const double tail_observed = static_cast<double>(n - observed_in_bins);
    chi_square += (tail_observed - tail_expected) * (tail_observed - tail_expected) / tail_expected;
    // `bins` degrees of freedom; the 1e-6 upper quantile is below bins + 10·sqrt(2·bins) + 30.
    EXPECT_LT(chi_square, static_cast<double>(bins) + 10 * std::sqrt(2.0 * bins) + 30)
        << "scale " << b << ", " << bins << " bins";
  }
}

TEST(DiscreteLaplace, TinyScaleIsAlmostAlwaysZeroAndHugeScalesWork) {
  for (std::int64_t x : samples(1, 1000, 1000, 7)) EXPECT_EQ(x, 0);
  // Scale 2^100: samples of ~100 bits; reduced mod a prime they land in [0, p).
  Bignum numerator = bignum(0);
  ASSERT_EQ(BN_set_bit(numerator.get(), 100), 1);
  const Bignum one = bignum(1);
  DiscreteLaplace wide(numerator.get(), one.get());
  SeededRandom random(8);
  const Bignum modulus = bignum(0xffffffff00000001ULL);
  bool large = false;
  for (int i = 0; i < 20; ++i) {
    Bignum sample = wide.sample(random);
    large = large || BN_num_bits(sample.get()) > 64;
    Bignum reduced = wide.sample_mod(random, modulus.get());
    EXPECT_FALSE(BN_is_negative(reduced.get()));
    EXPECT_LT(BN_cmp(reduced.get(), modulus.get()), 0);
  }
  EXPECT_TRUE(large);
  const Bignum zero = bignum(0);
  EXPECT_THROW(DiscreteLaplace(zero.get(), one.get()), std::invalid_argument);
  EXPECT_THROW(DiscreteLaplace(one.get(), zero.get()), std::invalid_argument);
}

TEST(DpStrategy, JanusFormsParse) {
  using nlohmann::json;
  EXPECT_FALSE(parse_dp_strategy(json("NoDifferentialPrivacy"), "V"));
  EXPECT_FALSE(parse_dp_strategy(json::parse(R"({"dp_strategy": "NoDifferentialPrivacy"})"), "V"));
  auto laplace = [](const std::string& epsilon) {
    return json::parse(R"({"dp_strategy": "PureDpDiscreteLaplace", "budget": {"epsilon": )" +
                       epsilon + "}}");
  };
  auto budget = parse_dp_strategy(laplace("[[1], [10]]"), "V");
  ASSERT_TRUE(budget);
  EXPECT_EQ(BN_get_word(budget->epsilon_numerator.get()), 1u);
  EXPECT_EQ(BN_get_word(budget->epsilon_denominator.get()), 10u);
  // num-bigint digits are base 2^32, least significant first: [0, 1] is 2^32.
  budget = parse_dp_strategy(laplace("[[0, 1], [3]]"), "V");
  ASSERT_TRUE(budget);
  EXPECT_EQ(BN_get_word(budget->epsilon_numerator.get()), 1ULL << 32);

  for (const json& bad : {
           json("Laplace"),
           json::parse(R"({"dp_strategy": "PureDpDiscreteLaplace"})"),
           laplace("[[0], [1]]"),
           laplace("[[1], [0]]"),
           laplace("[1, 1]"),
           laplace("[[4294967296], [1]]"),
           laplace("[[1], [1], [1]]"),
           json::parse(R"({"dp_strategy": "PureDpDiscreteLaplace",
                           "budget": {"epsilon": [[1], [1]], "delta": 1}})"),
           json::parse(R"({"dp_strategy": "ZCdpDiscreteGaussian",
                           "budget": {"epsilon": [[1], [1]]}})"),
       }) {
    EXPECT_THROW(parse_dp_strategy(bad, "V"), std::invalid_argument) << bad.dump();
  }
}

// The aggregate share of `measurements`, as both aggregators together hold it.
std::vector<Bytes> aggregate(const Vdaf& vdaf, const std::vector<nlohmann::json>& measurements) {
  std::vector<Bytes> shares = {vdaf.empty_aggregate_share({}), vdaf.empty_aggregate_share({})};
  const Bytes verify_key(vdaf.verify_key_size(), 1);
  for (const nlohmann::json& measurement : measurements) {
    const Bytes nonce(vdaf.nonce_size(),
                      static_cast<std::uint8_t>(&measurement - &measurements[0]));
    const VdafShards input = vdaf.shard(measurement, nonce);
    VdafPrepInit inits[2];
    std::vector<Bytes> prep_shares;
    for (std::size_t side = 0; side < 2; ++side) {
      inits[side] =
          vdaf.prep_init(verify_key, side, {}, nonce, input.public_share, input.input_shares[side]);
      prep_shares.push_back(inits[side].prep_share);
    }
    const Bytes message = vdaf.prep_shares_to_prep({}, prep_shares);
    for (std::size_t side = 0; side < 2; ++side) {
      vdaf.accumulate(shares[side], {}, *vdaf.prep_next(inits[side].state, message).output_share);
    }
  }
  return shares;
}

VdafDescription from_yaml(const std::string& text) { return vdaf_from_yaml(YAML::Load(text)); }

TEST(DpStrategy, NoisedAggregateSharesStillUnshard) {
  // Janus 0.7's own tasks.yaml spelling (core/src/vdaf.rs tests).
  const auto histogram = make_prio3(from_yaml(
      "!Prio3Histogram\nlength: 12\nchunk_length: 4\ndp_strategy:\n"
      "    dp_strategy: PureDpDiscreteLaplace\n    budget:\n        epsilon: [[1], [10]]\n"));
  const std::vector<nlohmann::json> measurements = {0, 3, 3, 11, 5};
  std::vector<Bytes> shares = aggregate(*histogram, measurements);
  const nlohmann::json exact = histogram->unshard({}, shares, measurements.size());
  const std::vector<Bytes> before = shares;
  for (Bytes& share : shares) histogram->add_noise_to_aggregate_share(share, {}, 5);
  // Scale 20 on 12 buckets and two shares: all 24 draws zero has probability below 1e-38.
  EXPECT_NE(shares, before);
  const nlohmann::json noised = histogram->unshard({}, shares, measurements.size());
  ASSERT_TRUE(noised.is_array());
  EXPECT_EQ(noised.size(), 12u);
  EXPECT_NE(noised, exact);

  // A huge epsilon: scale 2e-6, so the noise is zero (with probability 1 - 2^-700000).
  const auto precise = make_prio3(from_yaml(
      "!Prio3SumVec\nbits: 2\nlength: 3\nchunk_length: 2\ndp_strategy:\n"
      "    dp_strategy: PureDpDiscreteLaplace\n    budget:\n        epsilon: [[1000000], [1]]\n"));
  const std::vector<nlohmann::json> vectors = {nlohmann::json::array({1, 2, 3}),
                                               nlohmann::json::array({3, 0, 1})};
  shares = aggregate(*precise, vectors);
  for (Bytes& share : shares) precise->add_noise_to_aggregate_share(share, {}, 2);
  EXPECT_EQ(precise->unshard({}, shares, 2), nlohmann::json::array({4, 2, 4}));

  // Without a strategy nothing changes; the multiproof SumVec takes one too.
  const auto plain = make_prio3(from_yaml("!Prio3Histogram\nlength: 4\nchunk_length: 2\n"));
  Bytes share = aggregate(*plain, {1})[0];
  const Bytes untouched = share;
  plain->add_noise_to_aggregate_share(share, {}, 1);
  EXPECT_EQ(share, untouched);
  const auto multiproof = make_prio3(
      from_yaml("!Prio3SumVecField64MultiproofHmacSha256Aes128\nproofs: 2\nbits: 1\nlength: 8\n"
                "chunk_length: 3\ndp_strategy:\n    dp_strategy: PureDpDiscreteLaplace\n"
                "    budget:\n        epsilon: [[1], [1]]\n"));
  share = aggregate(*multiproof, {nlohmann::json::array({1, 0, 1, 0, 1, 0, 1, 0})})[0];
  multiproof->add_noise_to_aggregate_share(share, {}, 1);
  multiproof->check_aggregate_share(share);

  // Count and Sum take no dp_strategy (as Janus's VdafInstance), and a malformed one is refused.
  EXPECT_THROW(make_prio3(from_yaml("!Prio3Count\ndp_strategy: NoDifferentialPrivacy\n")),
               std::invalid_argument);
  EXPECT_THROW(make_prio3(from_yaml("!Prio3Histogram\nlength: 4\nchunk_length: 2\ndp_strategy:\n"
                                    "    dp_strategy: PureDpDiscreteLaplace\n")),
               std::invalid_argument);
  Bytes wrong_length(5, 0);
  EXPECT_THROW(histogram->add_noise_to_aggregate_share(wrong_length, {}, 1), VdafError);
}

}  // namespace
}  // namespace janus::prio3::dp
