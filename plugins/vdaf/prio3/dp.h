// Differential privacy for Prio3 as Janus 0.7 configures it (libprio 0.16's
// PureDpDiscreteLaplace): each aggregator adds independent discrete Laplace noise, with scale
// sensitivity / epsilon, to every element of its aggregate share, projected into the field.
// The sampler is exact, on rationals of arbitrary size (OpenSSL BIGNUM): Canonne, Kamath and
// Steinke, "The Discrete Gaussian for Differential Privacy" (2020), Algorithms 1 and 2, as
// libprio implements them (src/dp/distributions.rs).
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

// The discrete Laplace distribution L_Z(0, scale): P(x) ∝ exp(-|x| / scale) on the integers.
class DiscreteLaplace {
 public:
  // scale = numerator / denominator; throws std::invalid_argument unless both are positive.
  DiscreteLaplace(const bignum_st* numerator, const bignum_st* denominator);
  // One sample (negative values included).
  Bignum sample(RandomSource& random) const;
  // The same, reduced into [0, modulus).
  Bignum sample_mod(RandomSource& random, const bignum_st* modulus) const;

 private:
  Bignum numerator_, denominator_;
};

// Janus's dp_strategy for Prio3SumVec and Prio3Histogram (vdaf_dp_strategies): absent or
// {"dp_strategy": "NoDifferentialPrivacy"} is nullopt; {"dp_strategy":
// "PureDpDiscreteLaplace", "budget": {"epsilon": [[digits…], [digits…]]}} (epsilon a ratio
// of num-bigint numbers, each a list of base-2^32 digits, least significant first) gives its
// epsilon. Throws std::invalid_argument naming the VDAF for anything else.
struct PureDpBudget {
  Bignum epsilon_numerator, epsilon_denominator;
};
std::optional<PureDpBudget> parse_dp_strategy(const nlohmann::json& strategy,
                                              const std::string& vdaf_name);

// The noise for a query of L1 `sensitivity` under `budget`: scale = sensitivity / epsilon.
DiscreteLaplace laplace_for(const PureDpBudget& budget, const bignum_st* sensitivity);

// The L1 sensitivity of Prio3SumVec(bits, length) (libprio 0.16's AddNoiseToAggregateShare
// for SumVec): substituting one measurement moves each of `length` elements by at most
// 2^bits - 1.
Bignum sum_vec_sensitivity(std::size_t bits, std::size_t length);

}  // namespace janus::prio3::dp
