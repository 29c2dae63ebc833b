#include "xof_hmac.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace janus::prio3 {
namespace {

constexpr std::size_t kShaBlock = 64;
constexpr std::size_t kShaOutput = 32;

// Fetched once: an implicit fetch per XOF costs a locked lookup in OpenSSL 3.
const EVP_MD* sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL: SHA256 unavailable");
  return md;
}

const EVP_CIPHER* aes128_ecb() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  if (cipher == nullptr) throw std::runtime_error("OpenSSL: AES-128-ECB unavailable");
  return cipher;
}

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

// The HMAC key block XOR `pad` (keys are 32 bytes, shorter than the block).
std::array<std::uint8_t, kShaBlock> padded_key(std::span<const std::uint8_t> key,
                                               std::uint8_t pad) {
  std::array<std::uint8_t, kShaBlock> block;
  block.fill(pad);
  for (std::size_t i = 0; i < key.size(); ++i) block[i] ^= key[i];
  return block;
}

}  // namespace

XofHmacSha256Aes128::XofHmacSha256Aes128(std::span<const std::uint8_t> seed,
                                         std::span<const std::uint8_t> dst,
                                         std::span<const std::uint8_t> binder) {
  if (seed.size() != kSeedLength) throw std::invalid_argument("XOF seed must be 32 bytes");
  if (dst.size() > 255) throw std::invalid_argument("XOF dst longer than 255 bytes");
  std::copy(seed.begin(), seed.end(), key_.begin());
  hash_ = EVP_MD_CTX_new();
  if (hash_ == nullptr) throw std::bad_alloc();
  const auto inner_pad = padded_key(key_, 0x36);
  const std::uint8_t dst_length = static_cast<std::uint8_t>(dst.size());
  if (EVP_DigestInit_ex2(hash_, sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(hash_, inner_pad.data(), inner_pad.size()) != 1 ||
      EVP_DigestUpdate(hash_, &dst_length, 1) != 1 ||
      EVP_DigestUpdate(hash_, dst.data(), dst.size()) != 1 ||
      EVP_DigestUpdate(hash_, binder.data(), binder.size()) != 1) {
    EVP_MD_CTX_free(hash_);
    throw std::runtime_error("OpenSSL: HMAC-SHA256 init failed");
  }
}

XofHmacSha256Aes128::~XofHmacSha256Aes128() {
  EVP_MD_CTX_free(hash_);
  EVP_CIPHER_CTX_free(cipher_);
}

void XofHmacSha256Aes128::absorb_binder(std::span<const std::uint8_t> part) {
  if (finished_) throw std::logic_error("XOF binder after output");
  check(EVP_DigestUpdate(hash_, part.data(), part.size()), "SHA256 update");
}

void XofHmacSha256Aes128::finish_once() {
  if (finished_) return;
  finished_ = true;
  std::array<std::uint8_t, kShaOutput> inner{}, tag{};
  unsigned int length = 0;
  check(EVP_DigestFinal_ex(hash_, inner.data(), &length), "SHA256 final");
  const auto outer_pad = padded_key(key_, 0x5c);
  check(EVP_DigestInit_ex2(hash_, sha256(), nullptr), "SHA256 init");
  check(EVP_DigestUpdate(hash_, outer_pad.data(), outer_pad.size()), "SHA256 update");
  check(EVP_DigestUpdate(hash_, inner.data(), inner.size()), "SHA256 update");
  check(EVP_DigestFinal_ex(hash_, tag.data(), &length), "SHA256 final");
  key_.fill(0);

  cipher_ = EVP_CIPHER_CTX_new();
  if (cipher_ == nullptr) throw std::bad_alloc();
  check(EVP_EncryptInit_ex2(cipher_, aes128_ecb(), tag.data(), nullptr, nullptr), "AES init");
  check(EVP_CIPHER_CTX_set_padding(cipher_, 0), "AES padding");
  std::copy(tag.begin() + 16, tag.begin() + 24, counter_high_.begin());
  counter_ = 0;
  for (std::size_t i = 24; i < 32; ++i) counter_ = (counter_ << 8) | tag[i];
  stream_pos_ = stream_.size();  // empty
}

// Counter blocks through AES-128-ECB: CTR with the 64-bit big-endian counter
// of Ctr64BE (OpenSSL's CTR mode would carry into the upper 8 bytes).
void XofHmacSha256Aes128::refill() {
  std::array<std::uint8_t, kBlock * kBufferBlocks> counters;
  for (std::size_t b = 0; b < kBufferBlocks; ++b) {
    std::uint8_t* block = counters.data() + b * kBlock;
    std::memcpy(block, counter_high_.data(), 8);
    for (std::size_t i = 0; i < 8; ++i)
      block[8 + i] = static_cast<std::uint8_t>(counter_ >> (56 - 8 * i));
    ++counter_;  // wraps modulo 2^64
  }
  int length = 0;
  check(EVP_EncryptUpdate(cipher_, stream_.data(), &length, counters.data(),
                          static_cast<int>(counters.size())),
        "AES encrypt");
  if (static_cast<std::size_t>(length) != stream_.size()) {
    throw std::runtime_error("OpenSSL: short AES output");
  }
  stream_pos_ = 0;
}

void XofHmacSha256Aes128::next(std::uint8_t* out, std::size_t length) {
  finish_once();
  while (length > 0) {
    if (stream_pos_ == stream_.size()) refill();
    const std::size_t n = std::min(length, stream_.size() - stream_pos_);
    std::memcpy(out, stream_.data() + stream_pos_, n);
    stream_pos_ += n;
    out += n;
    length -= n;
  }
}

}  // namespace janus::prio3
