// The two FFT-friendly prime fields of VDAF-08 §6.1. Both are small value
// types with inline arithmetic, so the FLP and circuit code (templates over the
// field) compile to straight-line multiply/reduce sequences.
//
// Field64 keeps values canonical and reduces with the special form of
// p = 2^64 - 2^32 + 1. Field128 (p = 2^128 - 28·2^64 + 1) keeps values in
// Montgomery form (R = 2^128); since p ≡ 1 mod 2^64 the Montgomery factor
// -p^-1 mod 2^64 is simply -1, which makes each reduction step one multiply.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

// x86-64 gets assembly for the hot arithmetic (and turboshake.cpp its
// BMI/AVX2 permutations); defining JANUS_PRIO3_PORTABLE selects the portable
// C++ everywhere, which is how the fallbacks are tested on x86-64.

namespace janus::prio3 {

__extension__ typedef unsigned __int128 uint128;

inline std::uint64_t lo64(uint128 v) { return static_cast<std::uint64_t>(v); }
inline std::uint64_t hi64(uint128 v) { return static_cast<std::uint64_t>(v >> 64); }

inline std::uint64_t load_le_u64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}
inline void store_le_u64(std::uint8_t* p, std::uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

class Field64 {
 public:
  using Integer = std::uint64_t;
  static constexpr std::uint64_t kModulus = 0xffffffff00000001ULL;
  static constexpr std::size_t kEncodedSize = 8;
  static constexpr unsigned kGenOrderLog2 = 32;
  // The mask applied to XOF bytes before rejection sampling (next_power_of_2(p) - 1).
  static constexpr std::uint64_t kSampleMask = ~0ULL;

  constexpr Field64() = default;
  static constexpr Field64 zero() { return Field64(); }
  static constexpr Field64 one() { return from_canonical(1); }
  // `v` must be < p.
  static constexpr Field64 from_canonical(std::uint64_t v) {
    Field64 f;
    f.v_ = v;
    return f;
  }
  static constexpr Field64 from_u64(std::uint64_t v) {
    return from_canonical(v >= kModulus ? v - kModulus : v);
  }
  static Field64 generator() { return from_canonical(1753635133440165772ULL); }

  std::uint64_t to_integer() const { return v_; }

  // Branch-free: the comparisons depend on secret, random-looking data, so
  // branches would mispredict about half the time.
  [[gnu::always_inline]] friend Field64 operator+(Field64 a, Field64 b) {
    std::uint64_t sum, reduced;
    const bool carry = __builtin_add_overflow(a.v_, b.v_, &sum);
    const bool borrow = __builtin_sub_overflow(sum, kModulus, &reduced);
    const std::uint64_t keep_reduced = 0 - static_cast<std::uint64_t>(carry | !borrow);
    return from_canonical((reduced & keep_reduced) | (sum & ~keep_reduced));
  }
  [[gnu::always_inline]] friend Field64 operator-(Field64 a, Field64 b) {
    std::uint64_t difference;
    const bool borrow = __builtin_sub_overflow(a.v_, b.v_, &difference);
    return from_canonical(difference + (kModulus & (0 - static_cast<std::uint64_t>(borrow))));
  }
  friend Field64 operator-(Field64 a) { return zero() - a; }
  [[gnu::always_inline]] friend Field64 operator*(Field64 a, Field64 b) {
    return from_canonical(reduce128(static_cast<uint128>(a.v_) * b.v_));
  }
  Field64& operator+=(Field64 b) { return *this = *this + b; }
  Field64& operator-=(Field64 b) { return *this = *this - b; }
  [[gnu::always_inline]] Field64& operator*=(Field64 b) { return *this = *this * b; }
  friend bool operator==(Field64 a, Field64 b) { return a.v_ == b.v_; }

  Field64 pow(uint128 e) const {
    Field64 result = one(), base = *this;
    while (e != 0) {
      if (e & 1) result *= base;
      base *= base;
      e >>= 1;
    }
    return result;
  }
  // x^(p−2) by an addition chain: 64 squarings and 8 multiplications instead
  // of square-and-multiply's 63 + 62 (p − 2 has 62 one bits). With
  // x_k = x^(2^k − 1): p − 2 = 2^64 − 2^32 − 1 = (2^31 − 1)·2^33 + (2^32 − 1).
  Field64 inv() const {
    auto square_times = [](Field64 v, int n) {
      for (int i = 0; i < n; ++i) v *= v;
      return v;
    };
    const Field64 x1 = *this;
    const Field64 x2 = square_times(x1, 1) * x1;
    const Field64 x3 = square_times(x2, 1) * x1;
    const Field64 x6 = square_times(x3, 3) * x3;
    const Field64 x12 = square_times(x6, 6) * x6;
    const Field64 x24 = square_times(x12, 12) * x12;
    const Field64 x30 = square_times(x24, 6) * x6;
    const Field64 x31 = square_times(x30, 1) * x1;
    const Field64 x32 = square_times(x31, 1) * x1;
    return square_times(x31, 33) * x32;
  }

  void encode(std::uint8_t* out) const { store_le_u64(out, v_); }
  // Rejects encodings of values >= p.
  static std::optional<Field64> decode(const std::uint8_t* in) {
    const std::uint64_t v = load_le_u64(in);
    if (v >= kModulus) return std::nullopt;
    return from_canonical(v);
  }
  // decode_scaled(in) = decode(in)·decode_scale(): a cheaper decoding for
  // callers that only test homogeneous relations (see FlpGeneric::decide).
  // Field64 is stored canonically, so the scale is 1.
  static std::optional<Field64> decode_scaled(const std::uint8_t* in) { return decode(in); }
  static Field64 decode_scale() { return one(); }
  // Whether decode_scaled's value has the encoding's bytes as its
  // representation, so a run of accepted candidates can be copied as a whole
  // (BlockSampler); then encoded_in_range(in) is decode_scaled(in) != nullopt.
  static constexpr bool kScaledIsEncoding = std::endian::native == std::endian::little;
  static bool encoded_in_range(const std::uint8_t* in) { return load_le_u64(in) < kModulus; }
  // The inverse of decode_scaled: writes the encoding of this/decode_scale().
  void encode_scaled(std::uint8_t* out) const { encode(out); }
  static bool sample_scaled(const std::uint8_t* in, Field64& out) { return sample(in, out); }

  // Sums of products Σ a_i·b_i (see Field128::ProductSum); here simply a
  // running field sum.
  struct ProductSum {
    std::uint64_t sum = 0;
  };
  [[gnu::always_inline]] static void mul_add(ProductSum& s, Field64 a, Field64 b) {
    s.sum = (from_canonical(s.sum) + a * b).v_;
  }
  static Field64 reduce(const ProductSum& s) { return from_canonical(s.sum); }

  // One rejection-sampling candidate from XOF output (VDAF-08 §6.2 next_vec).
  static bool sample(const std::uint8_t* in, Field64& out) {
    const std::uint64_t v = load_le_u64(in) & kSampleMask;
    if (v >= kModulus) return false;
    out = from_canonical(v);
    return true;
  }

 private:
  // x mod p for x < 2^128, using 2^64 ≡ 2^32 - 1 and 2^96 ≡ -1.
  [[gnu::always_inline]] static std::uint64_t reduce128(uint128 x) {
    constexpr std::uint64_t kEpsilon = 0xffffffffULL;
    const std::uint64_t x_lo = lo64(x);
    const std::uint64_t x_hi = hi64(x);
    const std::uint64_t x_hi_hi = x_hi >> 32;
    const std::uint64_t x_hi_lo = x_hi & kEpsilon;
    std::uint64_t t0;
    const bool underflow = __builtin_sub_overflow(x_lo, x_hi_hi, &t0);
    t0 -= kEpsilon & (0 - static_cast<std::uint64_t>(underflow));
    const std::uint64_t t1 = x_hi_lo * kEpsilon;
    std::uint64_t t2;
    const bool carry = __builtin_add_overflow(t0, t1, &t2);
    t2 += kEpsilon & (0 - static_cast<std::uint64_t>(carry));
    std::uint64_t reduced;
    const bool borrow = __builtin_sub_overflow(t2, kModulus, &reduced);
    return borrow ? t2 : reduced;
  }

  std::uint64_t v_ = 0;
};

namespace field128_detail {
inline constexpr uint128 kModulus =
    (static_cast<uint128>(0xffffffffffffffe4ULL) << 64) | static_cast<uint128>(1);
constexpr uint128 add_mod(uint128 a, uint128 b) {
  uint128 s = a + b;
  if (s < a || s >= kModulus) s -= kModulus;
  return s;
}
// R mod p and R^2 mod p for the Montgomery radix R = 2^128, by doubling.
constexpr uint128 r_mod_p() { return (~kModulus) + 1; }  // 2^128 - p
constexpr uint128 r2_mod_p() {
  uint128 x = r_mod_p();
  for (int i = 0; i < 128; ++i) x = add_mod(x, x);
  return x;
}
}  // namespace field128_detail

class Field128 {
 public:
  using Integer = uint128;
  static constexpr uint128 kModulus = field128_detail::kModulus;
  static constexpr std::size_t kEncodedSize = 16;
  static constexpr unsigned kGenOrderLog2 = 66;
  static constexpr uint128 kSampleMask = ~static_cast<uint128>(0);

  constexpr Field128() = default;
  static constexpr Field128 zero() { return Field128(); }
  static Field128 one() { return from_mont(kMontOne); }
  // `v` must be < p.
  static Field128 from_canonical(uint128 v) { return from_mont(mont_mul(v, kMontR2)); }
  static Field128 from_u64(std::uint64_t v) { return from_canonical(v); }
  static Field128 generator() {
    return from_canonical((static_cast<uint128>(0x6d278fbf4f60228bULL) << 64) |
                          0x1f9b2759c5109f06ULL);
  }

  uint128 to_integer() const { return mont_mul(m_, 1); }

  [[gnu::always_inline]] friend Field128 operator+(Field128 a, Field128 b) {
    return from_mont(add_mod(a.m_, b.m_));
  }
  [[gnu::always_inline]] friend Field128 operator-(Field128 a, Field128 b) {
    return from_mont(sub_mod(a.m_, b.m_));
  }
  friend Field128 operator-(Field128 a) { return zero() - a; }
  [[gnu::always_inline]] friend Field128 operator*(Field128 a, Field128 b) {
    return from_mont(mont_mul(a.m_, b.m_));
  }
  Field128& operator+=(Field128 b) { return *this = *this + b; }
  Field128& operator-=(Field128 b) { return *this = *this - b; }
  [[gnu::always_inline]] Field128& operator*=(Field128 b) { return *this = *this * b; }
  friend bool operator==(Field128 a, Field128 b) { return a.m_ == b.m_; }

  Field128 pow(uint128 e) const {
    Field128 result = one(), base = *this;
    while (e != 0) {
      if (e & 1) result *= base;
      base *= base;
      e >>= 1;
    }
    return result;
  }
  // x^(p−2) by an addition chain (133 squarings, 13 multiplications instead
  // of ~250 for square-and-multiply). With x_k = x^(2^k − 1):
  // p − 2 = (2^59 − 1)·2^69 + 3·2^64 + (2^64 − 1).
  Field128 inv() const {
    auto square_times = [](Field128 v, int n) {
      for (int i = 0; i < n; ++i) v *= v;
      return v;
    };
    const Field128 x1 = *this;
    const Field128 x2 = square_times(x1, 1) * x1;
    const Field128 x3 = square_times(x2, 1) * x1;
    const Field128 x4 = square_times(x2, 2) * x2;
    const Field128 x5 = square_times(x3, 2) * x2;
    const Field128 x9 = square_times(x5, 4) * x4;
    const Field128 x10 = square_times(x5, 5) * x5;
    const Field128 x20 = square_times(x10, 10) * x10;
    const Field128 x40 = square_times(x20, 20) * x20;
    const Field128 x50 = square_times(x40, 10) * x10;
    const Field128 x59 = square_times(x50, 9) * x9;
    const Field128 y = square_times(x59, 5);  // x^((2^59 − 1)·2^5)
    const Field128 x64 = y * x5;              // x^(2^64 − 1)
    const Field128 high = y * x2;             // x^(2^64 − 29), the high limb of p − 2
    return square_times(high, 64) * x64;
  }

  void encode(std::uint8_t* out) const {
    const uint128 v = to_integer();
    store_le_u64(out, lo64(v));
    store_le_u64(out + 8, hi64(v));
  }
  static std::optional<Field128> decode(const std::uint8_t* in) {
    const uint128 v = (static_cast<uint128>(load_le_u64(in + 8)) << 64) | load_le_u64(in);
    if (v >= kModulus) return std::nullopt;
    return from_canonical(v);
  }
  // decode_scaled(in) = decode(in)·decode_scale() with decode_scale() = R^-1:
  // the canonical integer taken as a Montgomery representation, which skips
  // the conversion multiply.
  static std::optional<Field128> decode_scaled(const std::uint8_t* in) {
    const uint128 v = (static_cast<uint128>(load_le_u64(in + 8)) << 64) | load_le_u64(in);
    if (v >= kModulus) return std::nullopt;
    return from_mont(v);
  }
  static Field128 decode_scale() { return from_mont(1); }
  // See Field64::kScaledIsEncoding. v < p = kP1·2^64 + 1 iff hi < kP1, or
  // hi = kP1 and lo = 0.
  static constexpr bool kScaledIsEncoding = std::endian::native == std::endian::little;
  static bool encoded_in_range(const std::uint8_t* in) {
    const std::uint64_t hi = load_le_u64(in + 8);
    return hi < kP1 || (hi == kP1 && load_le_u64(in) == 0);
  }
  // The inverse of decode_scaled: writes the encoding of this/decode_scale(),
  // which is the Montgomery representation itself.
  void encode_scaled(std::uint8_t* out) const {
    store_le_u64(out, lo64(m_));
    store_le_u64(out + 8, hi64(m_));
  }
  static bool sample_scaled(const std::uint8_t* in, Field128& out) {
    const std::optional<Field128> value = decode_scaled(in);
    if (!value) return false;
    out = *value;
    return true;
  }

  // Σ a_i·b_i with one reduction at the end instead of one per product: the
  // 256-bit products of the Montgomery representations are added up in three
  // 192-bit column sums (a0·b0; a1·b0 + a0·b1; a1·b1), so each product costs
  // four multiplications and three short carry chains, and reduce() does the
  // Montgomery reduction once. Good for 2^64 products.
  struct ProductSum {
    std::uint64_t x0 = 0, x1 = 0, xc = 0, y0 = 0, y1 = 0, yc = 0, z0 = 0, z1 = 0, zc = 0;
  };
  [[gnu::always_inline]] static void mul_add(ProductSum& s, Field128 a, Field128 b) {
    const std::uint64_t a0 = lo64(a.m_), a1 = hi64(a.m_), b0 = lo64(b.m_), b1 = hi64(b.m_);
#if defined(__x86_64__) && defined(__GNUC__) && !defined(JANUS_PRIO3_PORTABLE)
    __asm__(
        "mov %[a0], %%rax\n\t"
        "mulq %[b0]\n\t"
        "add %%rax, %[x0]\n\t"
        "adc %%rdx, %[x1]\n\t"
        "adc $0, %[xc]\n\t"
        "mov %[a1], %%rax\n\t"
        "mulq %[b0]\n\t"
        "add %%rax, %[y0]\n\t"
        "adc %%rdx, %[y1]\n\t"
        "adc $0, %[yc]\n\t"
        "mov %[a0], %%rax\n\t"
        "mulq %[b1]\n\t"
        "add %%rax, %[y0]\n\t"
        "adc %%rdx, %[y1]\n\t"
        "adc $0, %[yc]\n\t"
        "mov %[a1], %%rax\n\t"
        "mulq %[b1]\n\t"
        "add %%rax, %[z0]\n\t"
        "adc %%rdx, %[z1]\n\t"
        "adc $0, %[zc]"
        : [x0] "+r"(s.x0), [x1] "+r"(s.x1), [xc] "+r"(s.xc), [y0] "+r"(s.y0), [y1] "+r"(s.y1),
          [yc] "+r"(s.yc), [z0] "+r"(s.z0), [z1] "+r"(s.z1), [zc] "+r"(s.zc)
        : [a0] "rm"(a0), [a1] "rm"(a1), [b0] "rm"(b0), [b1] "rm"(b1)
        : "rax", "rdx", "cc");
#else
    auto add = [](std::uint64_t& lo, std::uint64_t& hi, std::uint64_t& carry, uint128 product) {
      const uint128 sum = ((static_cast<uint128>(hi) << 64) | lo) + product;
      carry += sum < product;
      lo = lo64(sum);
      hi = hi64(sum);
    };
    add(s.x0, s.x1, s.xc, static_cast<uint128>(a0) * b0);
    add(s.y0, s.y1, s.yc, static_cast<uint128>(a1) * b0);
    add(s.y0, s.y1, s.yc, static_cast<uint128>(a0) * b1);
    add(s.z0, s.z1, s.zc, static_cast<uint128>(a1) * b1);
#endif
  }
  // The field element whose Montgomery representation is S·R^-1 mod p, the
  // sum of what mont_mul would have given for each product.
  static Field128 reduce(const ProductSum& s) {
    // S = X + Y·2^64 + Z·2^128 in six limbs.
    std::uint64_t t[6] = {s.x0, s.x1, s.xc, 0, 0, 0};
    auto add_at = [&t](std::size_t position, uint128 value) {
      for (std::size_t i = position; i < 6 && value != 0; ++i) {
        const uint128 sum = static_cast<uint128>(t[i]) + lo64(value);
        t[i] = lo64(sum);
        value = (value >> 64) + hi64(sum);
      }
    };
    add_at(1, (static_cast<uint128>(s.y1) << 64) | s.y0);
    add_at(3, s.yc);
    add_at(2, (static_cast<uint128>(s.z1) << 64) | s.z0);
    add_at(4, s.zc);
    // Two Montgomery steps: t += m·p·2^(64i) with m = −t_i clears limb i
    // (m·p = m + m·kP1·2^64).
    for (std::size_t i = 0; i < 2; ++i) {
      const std::uint64_t m = 0 - t[i];
      add_at(i, m);
      add_at(i + 1, static_cast<uint128>(m) * kP1);
    }
    // V = (S + m·p)/2^128 < n·2^128 + p for n products, so V = H·2^128 + L
    // with H ≤ n; 2^128 ≡ 2^128 − p = kR = 28·2^64 − 1 (mod p), and H·kR
    // fits in 128 bits.
    const uint128 low = (static_cast<uint128>(t[3]) << 64) | t[2];
    const uint128 high = (static_cast<uint128>(t[5]) << 64) | t[4];
    constexpr uint128 kR = field128_detail::r_mod_p();
    uint128 v = low + high * kR;
    if (v < low) v += kR;  // wrapped past 2^128 (then v is small: no second wrap)
    if (v >= kModulus) v -= kModulus;
    return from_mont(v);
  }

  static bool sample(const std::uint8_t* in, Field128& out) {
    const uint128 v = (static_cast<uint128>(load_le_u64(in + 8)) << 64) | load_le_u64(in);
    if (v >= kModulus) return false;
    out = from_canonical(v);
    return true;
  }

 private:
  static constexpr std::uint64_t kP1 = 0xffffffffffffffe4ULL;  // p = kP1·2^64 + 1

  static constexpr Field128 from_mont(uint128 m) {
    Field128 f;
    f.m_ = m;
    return f;
  }

  // Branch-free a + b mod p for a, b < p (see Field64::operator+), on limbs.
  // On x86-64 in assembly: GCC turns the portable version's carry flags into
  // setb/movzx/or sequences and spills 128-bit temporaries, about twice the
  // instructions of the add/adc/sbb/cmov chain.
  [[gnu::always_inline]] static uint128 add_mod(uint128 a, uint128 b) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(JANUS_PRIO3_PORTABLE)
    std::uint64_t s0 = lo64(a), s1 = hi64(a), r0, r1, carry = 0;
    __asm__(
        "add %[b0], %[s0]\n\t"
        "adc %[b1], %[s1]\n\t"
        "adc $0, %[c]\n\t"
        "mov %[s0], %[r0]\n\t"
        "mov %[s1], %[r1]\n\t"
        "sub $1, %[r0]\n\t"
        "sbb %[p1], %[r1]\n\t"
        "sbb $0, %[c]\n\t"  // borrows iff carry:s < p: keep s
        "cmovnc %[r0], %[s0]\n\t"
        "cmovnc %[r1], %[s1]"
        : [s0] "+&r"(s0), [s1] "+&r"(s1), [r0] "=&r"(r0), [r1] "=&r"(r1), [c] "+&r"(carry)
        : [b0] "r"(lo64(b)), [b1] "r"(hi64(b)), [p1] "r"(kP1)
        : "cc");
    return (static_cast<uint128>(s1) << 64) | s0;
#else
    std::uint64_t s0, s1, r0, r1;
    const bool c0 = __builtin_add_overflow(lo64(a), lo64(b), &s0);
    bool c1 = __builtin_add_overflow(hi64(a), hi64(b), &s1);
    c1 |= __builtin_add_overflow(s1, static_cast<std::uint64_t>(c0), &s1);
    const bool b0 = __builtin_sub_overflow(s0, std::uint64_t{1}, &r0);
    bool b1 = __builtin_sub_overflow(s1, kP1, &r1);
    b1 |= __builtin_sub_overflow(r1, static_cast<std::uint64_t>(b0), &r1);
    const std::uint64_t keep_reduced = 0 - static_cast<std::uint64_t>(c1 | !b1);
    return (static_cast<uint128>((r1 & keep_reduced) | (s1 & ~keep_reduced)) << 64) |
           ((r0 & keep_reduced) | (s0 & ~keep_reduced));
#endif
  }
  [[gnu::always_inline]] static uint128 sub_mod(uint128 a, uint128 b) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(JANUS_PRIO3_PORTABLE)
    std::uint64_t d0 = lo64(a), d1 = hi64(a), mask, high;
    __asm__(
        "sub %[b0], %[d0]\n\t"
        "sbb %[b1], %[d1]\n\t"
        "sbb %[m], %[m]\n\t"  // all ones on borrow: add p back
        "mov %[m], %[h]\n\t"
        "and %[p1], %[h]\n\t"
        "and $1, %[m]\n\t"
        "add %[m], %[d0]\n\t"
        "adc %[h], %[d1]"
        : [d0] "+&r"(d0), [d1] "+&r"(d1), [m] "=&r"(mask), [h] "=&r"(high)
        : [b0] "r"(lo64(b)), [b1] "r"(hi64(b)), [p1] "r"(kP1)
        : "cc");
    return (static_cast<uint128>(d1) << 64) | d0;
#else
    std::uint64_t d0, d1;
    const bool b0 = __builtin_sub_overflow(lo64(a), lo64(b), &d0);
    bool b1 = __builtin_sub_overflow(hi64(a), hi64(b), &d1);
    b1 |= __builtin_sub_overflow(d1, static_cast<std::uint64_t>(b0), &d1);
    // On borrow add p = (kP1, 1).
    const std::uint64_t mask = 0 - static_cast<std::uint64_t>(b1);
    std::uint64_t r0, r1;
    const bool c0 = __builtin_add_overflow(d0, mask & 1, &r0);
    r1 = d1 + (mask & kP1) + static_cast<std::uint64_t>(c0);
    return (static_cast<uint128>(r1) << 64) | r0;
#endif
  }
  static constexpr uint128 kMontOne = field128_detail::r_mod_p();
  static constexpr uint128 kMontR2 = field128_detail::r2_mod_p();

  // a·b + c + d as (low, high) limbs; cannot overflow 128 bits.
  [[gnu::always_inline]] static std::uint64_t mac(std::uint64_t a, std::uint64_t b, std::uint64_t c,
                                                  std::uint64_t d, std::uint64_t& high) {
    const uint128 t = static_cast<uint128>(a) * b + c + d;
    high = hi64(t);
    return lo64(t);
  }

  // a·b·2^-128 mod p (Montgomery multiplication on two 64-bit limbs).
  [[gnu::always_inline]] static uint128 mont_mul(uint128 a, uint128 b) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(JANUS_PRIO3_PORTABLE)
    // The 256-bit product t, then two reduction steps: m = −t_i (−p^-1 ≡ −1
    // mod 2^64) and t += m·p·2^(64i), where m·p = m + m·kP1·2^64 and t_i + m
    // is 0 with a carry iff t_i ≠ 0. The portable version below compiles to
    // about twice the instructions (flags materialised with setb, 128-bit
    // temporaries spilled); this is the multiply in every NTT butterfly and
    // FLP query step.
    std::uint64_t t0, t1, t2, t3, t4, lo, hi;
    const std::uint64_t a0 = lo64(a), a1 = hi64(a), b0 = lo64(b), b1 = hi64(b);
    __asm__(
        // t = a·b
        "mov %[a0], %%rax\n\t"
        "mulq %[b0]\n\t"
        "mov %%rax, %[t0]\n\t"
        "mov %%rdx, %[t1]\n\t"
        "mov %[a1], %%rax\n\t"
        "mulq %[b0]\n\t"
        "add %%rax, %[t1]\n\t"
        "adc $0, %%rdx\n\t"
        "mov %%rdx, %[t2]\n\t"
        "mov %[a0], %%rax\n\t"
        "mulq %[b1]\n\t"
        "xor %[t3], %[t3]\n\t"
        "add %%rax, %[t1]\n\t"
        "adc %%rdx, %[t2]\n\t"
        "adc $0, %[t3]\n\t"
        "mov %[a1], %%rax\n\t"
        "mulq %[b1]\n\t"
        "add %%rax, %[t2]\n\t"
        "adc %%rdx, %[t3]\n\t"
        // Step 0: m = −t0.
        "mov %[t0], %[lo]\n\t"
        "neg %[lo]\n\t"
        "mov %[lo], %%rax\n\t"
        "mulq %[p1]\n\t"
        "xor %[t4], %[t4]\n\t"
        "add %[lo], %[t0]\n\t"  // 0, carry iff t0 ≠ 0
        "adc %%rax, %[t1]\n\t"
        "adc %%rdx, %[t2]\n\t"
        "adc $0, %[t3]\n\t"
        "adc $0, %[t4]\n\t"
        // Step 1: m = −t1.
        "mov %[t1], %[lo]\n\t"
        "neg %[lo]\n\t"
        "mov %[lo], %%rax\n\t"
        "mulq %[p1]\n\t"
        "add %[lo], %[t1]\n\t"
        "adc %%rax, %[t2]\n\t"
        "adc %%rdx, %[t3]\n\t"
        "adc $0, %[t4]\n\t"
        // (t4:t3:t2) < 2p: subtract p = (kP1, 1) unless that borrows.
        "mov %[t2], %[lo]\n\t"
        "mov %[t3], %[hi]\n\t"
        "sub $1, %[lo]\n\t"
        "sbb %[p1], %[hi]\n\t"
        "sbb $0, %[t4]\n\t"
        "cmovc %[t2], %[lo]\n\t"
        "cmovc %[t3], %[hi]"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
          [lo] "=&r"(lo), [hi] "=&r"(hi)
        : [a0] "rm"(a0), [a1] "rm"(a1), [b0] "rm"(b0), [b1] "rm"(b1), [p1] "rm"(kP1)
        : "rax", "rdx", "cc");
    return (static_cast<uint128>(hi) << 64) | lo;
#else
    const std::uint64_t a0 = lo64(a), a1 = hi64(a), b0 = lo64(b), b1 = hi64(b);
    std::uint64_t carry, t1, t2, t3, t4;
    // Row 0: t = a·b0.
    const std::uint64_t t0 = mac(a0, b0, 0, 0, carry);
    t1 = mac(a1, b0, carry, 0, t2);
    // Add m·p with m = −t0 (−p^-1 ≡ −1 mod 2^64): clears t0, carries iff t0 ≠ 0.
    std::uint64_t m = 0 - t0;
    t1 = mac(m, kP1, t1, t0 != 0, carry);
    t2 += carry;
    t3 = t2 < carry;
    // Row 1: t += a·b1 (shifted by one limb).
    t1 = mac(a0, b1, t1, 0, carry);
    t2 = mac(a1, b1, t2, carry, carry);
    t3 += carry;
    m = 0 - t1;
    t2 = mac(m, kP1, t2, t1 != 0, carry);
    t3 += carry;
    t4 = t3 < carry;
    // Result (t4:t3:t2) < 2p: subtract p = (kP1, 1) once if needed.
    std::uint64_t r0, r1;
    const bool borrow0 = __builtin_sub_overflow(t2, std::uint64_t{1}, &r0);
    bool borrow1 = __builtin_sub_overflow(t3, kP1, &r1);
    std::uint64_t r1b;
    borrow1 |= __builtin_sub_overflow(r1, static_cast<std::uint64_t>(borrow0), &r1b);
    const std::uint64_t keep_reduced = 0 - static_cast<std::uint64_t>(t4 | !borrow1);
    const std::uint64_t lo = (r0 & keep_reduced) | (t2 & ~keep_reduced);
    const std::uint64_t hi = (r1b & keep_reduced) | (t3 & ~keep_reduced);
    return (static_cast<uint128>(hi) << 64) | lo;
#endif
  }

  uint128 m_ = 0;
};

}  // namespace janus::prio3
