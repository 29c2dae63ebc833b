// TurboSHAKE128 (RFC 9861): Keccak-p[1600, 12 rounds] in a sponge of rate
// 168 bytes with a caller-chosen domain byte. No library on the build machine
// provides it, so it lives here, tested against the RFC's vectors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace janus::prio3 {

// Keccak-p[1600, 12]: the last 12 rounds of Keccak-f[1600].
void keccak_p1600_12(std::array<std::uint64_t, 25>& state);
// Up to four independent permutations at once (AVX2 when the CPU has it).
void keccak_p1600_12_x4(std::array<std::uint64_t, 25>* const* states, std::size_t count);

// Absorb everything, then finish() once, then squeeze as much as needed.
class TurboShake128 {
 public:
  static constexpr std::size_t kRate = 168;

  void absorb(std::span<const std::uint8_t> data);
  // Pads with the domain byte (0x01..0x7F); after this only squeeze() is valid.
  void finish(std::uint8_t domain);
  void squeeze(std::uint8_t* out, std::size_t length);

  // Batched permutations for sponges that run side by side (see
  // next_vec_feeding in xof.h): absorb_some() and squeeze_some() take or give
  // at most what is possible without a permutation and return the byte
  // count; a sponge that needs a permutation to go on waits for
  // permute_pending(), which runs up to four sponges' permutations together.
  std::size_t absorb_some(const std::uint8_t* data, std::size_t n);
  std::size_t squeeze_some(std::uint8_t* out, std::size_t n);
  static void permute_pending(TurboShake128* const* sponges, std::size_t count);

 private:
  void xor_block_into_state(const std::uint8_t* block);
  bool needs_permutation() const { return squeezing_ ? buffered_ == kRate : pending_; }
  // Runs the permutation of a block absorbed by absorb_some(), if any.
  void settle();

  std::array<std::uint64_t, 25> state_{};
  std::array<std::uint8_t, kRate> buffer_{};
  std::size_t buffered_ = 0;  // absorbing: bytes waiting; squeezing: bytes already read
  bool squeezing_ = false;
  bool pending_ = false;  // absorbing: a full block is in the state, not yet permuted
};

}  // namespace janus::prio3
