// The validity circuits of the four Prio3 instances (VDAF-08 §7.4), as the
// -08 reference code, the official vectors, libprio 0.16 and the npm client
// compute them (dap09-vdaf08-notes.md §4.5: Histogram without the extra
// factor r that the -08 spec text has).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <vector>

#include "field.h"
#include "flp.h"

namespace janus::prio3 {

// Σ_l 2^l·bits[l].
template <class F>
F decode_from_bit_vector(std::span<const F> bits) {
  F result = F::zero();
  F power = F::one();
  const F two = F::from_u64(2);
  for (const F& bit : bits) {
    result += power * bit;
    power *= two;
  }
  return result;
}

class CountCircuit final : public ValidityCircuit<Field64> {
 public:
  using F = Field64;
  const std::vector<Gadget>& gadgets() const override { return gadgets_; }
  std::size_t meas_len() const override { return 1; }
  std::size_t output_len() const override { return 1; }
  std::size_t joint_rand_len() const override { return 0; }
  F eval(std::span<const F> meas, std::span<const F>, std::size_t,
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
  F eval(std::span<const F> meas, std::span<const F> joint_rand, std::size_t,
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

// The range check shared by SumVec and Histogram: Σ over ParallelSum calls of
// Σ_j (r^(idx+1)·x_idx)·(x_idx − 1/num_shares), padded with zeros.
inline Field128 parallel_sum_range_check(std::span<const Field128> meas, Field128 r,
                                         std::size_t num_shares, const Gadget& gadget,
                                         GadgetCaller<Field128>& gadgets,
                                         std::vector<Field128>& inputs) {
  using F = Field128;
  const F shares_inverse = F::from_u64(num_shares).inv();
  const std::size_t chunk = gadget.chunk_length;
  inputs.assign(2 * chunk, F::zero());
  F out = F::zero();
  F r_power = r;
  std::size_t index = 0;
  for (std::size_t call = 0; call < gadget.calls; ++call) {
    for (std::size_t j = 0; j < chunk; ++j, ++index) {
      const F x = index < meas.size() ? meas[index] : F::zero();
      inputs[2 * j] = r_power * x;
      inputs[2 * j + 1] = x - shares_inverse;
      r_power *= r;
    }
    out += gadgets.call(0, inputs.data());
  }
  return out;
}

class SumVecCircuit final : public ValidityCircuit<Field128> {
 public:
  using F = Field128;
  SumVecCircuit(std::size_t length, std::size_t bits, std::size_t chunk_length)
      : length_(length), bits_(bits), chunk_length_(chunk_length) {
    if (length == 0) throw std::invalid_argument("Prio3SumVec: length must be positive");
    if (bits == 0 || bits > 127) throw std::invalid_argument("Prio3SumVec: bits must be in 1..127");
    if (chunk_length == 0)
      throw std::invalid_argument("Prio3SumVec: chunk_length must be positive");
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
         GadgetCaller<F>& gadgets) const override {
    std::vector<F> inputs;
    return parallel_sum_range_check(meas, joint_rand[0], num_shares, gadgets_[0], gadgets, inputs);
  }
  void truncate(std::span<const F> meas, F* out) const override {
    for (std::size_t i = 0; i < length_; ++i) {
      out[i] = decode_from_bit_vector(meas.subspan(i * bits_, bits_));
    }
  }

 private:
  std::size_t length_, bits_, chunk_length_;
  std::vector<Gadget> gadgets_;
};

class HistogramCircuit final : public ValidityCircuit<Field128> {
 public:
  using F = Field128;
  HistogramCircuit(std::size_t length, std::size_t chunk_length)
      : length_(length), chunk_length_(chunk_length) {
    if (length == 0) throw std::invalid_argument("Prio3Histogram: length must be positive");
    if (chunk_length == 0) {
      throw std::invalid_argument("Prio3Histogram: chunk_length must be positive");
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
         GadgetCaller<F>& gadgets) const override {
    std::vector<F> inputs;
    const F range_check =
        parallel_sum_range_check(meas, joint_rand[0], num_shares, gadgets_[0], gadgets, inputs);
    F sum_check = -F::from_u64(num_shares).inv();
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
