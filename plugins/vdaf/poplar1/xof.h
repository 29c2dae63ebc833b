// The two XOFs Poplar1 uses (VDAF-08 §6.2): XofTurboShake128 for sharding
// and preparation, XofFixedKeyAes128 inside the IDPF. This plugin is built
// against the SDK alone, as a third party's would be, so it carries its own
// portable TurboSHAKE128 (RFC 9861) rather than the prio3 plugin's private,
// batched one; Poplar1 squeezes a few hundred bytes per report, where the
// batching would not pay.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "field.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace janus::poplar1 {

using ConstBytes = std::span<const std::uint8_t>;
inline constexpr std::size_t kSeedSize = 16;
using Seed = std::array<std::uint8_t, kSeedSize>;

// TurboSHAKE128(M, D, L): absorb everything, finish() once, then squeeze.
class TurboShake128 {
 public:
  static constexpr std::size_t kRate = 168;
  void absorb(ConstBytes data);
  void finish(std::uint8_t domain);
  void squeeze(std::uint8_t* out, std::size_t length);

 private:
  std::array<std::uint64_t, 25> state_{};
  std::array<std::uint8_t, kRate> buffer_{};
  std::size_t position_ = 0;
  bool squeezing_ = false;
};

// VDAF-08 format_dst(algo_class, algo, usage) for VERSION 8.
std::array<std::uint8_t, 8> format_dst(std::uint8_t algo_class, std::uint32_t algo,
                                       std::uint16_t usage);

// next_vec (VDAF-08 §6.2): rejection sampling of little-endian candidates.
template <class F, class Xof>
std::vector<F> next_vec(Xof& xof, std::size_t count) {
  std::vector<F> out;
  out.reserve(count);
  std::array<std::uint8_t, F::kEncodedSize> candidate;
  while (out.size() < count) {
    xof.next(candidate.data(), candidate.size());
    F value;
    if (F::sample(candidate.data(), value)) out.push_back(value);
  }
  return out;
}

// XofTurboShake128: TurboSHAKE128(len(dst) ‖ dst ‖ seed ‖ binder, 1).
class XofTurboShake128 {
 public:
  XofTurboShake128(ConstBytes seed, ConstBytes dst, ConstBytes binder);
  void next(std::uint8_t* out, std::size_t length) { sponge_.squeeze(out, length); }
  template <class F>
  std::vector<F> next_vec(std::size_t count) {
    return poplar1::next_vec<F>(*this, count);
  }

 private:
  TurboShake128 sponge_;
};

// The fixed AES-128 key of XofFixedKeyAes128 for one (dst, binder): TurboSHAKE128(len(dst) ‖
// dst ‖ binder, 2, 16). The IDPF makes one per report and usage and reuses it for every node.
class FixedKeyAes128 {
 public:
  FixedKeyAes128(ConstBytes dst, ConstBytes binder);
  ~FixedKeyAes128();
  FixedKeyAes128(const FixedKeyAes128&) = delete;
  FixedKeyAes128& operator=(const FixedKeyAes128&) = delete;

  // Blocks hash_blocks takes in one call.
  static constexpr std::size_t kMaxBlocks = 8;

  // hash_block of GKWWY20 §4.2, AES(σ(block)) ⊕ σ(block) with σ(lo ‖ hi) = hi ‖ (hi ⊕ lo), on
  // `count` (1 … kMaxBlocks) consecutive 16-byte blocks through one cipher call: the call, not
  // AES, is most of the cost of a block.
  void hash_blocks(const std::uint8_t* blocks, std::uint8_t* out, std::size_t count) const;

 private:
  EVP_CIPHER_CTX* context_ = nullptr;
};

// XofFixedKeyAes128 on a seed: block i of the stream is hash_block(seed ⊕ le128(i)).
// `expected_length` is how many bytes the caller means to read: they are made in one cipher
// call (reading more is fine; the rest comes a block at a time).
class XofFixedKeyAes128 {
 public:
  XofFixedKeyAes128(const FixedKeyAes128& key, ConstBytes seed, std::size_t expected_length = 16);
  void next(std::uint8_t* out, std::size_t length);
  template <class F>
  std::vector<F> next_vec(std::size_t count) {
    return poplar1::next_vec<F>(*this, count);
  }

 private:
  void refill();

  const FixedKeyAes128& key_;
  Seed seed_{};
  std::uint64_t block_index_ = 0;
  std::size_t expected_blocks_;
  std::array<std::uint8_t, 16 * FixedKeyAes128::kMaxBlocks> buffer_{};
  std::size_t available_ = 0;
  std::size_t used_ = 0;
};

}  // namespace janus::poplar1
