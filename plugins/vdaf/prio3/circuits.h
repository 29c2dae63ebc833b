// The validity circuits of the four Prio3 instances (VDAF-08 §7.4), as the
// -08 reference code, the official vectors, libprio 0.16 and the npm client
// compute them (dap09-vdaf08-notes.md §4.5: Histogram without the extra
// factor r that the -08 spec text has).
#pragma once

#include <algorithm>
#include <array>
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

}  // namespace janus::prio3
