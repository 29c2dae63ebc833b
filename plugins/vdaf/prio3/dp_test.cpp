// Differential privacy (dp.h): the exact discrete Laplace and Gaussian samplers against their
// distributions (fixed seeds, so each check is deterministic; the bounds are many standard
// errors wide, so a correct sampler fails them with negligible probability for any seed) and
// against libprio 0.16.8's seeded samples (testdata/discrete_gauss_*.json, see its README),
// Janus's dp_strategy forms, and the noise on Prio3 aggregate shares, which still unshard.
#include "dp.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <tuple>

#include "prio3.h"
#include "test_support.h"

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

// Samples of a distribution on the integers symmetric about 0, with probabilities `pmf` and
// the given variance: the mean within 6 standard errors of 0, the sample variance within
// `variance_tolerance` (relative), and Pearson's chi-square over the values with at least 50
// expected, plus one bin for the tails, below bins + 10·sqrt(2·bins) + 30 (`bins` degrees of
// freedom: above their 1e-6 upper quantile).
void expect_distribution(const std::vector<std::int64_t>& xs,
                         const std::function<double(std::int64_t)>& pmf, double variance,
                         double variance_tolerance, const std::string& label) {
  const auto n = static_cast<double>(xs.size());
  double sum = 0, squares = 0;
  std::map<std::int64_t, std::size_t> counts;
  for (std::int64_t x : xs) {
    sum += static_cast<double>(x);
    squares += static_cast<double>(x) * static_cast<double>(x);
    ++counts[x];
  }
  const double mean = sum / n;
  EXPECT_LT(std::abs(mean), 6 * std::sqrt(variance / n)) << label;
  EXPECT_NEAR(squares / n - mean * mean, variance, variance_tolerance * variance) << label;

  double chi_square = 0, expected_in_bins = 0;
  std::size_t observed_in_bins = 0, bins = 0;
  for (std::int64_t x = 0; pmf(x) * n >= 50; ++x) {
    for (std::int64_t value :
         x == 0 ? std::vector<std::int64_t>{0} : std::vector<std::int64_t>{x, -x}) {
      const double expected = pmf(value) * n;
      const double observed = static_cast<double>(counts[value]);
      chi_square += (observed - expected) * (observed - expected) / expected;
      expected_in_bins += expected;
      observed_in_bins += counts[value];
      ++bins;
    }
  }
  const double tail_expected = n - expected_in_bins;
  const double tail_observed = n - static_cast<double>(observed_in_bins);
  if (tail_expected >= 1) {
    chi_square += (tail_observed - tail_expected) * (tail_observed - tail_expected) / tail_expected;
  }
  EXPECT_LT(chi_square, static_cast<double>(bins) + 10 * std::sqrt(2.0 * bins) + 30)
      << label << ", " << bins << " bins";
}

// L_Z(0, b): P(x) = (1 - q) / (1 + q) · q^|x| with q = exp(-1/b); variance 2q / (1 - q)^2.
TEST(DiscreteLaplace, MatchesItsDistribution) {
  for (const auto& [numerator, denominator, seed] :
       std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>>{
           {5, 2, 1}, {1, 1, 2}, {20, 1, 3}, {10, 4, 4}}) {
    const double b = static_cast<double>(numerator) / static_cast<double>(denominator);
    const double q = std::exp(-1.0 / b);
    const double variance = 2 * q / ((1 - q) * (1 - q));
    // Kurtosis 6: a 12 % variance tolerance is over 5 standard errors at n = 20,000.
    expect_distribution(
        samples(numerator, denominator, 20'000, seed),
        [q](std::int64_t x) {
          return (1 - q) / (1 + q) * std::pow(q, static_cast<double>(x < 0 ? -x : x));
        },
        variance, 0.12, "scale " + std::to_string(b));
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

// --- The discrete Gaussian ---

Bignum decimal(const std::string& text) {
  BIGNUM* value = nullptr;
  if (BN_dec2bn(&value, text.c_str()) != static_cast<int>(text.size())) {
    throw std::runtime_error("not a decimal integer: " + text);
  }
  return Bignum(value);
}

std::string to_decimal(const Bignum& value) {
  char* text = BN_bn2dec(value.get());
  std::string out(text);
  OPENSSL_free(text);
  return out;
}

// The raw text of a JSON member's value (numbers here exceed 64 bits, which nlohmann::json
// would round to doubles): a scalar, or the comma-separated items of an array.
std::vector<std::string> raw_member(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\"");
  if (at == std::string::npos) throw std::runtime_error("no member " + key);
  std::size_t i = json.find(':', at) + 1;
  while (std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  const bool array = json[i] == '[';
  const std::size_t end = array ? json.find(']', i) : json.find_first_of(",}\n", i);
  std::string body = json.substr(array ? i + 1 : i, end - (array ? i + 1 : i));
  std::vector<std::string> items;
  std::stringstream stream(body);
  for (std::string item; std::getline(stream, item, ',');) {
    item.erase(0, item.find_first_not_of(" \t\r\n\""));
    item.erase(item.find_last_not_of(" \t\r\n\"") + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

std::string read_testdata_text(const std::string& name) {
  const std::string path = std::string(JANUS_SOURCE_DIR) + "/plugins/vdaf/prio3/testdata/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::array<std::uint8_t, 16> seed_of(const std::string& hex) {
  std::array<std::uint8_t, 16> seed{};
  if (hex.size() != 32) throw std::runtime_error("seed must be 16 bytes");
  for (std::size_t i = 0; i < 16; ++i) {
    seed[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return seed;
}

// libprio's tests/discrete_gauss.rs: from SeedStreamTurboShake128::from_seed(seed), the
// sampler for sigma = std_num / std_denom draws exactly these samples (made by the CKS20
// authors' Python reference; libprio reproduces them).
TEST(DiscreteGaussian, ReproducesLibprioSeededVectors) {
  for (const std::string name : {"3", "9", "100", "41293847", "9999999999999999999999", "2.342"}) {
    const std::string json = read_testdata_text("discrete_gauss_" + name + ".json");
    const Bignum numerator = decimal(raw_member(json, "std_num").at(0));
    const Bignum denominator = decimal(raw_member(json, "std_denom").at(0));
    const DiscreteGaussian gaussian(numerator.get(), denominator.get());
    auto random = seeded_turboshake_random(seed_of(raw_member(json, "seed").at(0)));
    const std::vector<std::string> expected = raw_member(json, "samples");
    ASSERT_EQ(expected.size(), 49u) << name;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(to_decimal(gaussian.sample(*random)), expected[i]) << name << " sample " << i;
    }
  }
}

std::vector<std::int64_t> gaussian_samples(const DiscreteGaussian& gaussian, std::size_t n,
                                           RandomSource& random) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(to_int(gaussian.sample(random)));
  return out;
}

// libprio's src/dp/distributions.rs unit tests: sigma 5 from the zero seed, and Janus's
// ZCdpDiscreteGaussian at epsilon 1/4 with sensitivity 1 is sigma 4.
TEST(DiscreteGaussian, ReproducesLibprioUnitTests) {
  const std::array<std::uint8_t, 16> zero{};
  const Bignum five = bignum(5), one = bignum(1), four = bignum(4);
  auto random = seeded_turboshake_random(zero);
  const DiscreteGaussian sigma5(five.get(), one.get());
  EXPECT_EQ(gaussian_samples(sigma5, 10, *random),
            (std::vector<std::int64_t>{0, -3, -2, 3, 2, -1, -5, 4, -7, -5}));
  EXPECT_EQ(gaussian_samples(sigma5, 10, *random),
            (std::vector<std::int64_t>{2, 7, -8, -3, 1, -3, -3, 6, -3, -1}));

  const auto budget =
      parse_dp_strategy(nlohmann::json::parse(R"({"dp_strategy": "ZCdpDiscreteGaussian",
                                "budget": {"epsilon": [[1], [4]]}})"),
                        "V", DpStrategy::kZCdpDiscreteGaussian);
  ASSERT_TRUE(budget);
  const DiscreteGaussian from_budget = gaussian_for(*budget, one.get());
  const DiscreteGaussian sigma4(four.get(), one.get());
  auto first = seeded_turboshake_random(zero);
  auto second = seeded_turboshake_random(zero);
  EXPECT_EQ(gaussian_samples(from_budget, 10, *first), gaussian_samples(sigma4, 10, *second));
}

// N_Z(0, sigma²): P(x) ∝ exp(-x²/(2 sigma²)); mean 0, variance (just under) sigma².
TEST(DiscreteGaussian, MatchesItsDistribution) {
  for (const auto& [numerator, denominator, seed] :
       std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>>{
           {5, 1, 11}, {3, 2, 12}, {100, 7, 13}, {7, 10, 14}}) {
    const double sigma = static_cast<double>(numerator) / static_cast<double>(denominator);
    const Bignum a = bignum(numerator), b = bignum(denominator);
    const DiscreteGaussian gaussian(a.get(), b.get());
    SeededRandom random(seed);
    // The exact probabilities, normalized over a range far past any mass that matters.
    std::map<std::int64_t, double> p;
    double total = 0, variance = 0;
    const auto reach = static_cast<std::int64_t>(40 * sigma) + 5;
    for (std::int64_t x = -reach; x <= reach; ++x) {
      p[x] = std::exp(-static_cast<double>(x * x) / (2 * sigma * sigma));
      total += p[x];
    }
    for (auto& [x, probability] : p) {
      probability /= total;
      variance += probability * static_cast<double>(x * x);
    }
    // Kurtosis about 3: the sample variance's standard error is near sqrt(2/n), 1 % at
    // n = 20,000, so 8 % is many standard errors.
    expect_distribution(
        gaussian_samples(gaussian, 20'000, random),
        [&p](std::int64_t x) { return p.contains(x) ? p.at(x) : 0.0; }, variance, 0.08,
        "sigma " + std::to_string(sigma));
  }
  const Bignum zero = bignum(0), one = bignum(1);
  EXPECT_THROW(DiscreteGaussian(zero.get(), one.get()), std::invalid_argument);
  EXPECT_THROW(DiscreteGaussian(one.get(), zero.get()), std::invalid_argument);
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

  // The fixed-point vector's strategy: ZCdpDiscreteGaussian, and only that (or none).
  auto gaussian = [](const std::string& epsilon) {
    return json::parse(R"({"dp_strategy": "ZCdpDiscreteGaussian", "budget": {"epsilon": )" +
                       epsilon + "}}");
  };
  budget = parse_dp_strategy(gaussian("[[100], [3]]"), "V", DpStrategy::kZCdpDiscreteGaussian);
  ASSERT_TRUE(budget);
  EXPECT_EQ(BN_get_word(budget->epsilon_numerator.get()), 100u);
  EXPECT_EQ(BN_get_word(budget->epsilon_denominator.get()), 3u);
  EXPECT_FALSE(parse_dp_strategy(json::parse(R"({"dp_strategy": "NoDifferentialPrivacy"})"), "V",
                                 DpStrategy::kZCdpDiscreteGaussian));
  for (const json& bad : {laplace("[[1], [10]]"), gaussian("[[0], [1]]"), gaussian("[[1], [0]]"),
                          json::parse(R"({"dp_strategy": "ZCdpDiscreteGaussian"})")}) {
    EXPECT_THROW(parse_dp_strategy(bad, "V", DpStrategy::kZCdpDiscreteGaussian),
                 std::invalid_argument)
        << bad.dump();
  }
}

using testing::aggregate;

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
