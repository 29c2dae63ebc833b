// The validity circuits of the four Prio3 instances (VDAF-08 §7.4), as the
// -08 reference code, the official vectors, libprio 0.16 and the npm client
// compute them (dap09-vdaf08-notes.md §4.5: Histogram without the extra
// factor r that the -08 spec text has).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "field.h"
#include "flp.h"

namespace janus::prio3 {

// Σ_l 2^l·bits[l].
template <class F>
F decode_from_bit_vector(std::span<const F> bits) {
  // Horner from the most significant bit: doublings are additions.
  F result = F::zero();
  for (std::size_t l = bits.size(); l-- > 0;) result = result + result + bits[l];
  return result;
}

// 1/num_shares, cached for the share counts in use (an inversion costs ~150
// multiplications, more than a small circuit's evaluation).
template <class F = Field128>
F shares_inverse(std::size_t num_shares) {
  static const std::array<F, 8> table = [] {
    std::array<F, 8> inverses{};
    for (std::size_t n = 1; n < inverses.size(); ++n) inverses[n] = F::from_u64(n).inv();
    return inverses;
  }();
  if (num_shares > 0 && num_shares < table.size()) return table[num_shares];
  return F::from_u64(num_shares).inv();
}

// Upper bound on measurement and chunk lengths: parameters come from task
// configuration, and absurd values must fail cleanly rather than allocate.
inline constexpr std::size_t kMaxCircuitLength = std::size_t{1} << 26;

class CountCircuit final : public ValidityCircuit<Field64> {
 public:
  using F = Field64;
  const std::vector<Gadget>& gadgets() const override { return gadgets_; }
  std::size_t meas_len() const override { return 1; }
  std::size_t output_len() const override { return 1; }
  std::size_t joint_rand_len() const override { return 0; }
  F eval(std::span<const F> meas, std::span<const F>, std::size_t, F,
         GadgetCaller<F>& gadgets) const override {
    const F inputs[2] = {meas[0], meas[0]};
    return gadgets.call(0, inputs) - meas[0];
  }
  void truncate(std::span<const F> meas, F* out) const override { out[0] = meas[0]; }

 private:
  std::vector<Gadget> gadgets_{{GadgetKind::kMul, 1}};
};

class SumCircuit final : public ValidityCircuit<Field128> {
 public:
  using F = Field128;
  explicit SumCircuit(std::size_t bits) : bits_(bits), gadgets_{{GadgetKind::kRange2, bits}} {
    if (bits == 0 || bits > 127) throw std::invalid_argument("Prio3Sum: bits must be in 1..127");
  }
  std::size_t bits() const { return bits_; }
  const std::vector<Gadget>& gadgets() const override { return gadgets_; }
  std::size_t meas_len() const override { return bits_; }
  std::size_t output_len() const override { return 1; }
  std::size_t joint_rand_len() const override { return 1; }
  F eval(std::span<const F> meas, std::span<const F> joint_rand, std::size_t, F,
         GadgetCaller<F>& gadgets) const override {
    F out = F::zero();
    const F r = joint_rand[0];
    F r_power = r;
    for (const F& bit : meas) {
      out += r_power * gadgets.call(0, &bit);
      r_power *= r;
    }
    return out;
  }
  void truncate(std::span<const F> meas, F* out) const override {
    out[0] = decode_from_bit_vector(meas);
  }

 private:
  std::size_t bits_;
  std::vector<Gadget> gadgets_;
};

// Over Field128 (Prio3SumVec) or Field64 (libprio's multiproof variant); bits
// is below the field's encoded bit width, as libprio requires.
template <class F>
class SumVecCircuitOver final : public ValidityCircuit<F> {
 public:
  static constexpr std::size_t kMaxBits = 8 * F::kEncodedSize - 1;
  SumVecCircuitOver(std::size_t length, std::size_t bits, std::size_t chunk_length)
      : length_(length), bits_(bits), chunk_length_(chunk_length) {
    if (length == 0) throw std::invalid_argument("Prio3SumVec: length must be positive");
    if (bits == 0 || bits > kMaxBits) {
      throw std::invalid_argument("Prio3SumVec: bits must be in 1.." + std::to_string(kMaxBits));
    }
    if (chunk_length == 0) {
      throw std::invalid_argument("Prio3SumVec: chunk_length must be positive");
    }
    if (length > kMaxCircuitLength / bits || chunk_length > kMaxCircuitLength) {
      throw std::invalid_argument("Prio3SumVec: length·bits or chunk_length too large");
    }
    const std::size_t calls = (length * bits + chunk_length - 1) / chunk_length;
    gadgets_.push_back({GadgetKind::kParallelSumMul, calls, chunk_length});
  }
  std::size_t length() const { return length_; }
  std::size_t bits() const { return bits_; }
  std::size_t chunk_length() const { return chunk_length_; }
  const std::vector<Gadget>& gadgets() const override { return gadgets_; }
  std::size_t meas_len() const override { return length_ * bits_; }
  std::size_t output_len() const override { return length_; }
  std::size_t joint_rand_len() const override { return 1; }
  F eval(std::span<const F> meas, std::span<const F> joint_rand, std::size_t num_shares,
         F constant_scale, GadgetCaller<F>& gadgets) const override {
    return gadgets.call_parallel_sum_range_check(0, gadgets_[0], meas, joint_rand[0],
                                                 shares_inverse<F>(num_shares) * constant_scale);
  }
  void truncate(std::span<const F> meas, F* out) const override {
    for (std::size_t i = 0; i < length_; ++i) {
      out[i] = decode_from_bit_vector(meas.subspan(i * bits_, bits_));
    }
  }
  bool truncate_is_identity() const override { return bits_ == 1; }

 private:
  std::size_t length_, bits_, chunk_length_;
  std::vector<Gadget> gadgets_;
};

using SumVecCircuit = SumVecCircuitOver<Field128>;

class HistogramCircuit final : public ValidityCircuit<Field128> {
 public:
  using F = Field128;
  HistogramCircuit(std::size_t length, std::size_t chunk_length)
      : length_(length), chunk_length_(chunk_length) {
    if (length == 0) throw std::invalid_argument("Prio3Histogram: length must be positive");
    if (chunk_length == 0) {
      throw std::invalid_argument("Prio3Histogram: chunk_length must be positive");
    }
    if (length > kMaxCircuitLength || chunk_length > kMaxCircuitLength) {
      throw std::invalid_argument("Prio3Histogram: length or chunk_length too large");
    }
    const std::size_t calls = (length + chunk_length - 1) / chunk_length;
    gadgets_.push_back({GadgetKind::kParallelSumMul, calls, chunk_length});
  }
  std::size_t length() const { return length_; }
  std::size_t chunk_length() const { return chunk_length_; }
  const std::vector<Gadget>& gadgets() const override { return gadgets_; }
  std::size_t meas_len() const override { return length_; }
  std::size_t output_len() const override { return length_; }
  std::size_t joint_rand_len() const override { return 2; }
  F eval(std::span<const F> meas, std::span<const F> joint_rand, std::size_t num_shares,
         F constant_scale, GadgetCaller<F>& gadgets) const override {
    const F inverse = shares_inverse(num_shares) * constant_scale;
    const F range_check =
        gadgets.call_parallel_sum_range_check(0, gadgets_[0], meas, joint_rand[0], inverse);
    F sum_check = -inverse;
    for (const F& bucket : meas) sum_check += bucket;
    const F r1 = joint_rand[1];
    return r1 * range_check + r1 * r1 * sum_check;
  }
  void truncate(std::span<const F> meas, F* out) const override {
    std::copy(meas.begin(), meas.end(), out);
  }
  bool truncate_is_identity() const override { return true; }

 private:
  std::size_t length_, chunk_length_;
  std::vector<Gadget> gadgets_;
};

// libprio 0.16.8's FixedPointBoundedL2VecSum (src/flp/types/fixedpoint_l2.rs),
// which Janus 0.7 serves as Prio3FixedPointBoundedL2VecSum: `length` entries
// of n = `bits_per_entry` bits (fixed-point numbers in [−1, 1), offset by
// 2^(n−1) so each is an n-bit unsigned integer y), then the squared norm
// Σ (y − 2^(n−1))² as 2n−2 bits. The circuit checks that every input element
// is a bit and that the submitted norm equals the one computed from the
// entries, so the norm is below 2^(2n−2): the vector's L2 norm is below 1.
// The output is the entries' y values (the norm is dropped).
class FixedPointL2Circuit final : public ValidityCircuit<Field128> {
 public:
  using F = Field128;
  FixedPointL2Circuit(std::size_t bits_per_entry, std::size_t length)
      : bits_(bits_per_entry), norm_bits_(2 * bits_per_entry - 2), length_(length) {
    if (bits_ != 16 && bits_ != 32) {
      throw std::invalid_argument("Prio3FixedPointBoundedL2VecSum: entries must be 16 or 32 bits");
    }
    if (length == 0) {
      throw std::invalid_argument("Prio3FixedPointBoundedL2VecSum: length must be positive");
    }
    if (length > (kMaxCircuitLength - norm_bits_) / bits_) {
      throw std::invalid_argument("Prio3FixedPointBoundedL2VecSum: length too large");
    }
    // Chunk lengths as libprio derives them (fixedpoint_l2.rs: the square
    // root of each gadget's input count, computed in f64 and truncated).
    const std::size_t len0 = meas_len();
    const std::size_t chunk0 =
        std::max<std::size_t>(1, static_cast<std::size_t>(std::sqrt(static_cast<double>(len0))));
    const std::size_t chunk1 =
        std::max<std::size_t>(1, static_cast<std::size_t>(std::sqrt(static_cast<double>(length))));
    gadgets_.push_back({GadgetKind::kParallelSumMul, (len0 + chunk0 - 1) / chunk0, chunk0});
    // The norm summand y² − 2^n·y + 2^(2n−2) = (y − 2^(n−1))².
    Gadget norm{GadgetKind::kParallelSumPolyEval, (length + chunk1 - 1) / chunk1, chunk1};
    norm.poly = {std::int64_t{1} << norm_bits_, -(std::int64_t{1} << bits_), 1};
    gadgets_.push_back(norm);
  }
  std::size_t bits_per_entry() const { return bits_; }
  std::size_t length() const { return length_; }
  const std::vector<Gadget>& gadgets() const override { return gadgets_; }
  std::size_t meas_len() const override { return bits_ * length_ + norm_bits_; }
  std::size_t output_len() const override { return length_; }
  std::size_t joint_rand_len() const override { return 2; }

  F eval(std::span<const F> meas, std::span<const F> joint_rand, std::size_t num_shares,
         F constant_scale, GadgetCaller<F>& gadgets) const override {
    const F inverse = shares_inverse(num_shares) * constant_scale;
    // Every element a bit, the norm's bits included.
    const F range_check =
        gadgets.call_parallel_sum_range_check(0, gadgets_[0], meas, joint_rand[0], inverse);
    // The norm of the entries, chunk by chunk; the last chunk is padded with
    // shares of the encoding of 0, whose summand is 0.
    const Gadget& norm = gadgets_[1];
    const F zero_share = F::from_u64(std::uint64_t{1} << (bits_ - 1)) * inverse;
    std::vector<F> chunk(norm.chunk_length);
    F computed = F::zero();
    for (std::size_t first = 0; first < length_; first += norm.chunk_length) {
      for (std::size_t j = 0; j < norm.chunk_length; ++j) {
        const std::size_t entry = first + j;
        chunk[j] = entry < length_ ? decode_from_bit_vector(meas.subspan(entry * bits_, bits_))
                                   : zero_share;
      }
      computed += gadgets.call(1, chunk.data());
    }
    const F submitted = decode_from_bit_vector(meas.subspan(length_ * bits_, norm_bits_));
    const F r = joint_rand[1];
    return r * range_check + r * r * (computed - submitted);
  }
  void truncate(std::span<const F> meas, F* out) const override {
    for (std::size_t i = 0; i < length_; ++i) {
      out[i] = decode_from_bit_vector(meas.subspan(i * bits_, bits_));
    }
  }

 private:
  std::size_t bits_, norm_bits_, length_;
  std::vector<Gadget> gadgets_;
};

}  // namespace janus::prio3
