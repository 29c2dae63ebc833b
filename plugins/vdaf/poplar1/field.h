// Poplar1's fields (VDAF-08 §6.1, table "fields"): Field64 (p = 2^64 - 2^32 + 1) for inner
// nodes of the IDPF tree and Field255 (p = 2^255 - 19) for leaves. Elements are canonical
// (always < p); encode/decode are little-endian, and decode rejects values >= p.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace janus::poplar1 {

__extension__ typedef unsigned __int128 u128;

class Field64 {
 public:
  static constexpr std::size_t kEncodedSize = 8;
  static constexpr std::uint64_t kModulus = 0xFFFFFFFF00000001ULL;
  static constexpr const char* kName = "Field64";

  constexpr Field64() = default;
  explicit constexpr Field64(std::uint64_t value) : value_(value % kModulus) {}

  std::uint64_t as_u64() const { return value_; }
  bool is_zero() const { return value_ == 0; }

  // False for an encoding of a value >= p.
  static bool decode(const std::uint8_t* in, Field64& out) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | in[i];
    if (v >= kModulus) return false;
    out.value_ = v;
    return true;
  }
  // next_vec's candidate: the XOF's 8 bytes masked to 64 bits (a no-op), accepted if < p.
  static bool sample(const std::uint8_t* in, Field64& out) { return decode(in, out); }
  void encode(std::uint8_t* out) const {
    for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(value_ >> (8 * i));
  }
  std::string to_decimal() const { return std::to_string(value_); }

  friend Field64 operator+(Field64 a, Field64 b) {
    std::uint64_t sum;
    const bool carry = __builtin_add_overflow(a.value_, b.value_, &sum);
    // 2^64 ≡ 2^32 - 1 (mod p); a carried sum is below 2^64 - (2^32 - 1), so this cannot wrap.
    if (carry) sum += 0xFFFFFFFFULL;
    if (sum >= kModulus) sum -= kModulus;
    return from_canonical(sum);
  }
  friend Field64 operator-(Field64 a, Field64 b) {
    std::uint64_t difference;
    if (__builtin_sub_overflow(a.value_, b.value_, &difference)) difference += kModulus;
    return from_canonical(difference);
  }
  Field64 operator-() const { return Field64() - *this; }
  friend Field64 operator*(Field64 a, Field64 b) {
    return from_canonical(reduce(static_cast<u128>(a.value_) * b.value_));
  }
  Field64& operator+=(Field64 b) { return *this = *this + b; }
  Field64& operator-=(Field64 b) { return *this = *this - b; }
  Field64& operator*=(Field64 b) { return *this = *this * b; }
  friend bool operator==(Field64 a, Field64 b) { return a.value_ == b.value_; }

 private:
  static Field64 from_canonical(std::uint64_t v) {
    Field64 f;
    f.value_ = v;
    return f;
  }
  // x = hi·2^64 + lo with 2^64 ≡ 2^32 - 1 and 2^96 ≡ -1 (mod p).
  static std::uint64_t reduce(u128 x) {
    const std::uint64_t lo = static_cast<std::uint64_t>(x);
    const std::uint64_t hi = static_cast<std::uint64_t>(x >> 64);
    const std::uint64_t hi_hi = hi >> 32;
    const std::uint64_t hi_lo = hi & 0xFFFFFFFFULL;
    std::uint64_t t;
    if (__builtin_sub_overflow(lo, hi_hi, &t)) t -= 0xFFFFFFFFULL;  // + p (mod 2^64)
    std::uint64_t r;
    if (__builtin_add_overflow(t, hi_lo * 0xFFFFFFFFULL, &r)) r += 0xFFFFFFFFULL;
    if (r >= kModulus) r -= kModulus;
    return r;
  }

  std::uint64_t value_ = 0;
};

class Field255 {
 public:
  static constexpr std::size_t kEncodedSize = 32;
  static constexpr const char* kName = "Field255";
  using Limbs = std::array<std::uint64_t, 4>;  // little-endian 64-bit limbs
  static constexpr Limbs kModulus = {0xFFFFFFFFFFFFFFEDULL, 0xFFFFFFFFFFFFFFFFULL,
                                     0xFFFFFFFFFFFFFFFFULL, 0x7FFFFFFFFFFFFFFFULL};

  constexpr Field255() = default;
  explicit Field255(std::uint64_t value) : limbs_{value, 0, 0, 0} {}

  const Limbs& limbs() const { return limbs_; }
  bool is_zero() const { return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  bool fits_u64() const { return (limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  std::uint64_t low_u64() const { return limbs_[0]; }

  static bool decode(const std::uint8_t* in, Field255& out) {
    Limbs v{};
    for (int i = 0; i < 32; ++i) v[i / 8] |= static_cast<std::uint64_t>(in[i]) << (8 * (i % 8));
    if (!less_than_modulus(v)) return false;
    out.limbs_ = v;
    return true;
  }
  // next_vec's candidate: 32 bytes masked to 255 bits, accepted if < p.
  static bool sample(const std::uint8_t* in, Field255& out) {
    std::array<std::uint8_t, 32> masked;
    std::memcpy(masked.data(), in, 32);
    masked[31] &= 0x7F;
    return decode(masked.data(), out);
  }
  void encode(std::uint8_t* out) const {
    for (int i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>(limbs_[i / 8] >> (8 * (i % 8)));
  }
  // Decimal digits of the canonical value (aggregate results are small; any value prints).
  std::string to_decimal() const {
    Limbs v = limbs_;
    std::string digits;
    do {
      u128 remainder = 0;
      for (int i = 3; i >= 0; --i) {
        const u128 current = (remainder << 64) | v[i];
        v[i] = static_cast<std::uint64_t>(current / 10);
        remainder = current % 10;
      }
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(remainder)));
    } while ((v[0] | v[1] | v[2] | v[3]) != 0);
    return digits;
  }

  friend Field255 operator+(const Field255& a, const Field255& b) {
    // a, b < 2^255, so the sum fits in 256 bits.
    Limbs sum;
    u128 carry = 0;
    for (int i = 0; i < 4; ++i) {
      carry += static_cast<u128>(a.limbs_[i]) + b.limbs_[i];
      sum[i] = static_cast<std::uint64_t>(carry);
      carry >>= 64;
    }
    return from_limbs(subtract_modulus_if_needed(sum));
  }
  friend Field255 operator-(const Field255& a, const Field255& b) {
    Limbs difference;
    const bool borrow = subtract(a.limbs_, b.limbs_, difference);
    if (borrow) add_in_place(difference, kModulus);
    return from_limbs(difference);
  }
  Field255 operator-() const { return Field255() - *this; }
  friend Field255 operator*(const Field255& a, const Field255& b) {
    std::array<std::uint64_t, 8> product{};
    for (int i = 0; i < 4; ++i) {
      u128 carry = 0;
      for (int j = 0; j < 4; ++j) {
        carry += static_cast<u128>(a.limbs_[i]) * b.limbs_[j] + product[i + j];
        product[i + j] = static_cast<std::uint64_t>(carry);
        carry >>= 64;
      }
      product[i + 4] = static_cast<std::uint64_t>(carry);
    }
    // 2^256 ≡ 38 (mod p): fold the high half in twice, then subtract p while needed.
    Limbs folded;
    u128 carry = 0;
    for (int i = 0; i < 4; ++i) {
      carry += static_cast<u128>(product[i + 4]) * 38 + product[i];
      folded[i] = static_cast<std::uint64_t>(carry);
      carry >>= 64;
    }
    carry *= 38;
    for (int i = 0; i < 4 && carry != 0; ++i) {
      carry += folded[i];
      folded[i] = static_cast<std::uint64_t>(carry);
      carry >>= 64;
    }
    if (carry != 0) {  // wrapped past 2^256 once more (value now tiny): add 38
      u128 c = 38;
      for (int i = 0; i < 4 && c != 0; ++i) {
        c += folded[i];
        folded[i] = static_cast<std::uint64_t>(c);
        c >>= 64;
      }
    }
    return from_limbs(subtract_modulus_if_needed(subtract_modulus_if_needed(folded)));
  }
  Field255& operator+=(const Field255& b) { return *this = *this + b; }
  Field255& operator-=(const Field255& b) { return *this = *this - b; }
  Field255& operator*=(const Field255& b) { return *this = *this * b; }
  friend bool operator==(const Field255& a, const Field255& b) { return a.limbs_ == b.limbs_; }

 private:
  static Field255 from_limbs(const Limbs& limbs) {
    Field255 f;
    f.limbs_ = limbs;
    return f;
  }
  static bool less_than_modulus(const Limbs& v) {
    for (int i = 3; i >= 0; --i) {
      if (v[i] != kModulus[i]) return v[i] < kModulus[i];
    }
    return false;
  }
  // out = a - b; true if it borrowed.
  static bool subtract(const Limbs& a, const Limbs& b, Limbs& out) {
    unsigned borrow = 0;
    for (int i = 0; i < 4; ++i) {
      const u128 d = static_cast<u128>(a[i]) - b[i] - static_cast<u128>(borrow);
      out[i] = static_cast<std::uint64_t>(d);
      borrow = static_cast<unsigned>((d >> 64) & 1);
    }
    return borrow != 0;
  }
  static void add_in_place(Limbs& a, const Limbs& b) {
    u128 carry = 0;
    for (int i = 0; i < 4; ++i) {
      carry += static_cast<u128>(a[i]) + b[i];
      a[i] = static_cast<std::uint64_t>(carry);
      carry >>= 64;
    }
  }
  static Limbs subtract_modulus_if_needed(const Limbs& v) {
    if (less_than_modulus(v)) return v;
    Limbs reduced;
    subtract(v, kModulus, reduced);
    return reduced;
  }

  Limbs limbs_{};
};

}  // namespace janus::poplar1
