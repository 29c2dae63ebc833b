#include "turboshake.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>

namespace janus::prio3 {
namespace {

constexpr std::uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

// A macro, not a function: permute() below is also instantiated for a GCC
// vector type, and passing one by value to a function compiled without AVX is
// an ABI hazard (GCC's -Wpsabi), even when always inlined.
#define JANUS_KECCAK_ROTL(v, n) (((v) << (n)) | ((v) >> (64 - (n))))

inline std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline void store_le64(std::uint8_t* p, std::uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

// The permutation's body, compiled twice below: once for any x86-64 and once
// with BMI1/BMI2, where ~b & c is one andn and rotations are rorx (which
// leaves its source intact, saving the register copies a rol needs).
template <class T>
[[gnu::always_inline]] inline void permute(T* state) {
  // Two rounds per iteration between the state `a` and a second buffer `e`.
  // Each output row of chi is computed from its five rho+pi inputs right
  // away, so only a handful of lanes are live at once (computing all 25 pi
  // outputs first spills most of them to the stack).
  T a[25], e[25];
  std::memcpy(a, state, sizeof a);
  T c0, c1, c2, c3, c4, d0, d1, d2, d3, d4, b0, b1, b2, b3, b4;
  for (int round = 12; round < 24; round += 2) {
    c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
    c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
    c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
    c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
    c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
    d0 = c4 ^ JANUS_KECCAK_ROTL(c1, 1);
    d1 = c0 ^ JANUS_KECCAK_ROTL(c2, 1);
    d2 = c1 ^ JANUS_KECCAK_ROTL(c3, 1);
    d3 = c2 ^ JANUS_KECCAK_ROTL(c4, 1);
    d4 = c3 ^ JANUS_KECCAK_ROTL(c0, 1);
    b0 = a[0] ^ d0;
    b1 = JANUS_KECCAK_ROTL(a[6] ^ d1, 44);
    b2 = JANUS_KECCAK_ROTL(a[12] ^ d2, 43);
    b3 = JANUS_KECCAK_ROTL(a[18] ^ d3, 21);
    b4 = JANUS_KECCAK_ROTL(a[24] ^ d4, 14);
    e[0] = b0 ^ (~b1 & b2) ^ kRoundConstants[round];
    e[1] = b1 ^ (~b2 & b3);
    e[2] = b2 ^ (~b3 & b4);
    e[3] = b3 ^ (~b4 & b0);
    e[4] = b4 ^ (~b0 & b1);
    b0 = JANUS_KECCAK_ROTL(a[3] ^ d3, 28);
    b1 = JANUS_KECCAK_ROTL(a[9] ^ d4, 20);
    b2 = JANUS_KECCAK_ROTL(a[10] ^ d0, 3);
    b3 = JANUS_KECCAK_ROTL(a[16] ^ d1, 45);
    b4 = JANUS_KECCAK_ROTL(a[22] ^ d2, 61);
    e[5] = b0 ^ (~b1 & b2);
    e[6] = b1 ^ (~b2 & b3);
    e[7] = b2 ^ (~b3 & b4);
    e[8] = b3 ^ (~b4 & b0);
    e[9] = b4 ^ (~b0 & b1);
    b0 = JANUS_KECCAK_ROTL(a[1] ^ d1, 1);
    b1 = JANUS_KECCAK_ROTL(a[7] ^ d2, 6);
    b2 = JANUS_KECCAK_ROTL(a[13] ^ d3, 25);
    b3 = JANUS_KECCAK_ROTL(a[19] ^ d4, 8);
    b4 = JANUS_KECCAK_ROTL(a[20] ^ d0, 18);
    e[10] = b0 ^ (~b1 & b2);
    e[11] = b1 ^ (~b2 & b3);
    e[12] = b2 ^ (~b3 & b4);
    e[13] = b3 ^ (~b4 & b0);
    e[14] = b4 ^ (~b0 & b1);
    b0 = JANUS_KECCAK_ROTL(a[4] ^ d4, 27);
    b1 = JANUS_KECCAK_ROTL(a[5] ^ d0, 36);
    b2 = JANUS_KECCAK_ROTL(a[11] ^ d1, 10);
    b3 = JANUS_KECCAK_ROTL(a[17] ^ d2, 15);
    b4 = JANUS_KECCAK_ROTL(a[23] ^ d3, 56);
    e[15] = b0 ^ (~b1 & b2);
    e[16] = b1 ^ (~b2 & b3);
    e[17] = b2 ^ (~b3 & b4);
    e[18] = b3 ^ (~b4 & b0);
    e[19] = b4 ^ (~b0 & b1);
    b0 = JANUS_KECCAK_ROTL(a[2] ^ d2, 62);
    b1 = JANUS_KECCAK_ROTL(a[8] ^ d3, 55);
    b2 = JANUS_KECCAK_ROTL(a[14] ^ d4, 39);
    b3 = JANUS_KECCAK_ROTL(a[15] ^ d0, 41);
    b4 = JANUS_KECCAK_ROTL(a[21] ^ d1, 2);
    e[20] = b0 ^ (~b1 & b2);
    e[21] = b1 ^ (~b2 & b3);
    e[22] = b2 ^ (~b3 & b4);
    e[23] = b3 ^ (~b4 & b0);
    e[24] = b4 ^ (~b0 & b1);
    c0 = e[0] ^ e[5] ^ e[10] ^ e[15] ^ e[20];
    c1 = e[1] ^ e[6] ^ e[11] ^ e[16] ^ e[21];
    c2 = e[2] ^ e[7] ^ e[12] ^ e[17] ^ e[22];
    c3 = e[3] ^ e[8] ^ e[13] ^ e[18] ^ e[23];
    c4 = e[4] ^ e[9] ^ e[14] ^ e[19] ^ e[24];
    d0 = c4 ^ JANUS_KECCAK_ROTL(c1, 1);
    d1 = c0 ^ JANUS_KECCAK_ROTL(c2, 1);
    d2 = c1 ^ JANUS_KECCAK_ROTL(c3, 1);
    d3 = c2 ^ JANUS_KECCAK_ROTL(c4, 1);
    d4 = c3 ^ JANUS_KECCAK_ROTL(c0, 1);
    b0 = e[0] ^ d0;
    b1 = JANUS_KECCAK_ROTL(e[6] ^ d1, 44);
    b2 = JANUS_KECCAK_ROTL(e[12] ^ d2, 43);
    b3 = JANUS_KECCAK_ROTL(e[18] ^ d3, 21);
    b4 = JANUS_KECCAK_ROTL(e[24] ^ d4, 14);
    a[0] = b0 ^ (~b1 & b2) ^ kRoundConstants[round + 1];
    a[1] = b1 ^ (~b2 & b3);
    a[2] = b2 ^ (~b3 & b4);
    a[3] = b3 ^ (~b4 & b0);
    a[4] = b4 ^ (~b0 & b1);
    b0 = JANUS_KECCAK_ROTL(e[3] ^ d3, 28);
    b1 = JANUS_KECCAK_ROTL(e[9] ^ d4, 20);
    b2 = JANUS_KECCAK_ROTL(e[10] ^ d0, 3);
    b3 = JANUS_KECCAK_ROTL(e[16] ^ d1, 45);
    b4 = JANUS_KECCAK_ROTL(e[22] ^ d2, 61);
    a[5] = b0 ^ (~b1 & b2);
    a[6] = b1 ^ (~b2 & b3);
    a[7] = b2 ^ (~b3 & b4);
    a[8] = b3 ^ (~b4 & b0);
    a[9] = b4 ^ (~b0 & b1);
    b0 = JANUS_KECCAK_ROTL(e[1] ^ d1, 1);
    b1 = JANUS_KECCAK_ROTL(e[7] ^ d2, 6);
    b2 = JANUS_KECCAK_ROTL(e[13] ^ d3, 25);
    b3 = JANUS_KECCAK_ROTL(e[19] ^ d4, 8);
    b4 = JANUS_KECCAK_ROTL(e[20] ^ d0, 18);
    a[10] = b0 ^ (~b1 & b2);
    a[11] = b1 ^ (~b2 & b3);
    a[12] = b2 ^ (~b3 & b4);
    a[13] = b3 ^ (~b4 & b0);
    a[14] = b4 ^ (~b0 & b1);
    b0 = JANUS_KECCAK_ROTL(e[4] ^ d4, 27);
    b1 = JANUS_KECCAK_ROTL(e[5] ^ d0, 36);
    b2 = JANUS_KECCAK_ROTL(e[11] ^ d1, 10);
    b3 = JANUS_KECCAK_ROTL(e[17] ^ d2, 15);
    b4 = JANUS_KECCAK_ROTL(e[23] ^ d3, 56);
    a[15] = b0 ^ (~b1 & b2);
    a[16] = b1 ^ (~b2 & b3);
    a[17] = b2 ^ (~b3 & b4);
    a[18] = b3 ^ (~b4 & b0);
    a[19] = b4 ^ (~b0 & b1);
    b0 = JANUS_KECCAK_ROTL(e[2] ^ d2, 62);
    b1 = JANUS_KECCAK_ROTL(e[8] ^ d3, 55);
    b2 = JANUS_KECCAK_ROTL(e[14] ^ d4, 39);
    b3 = JANUS_KECCAK_ROTL(e[15] ^ d0, 41);
    b4 = JANUS_KECCAK_ROTL(e[21] ^ d1, 2);
    a[20] = b0 ^ (~b1 & b2);
    a[21] = b1 ^ (~b2 & b3);
    a[22] = b2 ^ (~b3 & b4);
    a[23] = b3 ^ (~b4 & b0);
    a[24] = b4 ^ (~b0 & b1);
  }
  std::memcpy(state, a, sizeof a);
}

void permute_generic(std::uint64_t* state) { permute(state); }

void permute_x4_generic(std::uint64_t* const* states, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) permute(states[i]);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(JANUS_PRIO3_PORTABLE)
[[gnu::target("bmi,bmi2")]] void permute_bmi(std::uint64_t* state) { permute(state); }

[[gnu::target("bmi,bmi2")]] void permute_x4_bmi(std::uint64_t* const* states, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) permute(states[i]);
}

// Four states in the four 64-bit lanes of AVX2 registers: one vector
// instruction does the work of four scalar ones, so two to four permutations
// cost about as much as one scalar permutation (Zen 3 and Intel cores since
// Haswell have full-width 256-bit integer units). Unused lanes run on copies.
typedef std::uint64_t Lanes4 __attribute__((vector_size(32)));

[[gnu::target("avx2,bmi,bmi2")]] void permute_x4_avx2(std::uint64_t* const* states,
                                                      std::size_t count) {
  if (count == 1) {
    permute(states[0]);
    return;
  }
  std::uint64_t* s[4];
  for (std::size_t k = 0; k < 4; ++k) s[k] = states[k < count ? k : 0];
  Lanes4 lanes[25];
  for (int i = 0; i < 25; ++i) lanes[i] = Lanes4{s[0][i], s[1][i], s[2][i], s[3][i]};
  permute(lanes);
  for (std::size_t k = 0; k < count; ++k) {
    for (int i = 0; i < 25; ++i) states[k][i] = lanes[i][k];
  }
}

// Chosen once at start-up: the binary must run on CPUs without BMI or AVX2.
using Permutation = void (*)(std::uint64_t*);
using PermutationX4 = void (*)(std::uint64_t* const*, std::size_t);
const bool kHasBmi = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
}();
const bool kHasAvx2 = kHasBmi && __builtin_cpu_supports("avx2");
const Permutation kPermutation = kHasBmi ? permute_bmi : permute_generic;
const PermutationX4 kPermutationX4 =
    kHasAvx2 ? permute_x4_avx2 : (kHasBmi ? permute_x4_bmi : permute_x4_generic);
#else
constexpr auto kPermutation = permute_generic;
constexpr auto kPermutationX4 = permute_x4_generic;
#endif

}  // namespace

void keccak_p1600_12(std::array<std::uint64_t, 25>& state) { kPermutation(state.data()); }

void keccak_p1600_12_x4(std::array<std::uint64_t, 25>* const* states, std::size_t count) {
  if (count > 4) throw std::invalid_argument("keccak_p1600_12_x4: at most four states");
  std::uint64_t* raw[4];
  for (std::size_t i = 0; i < count; ++i) raw[i] = states[i]->data();
  kPermutationX4(raw, count);
}

void TurboShake128::xor_block_into_state(const std::uint8_t* block) {
  for (std::size_t i = 0; i < kRate / 8; ++i) state_[i] ^= load_le64(block + 8 * i);
}

void TurboShake128::settle() {
  if (pending_) {
    keccak_p1600_12(state_);
    pending_ = false;
  }
}

std::size_t TurboShake128::absorb_some(const std::uint8_t* data, std::size_t n) {
  if (squeezing_) throw std::logic_error("TurboShake128: absorb after finish");
  if (pending_ || n == 0) return 0;  // (no memcpy from a possibly null empty range)
  const std::size_t take = std::min(n, kRate - buffered_);
  std::memcpy(buffer_.data() + buffered_, data, take);
  buffered_ += take;
  if (buffered_ == kRate) {
    xor_block_into_state(buffer_.data());
    buffered_ = 0;
    pending_ = true;
  }
  return take;
}

std::size_t TurboShake128::squeeze_some(std::uint8_t* out, std::size_t n) {
  if (!squeezing_) throw std::logic_error("TurboShake128: squeeze before finish");
  const std::size_t take = std::min(n, kRate - buffered_);
  if (take == 0) return 0;
  std::memcpy(out, buffer_.data() + buffered_, take);
  buffered_ += take;
  return take;
}

void TurboShake128::permute_pending(TurboShake128* const* sponges, std::size_t count) {
  TurboShake128* batch[4];
  std::array<std::uint64_t, 25>* states[4];
  std::size_t n = 0;
  auto flush = [&] {
    keccak_p1600_12_x4(states, n);
    for (std::size_t i = 0; i < n; ++i) {
      TurboShake128& sponge = *batch[i];
      if (sponge.squeezing_) {
        for (std::size_t j = 0; j < kRate / 8; ++j) {
          store_le64(sponge.buffer_.data() + 8 * j, sponge.state_[j]);
        }
        sponge.buffered_ = 0;
      } else {
        sponge.pending_ = false;
      }
    }
    n = 0;
  };
  for (std::size_t i = 0; i < count; ++i) {
    if (!sponges[i]->needs_permutation()) continue;
    batch[n] = sponges[i];
    states[n] = &sponges[i]->state_;
    if (++n == 4) flush();
  }
  if (n > 0) flush();
}

void TurboShake128::absorb(std::span<const std::uint8_t> data) {
  if (squeezing_) throw std::logic_error("TurboShake128: absorb after finish");
  settle();
  // An empty span may have no data pointer, which memcpy must not be given even for 0 bytes.
  if (data.empty()) return;
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  if (buffered_ > 0) {
    const std::size_t take = std::min(n, kRate - buffered_);
    std::memcpy(buffer_.data() + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
    if (buffered_ < kRate) return;
    xor_block_into_state(buffer_.data());
    keccak_p1600_12(state_);
    buffered_ = 0;
  }
  while (n >= kRate) {
    xor_block_into_state(p);
    keccak_p1600_12(state_);
    p += kRate;
    n -= kRate;
  }
  std::memcpy(buffer_.data(), p, n);
  buffered_ = n;
}

void TurboShake128::finish(std::uint8_t domain) {
  if (squeezing_) throw std::logic_error("TurboShake128: finish twice");
  settle();
  std::memset(buffer_.data() + buffered_, 0, kRate - buffered_);
  buffer_[buffered_] ^= domain;
  buffer_[kRate - 1] ^= 0x80;
  xor_block_into_state(buffer_.data());
  // The permutation that yields the first output block is left to the first
  // squeeze (as for every later block), so permute_pending() can batch it.
  squeezing_ = true;
  buffered_ = kRate;
}

void TurboShake128::squeeze(std::uint8_t* out, std::size_t length) {
  if (!squeezing_) throw std::logic_error("TurboShake128: squeeze before finish");
  while (length > 0) {
    if (buffered_ == kRate) {
      keccak_p1600_12(state_);
      for (std::size_t i = 0; i < kRate / 8; ++i) store_le64(buffer_.data() + 8 * i, state_[i]);
      buffered_ = 0;
    }
    const std::size_t take = std::min(length, kRate - buffered_);
    std::memcpy(out, buffer_.data() + buffered_, take);
    buffered_ += take;
    out += take;
    length -= take;
  }
}

}  // namespace janus::prio3
