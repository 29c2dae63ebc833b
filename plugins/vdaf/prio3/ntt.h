// Radix-2 number-theoretic transform over an FFT-friendly field: converts
// between a polynomial's coefficients and its values at the powers of a
// primitive n-th root of unity (n a power of two).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <vector>

namespace janus::prio3 {

inline std::size_t next_power_of_two(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

inline unsigned log2_exact(std::size_t n) {
  unsigned log = 0;
  while ((std::size_t{1} << log) < n) ++log;
  return log;
}

// The primitive n-th root of unity VDAF-08 uses: g^(GEN_ORDER / n).
template <class F>
F root_of_unity(std::size_t n) {
  const unsigned log_n = log2_exact(n);
  if ((std::size_t{1} << log_n) != n || log_n > F::kGenOrderLog2) {
    throw std::invalid_argument("NTT size must be a power of two within the field's 2-adicity");
  }
  F root = F::generator();
  for (unsigned i = log_n; i < F::kGenOrderLog2; ++i) root *= root;
  return root;
}

template <class F>
class Ntt {
 public:
  explicit Ntt(std::size_t n) : n_(n), log_n_(log2_exact(n)) {
    const F root = root_of_unity<F>(n);
    const F inverse_root = root.inv();
    // Twiddles for each stage laid out contiguously: stage with half-size h
    // uses powers root^(n/(2h)·j), j < h, stored at offset h-1.
    forward_twiddles_.resize(n > 1 ? n - 1 : 0);
    inverse_twiddles_.resize(forward_twiddles_.size());
    for (std::size_t half = 1; half < n; half <<= 1) {
      const F step = pow_of(root, n / (2 * half));
      const F inverse_step = pow_of(inverse_root, n / (2 * half));
      F w = F::one(), iw = F::one();
      for (std::size_t j = 0; j < half; ++j) {
        forward_twiddles_[half - 1 + j] = w;
        inverse_twiddles_[half - 1 + j] = iw;
        w *= step;
        iw *= inverse_step;
      }
    }
    powers_.resize(n);
    F power = F::one();
    for (std::size_t k = 0; k < n; ++k) {
      powers_[k] = power;
      power *= root;
    }
    n_inverse_ = F::from_u64(n).inv();
  }

  std::size_t size() const { return n_; }
  // root^k for k < n.
  const std::vector<F>& powers() const { return powers_; }
  const F& n_inverse() const { return n_inverse_; }

  // values[k] = Σ_j coeffs[j]·root^(jk), in place.
  void forward(F* data) const { transform(data, forward_twiddles_); }
  // coeffs[j] = n^-1 Σ_k values[k]·root^(-jk), in place.
  void inverse(F* data) const {
    transform(data, inverse_twiddles_);
    for (std::size_t i = 0; i < n_; ++i) data[i] *= n_inverse_;
  }
  // n·coeffs (the inverse transform without the final scaling, for callers
  // that fold n^-1 into a multiplication they do anyway).
  void inverse_unscaled(F* data) const { transform(data, inverse_twiddles_); }

  // The same pair without any bit-reversal pass, for callers that only
  // multiply coefficients pointwise between the two: values (natural order)
  // → n·coeffs in bit-reversed order (decimation in frequency), and
  // coefficients in bit-reversed order → values in natural order
  // (decimation in time).
  void inverse_unscaled_to_bit_reversed(F* data) const {
    for (std::size_t half = n_ >> 1; half >= 1; half >>= 1) {
      const F* w = inverse_twiddles_.data() + half - 1;
      for (std::size_t start = 0; start < n_; start += 2 * half) {
        F* lo = data + start;
        F* hi = lo + half;
        const F u0 = lo[0], v0 = hi[0];
        lo[0] = u0 + v0;
        hi[0] = u0 - v0;
        for (std::size_t j = 1; j < half; ++j) {
          const F u = lo[j], v = hi[j];
          lo[j] = u + v;
          hi[j] = (u - v) * w[j];
        }
      }
    }
  }
  void forward_from_bit_reversed(F* data) const { butterflies(data, forward_twiddles_); }
  // bit_reversed(i): the position of coefficient i in bit-reversed order.
  std::size_t bit_reversed(std::size_t i) const {
    std::size_t r = 0;
    for (unsigned b = 0; b < log_n_; ++b) r |= ((i >> b) & 1) << (log_n_ - 1 - b);
    return r;
  }

 private:
  static F pow_of(F base, std::size_t e) { return base.pow(e); }

  void transform(F* data, const std::vector<F>& twiddles) const {
    for (std::size_t i = 1, j = 0; i < n_; ++i) {
      std::size_t bit = n_ >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) std::swap(data[i], data[j]);
    }
    butterflies(data, twiddles);
  }

  void butterflies(F* data, const std::vector<F>& twiddles) const {
    for (std::size_t half = 1; half < n_; half <<= 1) {
      const F* w = twiddles.data() + half - 1;
      for (std::size_t start = 0; start < n_; start += 2 * half) {
        F* lo = data + start;
        F* hi = lo + half;
        // w[0] = 1: no multiplication (saves n − 1 of the (n/2)·log n products).
        const F t0 = hi[0];
        hi[0] = lo[0] - t0;
        lo[0] = lo[0] + t0;
        for (std::size_t j = 1; j < half; ++j) {
          const F t = hi[j] * w[j];
          hi[j] = lo[j] - t;
          lo[j] = lo[j] + t;
        }
      }
    }
  }

  std::size_t n_;
  unsigned log_n_;
  std::vector<F> forward_twiddles_, inverse_twiddles_, powers_;
  F n_inverse_;
};

}  // namespace janus::prio3
