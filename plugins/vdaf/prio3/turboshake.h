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

// Absorb everything, then finish() once, then squeeze as much as needed.
class TurboShake128 {
 public:
  static constexpr std::size_t kRate = 168;

  void absorb(std::span<const std::uint8_t> data);
  // Pads with the domain byte (0x01..0x7F); after this only squeeze() is valid.
  void finish(std::uint8_t domain);
  void squeeze(std::uint8_t* out, std::size_t length);

 private:
  void xor_block_into_state(const std::uint8_t* block);

  std::array<std::uint64_t, 25> state_{};
  std::array<std::uint8_t, kRate> buffer_{};
  std::size_t buffered_ = 0;  // absorbing: bytes waiting; squeezing: bytes already read
  bool squeezing_ = false;
};

}  // namespace janus::prio3
