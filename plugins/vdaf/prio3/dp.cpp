#include "dp.h"

#include <openssl/bn.h>
#include <openssl/rand.h>

#include <array>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "turboshake.h"

namespace janus::prio3::dp {

void BignumFree::operator()(bignum_st* value) const { BN_free(value); }

namespace {

Bignum new_bignum() {
  Bignum value(BN_new());
  if (!value) throw std::bad_alloc();
  return value;
}

struct Context {
  Context() : ctx(BN_CTX_new()) {
    if (!ctx) throw std::bad_alloc();
  }
  ~Context() { BN_CTX_free(ctx); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  BN_CTX* ctx;
};

void check(int ok) {
  if (ok != 1) throw std::runtime_error("bignum arithmetic failed");
}

// Uniform in [0, bound), bound > 0, as num-bigint 0.4's gen_biguint_below draws it (what
// libprio's UniformBigUint uses): as many base-2^32 digits as bound has bits, read as
// little-endian words, least significant first; the top word is shifted right (keeping its
// high bits) down to the bit length; retried until below bound.
Bignum uniform_below(const BIGNUM* bound, RandomSource& random) {
  const int bits = BN_num_bits(bound);
  const std::size_t words = static_cast<std::size_t>((bits + 31) / 32);
  std::vector<std::uint8_t> bytes(4 * words);
  Bignum value = new_bignum();
  for (;;) {
    random.fill(bytes);
    if (bits % 32 != 0) {
      std::uint8_t* top = bytes.data() + 4 * (words - 1);
      std::uint32_t word =
          static_cast<std::uint32_t>(top[0]) | static_cast<std::uint32_t>(top[1]) << 8 |
          static_cast<std::uint32_t>(top[2]) << 16 | static_cast<std::uint32_t>(top[3]) << 24;
      word >>= 32 - bits % 32;
      for (int i = 0; i < 4; ++i) top[i] = static_cast<std::uint8_t>(word >> (8 * i));
    }
    if (!BN_lebin2bn(bytes.data(), static_cast<int>(bytes.size()), value.get())) {
      throw std::bad_alloc();
    }
    if (BN_cmp(value.get(), bound) < 0) return value;
  }
}

// A nonnegative ratio kept in lowest terms (0 is 0/1), as num-rational's Ratio<BigUint>
// keeps it: the denominators decide how many random bytes each draw takes.
struct Ratio {
  Bignum numerator, denominator;
};

Ratio make_ratio(const BIGNUM* numerator, const BIGNUM* denominator, Context& context) {
  if (sizeof(BN_ULONG) >= 8 && BN_num_bits(numerator) <= 64 && BN_num_bits(denominator) <= 64) {
    const std::uint64_t a = BN_get_word(numerator), b = BN_get_word(denominator);
    const std::uint64_t common = std::gcd(a, b);  // b > 0
    return Ratio{bignum(a / common), bignum(b / common)};
  }
  Bignum gcd = new_bignum();
  check(BN_gcd(gcd.get(), numerator, denominator, context.ctx));
  Ratio ratio{new_bignum(), new_bignum()};
  check(BN_div(ratio.numerator.get(), nullptr, numerator, gcd.get(), context.ctx));
  check(BN_div(ratio.denominator.get(), nullptr, denominator, gcd.get(), context.ctx));
  return ratio;
}

Ratio integer_ratio(std::uint64_t value) { return Ratio{bignum(value), bignum(1)}; }

// Bernoulli(gamma), gamma <= 1 (CKS20 p. 30): 1 + U(denominator) <= numerator.
bool bernoulli(const Ratio& gamma, RandomSource& random) {
  const int bits = BN_num_bits(gamma.denominator.get());
  if (bits <= 64 && sizeof(BN_ULONG) >= 8) {
    // The same draw on machine words (most denominators are small): no BIGNUM per try.
    const std::uint64_t bound = BN_get_word(gamma.denominator.get());
    const std::uint64_t numerator = BN_get_word(gamma.numerator.get());  // <= bound
    const std::size_t words = static_cast<std::size_t>((bits + 31) / 32);
    std::array<std::uint8_t, 8> bytes{};
    for (;;) {
      random.fill(std::span<std::uint8_t>(bytes.data(), 4 * words));
      std::uint64_t value = 0;
      for (std::size_t i = 4 * words; i-- > 0;) value = value << 8 | bytes[i];
      if (bits % 32 != 0) {
        // The top word keeps its high bits, as in uniform_below.
        const unsigned shift = 32 - static_cast<unsigned>(bits % 32);
        const std::uint64_t low_words = words == 2 ? value & 0xffffffffULL : 0;
        const std::uint64_t top = (words == 2 ? value >> 32 : value) >> shift;
        value = words == 2 ? top << 32 | low_words : top;
      }
      if (value < bound) return value < numerator;
    }
  }
  return BN_cmp(uniform_below(gamma.denominator.get(), random).get(), gamma.numerator.get()) < 0;
}

// Bernoulli(exp(-gamma)) for gamma in [0, 1] (CKS20 Algorithm 1, first branch).
// gamma/k in lowest terms without a BIGNUM gcd: gamma = a/b is in lowest terms, so
// gcd(a, b·k) = gcd(a, k) = gcd(k, a mod k), on words.
bool bernoulli_exp1(const Ratio& gamma, RandomSource& random, Context&) {
  const Ratio step{new_bignum(), new_bignum()};
  for (BN_ULONG k = 1;; ++k) {
    const BN_ULONG remainder = BN_mod_word(gamma.numerator.get(), k);
    if (remainder == static_cast<BN_ULONG>(-1)) throw std::runtime_error("bignum arithmetic failed");
    const BN_ULONG common = std::gcd(k, remainder);  // gcd(k, 0) = k: 0/b·k becomes 0/1
    if (!BN_copy(step.numerator.get(), gamma.numerator.get()) ||
        !BN_copy(step.denominator.get(), gamma.denominator.get())) {
      throw std::bad_alloc();
    }
    if (common != 1) check(BN_div_word(step.numerator.get(), common) != static_cast<BN_ULONG>(-1));
    check(BN_mul_word(step.denominator.get(), k / common));
    if (!bernoulli(step, random)) return k % 2 == 1;
  }
}

// Bernoulli(exp(-gamma)) for any gamma >= 0 (CKS20 Algorithm 1, second branch): floor(gamma)
// draws of Bernoulli(exp(-1)), then one of the fractional part.
bool bernoulli_exp(const Ratio& gamma, RandomSource& random, Context& context) {
  Bignum whole = new_bignum(), fraction = new_bignum();
  check(BN_div(whole.get(), fraction.get(), gamma.numerator.get(), gamma.denominator.get(),
               context.ctx));
  const Ratio one = integer_ratio(1);
  for (Bignum i = bignum(0); BN_cmp(i.get(), whole.get()) < 0; check(BN_add_word(i.get(), 1))) {
    if (!bernoulli_exp1(one, random, context)) return false;
  }
  return bernoulli_exp1(make_ratio(fraction.get(), gamma.denominator.get(), context), random,
                        context);
}

// Geometric with parameter 1 - exp(-gamma) (CKS20 Algorithm 2 without its last lines).
Bignum geometric_exp(const Ratio& gamma, RandomSource& random, Context& context) {
  if (BN_is_zero(gamma.numerator.get())) return bignum(0);
  const BIGNUM* s = gamma.numerator.get();
  const BIGNUM* t = gamma.denominator.get();
  Bignum u = uniform_below(t, random);
  while (!bernoulli_exp1(make_ratio(u.get(), t, context), random, context)) {
    u = uniform_below(t, random);
  }
  const Ratio one = integer_ratio(1);
  Bignum v = bignum(0);
  while (bernoulli_exp1(one, random, context)) check(BN_add_word(v.get(), 1));
  // floor((u + t·v) / s)
  Bignum total = new_bignum();
  check(BN_mul(total.get(), t, v.get(), context.ctx));
  check(BN_add(total.get(), total.get(), u.get()));
  Bignum quotient = new_bignum();
  check(BN_div(quotient.get(), nullptr, total.get(), s, context.ctx));
  return quotient;
}

// L_Z(0, scale), scale > 0 (CKS20 Algorithm 2).
Bignum discrete_laplace(const Ratio& scale, RandomSource& random, Context& context) {
  const Ratio half{bignum(1), bignum(2)};
  const Ratio inverse_scale{Bignum(BN_dup(scale.denominator.get())),
                            Bignum(BN_dup(scale.numerator.get()))};
  if (!inverse_scale.numerator || !inverse_scale.denominator) throw std::bad_alloc();
  for (;;) {
    const bool negative = bernoulli(half, random);
    Bignum y = geometric_exp(inverse_scale, random, context);
    if (negative && BN_is_zero(y.get())) continue;
    if (negative) BN_set_negative(y.get(), 1);
    return y;
  }
}

Bignum from_digits(const nlohmann::json& digits, const std::string& what) {
  if (!digits.is_array()) throw std::invalid_argument(what);
  Bignum value = bignum(0);
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 0xffffffffULL) {
      throw std::invalid_argument(what);
    }
    check(BN_lshift(value.get(), value.get(), 32));
    check(BN_add_word(value.get(), static_cast<BN_ULONG>(it->get<std::uint64_t>())));
  }
  return value;
}

// The sampler asks for a byte or two at a time, thousands of times per share: one RAND_bytes
// call per request cost most of its time, so each thread draws 4 KiB at once.
class SystemRandom final : public RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) override {
    thread_local std::array<std::uint8_t, 4096> buffer;
    thread_local std::size_t used = buffer.size();
    for (std::uint8_t& byte : out) {
      if (used == buffer.size()) {
        if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
          throw std::runtime_error("the system random generator failed");
        }
        used = 0;
      }
      byte = buffer[used];
      buffer[used++] = 0;  // handed out once, then forgotten
    }
  }
};

}  // namespace

Bignum bignum(std::uint64_t value) {
  Bignum out = new_bignum();
  check(BN_set_word(out.get(), static_cast<BN_ULONG>(value)));
  return out;
}

namespace {

class TurboShakeRandom final : public RandomSource {
 public:
  explicit TurboShakeRandom(std::span<const std::uint8_t, 16> seed) {
    // XofTurboShake128::init(seed, dst = ""): the DST's length byte, the DST, the seed.
    const std::uint8_t dst_length = 0;
    sponge_.absorb({&dst_length, 1});
    sponge_.absorb(seed);
    sponge_.finish(1);
  }
  void fill(std::span<std::uint8_t> out) override { sponge_.squeeze(out.data(), out.size()); }

 private:
  TurboShake128 sponge_;
};

}  // namespace

std::unique_ptr<RandomSource> seeded_turboshake_random(std::span<const std::uint8_t, 16> seed) {
  return std::make_unique<TurboShakeRandom>(seed);
}

RandomSource& system_random() {
  static SystemRandom random;
  return random;
}

Bignum IntegerNoise::sample_mod(RandomSource& random, const BIGNUM* modulus) const {
  Context context;
  Bignum noise = sample(random);
  Bignum reduced = new_bignum();
  check(BN_nnmod(reduced.get(), noise.get(), modulus, context.ctx));
  return reduced;
}

namespace {

// numerator / denominator in lowest terms, both positive.
void positive_ratio(const BIGNUM* numerator, const BIGNUM* denominator, Bignum& reduced_numerator,
                    Bignum& reduced_denominator, const char* what) {
  if (BN_is_zero(numerator) || BN_is_negative(numerator) || BN_is_zero(denominator) ||
      BN_is_negative(denominator)) {
    throw std::invalid_argument(what);
  }
  Context context;
  Ratio ratio = make_ratio(numerator, denominator, context);
  reduced_numerator = std::move(ratio.numerator);
  reduced_denominator = std::move(ratio.denominator);
}

}  // namespace

DiscreteLaplace::DiscreteLaplace(const BIGNUM* numerator, const BIGNUM* denominator) {
  positive_ratio(numerator, denominator, numerator_, denominator_,
                 "the discrete Laplace scale must be positive");
}

Bignum DiscreteLaplace::sample(RandomSource& random) const {
  Context context;
  const Ratio scale{Bignum(BN_dup(numerator_.get())), Bignum(BN_dup(denominator_.get()))};
  if (!scale.numerator || !scale.denominator) throw std::bad_alloc();
  return discrete_laplace(scale, random, context);
}

DiscreteGaussian::DiscreteGaussian(const BIGNUM* numerator, const BIGNUM* denominator) {
  positive_ratio(numerator, denominator, numerator_, denominator_,
                 "the discrete Gaussian standard deviation must be positive");
}

// CKS20 Algorithm 3: t = floor(sigma) + 1; draw y from L_Z(0, t) and keep it with probability
// exp(-(|y| - sigma²/t)² / (2·sigma²)).
Bignum DiscreteGaussian::sample(RandomSource& random) const {
  Context context;
  const BIGNUM* a = numerator_.get();  // sigma = a / b
  const BIGNUM* b = denominator_.get();
  Bignum t = new_bignum();
  check(BN_div(t.get(), nullptr, a, b, context.ctx));
  check(BN_add_word(t.get(), 1));
  const Ratio scale{Bignum(BN_dup(t.get())), bignum(1)};
  if (!scale.numerator) throw std::bad_alloc();
  // sigma²/t = a² / (b²·t) and 2·sigma² = 2a² / b², so the exponent is
  // (|y|·b²·t - a²)² / (b⁴·t²) · b² / (2a²) = (|y|·b²·t - a²)² / (2·a²·b²·t²).
  Bignum a2 = new_bignum(), b2 = new_bignum(), b2t = new_bignum(), denominator = new_bignum();
  check(BN_sqr(a2.get(), a, context.ctx));
  check(BN_sqr(b2.get(), b, context.ctx));
  check(BN_mul(b2t.get(), b2.get(), t.get(), context.ctx));
  check(BN_mul(denominator.get(), a2.get(), b2t.get(), context.ctx));
  check(BN_mul(denominator.get(), denominator.get(), t.get(), context.ctx));
  check(BN_lshift1(denominator.get(), denominator.get()));
  Bignum difference = new_bignum(), numerator = new_bignum();
  for (;;) {
    Bignum y = discrete_laplace(scale, random, context);
    check(BN_mul(difference.get(), y.get(), b2t.get(), context.ctx));
    BN_set_negative(difference.get(), 0);  // |y|·b²·t
    check(BN_sub(difference.get(), difference.get(), a2.get()));
    check(BN_sqr(numerator.get(), difference.get(), context.ctx));
    if (bernoulli_exp(make_ratio(numerator.get(), denominator.get(), context), random, context)) {
      return y;
    }
  }
}

std::optional<EpsilonBudget> parse_dp_strategy(const nlohmann::json& strategy,
                                               const std::string& vdaf_name, DpStrategy admitted) {
  const std::string admitted_name = admitted == DpStrategy::kPureDpDiscreteLaplace
                                        ? "PureDpDiscreteLaplace"
                                        : "ZCdpDiscreteGaussian";
  const std::string expected =
      vdaf_name + ": dp_strategy must be NoDifferentialPrivacy or {dp_strategy: " + admitted_name +
      ", budget: {epsilon: [[numerator digits], [denominator digits]]}}";
  std::string name;
  if (strategy.is_string()) {
    name = strategy.get<std::string>();
  } else if (strategy.is_object() && strategy.contains("dp_strategy") &&
             strategy.at("dp_strategy").is_string()) {
    name = strategy.at("dp_strategy").get<std::string>();
  }
  if (name == "NoDifferentialPrivacy" && (strategy.is_string() || strategy.size() == 1)) {
    return std::nullopt;
  }
  if (name != admitted_name || !strategy.is_object() || strategy.size() != 2 ||
      !strategy.contains("budget")) {
    throw std::invalid_argument(expected);
  }
  const nlohmann::json& budget = strategy.at("budget");
  if (!budget.is_object() || budget.size() != 1 || !budget.contains("epsilon")) {
    throw std::invalid_argument(expected);
  }
  const nlohmann::json& epsilon = budget.at("epsilon");
  if (!epsilon.is_array() || epsilon.size() != 2) throw std::invalid_argument(expected);
  EpsilonBudget parsed{from_digits(epsilon.at(0), expected), from_digits(epsilon.at(1), expected)};
  if (BN_is_zero(parsed.epsilon_numerator.get()) || BN_is_zero(parsed.epsilon_denominator.get())) {
    throw std::invalid_argument(vdaf_name + ": epsilon must be a positive ratio");
  }
  return parsed;
}

namespace {

// sensitivity / (num / den) = sensitivity · den / num, as a numerator over epsilon's numerator.
Bignum times_epsilon_denominator(const EpsilonBudget& budget, const BIGNUM* sensitivity) {
  Context context;
  Bignum numerator = new_bignum();
  check(BN_mul(numerator.get(), sensitivity, budget.epsilon_denominator.get(), context.ctx));
  return numerator;
}

}  // namespace

DiscreteLaplace laplace_for(const EpsilonBudget& budget, const BIGNUM* sensitivity) {
  return DiscreteLaplace(times_epsilon_denominator(budget, sensitivity).get(),
                         budget.epsilon_numerator.get());
}

DiscreteGaussian gaussian_for(const EpsilonBudget& budget, const BIGNUM* sensitivity) {
  return DiscreteGaussian(times_epsilon_denominator(budget, sensitivity).get(),
                          budget.epsilon_numerator.get());
}

Bignum sum_vec_sensitivity(std::size_t bits, std::size_t length) {
  Context context;
  Bignum sensitivity = new_bignum();
  Bignum factor = bignum(length);
  check(BN_set_bit(sensitivity.get(), static_cast<int>(bits)));
  check(BN_sub_word(sensitivity.get(), 1));
  check(BN_mul(sensitivity.get(), sensitivity.get(), factor.get(), context.ctx));
  return sensitivity;
}

}  // namespace janus::prio3::dp
