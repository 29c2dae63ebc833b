// Differential privacy for Prio3 as Janus 0.7 configures it (libprio 0.16's
// PureDpDiscreteLaplace for SumVec and Histogram, ZCdpDiscreteGaussian for
// FixedPointBoundedL2VecSum): each aggregator adds independent noise to every element of its
// aggregate share, projected into the field. The samplers are exact, on rationals of arbitrary
// size (OpenSSL BIGNUM): Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential
// Privacy" (2020), Algorithms 1 to 3, as libprio 0.16.8 implements them
// (src/dp/distributions.rs). They consume randomness exactly as libprio does (every ratio in
// lowest terms, num-bigint 0.4's uniform sampler), so from the same seeded stream they draw
// the same samples: libprio's own discrete Gaussian vectors check that (dp_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

struct bignum_st;

namespace janus::prio3::dp {

struct BignumFree {
  void operator()(bignum_st* value) const;
};
using Bignum = std::unique_ptr<bignum_st, BignumFree>;

Bignum bignum(std::uint64_t value);

// Where the sampler's randomness comes from: the system CSPRNG in production, a seeded
// generator in the statistical tests.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};
RandomSource& system_random();

// libprio's seeded generator (SeedStreamTurboShake128::from_seed): XofTurboShake128 with an
// empty DST over a 16-byte seed. For reproducing libprio's sampler vectors; never for noise.
std::unique_ptr<RandomSource> seeded_turboshake_random(std::span<const std::uint8_t, 16> seed);

// A distribution on the integers, sampled exactly.
class IntegerNoise {
 public:
  virtual ~IntegerNoise() = default;
  // One sample (negative values included).
  virtual Bignum sample(RandomSource& random) const = 0;
  // The same, reduced into [0, modulus).
  Bignum sample_mod(RandomSource& random, const bignum_st* modulus) const;
};

// The discrete Laplace distribution L_Z(0, scale): P(x) ∝ exp(-|x| / scale) on the integers.
class DiscreteLaplace final : public IntegerNoise {
 public:
  // scale = numerator / denominator; throws std::invalid_argument unless both are positive.
  DiscreteLaplace(const bignum_st* numerator, const bignum_st* denominator);
  Bignum sample(RandomSource& random) const override;

 private:
  Bignum numerator_, denominator_;  // in lowest terms
};

// The discrete Gaussian distribution N_Z(0, sigma²): P(x) ∝ exp(-x² / (2·sigma²)).
class DiscreteGaussian final : public IntegerNoise {
 public:
  // sigma = numerator / denominator; throws std::invalid_argument unless both are positive.
  DiscreteGaussian(const bignum_st* numerator, const bignum_st* denominator);
  Bignum sample(RandomSource& random) const override;

 private:
  Bignum numerator_, denominator_;  // in lowest terms
};

// The privacy budget of either strategy: epsilon, a positive ratio.
struct EpsilonBudget {
  Bignum epsilon_numerator, epsilon_denominator;
};
using PureDpBudget = EpsilonBudget;

// The strategy a VDAF admits besides NoDifferentialPrivacy (Janus 0.7's vdaf_dp_strategies).
enum class DpStrategy { kPureDpDiscreteLaplace, kZCdpDiscreteGaussian };

// Janus's dp_strategy: {"dp_strategy": "NoDifferentialPrivacy"} (or that bare string) is
// nullopt; {"dp_strategy": "<the admitted strategy>", "budget": {"epsilon": [[digits…],
// [digits…]]}} (epsilon a ratio of num-bigint numbers, each a list of base-2^32 digits, least
// significant first) gives its epsilon, which must be positive (libprio would divide by a
// zero epsilon). Throws std::invalid_argument naming the VDAF for anything else.
std::optional<EpsilonBudget> parse_dp_strategy(
    const nlohmann::json& strategy, const std::string& vdaf_name,
    DpStrategy admitted = DpStrategy::kPureDpDiscreteLaplace);

// Pure DP noise for a query of L1 `sensitivity`: Laplace of scale sensitivity / epsilon.
DiscreteLaplace laplace_for(const EpsilonBudget& budget, const bignum_st* sensitivity);
// ε²/2-zCDP noise for a query of L2 `sensitivity` (CKS20 Theorem 4): Gaussian of standard
// deviation sensitivity / epsilon.
DiscreteGaussian gaussian_for(const EpsilonBudget& budget, const bignum_st* sensitivity);

// The L1 sensitivity of Prio3SumVec(bits, length) (libprio 0.16's AddNoiseToAggregateShare
// for SumVec): substituting one measurement moves each of `length` elements by at most
// 2^bits - 1.
Bignum sum_vec_sensitivity(std::size_t bits, std::size_t length);

}  // namespace janus::prio3::dp
