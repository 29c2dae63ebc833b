// XofHmacSha256Aes128: the XOF libprio 0.16 defines outside the VDAF spec
// (Janus 0.7's Prio3SumVecField64MultiproofHmacSha256Aes128 uses it, as does
// Daphne). With a 32-byte seed:
//   tag = HMAC-SHA256(key = seed, byte(len(dst)) ‖ dst ‖ binder)
//   output = AES-128-CTR key stream, key tag[0..16), initial counter block
//            tag[16..32), of which only the last 8 bytes count (big-endian,
//            wrapping modulo 2^64: RustCrypto's Ctr64BE).
// next_seed() reads the first 32 bytes of that stream; next_vec samples it
// like every VDAF-08 XOF.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "xof.h"

struct evp_md_ctx_st;
struct evp_cipher_ctx_st;

namespace janus::prio3 {

class XofHmacSha256Aes128 : public XofVecOutput<XofHmacSha256Aes128> {
 public:
  static constexpr std::size_t kSeedLength = 32;
  using SeedType = std::array<std::uint8_t, kSeedLength>;

  // The binder may be given here or appended piecewise with absorb_binder()
  // before the first output is read.
  XofHmacSha256Aes128(std::span<const std::uint8_t> seed, std::span<const std::uint8_t> dst,
                      std::span<const std::uint8_t> binder = {});
  ~XofHmacSha256Aes128();
  XofHmacSha256Aes128(const XofHmacSha256Aes128&) = delete;
  XofHmacSha256Aes128& operator=(const XofHmacSha256Aes128&) = delete;

  void absorb_binder(std::span<const std::uint8_t> part);
  void next(std::uint8_t* out, std::size_t length);
  SeedType next_seed() {
    SeedType seed;
    next(seed.data(), seed.size());
    return seed;
  }

  // next_vec in chunks (see sample_vec_chunked).
  template <class F, class Sink>
  void next_vec_chunked(std::size_t count, Sink&& sink, bool scaled = false) {
    sample_vec_chunked<F>([this](std::uint8_t* out, std::size_t n) { next(out, n); }, count, sink,
                          scaled);
  }

 private:
  static constexpr std::size_t kBlock = 16;
  static constexpr std::size_t kBufferBlocks = 32;

  void finish_once();
  void refill();

  evp_md_ctx_st* hash_ = nullptr;  // the inner hash of the HMAC
  evp_cipher_ctx_st* cipher_ = nullptr;
  std::array<std::uint8_t, 32> key_{};  // the HMAC key (the seed) until finished
  std::array<std::uint8_t, 8> counter_high_{};
  std::uint64_t counter_ = 0;
  std::array<std::uint8_t, kBlock * kBufferBlocks> stream_{};
  std::size_t stream_pos_ = 0;
  bool finished_ = false;
};

}  // namespace janus::prio3
