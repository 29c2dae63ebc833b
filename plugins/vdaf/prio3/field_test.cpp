#include <gtest/gtest.h>

#include <random>

#include "field.h"
#include "ntt.h"

namespace janus::prio3 {
namespace {

// Reference multiplication mod p by double-and-add on plain integers.
uint128 slow_mul_mod(uint128 a, uint128 b, uint128 p) {
  uint128 result = 0;
  a %= p;
  while (b != 0) {
    if (b & 1) {
      const uint128 sum = result + a;
      result = (sum < result || sum >= p) ? sum - p : sum;
    }
    const uint128 doubled = a + a;
    a = (doubled < a || doubled >= p) ? doubled - p : doubled;
    b >>= 1;
  }
  return result;
}

template <class F>
uint128 random_below_modulus(std::mt19937_64& rng) {
  for (;;) {
    uint128 v = rng();
    if constexpr (F::kEncodedSize == 16) v = (v << 64) | rng();
    if (v < F::kModulus) return v;
  }
}

template <class F>
void check_arithmetic() {
  std::mt19937_64 rng(42);
  std::vector<uint128> edge = {0, 1, 2, F::kModulus - 1, F::kModulus - 2, F::kModulus / 2};
  for (int i = 0; i < 2000; ++i) edge.push_back(random_below_modulus<F>(rng));
  for (std::size_t i = 0; i + 1 < edge.size(); ++i) {
    const uint128 a = edge[i], b = edge[(i * 7 + 3) % edge.size()];
    const F fa = F::from_canonical(static_cast<typename F::Integer>(a));
    const F fb = F::from_canonical(static_cast<typename F::Integer>(b));
    ASSERT_TRUE((fa * fb).to_integer() == slow_mul_mod(a, b, F::kModulus));
    const uint128 sum = (a + b) % F::kModulus;  // no overflow for Field64
    if constexpr (F::kEncodedSize == 8) {
      ASSERT_TRUE((fa + fb).to_integer() == sum);
    }
    ASSERT_TRUE(((fa + fb) - fb) == fa);
    ASSERT_TRUE((fa - fb) + fb == fa);
    if (a != 0) {
      ASSERT_TRUE(fa * fa.inv() == F::one());
    }
  }
}

// ProductSum (one reduction for many products) against the sum of products,
// with the largest values too (the column sums' carries).
template <class F>
void check_product_sums() {
  std::mt19937_64 rng(7);
  for (std::size_t n : {0, 1, 2, 3, 100, 5000}) {
    for (int extreme = 0; extreme < 2; ++extreme) {
      typename F::ProductSum sum;
      F expected = F::zero();
      for (std::size_t i = 0; i < n; ++i) {
        const F a =
            F::from_canonical(extreme ? F::kModulus - 1 - (i % 3) : random_below_modulus<F>(rng));
        const F b =
            F::from_canonical(extreme ? F::kModulus - 1 - (i % 5) : random_below_modulus<F>(rng));
        F::mul_add(sum, a, b);
        expected += a * b;
      }
      ASSERT_TRUE(F::reduce(sum) == expected) << n << " " << extreme;
    }
  }
}

TEST(Field64, ProductSumMatchesSumOfProducts) { check_product_sums<Field64>(); }
TEST(Field128, ProductSumMatchesSumOfProducts) { check_product_sums<Field128>(); }

TEST(Field64, ArithmeticMatchesReference) { check_arithmetic<Field64>(); }
TEST(Field128, ArithmeticMatchesReference) { check_arithmetic<Field128>(); }

template <class F>
void check_generator() {
  const F g = F::generator();
  F x = g;
  for (unsigned i = 0; i + 1 < F::kGenOrderLog2; ++i) x *= x;  // g^(2^(order-1))
  EXPECT_TRUE(x == -F::one()) << "generator has order exactly 2^GEN_ORDER_LOG2";
  EXPECT_TRUE(x * x == F::one());
}

TEST(Field64, GeneratorOrder) { check_generator<Field64>(); }
TEST(Field128, GeneratorOrder) { check_generator<Field128>(); }

template <class F>
void check_encoding() {
  std::uint8_t buffer[F::kEncodedSize];
  const F value = F::from_u64(0x0102030405060708ULL);
  value.encode(buffer);
  EXPECT_EQ(buffer[0], 0x08);  // little-endian
  EXPECT_EQ(buffer[7], 0x01);
  EXPECT_TRUE(F::decode(buffer).value() == value);
  // p itself and all-ones are rejected.
  const typename F::Integer p = F::kModulus;
  for (std::size_t i = 0; i < F::kEncodedSize; ++i)
    buffer[i] = static_cast<std::uint8_t>(p >> (8 * i));
  EXPECT_FALSE(F::decode(buffer).has_value());
  std::fill(std::begin(buffer), std::end(buffer), 0xff);
  EXPECT_FALSE(F::decode(buffer).has_value());
}

TEST(Field64, EncodingIsLittleEndianAndStrict) { check_encoding<Field64>(); }
TEST(Field128, EncodingIsLittleEndianAndStrict) { check_encoding<Field128>(); }

template <class F>
void check_ntt(std::size_t n) {
  Ntt<F> ntt(n);
  std::vector<F> coeffs(n);
  for (std::size_t i = 0; i < n; ++i) coeffs[i] = F::from_u64(i * i + 3);
  std::vector<F> values = coeffs;
  ntt.forward(values.data());
  const F root = root_of_unity<F>(n);
  for (std::size_t k = 0; k < n; ++k) {
    const F x = root.pow(k);
    F expected = F::zero();
    for (std::size_t j = n; j-- > 0;) expected = expected * x + coeffs[j];
    ASSERT_TRUE(values[k] == expected) << "n=" << n << " k=" << k;
  }
  ntt.inverse(values.data());
  EXPECT_TRUE(values == coeffs);
  // The permutation-free pair: values → n·coeffs (bit-reversed) → n·values.
  std::vector<F> round_trip = values;
  ntt.forward(round_trip.data());
  const std::vector<F> evaluated = round_trip;
  ntt.inverse_unscaled_to_bit_reversed(round_trip.data());
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(round_trip[ntt.bit_reversed(i)] == coeffs[i] * F::from_u64(n)) << "n=" << n;
  }
  ntt.forward_from_bit_reversed(round_trip.data());
  for (std::size_t k = 0; k < n; ++k) ASSERT_TRUE(round_trip[k] == evaluated[k] * F::from_u64(n));
}

TEST(Ntt, MatchesNaiveEvaluation) {
  for (std::size_t n : {1, 2, 4, 8, 64}) {
    check_ntt<Field64>(n);
    check_ntt<Field128>(n);
  }
}

}  // namespace
}  // namespace janus::prio3
