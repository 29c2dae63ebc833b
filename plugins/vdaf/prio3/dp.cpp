#include "dp.h"

#include <openssl/bn.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <vector>

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

// Uniform in [0, bound), bound > 0: rejection sampling on as many random bits as bound has.
Bignum uniform_below(const BIGNUM* bound, RandomSource& random) {
  const int bits = BN_num_bits(bound);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>((bits + 7) / 8));
  Bignum value = new_bignum();
  for (;;) {
    random.fill(bytes);
    if (bits % 8 != 0) bytes[0] &= static_cast<std::uint8_t>((1u << (bits % 8)) - 1);
    if (!BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), value.get())) {
      throw std::bad_alloc();
    }
    if (BN_cmp(value.get(), bound) < 0) return value;
  }
}

// Bernoulli(numerator / denominator), numerator <= denominator (CKS20 p. 30).
bool bernoulli(const BIGNUM* numerator, const BIGNUM* denominator, RandomSource& random) {
  return BN_cmp(uniform_below(denominator, random).get(), numerator) < 0;
}

// Bernoulli(exp(-numerator / denominator)) for a ratio in [0, 1] (CKS20 Algorithm 1).
bool bernoulli_exp1(const BIGNUM* numerator, const BIGNUM* denominator, RandomSource& random,
                    Context& context) {
  Bignum k = bignum(1);
  Bignum scaled = new_bignum();
  for (;;) {
    check(BN_mul(scaled.get(), denominator, k.get(), context.ctx));
    if (!bernoulli(numerator, scaled.get(), random)) return BN_is_odd(k.get());
    check(BN_add_word(k.get(), 1));
  }
}

// Geometric with parameter 1 - exp(-s/t), s/t > 0 (CKS20 Algorithm 2 without its last lines).
Bignum geometric_exp(const BIGNUM* s, const BIGNUM* t, RandomSource& random, Context& context) {
  Bignum u = uniform_below(t, random);
  while (!bernoulli_exp1(u.get(), t, random, context)) u = uniform_below(t, random);
  const Bignum one = bignum(1);
  Bignum v = bignum(0);
  while (bernoulli_exp1(one.get(), one.get(), random, context)) check(BN_add_word(v.get(), 1));
  // floor((u + t·v) / s)
  Bignum total = new_bignum();
  check(BN_mul(total.get(), t, v.get(), context.ctx));
  check(BN_add(total.get(), total.get(), u.get()));
  Bignum quotient = new_bignum();
  check(BN_div(quotient.get(), nullptr, total.get(), s, context.ctx));
  return quotient;
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

RandomSource& system_random() {
  static SystemRandom random;
  return random;
}

DiscreteLaplace::DiscreteLaplace(const BIGNUM* numerator, const BIGNUM* denominator) {
  if (BN_is_zero(numerator) || BN_is_negative(numerator) || BN_is_zero(denominator) ||
      BN_is_negative(denominator)) {
    throw std::invalid_argument("the discrete Laplace scale must be positive");
  }
  // In lowest terms, which keeps the sampler's numbers small; the distribution is the same.
  Context context;
  Bignum gcd = new_bignum();
  check(BN_gcd(gcd.get(), numerator, denominator, context.ctx));
  numerator_ = new_bignum();
  denominator_ = new_bignum();
  check(BN_div(numerator_.get(), nullptr, numerator, gcd.get(), context.ctx));
  check(BN_div(denominator_.get(), nullptr, denominator, gcd.get(), context.ctx));
}

Bignum DiscreteLaplace::sample(RandomSource& random) const {
  Context context;
  const Bignum one = bignum(1), two = bignum(2);
  for (;;) {
    const bool negative = bernoulli(one.get(), two.get(), random);
    // Geometric with parameter 1 - exp(-1/scale): s/t = denominator/numerator.
    Bignum y = geometric_exp(denominator_.get(), numerator_.get(), random, context);
    if (negative && BN_is_zero(y.get())) continue;
    if (negative) BN_set_negative(y.get(), 1);
    return y;
  }
}

Bignum DiscreteLaplace::sample_mod(RandomSource& random, const BIGNUM* modulus) const {
  Context context;
  Bignum noise = sample(random);
  Bignum reduced = new_bignum();
  check(BN_nnmod(reduced.get(), noise.get(), modulus, context.ctx));
  return reduced;
}

std::optional<PureDpBudget> parse_dp_strategy(const nlohmann::json& strategy,
                                              const std::string& vdaf_name) {
  const std::string expected =
      vdaf_name +
      ": dp_strategy must be NoDifferentialPrivacy or {dp_strategy: PureDpDiscreteLaplace, "
      "budget: {epsilon: [[numerator digits], [denominator digits]]}}";
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
  if (name != "PureDpDiscreteLaplace" || !strategy.is_object() || strategy.size() != 2 ||
      !strategy.contains("budget")) {
    throw std::invalid_argument(expected);
  }
  const nlohmann::json& budget = strategy.at("budget");
  if (!budget.is_object() || budget.size() != 1 || !budget.contains("epsilon")) {
    throw std::invalid_argument(expected);
  }
  const nlohmann::json& epsilon = budget.at("epsilon");
  if (!epsilon.is_array() || epsilon.size() != 2) throw std::invalid_argument(expected);
  PureDpBudget parsed{from_digits(epsilon.at(0), expected), from_digits(epsilon.at(1), expected)};
  if (BN_is_zero(parsed.epsilon_numerator.get()) || BN_is_zero(parsed.epsilon_denominator.get())) {
    throw std::invalid_argument(vdaf_name + ": epsilon must be a positive ratio");
  }
  return parsed;
}

DiscreteLaplace laplace_for(const PureDpBudget& budget, const BIGNUM* sensitivity) {
  // sensitivity / (num / den) = sensitivity · den / num
  Context context;
  Bignum numerator = new_bignum();
  check(BN_mul(numerator.get(), sensitivity, budget.epsilon_denominator.get(), context.ctx));
  return DiscreteLaplace(numerator.get(), budget.epsilon_numerator.get());
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
