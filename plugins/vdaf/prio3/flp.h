// The generic FLP of VDAF-08 §7.3 (BBCGGI19 §4.2) over a validity circuit.
//
// Where the time goes. Proving: the gadget polynomial (degree 2(P−1)) is
// computed from its values on the 2P-th roots of unity. At the even ones
// (α^k) the wires take the recorded values, so those products are free; the
// odd ones (ω·α^k) cost two size-P transforms per wire (interpolate, twist by
// ω^i, evaluate), then one inverse transform of size 2P per gadget. Querying
// never interpolates a wire: each wire polynomial is evaluated at the query
// point t with the barycentric formula for roots of unity, accumulated while
// the circuit runs (weights shared by every wire of a gadget, from prefix
// and suffix products: no field inversion), and the gadget outputs at α^k
// come from one size-P NTT of the gadget polynomial folded modulo x^P − 1.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ntt.h"

namespace janus::prio3 {

// The gadgets Prio3 needs. Range2 is PolyEval([0, -1, 1]) (x² − x);
// ParallelSumPolyEval is libprio's ParallelSum(PolyEval(poly)) for a
// quadratic poly (FixedPointBoundedL2VecSum's norm summands).
enum class GadgetKind { kMul, kRange2, kParallelSumMul, kParallelSumPolyEval };

struct Gadget {
  GadgetKind kind;
  std::size_t calls;
  std::size_t chunk_length = 1;  // ParallelSum only: number of subcircuits
  // ParallelSumPolyEval only: the coefficients of x^0, x^1, x^2 (small
  // signed integers, so Gadget needs no field type).
  std::array<std::int64_t, 3> poly{};

  template <class F>
  static F coefficient(std::int64_t value) {
    return value >= 0 ? F::from_u64(static_cast<std::uint64_t>(value))
                      : -F::from_u64(static_cast<std::uint64_t>(-(value + 1)) + 1);
  }
  // poly(x) with each coefficient of x^i multiplied by c^(2−i): what the
  // gadget's check becomes on inputs scaled by c (see decide_scaled).
  template <class F>
  F poly_at(F x, F c = F::one()) const {
    const F c2 = coefficient<F>(poly[2]), c1 = coefficient<F>(poly[1]) * c,
            c0 = coefficient<F>(poly[0]) * c * c;
    return (c2 * x + c1) * x + c0;
  }

  std::size_t arity() const {
    switch (kind) {
      case GadgetKind::kMul:
        return 2;
      case GadgetKind::kRange2:
        return 1;
      case GadgetKind::kParallelSumMul:
        return 2 * chunk_length;
      case GadgetKind::kParallelSumPolyEval:
        return chunk_length;
    }
    return 0;
  }
  std::size_t degree() const { return 2; }

  template <class F>
  F eval(const F* in) const {
    switch (kind) {
      case GadgetKind::kMul:
        return in[0] * in[1];
      case GadgetKind::kRange2:
        return in[0] * in[0] - in[0];
      case GadgetKind::kParallelSumMul: {
        F sum = F::zero();
        for (std::size_t i = 0; i < chunk_length; ++i) sum += in[2 * i] * in[2 * i + 1];
        return sum;
      }
      case GadgetKind::kParallelSumPolyEval: {
        const F c2 = coefficient<F>(poly[2]), c1 = coefficient<F>(poly[1]),
                c0 = coefficient<F>(poly[0]);
        F sum = F::zero();
        for (std::size_t i = 0; i < chunk_length; ++i) sum += (c2 * in[i] + c1) * in[i] + c0;
        return sum;
      }
    }
    return F::zero();
  }
};

// What a circuit calls to evaluate gadget `index`; the FLP records the inputs.
template <class F>
class GadgetCaller {
 public:
  virtual F call(std::size_t index, const F* inputs) = 0;

  // Every call of ParallelSum(Mul) gadget `index` as SumVec and Histogram
  // make them: slot j of call k (idx = k·chunk + j) gets the inputs
  // (r^(idx+1)·x_idx, x_idx − shares_inverse), with x = 0 past the end of
  // `meas`; returns the sum of the gadget outputs. This default spells the
  // calls out; the FLP's query side overrides it to fold the powers of r out
  // of the loop (half the multiplications).
  virtual F call_parallel_sum_range_check(std::size_t index, const Gadget& gadget,
                                          std::span<const F> meas, F r, F shares_inverse) {
    const std::size_t chunk = gadget.chunk_length;
    std::vector<F> inputs(2 * chunk);
    F out = F::zero();
    F r_power = r;
    std::size_t idx = 0;
    for (std::size_t call_number = 0; call_number < gadget.calls; ++call_number) {
      for (std::size_t j = 0; j < chunk; ++j, ++idx) {
        const F x = idx < meas.size() ? meas[idx] : F::zero();
        inputs[2 * j] = r_power * x;
        inputs[2 * j + 1] = x - shares_inverse;
        r_power *= r;
      }
      out += call(index, inputs.data());
    }
    return out;
  }

 protected:
  ~GadgetCaller() = default;
};

template <class F>
class ValidityCircuit {
 public:
  virtual ~ValidityCircuit() = default;
  virtual const std::vector<Gadget>& gadgets() const = 0;
  virtual std::size_t meas_len() const = 0;
  virtual std::size_t output_len() const = 0;
  virtual std::size_t joint_rand_len() const = 0;
  // `constant_scale` multiplies every constant term the circuit adds (such as
  // −1/num_shares): the query evaluates the circuit on shares that are all
  // scaled by the same factor (the FLP query is linear), so its constants must
  // be scaled alike. It is 1 when proving.
  virtual F eval(std::span<const F> meas, std::span<const F> joint_rand, std::size_t num_shares,
                 F constant_scale, GadgetCaller<F>& gadgets) const = 0;
  virtual void truncate(std::span<const F> meas, F* out) const = 0;
  // True when truncate() returns the measurement unchanged (lets Prio3 reuse
  // the encoded measurement share as the encoded output share).
  virtual bool truncate_is_identity() const { return false; }
};

// Raised when the query randomness hits a root of unity (VDAF-08 ERR_ABORT).
class FlpAbort : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class F>
class FlpGeneric {
 public:
  explicit FlpGeneric(std::shared_ptr<const ValidityCircuit<F>> circuit)
      : circuit_(std::move(circuit)) {
    for (const Gadget& gadget : circuit_->gadgets()) {
      Layout layout;
      layout.gadget = gadget;
      layout.arity = gadget.arity();
      layout.wire_points = next_power_of_two(gadget.calls + 1);
      layout.poly_len = gadget.degree() * (layout.wire_points - 1) + 1;
      layout.eval_points = next_power_of_two(layout.poly_len);
      layout.proof_offset = proof_len_;
      layout.wire_ntt = std::make_shared<Ntt<F>>(layout.wire_points);
      layout.eval_ntt = std::make_shared<Ntt<F>>(layout.eval_points);
      proof_len_ += layout.arity + layout.poly_len;
      verifier_len_ += layout.arity + 1;
      prove_rand_len_ += layout.arity;
      layouts_.push_back(std::move(layout));
    }
  }

  const ValidityCircuit<F>& circuit() const { return *circuit_; }
  std::size_t prove_rand_len() const { return prove_rand_len_; }
  std::size_t query_rand_len() const { return layouts_.size(); }
  std::size_t joint_rand_len() const { return circuit_->joint_rand_len(); }
  std::size_t meas_len() const { return circuit_->meas_len(); }
  std::size_t output_len() const { return circuit_->output_len(); }
  std::size_t proof_len() const { return proof_len_; }
  std::size_t verifier_len() const { return verifier_len_; }

  std::vector<F> prove(std::span<const F> meas, std::span<const F> prove_rand,
                       std::span<const F> joint_rand) const {
    check_length(meas.size(), meas_len(), "measurement");
    check_length(prove_rand.size(), prove_rand_len(), "prove randomness");
    check_length(joint_rand.size(), joint_rand_len(), "joint randomness");
    Recorder recorder(layouts_);
    for (std::size_t i = 0, offset = 0; i < layouts_.size(); ++i) {
      for (std::size_t j = 0; j < layouts_[i].arity; ++j) {
        recorder.wire(i, j)[0] = prove_rand[offset++];
      }
    }
    circuit_->eval(meas, joint_rand, 1, F::one(), recorder);

    std::vector<F> proof(proof_len_);
    for (std::size_t i = 0; i < layouts_.size(); ++i) {
      const Layout& layout = layouts_[i];
      std::vector<F> gadget_values = gadget_values_on_double_domain(layout, recorder, i);
      layout.eval_ntt->inverse(gadget_values.data());
      F* out = proof.data() + layout.proof_offset;
      for (std::size_t j = 0; j < layout.arity; ++j) out[j] = recorder.wire(i, j)[0];
      std::copy(gadget_values.begin(), gadget_values.begin() + layout.poly_len, out + layout.arity);
    }
    return proof;
  }

  std::vector<F> query(std::span<const F> meas, std::span<const F> proof,
                       std::span<const F> query_rand, std::span<const F> joint_rand,
                       std::size_t num_shares, F input_scale = F::one()) const {
    check_length(meas.size(), meas_len(), "measurement share");
    check_length(proof.size(), proof_len(), "proof share");
    check_length(query_rand.size(), query_rand_len(), "query randomness");
    check_length(joint_rand.size(), joint_rand_len(), "joint randomness");
    // Reject a query point on the evaluation domain before doing any work.
    for (std::size_t i = 0; i < layouts_.size(); ++i) {
      if (query_rand[i].pow(layouts_[i].wire_points) == F::one()) {
        throw FlpAbort("FLP query point is a root of unity");
      }
    }

    QueryRecorder recorder(layouts_, proof, query_rand);
    const F v = circuit_->eval(meas, joint_rand, num_shares, input_scale, recorder);

    std::vector<F> verifier;
    verifier.reserve(verifier_len_);
    verifier.push_back(v);
    for (std::size_t i = 0; i < layouts_.size(); ++i) {
      const Layout& layout = layouts_[i];
      const std::span<const F> wires_at_t = recorder.wires_at_t(i);
      verifier.insert(verifier.end(), wires_at_t.begin(), wires_at_t.end());
      const F t = query_rand[i];
      const F* coeffs = proof.data() + layout.proof_offset + layout.arity;
      F y = F::zero();
      for (std::size_t k = layout.poly_len; k-- > 0;) y = y * t + coeffs[k];
      verifier.push_back(y);
    }
    return verifier;
  }

  // decide() on a verifier whose every element is scaled by the same nonzero
  // c (F::decode_scaled gives c = F::decode_scale() without a multiply per
  // element). v·c = 0 iff v = 0. For the degree-2 gadgets, multiplying the
  // check G(x) = y by c² gives, with x' = c·x and y' = c·y:
  //   Mul, ParallelSum(Mul) (homogeneous): G(x') = c·y'
  //   Range2 (x² − x):                      x'² − c·x' = c·y'
  //   ParallelSum(PolyEval(a0 + a1·x + a2·x²)): Σ_j a2·x'_j² + a1·c·x'_j + a0·c² = c·y'
  bool decide_scaled(std::span<const F> verifier, F c) const {
    check_length(verifier.size(), verifier_len(), "verifier");
    if (!(verifier[0] == F::zero())) return false;
    std::size_t offset = 1;
    for (const Layout& layout : layouts_) {
      const F* x = verifier.data() + offset;
      const F y = verifier[offset + layout.arity];
      F z = F::zero();
      switch (layout.gadget.kind) {
        case GadgetKind::kRange2:
          z = x[0] * x[0] - c * x[0];
          break;
        case GadgetKind::kParallelSumPolyEval:
          for (std::size_t j = 0; j < layout.arity; ++j) z += layout.gadget.poly_at(x[j], c);
          break;
        case GadgetKind::kMul:
        case GadgetKind::kParallelSumMul:
          z = layout.gadget.eval(x);
          break;
      }
      if (!(z == c * y)) return false;
      offset += layout.arity + 1;
    }
    return true;
  }

  bool decide(std::span<const F> verifier) const {
    check_length(verifier.size(), verifier_len(), "verifier");
    if (!(verifier[0] == F::zero())) return false;
    std::size_t offset = 1;
    for (const Layout& layout : layouts_) {
      const F z = layout.gadget.eval(verifier.data() + offset);
      if (!(z == verifier[offset + layout.arity])) return false;
      offset += layout.arity + 1;
    }
    return true;
  }

 private:
  struct Layout {
    Gadget gadget{GadgetKind::kMul, 0};
    std::size_t arity = 0;
    std::size_t wire_points = 0;  // P
    std::size_t poly_len = 0;     // D·(P−1)+1 gadget polynomial coefficients
    std::size_t eval_points = 0;  // next_power_of_two(poly_len)
    std::size_t proof_offset = 0;
    std::shared_ptr<Ntt<F>> wire_ntt, eval_ntt;
  };

  // Proving: records gadget inputs into per-gadget wire tables (row j of
  // gadget i holds wire j at α^0..α^(P−1)) and answers with the gadget itself.
  class Recorder final : public GadgetCaller<F> {
   public:
    // The tables live in per-thread storage reused across proofs: they can be
    // hundreds of KiB (Histogram 10000/100: 409 KiB), and fresh allocations of
    // that size cost page faults on every call once glibc trims its heap.
    explicit Recorder(const std::vector<Layout>& layouts) : layouts_(layouts) {
      std::size_t total = 0;
      for (const Layout& layout : layouts) {
        offsets_.push_back(total);
        total += layout.arity * layout.wire_points;
        calls_.push_back(0);
      }
      static thread_local std::vector<F> storage;
      if (storage.size() < total) storage.resize(total);
      std::fill(storage.begin(), storage.begin() + static_cast<std::ptrdiff_t>(total), F::zero());
      base_ = storage.data();
    }

    F* wire(std::size_t gadget, std::size_t j) {
      return base_ + offsets_[gadget] + j * layouts_[gadget].wire_points;
    }

    F call(std::size_t index, const F* inputs) override {
      const Layout& layout = layouts_.at(index);
      const std::size_t k = ++calls_[index];
      if (k > layout.gadget.calls) throw std::logic_error("circuit called a gadget too often");
      for (std::size_t j = 0; j < layout.arity; ++j) wire(index, j)[k] = inputs[j];
      return layout.gadget.eval(inputs);
    }

   private:
    const std::vector<Layout>& layouts_;
    std::vector<std::size_t> offsets_;
    std::vector<std::size_t> calls_;
    F* base_ = nullptr;
  };

  // Querying: answers the k-th call of gadget i with gadget_poly_i(α^k) and,
  // instead of recording wires, accumulates each wire polynomial's value at
  // the query point t directly (barycentric interpolation on the roots of
  // unity: poly(t) = (t^P − 1)/P · Σ_k w_k·α^k/(t − α^k)).
  class QueryRecorder final : public GadgetCaller<F> {
   public:
    // The per-gadget vectors (outputs, weights, wires at t, and the
    // weights' prefix products) live in one per-thread buffer reused across queries:
    // for small circuits their allocations were about a third of the query's
    // instructions. Queries do not nest.
    QueryRecorder(const std::vector<Layout>& layouts, std::span<const F> proof,
                  std::span<const F> query_rand)
        : layouts_(layouts) {
      static thread_local std::vector<F> storage;
      static thread_local std::vector<Slots> slots;
      std::size_t total = 0;
      for (const Layout& layout : layouts) {
        total += layout.wire_points + 2 * (layout.gadget.calls + 1) + layout.arity;
      }
      if (storage.size() < total) storage.resize(total);
      slots.resize(layouts.size());
      slots_ = slots.data();
      F* next = storage.data();
      for (std::size_t i = 0; i < layouts.size(); ++i) {
        const Layout& layout = layouts[i];
        const std::size_t p = layout.wire_points;
        const std::size_t used = layout.gadget.calls + 1;
        Slots& slot = slots_[i];
        slot.outputs = next;
        slot.weights = next + p;
        F* prefix = slot.weights + used;
        slot.wires = prefix + used;
        next = slot.wires + layout.arity;
        slot.calls = 0;

        // Gadget outputs: fold the gadget polynomial modulo x^P − 1, then NTT.
        F* outputs = slot.outputs;
        std::fill(outputs, outputs + p, F::zero());
        const F* coeffs = proof.data() + layout.proof_offset + layout.arity;
        for (std::size_t k = 0; k < layout.poly_len; ++k) outputs[k % p] += coeffs[k];
        layout.wire_ntt->forward(outputs);

        // Only α^0..α^M carry values (the rest is zero padding), so only
        // M+1 weights are needed.
        const F t = query_rand[i];
        const std::vector<F>& alpha = layout.wire_ntt->powers();
        // w_k = (t^P − 1)/P · α^k/(t − α^k) = α^k/P · Π_{i≠k} (t − α^i):
        // prefix and suffix products over all P points instead of a batch
        // inversion (Montgomery's trick costs as many multiplications plus
        // one inversion, ~150 more for Field128: most of a small circuit's
        // query). t^P ≠ 1 was checked by the caller.
        F* weights = slot.weights;
        F product = F::one();
        for (std::size_t k = 0; k < used; ++k) {
          prefix[k] = product;
          product *= t - alpha[k];
        }
        F suffix = layout.wire_ntt->n_inverse();
        for (std::size_t k = p; k-- > 0;) {
          if (k < used) weights[k] = prefix[k] * suffix * alpha[k];
          suffix *= t - alpha[k];
        }

        // The wire seeds sit at α^0.
        const F* seeds = proof.data() + layout.proof_offset;
        for (std::size_t j = 0; j < layout.arity; ++j) slot.wires[j] = seeds[j] * weights[0];
      }
    }

    std::span<const F> wires_at_t(std::size_t gadget) const {
      return {slots_[gadget].wires, layouts_[gadget].arity};
    }

    // With r^(idx+1) = r^(j+1)·(r^chunk)^k for idx = k·chunk + j, wire 2j at t
    // is r^(j+1)·Σ_k (w_k·R^k)·x_idx (R = r^chunk) and wire 2j+1 is
    // Σ_k w_k·x_idx − shares_inverse·Σ_k w_k: two multiplications per
    // measurement element instead of four.
    F call_parallel_sum_range_check(std::size_t index, const Gadget& gadget,
                                    std::span<const F> meas, F r, F shares_inverse) override {
      const Layout& layout = layouts_.at(index);
      if (slots_[index].calls != 0 || gadget.kind != GadgetKind::kParallelSumMul ||
          layout.gadget.calls != gadget.calls ||
          layout.gadget.chunk_length != gadget.chunk_length) {
        throw std::logic_error("range check does not match the circuit's gadget");
      }
      const std::size_t chunk = gadget.chunk_length;
      const F* weights = slots_[index].weights;
      const F* outputs = slots_[index].outputs;
      F r_to_chunk = F::one();
      for (std::size_t j = 0; j < chunk; ++j) r_to_chunk *= r;
      // scaled_weights[k] = w_k·R^k; per-thread scratch like the slots.
      static thread_local std::vector<F> scratch;
      if (scratch.size() < gadget.calls + 2 * chunk) scratch.resize(gadget.calls + 2 * chunk);
      F* scaled_weights = scratch.data();
      F* scaled = scaled_weights + gadget.calls;
      F* plain = scaled + chunk;
      std::fill(scaled, plain + chunk, F::zero());
      F scale = F::one();  // R^k
      F weight_sum = F::zero();
      F out = F::zero();
      for (std::size_t k = 0; k < gadget.calls; ++k) {
        scaled_weights[k] = weights[k + 1] * scale;
        weight_sum += weights[k + 1];
        out += outputs[k + 1];
        scale *= r_to_chunk;
      }
      // Column j: the sums over k of scaled_weights[k]·x and weights[k+1]·x
      // for x = meas[k·chunk + j], as product sums reduced once per column
      // (F::ProductSum), one sum at a time so its limbs stay in registers.
      for (std::size_t j = 0; j < chunk && j < meas.size(); ++j) {
        const std::size_t count = (meas.size() - j + chunk - 1) / chunk;
        typename F::ProductSum sum;
        const F* x = meas.data() + j;
        for (std::size_t k = 0; k < count; ++k) F::mul_add(sum, scaled_weights[k], x[k * chunk]);
        scaled[j] = F::reduce(sum);
        sum = {};
        for (std::size_t k = 0; k < count; ++k) F::mul_add(sum, weights[k + 1], x[k * chunk]);
        plain[j] = F::reduce(sum);
      }
      slots_[index].calls = gadget.calls;
      F* wires = slots_[index].wires;
      const F odd_offset = shares_inverse * weight_sum;
      F r_power = r;
      for (std::size_t j = 0; j < chunk; ++j) {
        wires[2 * j] += r_power * scaled[j];
        wires[2 * j + 1] += plain[j] - odd_offset;
        r_power *= r;
      }
      return out;
    }

    F call(std::size_t index, const F* inputs) override {
      const Layout& layout = layouts_.at(index);
      Slots& slot = slots_[index];
      const std::size_t k = ++slot.calls;
      if (k > layout.gadget.calls) throw std::logic_error("circuit called a gadget too often");
      const F weight = slot.weights[k];
      F* wires = slot.wires;
      for (std::size_t j = 0; j < layout.arity; ++j) wires[j] += inputs[j] * weight;
      return slot.outputs[k];
    }

   private:
    struct Slots {
      F* outputs;  // wire_points gadget outputs at α^k
      F* weights;  // calls + 1 barycentric weights
      F* wires;    // arity wire values at t
      std::size_t calls;
    };
    const std::vector<Layout>& layouts_;
    Slots* slots_ = nullptr;
  };

  // The gadget polynomial's values at the 2P-th roots of unity ω^m, in
  // natural order. Even m = 2k is α^k, where the wire polynomials take the
  // recorded values; odd m = 2k+1 is ω·α^k, reached by interpolating the wire
  // (inverse NTT), twisting coefficient i by ω^i and one forward NTT of size P.
  // Wires are streamed one gadget input group at a time, so no table of all
  // wire values on the larger domain is ever built.
  std::vector<F> gadget_values_on_double_domain(const Layout& layout, Recorder& recorder,
                                                std::size_t index) const {
    const std::size_t p = layout.wire_points;
    if (layout.eval_points != 2 * p) throw std::logic_error("FLP: gadget degree must be 2");
    // twist = ω^c / P (the coset shift with the inverse NTT's scaling), laid
    // out in bit-reversed order so neither transform needs a permutation pass.
    const Ntt<F>& ntt = *layout.wire_ntt;
    const std::vector<F>& omega = layout.eval_ntt->powers();
    std::vector<F> twist(p);
    for (std::size_t c = 0; c < p; ++c) twist[ntt.bit_reversed(c)] = omega[c] * ntt.n_inverse();
    std::vector<F> values(2 * p);
    std::vector<F> a(p), b(p);
    auto coset_values = [&](const F* wire, std::vector<F>& out) {
      std::copy(wire, wire + p, out.begin());
      ntt.inverse_unscaled_to_bit_reversed(out.data());
      for (std::size_t c = 0; c < p; ++c) out[c] *= twist[c];
      ntt.forward_from_bit_reversed(out.data());
    };
    switch (layout.gadget.kind) {
      case GadgetKind::kRange2: {
        const F* wire = recorder.wire(index, 0);
        coset_values(wire, a);
        for (std::size_t k = 0; k < p; ++k) {
          values[2 * k] = wire[k] * wire[k] - wire[k];
          values[2 * k + 1] = a[k] * a[k] - a[k];
        }
        break;
      }
      case GadgetKind::kParallelSumPolyEval: {
        // Every point counts, the zero-padded ones included: there the
        // polynomial's constant term makes the value chunk·a0, not 0.
        for (std::size_t j = 0; j < layout.arity; ++j) {
          const F* wire = recorder.wire(index, j);
          coset_values(wire, a);
          for (std::size_t k = 0; k < p; ++k) {
            values[2 * k] += layout.gadget.poly_at(wire[k]);
            values[2 * k + 1] += layout.gadget.poly_at(a[k]);
          }
        }
        break;
      }
      case GadgetKind::kMul:
      case GadgetKind::kParallelSumMul: {
        for (std::size_t pair = 0; 2 * pair < layout.arity; ++pair) {
          const F* left = recorder.wire(index, 2 * pair);
          const F* right = recorder.wire(index, 2 * pair + 1);
          coset_values(left, a);
          coset_values(right, b);
          for (std::size_t k = 0; k < p; ++k) {
            values[2 * k] += left[k] * right[k];
            values[2 * k + 1] += a[k] * b[k];
          }
        }
        break;
      }
    }
    return values;
  }

  static void check_length(std::size_t got, std::size_t want, const char* what) {
    if (got != want) throw std::invalid_argument(std::string("FLP: wrong length of ") + what);
  }

  std::shared_ptr<const ValidityCircuit<F>> circuit_;
  std::vector<Layout> layouts_;
  std::size_t proof_len_ = 0;
  std::size_t verifier_len_ = 1;
  std::size_t prove_rand_len_ = 0;
};

}  // namespace janus::prio3
