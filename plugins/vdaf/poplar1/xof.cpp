#include "xof.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace janus::poplar1 {
namespace {

// Keccak-p[1600, 12] (RFC 9861 §2.1): rounds 12..23 of Keccak-f[1600].
constexpr std::uint64_t kRoundConstants[12] = {
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
// ρ offsets and π destinations, following the lane that π moves next.
constexpr int kRho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                          27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr int kPi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                         15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

void keccak_p1600_12(std::array<std::uint64_t, 25>& a) {
  for (std::uint64_t round_constant : kRoundConstants) {
    std::uint64_t c[5];
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; ++x) {
      const std::uint64_t d = c[(x + 4) % 5] ^ std::rotl(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    std::uint64_t moving = a[1];
    for (int i = 0; i < 24; ++i) {
      const std::uint64_t next = a[kPi[i]];
      a[kPi[i]] = std::rotl(moving, kRho[i]);
      moving = next;
    }
    for (int y = 0; y < 25; y += 5) {
      std::uint64_t row[5];
      for (int x = 0; x < 5; ++x) row[x] = a[y + x];
      for (int x = 0; x < 5; ++x) a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    a[0] ^= round_constant;
  }
}

void xor_block(std::array<std::uint64_t, 25>& state, const std::uint8_t* block) {
  for (std::size_t i = 0; i < TurboShake128::kRate; ++i) {
    state[i / 8] ^= static_cast<std::uint64_t>(block[i]) << (8 * (i % 8));
  }
}

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

}  // namespace

void TurboShake128::absorb(ConstBytes data) {
  if (squeezing_) throw std::logic_error("TurboSHAKE128: absorb after finish");
  for (std::uint8_t byte : data) {
    buffer_[position_++] = byte;
    if (position_ == kRate) {
      xor_block(state_, buffer_.data());
      keccak_p1600_12(state_);
      position_ = 0;
    }
  }
}

void TurboShake128::finish(std::uint8_t domain) {
  std::fill(buffer_.begin() + static_cast<std::ptrdiff_t>(position_), buffer_.end(), 0);
  buffer_[position_] ^= domain;
  buffer_[kRate - 1] ^= 0x80;
  xor_block(state_, buffer_.data());
  keccak_p1600_12(state_);
  squeezing_ = true;
  position_ = 0;
}

void TurboShake128::squeeze(std::uint8_t* out, std::size_t length) {
  if (!squeezing_) throw std::logic_error("TurboSHAKE128: squeeze before finish");
  while (length > 0) {
    if (position_ == kRate) {
      keccak_p1600_12(state_);
      position_ = 0;
    }
    const std::size_t n = std::min(length, kRate - position_);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = position_ + i;
      out[i] = static_cast<std::uint8_t>(state_[at / 8] >> (8 * (at % 8)));
    }
    out += n;
    length -= n;
    position_ += n;
  }
}

std::array<std::uint8_t, 8> format_dst(std::uint8_t algo_class, std::uint32_t algo,
                                       std::uint16_t usage) {
  constexpr std::uint8_t kVersion = 8;  // VDAF-08
  return {kVersion,
          algo_class,
          static_cast<std::uint8_t>(algo >> 24),
          static_cast<std::uint8_t>(algo >> 16),
          static_cast<std::uint8_t>(algo >> 8),
          static_cast<std::uint8_t>(algo),
          static_cast<std::uint8_t>(usage >> 8),
          static_cast<std::uint8_t>(usage)};
}

XofTurboShake128::XofTurboShake128(ConstBytes seed, ConstBytes dst, ConstBytes binder) {
  if (dst.size() > 255) throw std::invalid_argument("XOF dst longer than 255 bytes");
  const std::uint8_t dst_length = static_cast<std::uint8_t>(dst.size());
  sponge_.absorb({&dst_length, 1});
  sponge_.absorb(dst);
  sponge_.absorb(seed);
  sponge_.absorb(binder);
  sponge_.finish(1);
}

FixedKeyAes128::FixedKeyAes128(ConstBytes dst, ConstBytes binder) {
  if (dst.size() > 255) throw std::invalid_argument("XOF dst longer than 255 bytes");
  TurboShake128 sponge;
  const std::uint8_t dst_length = static_cast<std::uint8_t>(dst.size());
  sponge.absorb({&dst_length, 1});
  sponge.absorb(dst);
  sponge.absorb(binder);
  sponge.finish(2);
  std::array<std::uint8_t, 16> key;
  sponge.squeeze(key.data(), key.size());

  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  if (cipher == nullptr) throw std::runtime_error("OpenSSL: AES-128-ECB unavailable");
  context_ = EVP_CIPHER_CTX_new();
  if (context_ == nullptr) throw std::bad_alloc();
  if (EVP_EncryptInit_ex2(context_, cipher, key.data(), nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(context_, 0) != 1) {
    EVP_CIPHER_CTX_free(context_);
    throw std::runtime_error("OpenSSL: AES-128 key setup failed");
  }
}

FixedKeyAes128::~FixedKeyAes128() { EVP_CIPHER_CTX_free(context_); }

void FixedKeyAes128::hash_blocks(const std::uint8_t* blocks, std::uint8_t* out,
                                 std::size_t count) const {
  if (count == 0 || count > kMaxBlocks) throw std::invalid_argument("hash_blocks: bad count");
  std::uint8_t sigma[16 * kMaxBlocks];
  for (std::size_t b = 0; b < count; ++b) {
    const std::uint8_t* block = blocks + 16 * b;
    std::uint8_t* s = sigma + 16 * b;
    for (int i = 0; i < 8; ++i) {
      s[i] = block[8 + i];
      s[8 + i] = block[8 + i] ^ block[i];
    }
  }
  const int length = static_cast<int>(16 * count);
  int written = 0;
  check(EVP_EncryptUpdate(context_, out, &written, sigma, length), "AES-128 encrypt");
  if (written != length) throw std::runtime_error("OpenSSL: AES-128 encrypt wrote short blocks");
  for (int i = 0; i < length; ++i) out[i] ^= sigma[i];
}

XofFixedKeyAes128::XofFixedKeyAes128(const FixedKeyAes128& key, ConstBytes seed,
                                     std::size_t expected_length)
    : key_(key), expected_blocks_((expected_length + 15) / 16) {
  if (seed.size() != kSeedSize) throw std::invalid_argument("XOF seed must be 16 bytes");
  std::copy(seed.begin(), seed.end(), seed_.begin());
}

void XofFixedKeyAes128::refill() {
  // The blocks still expected, at least one and at most what one call takes.
  const std::size_t count =
      std::clamp<std::size_t>(expected_blocks_ > block_index_ ? expected_blocks_ - block_index_ : 1,
                              1, FixedKeyAes128::kMaxBlocks);
  std::uint8_t inputs[16 * FixedKeyAes128::kMaxBlocks];
  for (std::size_t b = 0; b < count; ++b) {
    const std::uint64_t index = block_index_ + b;
    std::uint8_t* input = inputs + 16 * b;
    std::memcpy(input, seed_.data(), 16);
    for (int i = 0; i < 8; ++i) input[i] ^= static_cast<std::uint8_t>(index >> (8 * i));
  }
  key_.hash_blocks(inputs, buffer_.data(), count);
  block_index_ += count;
  available_ = 16 * count;
  used_ = 0;
}

void XofFixedKeyAes128::next(std::uint8_t* out, std::size_t length) {
  while (length > 0) {
    if (used_ == available_) refill();
    const std::size_t n = std::min(length, available_ - used_);
    std::memcpy(out, buffer_.data() + used_, n);
    out += n;
    length -= n;
    used_ += n;
  }
}

}  // namespace janus::poplar1
