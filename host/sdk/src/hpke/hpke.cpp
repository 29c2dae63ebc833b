// RFC 9180 base mode built on OpenSSL 3.0 EVP: HMAC (EVP_MAC) for HKDF,
// EVP_PKEY derive for X25519 / P-256 Diffie-Hellman, EVP_CIPHER for the AEADs.
#include "janus/hpke.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace janus {
namespace {

// ---- OpenSSL ownership -------------------------------------------------------

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct BnDeleter {
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
struct BnCtxDeleter {
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
};
struct EcGroupDeleter {
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
};
struct EcPointDeleter {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
using BnCtxPtr = std::unique_ptr<BN_CTX, BnCtxDeleter>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, EcGroupDeleter>;
using EcPointPtr = std::unique_ptr<EC_POINT, EcPointDeleter>;

[[noreturn]] void fail(const char* what) { throw HpkeError(what); }

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// Secrets are wiped when their buffers go away.
struct SecretBytes {
  Bytes bytes;
  explicit SecretBytes(std::size_t n) : bytes(n) {}
  ~SecretBytes() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
};

void put_u16(Bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

// ---- HKDF (RFC 5869) over a cached HMAC context ------------------------------

struct KdfInfo {
  const char* digest;
  std::size_t hash_size;
};

KdfInfo kdf_info(HpkeKdfId kdf) {
  switch (kdf) {
    case HpkeKdfId::HkdfSha256:
      return {"SHA256", 32};
    case HpkeKdfId::HkdfSha384:
      return {"SHA384", 48};
    case HpkeKdfId::HkdfSha512:
      return {"SHA512", 64};
  }
  fail("unsupported HPKE KDF");
}

// The digests, fetched once (an implicit fetch on every use is a name lookup).
const EVP_MD* digest_for(HpkeKdfId kdf) {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* const sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static const EVP_MD* const sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  const EVP_MD* md = nullptr;
  switch (kdf) {
    case HpkeKdfId::HkdfSha256:
      md = sha256;
      break;
    case HpkeKdfId::HkdfSha384:
      md = sha384;
      break;
    case HpkeKdfId::HkdfSha512:
      md = sha512;
      break;
  }
  check(md != nullptr, "unsupported HPKE KDF");
  return md;
}

// HMAC(key, parts[0] || parts[1] || ...) into `out` (hash_size bytes): RFC 2104 directly on
// the digest, with one digest context per thread. (OpenSSL 3.0's EVP_MAC duplicates a
// context and dispatches through the provider on every call: ~2.5x the cost, and an open
// takes five HMACs.)
void hmac(HpkeKdfId kdf, ByteSpan key, std::initializer_list<ByteSpan> parts, std::uint8_t* out) {
  struct DigestContext {
    DigestContext() : ctx(EVP_MD_CTX_new()) { check(ctx != nullptr, "allocation failed"); }
    ~DigestContext() { EVP_MD_CTX_free(ctx); }
    EVP_MD_CTX* ctx;
  };
  thread_local DigestContext digest;
  const KdfInfo info = kdf_info(kdf);
  const EVP_MD* md = digest_for(kdf);
  const std::size_t block_size = static_cast<std::size_t>(EVP_MD_get_block_size(md));
  std::array<std::uint8_t, 128>
      padded{};  // the key, zero-padded to the block (an empty key: zeros)
  check(block_size <= padded.size(), "unsupported HPKE KDF");
  unsigned int length = 0;
  if (key.size() > block_size) {
    check(EVP_DigestInit_ex2(digest.ctx, md, nullptr) == 1 &&
              EVP_DigestUpdate(digest.ctx, key.data(), key.size()) == 1 &&
              EVP_DigestFinal_ex(digest.ctx, padded.data(), &length) == 1,
          "HMAC key hash failed");
  } else if (!key.empty()) {
    std::memcpy(padded.data(), key.data(), key.size());
  }
  std::array<std::uint8_t, 128> pad;
  std::array<std::uint8_t, 64> inner;
  for (std::size_t i = 0; i < block_size; ++i) pad[i] = padded[i] ^ 0x36;
  bool ok = EVP_DigestInit_ex2(digest.ctx, md, nullptr) == 1 &&
            EVP_DigestUpdate(digest.ctx, pad.data(), block_size) == 1;
  for (ByteSpan part : parts) {
    if (!part.empty()) ok = ok && EVP_DigestUpdate(digest.ctx, part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(digest.ctx, inner.data(), &length) == 1 && length == info.hash_size;
  for (std::size_t i = 0; i < block_size; ++i) pad[i] = padded[i] ^ 0x5c;
  ok = ok && EVP_DigestInit_ex2(digest.ctx, md, nullptr) == 1 &&
       EVP_DigestUpdate(digest.ctx, pad.data(), block_size) == 1 &&
       EVP_DigestUpdate(digest.ctx, inner.data(), info.hash_size) == 1 &&
       EVP_DigestFinal_ex(digest.ctx, out, &length) == 1 && length == info.hash_size;
  OPENSSL_cleanse(padded.data(), padded.size());
  OPENSSL_cleanse(pad.data(), pad.size());
  OPENSSL_cleanse(inner.data(), inner.size());
  check(ok, "HMAC failed");
}

const ByteSpan kHpkeV1 = as_bytes("HPKE-v1");

// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm)
Bytes labeled_extract(HpkeKdfId kdf, ByteSpan suite_id, ByteSpan salt, std::string_view label,
                      ByteSpan ikm) {
  Bytes prk(kdf_info(kdf).hash_size);
  hmac(kdf, salt, {kHpkeV1, suite_id, as_bytes(label), ikm}, prk.data());
  return prk;
}

// LabeledExpand(prk, label, info, L) =
//   Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L)
Bytes labeled_expand(HpkeKdfId kdf, ByteSpan suite_id, ByteSpan prk, std::string_view label,
                     ByteSpan info, std::size_t length) {
  const std::size_t hash_size = kdf_info(kdf).hash_size;
  if (length > 255 * hash_size || length > 0xffff) fail("HKDF-Expand length too large");
  Bytes prefix;
  put_u16(prefix, length);
  Bytes out(length);
  std::array<std::uint8_t, 64> block{};
  std::size_t produced = 0;
  for (std::uint8_t counter = 1; produced < length; ++counter) {
    const ByteSpan previous(block.data(), counter == 1 ? 0 : hash_size);
    hmac(kdf, prk,
         {previous, prefix, kHpkeV1, suite_id, as_bytes(label), info, ByteSpan(&counter, 1)},
         block.data());
    const std::size_t take = std::min(hash_size, length - produced);
    std::memcpy(out.data() + produced, block.data(), take);
    produced += take;
  }
  OPENSSL_cleanse(block.data(), block.size());
  return out;
}

// ---- KEMs ------------------------------------------------------------------

struct KemInfo {
  HpkeKemId id;
  HpkeKdfId kdf;             // the KEM's own KDF
  std::size_t secret_size;   // Nsecret
  std::size_t public_size;   // Npk = Nenc
  std::size_t private_size;  // Nsk
};

KemInfo kem_info(HpkeKemId kem) {
  switch (kem) {
    case HpkeKemId::X25519HkdfSha256:
      return {kem, HpkeKdfId::HkdfSha256, 32, 32, 32};
    case HpkeKemId::P256HkdfSha256:
      return {kem, HpkeKdfId::HkdfSha256, 32, 65, 32};
  }
  fail("unsupported HPKE KEM");
}

Bytes kem_suite_id(HpkeKemId kem) {
  Bytes id = to_bytes("KEM");
  put_u16(id, static_cast<std::uint16_t>(kem));
  return id;
}

Bytes hpke_suite_id(const HpkeSuite& suite) {
  Bytes id = to_bytes("HPKE");
  put_u16(id, static_cast<std::uint16_t>(suite.kem));
  put_u16(id, static_cast<std::uint16_t>(suite.kdf));
  put_u16(id, static_cast<std::uint16_t>(suite.aead));
  return id;
}

// P-256 group helpers (EC_POINT arithmetic to recompute a public key).
const EC_GROUP* p256_group() {
  static const EcGroupPtr group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  check(group != nullptr, "P-256 unavailable");
  return group.get();
}

// Uncompressed point of scalar·G; throws unless 0 < scalar < n.
Bytes p256_public_from_scalar(const BIGNUM* scalar) {
  const EC_GROUP* group = p256_group();
  if (BN_is_zero(scalar) || BN_cmp(scalar, EC_GROUP_get0_order(group)) >= 0)
    fail("P-256 private key out of range");
  BnCtxPtr bn_ctx(BN_CTX_new());
  EcPointPtr point(EC_POINT_new(group));
  check(bn_ctx && point, "allocation failed");
  check(EC_POINT_mul(group, point.get(), scalar, nullptr, nullptr, bn_ctx.get()) == 1,
        "P-256 multiply failed");
  Bytes out(65);
  check(EC_POINT_point2oct(group, point.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(),
                           out.size(), bn_ctx.get()) == out.size(),
        "P-256 point encoding failed");
  return out;
}

PkeyPtr p256_pkey(const BIGNUM* scalar, ByteSpan public_point) {
  std::array<char, 16> group_name{"prime256v1"};
  std::vector<OSSL_PARAM> params;
  params.push_back(
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group_name.data(), 0));
  params.push_back(OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                     const_cast<std::uint8_t*>(public_point.data()),
                                                     public_point.size()));
  Bytes scalar_native;
  if (scalar != nullptr) {
    // OSSL_PARAM integers are native-endian.
    scalar_native.resize(32);
    check(BN_bn2nativepad(scalar, scalar_native.data(), 32) == 32, "P-256 scalar encoding failed");
    params.push_back(OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, scalar_native.data(), 32));
  }
  params.push_back(OSSL_PARAM_construct_end());
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  check(ctx != nullptr, "EC unavailable");
  EVP_PKEY* raw = nullptr;
  const bool ok =
      EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
      EVP_PKEY_fromdata(ctx.get(), &raw, scalar ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.data()) == 1;
  OPENSSL_cleanse(scalar_native.data(), scalar_native.size());
  if (!ok) fail("invalid P-256 key");
  return PkeyPtr(raw);
}

// DeserializePublicKey: X25519 raw 32 bytes, P-256 uncompressed point on the curve.
PkeyPtr deserialize_public_key(HpkeKemId kem, ByteSpan data) {
  const KemInfo info = kem_info(kem);
  if (data.size() != info.public_size) fail("public key has the wrong length");
  if (kem == HpkeKemId::X25519HkdfSha256) {
    // Through one key-making context per thread: EVP_PKEY_new_raw_public_key looks the key
    // type up by name on every call, about half its cost.
    struct Maker {
      Maker() : ctx(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr)) {
        check(ctx != nullptr && EVP_PKEY_fromdata_init(ctx.get()) == 1, "X25519 unavailable");
      }
      PkeyCtxPtr ctx;
    };
    thread_local Maker maker;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                          const_cast<std::uint8_t*>(data.data()), data.size()),
        OSSL_PARAM_construct_end()};
    EVP_PKEY* raw = nullptr;
    check(EVP_PKEY_fromdata(maker.ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) == 1 &&
              raw != nullptr,
          "invalid X25519 public key");
    return PkeyPtr(raw);
  }
  if (data[0] != 0x04) fail("P-256 public key is not an uncompressed point");
  return p256_pkey(nullptr, data);
}

// A derivation context for `private_key`, kept per thread for the last few keys: making one
// (a key-exchange fetch and initialisation) costs as much as a tenth of the DH itself. A
// context holds a reference to its key, so a cached pointer can never name another key.
EVP_PKEY_CTX* derive_context(EVP_PKEY* private_key) {
  struct Entry {
    EVP_PKEY* key;
    PkeyCtxPtr ctx;
  };
  constexpr std::size_t kMaxEntries = 8;
  thread_local std::vector<Entry> cache;
  for (const Entry& entry : cache) {
    if (entry.key == private_key) return entry.ctx.get();
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, private_key, nullptr));
  check(ctx != nullptr, "DH context allocation failed");
  check(EVP_PKEY_derive_init(ctx.get()) == 1, "DH init failed");
  if (cache.size() == kMaxEntries) cache.erase(cache.begin());
  cache.push_back({private_key, std::move(ctx)});
  return cache.back().ctx.get();
}

// DH(sk, pk): X25519 shared secret or the P-256 x-coordinate (32 bytes). `long_lived`: the
// private key is a recipient's, worth a cached context (an ephemeral one is used once, and
// is not kept alive in a cache).
void diffie_hellman(EVP_PKEY* private_key, EVP_PKEY* peer, SecretBytes& out, bool long_lived) {
  PkeyCtxPtr single_use;
  EVP_PKEY_CTX* ctx = nullptr;
  if (long_lived) {
    ctx = derive_context(private_key);
  } else {
    single_use.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, private_key, nullptr));
    check(single_use != nullptr, "DH context allocation failed");
    check(EVP_PKEY_derive_init(single_use.get()) == 1, "DH init failed");
    ctx = single_use.get();
  }
  // P-256: OpenSSL validates the peer key (on the curve). X25519 needs no validation of the
  // key itself (any 32 bytes are a u-coordinate; OpenSSL's check costs a third of the DH):
  // what RFC 9180 §7.1.4 requires is rejecting an all-zero shared secret, checked below.
  const bool validate = EVP_PKEY_get_base_id(private_key) != EVP_PKEY_X25519;
  check(EVP_PKEY_derive_set_peer_ex(ctx, peer, validate ? 1 : 0) == 1, "invalid DH peer key");
  std::size_t length = out.bytes.size();
  check(EVP_PKEY_derive(ctx, out.bytes.data(), &length) == 1 && length == out.bytes.size(),
        "DH failed");
  std::uint8_t any = 0;
  for (std::uint8_t byte : out.bytes) any |= byte;
  check(any != 0, "DH produced the all-zero shared secret (small-order peer key)");
}

// ExtractAndExpand(dh, kem_context)
Bytes extract_and_expand(const KemInfo& kem, ByteSpan dh, ByteSpan enc, ByteSpan recipient_public) {
  const Bytes suite_id = kem_suite_id(kem.id);
  Bytes eae_prk = labeled_extract(kem.kdf, suite_id, {}, "eae_prk", dh);
  Bytes kem_context(enc.begin(), enc.end());
  kem_context.insert(kem_context.end(), recipient_public.begin(), recipient_public.end());
  Bytes secret =
      labeled_expand(kem.kdf, suite_id, eae_prk, "shared_secret", kem_context, kem.secret_size);
  OPENSSL_cleanse(eae_prk.data(), eae_prk.size());
  return secret;
}

// ---- AEADs -----------------------------------------------------------------

struct AeadInfo {
  const char* cipher;  // nullptr for export-only
  std::size_t key_size;
  std::size_t nonce_size;
  std::size_t tag_size;
};

AeadInfo aead_info(HpkeAeadId aead) {
  switch (aead) {
    case HpkeAeadId::Aes128Gcm:
      return {"AES-128-GCM", 16, 12, 16};
    case HpkeAeadId::Aes256Gcm:
      return {"AES-256-GCM", 32, 12, 16};
    case HpkeAeadId::ChaCha20Poly1305:
      return {"ChaCha20-Poly1305", 32, 12, 16};
  }
  if (aead == kHpkeAeadExportOnly) return {nullptr, 0, 0, 0};
  fail("unsupported HPKE AEAD");
}

// Fetched once: implicit fetches on every EVP_*Init are measurably slower.
const EVP_CIPHER* cipher_for(HpkeAeadId aead) {
  struct Ciphers {
    EVP_CIPHER* aes128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
    EVP_CIPHER* aes256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    EVP_CIPHER* chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  };
  static const Ciphers ciphers;
  const EVP_CIPHER* cipher = nullptr;
  switch (aead) {
    case HpkeAeadId::Aes128Gcm:
      cipher = ciphers.aes128;
      break;
    case HpkeAeadId::Aes256Gcm:
      cipher = ciphers.aes256;
      break;
    case HpkeAeadId::ChaCha20Poly1305:
      cipher = ciphers.chacha;
      break;
  }
  check(cipher != nullptr, "AEAD unavailable");
  return cipher;
}

int checked_int(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) fail("input too large for the AEAD");
  return static_cast<int>(n);
}

Bytes aead_seal(HpkeAeadId aead, ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext) {
  const AeadInfo info = aead_info(aead);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  check(ctx != nullptr, "cipher context allocation failed");
  check(EVP_EncryptInit_ex2(ctx.get(), cipher_for(aead), key.data(), nonce.data(), nullptr) == 1,
        "AEAD init failed");
  int length = 0;
  if (!aad.empty())
    check(EVP_EncryptUpdate(ctx.get(), nullptr, &length, aad.data(), checked_int(aad.size())) == 1,
          "AEAD aad failed");
  Bytes out(plaintext.size() + info.tag_size);
  int written = 0;
  if (!plaintext.empty()) {
    check(EVP_EncryptUpdate(ctx.get(), out.data(), &written, plaintext.data(),
                            checked_int(plaintext.size())) == 1,
          "AEAD encrypt failed");
  }
  int final_length = 0;
  check(EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &final_length) == 1,
        "AEAD final failed");
  check(static_cast<std::size_t>(written + final_length) == plaintext.size(),
        "AEAD length mismatch");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(info.tag_size),
                            out.data() + plaintext.size()) == 1,
        "AEAD tag failed");
  return out;
}

Bytes aead_open(HpkeAeadId aead, ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext) {
  const AeadInfo info = aead_info(aead);
  if (ciphertext.size() < info.tag_size) fail("ciphertext shorter than the AEAD tag");
  const std::size_t body_size = ciphertext.size() - info.tag_size;
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  check(ctx != nullptr, "cipher context allocation failed");
  check(EVP_DecryptInit_ex2(ctx.get(), cipher_for(aead), key.data(), nonce.data(), nullptr) == 1,
        "AEAD init failed");
  int length = 0;
  if (!aad.empty())
    check(EVP_DecryptUpdate(ctx.get(), nullptr, &length, aad.data(), checked_int(aad.size())) == 1,
          "AEAD aad failed");
  Bytes out(body_size);
  int written = 0;
  if (body_size > 0) {
    check(EVP_DecryptUpdate(ctx.get(), out.data(), &written, ciphertext.data(),
                            checked_int(body_size)) == 1,
          "AEAD decrypt failed");
  }
  std::array<std::uint8_t, 16> tag{};
  std::memcpy(tag.data(), ciphertext.data() + body_size, info.tag_size);
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(info.tag_size),
                            tag.data()) == 1,
        "AEAD tag setup failed");
  int final_length = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + written, &final_length) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    fail("HPKE decryption failed");
  }
  return out;
}

}  // namespace

// ---- Key pairs -----------------------------------------------------------------

struct HpkeKeyPair::Impl {
  HpkeKemId kem;
  PkeyPtr key;  // private key with its public half
  Bytes public_key;
  Bytes private_key;  // SerializePrivateKey
  ~Impl() { OPENSSL_cleanse(private_key.data(), private_key.size()); }
};

bool hpke_kem_supported(HpkeKemId kem) {
  return kem == HpkeKemId::X25519HkdfSha256 || kem == HpkeKemId::P256HkdfSha256;
}

bool hpke_suite_supported(const HpkeSuite& suite) {
  const bool kdf = suite.kdf == HpkeKdfId::HkdfSha256 || suite.kdf == HpkeKdfId::HkdfSha384 ||
                   suite.kdf == HpkeKdfId::HkdfSha512;
  const bool aead = suite.aead == HpkeAeadId::Aes128Gcm || suite.aead == HpkeAeadId::Aes256Gcm ||
                    suite.aead == HpkeAeadId::ChaCha20Poly1305;
  return hpke_kem_supported(suite.kem) && kdf && aead;
}

HpkeKeyPair HpkeKeyPair::from_private_key(HpkeKemId kem, ByteSpan private_key) {
  const KemInfo info = kem_info(kem);
  if (private_key.size() != info.private_size) fail("private key has the wrong length");
  auto impl = std::make_shared<Impl>();
  impl->kem = kem;
  impl->private_key.assign(private_key.begin(), private_key.end());
  if (kem == HpkeKemId::X25519HkdfSha256) {
    impl->key.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                                 private_key.size()));
    check(impl->key != nullptr, "invalid X25519 private key");
    impl->public_key.resize(32);
    std::size_t length = 32;
    check(EVP_PKEY_get_raw_public_key(impl->key.get(), impl->public_key.data(), &length) == 1 &&
              length == 32,
          "X25519 public key export failed");
  } else {
    BnPtr scalar(BN_bin2bn(private_key.data(), static_cast<int>(private_key.size()), nullptr));
    check(scalar != nullptr, "allocation failed");
    impl->public_key = p256_public_from_scalar(scalar.get());
    impl->key = p256_pkey(scalar.get(), impl->public_key);
  }
  return HpkeKeyPair(std::move(impl));
}

HpkeKeyPair HpkeKeyPair::from_keys(HpkeKemId kem, ByteSpan private_key, ByteSpan public_key) {
  HpkeKeyPair pair = from_private_key(kem, private_key);
  if (!constant_time_equal(pair.public_key(), public_key))
    fail("public key does not match the private key");
  return pair;
}

HpkeKeyPair HpkeKeyPair::derive(HpkeKemId kem, ByteSpan ikm) {
  const KemInfo info = kem_info(kem);
  const Bytes suite_id = kem_suite_id(kem);
  Bytes dkp_prk = labeled_extract(info.kdf, suite_id, {}, "dkp_prk", ikm);
  if (kem == HpkeKemId::X25519HkdfSha256) {
    Bytes sk = labeled_expand(info.kdf, suite_id, dkp_prk, "sk", {}, info.private_size);
    HpkeKeyPair pair = from_private_key(kem, sk);
    OPENSSL_cleanse(sk.data(), sk.size());
    OPENSSL_cleanse(dkp_prk.data(), dkp_prk.size());
    return pair;
  }
  // P-256: rejection sampling over "candidate" outputs (bitmask 0xff).
  const BIGNUM* order = EC_GROUP_get0_order(p256_group());
  for (int counter = 0; counter < 256; ++counter) {
    const std::uint8_t counter_byte = static_cast<std::uint8_t>(counter);
    Bytes candidate = labeled_expand(info.kdf, suite_id, dkp_prk, "candidate",
                                     ByteSpan(&counter_byte, 1), info.private_size);
    BnPtr scalar(BN_bin2bn(candidate.data(), static_cast<int>(candidate.size()), nullptr));
    check(scalar != nullptr, "allocation failed");
    const bool usable = !BN_is_zero(scalar.get()) && BN_cmp(scalar.get(), order) < 0;
    if (usable) {
      HpkeKeyPair pair = from_private_key(kem, candidate);
      OPENSSL_cleanse(candidate.data(), candidate.size());
      OPENSSL_cleanse(dkp_prk.data(), dkp_prk.size());
      return pair;
    }
    OPENSSL_cleanse(candidate.data(), candidate.size());
  }
  fail("DeriveKeyPair found no valid P-256 scalar");
}

HpkeKeyPair HpkeKeyPair::generate(HpkeKemId kem) {
  SecretBytes ikm(kem_info(kem).private_size);
  random_bytes(ikm.bytes);
  return derive(kem, ikm.bytes);
}

HpkeKemId HpkeKeyPair::kem() const { return impl_->kem; }
const Bytes& HpkeKeyPair::public_key() const { return impl_->public_key; }
Bytes HpkeKeyPair::private_key() const { return impl_->private_key; }

// ---- Contexts -------------------------------------------------------------------

namespace {

// key_schedule_context = mode || psk_id_hash || info_hash depends only on the
// suite and info, which DAP repeats for every report: computed once per
// thread for the last few (suite, info) pairs, it saves two HMACs per open.
Bytes base_key_schedule_context(const HpkeSuite& suite, ByteSpan suite_id, ByteSpan info) {
  struct Entry {
    HpkeSuite suite;
    Bytes info;
    Bytes context;
  };
  constexpr std::size_t kMaxEntries = 16;
  thread_local std::vector<Entry> cache;
  for (const Entry& entry : cache) {
    if (entry.suite == suite &&
        std::equal(entry.info.begin(), entry.info.end(), info.begin(), info.end()))
      return entry.context;
  }
  // Base mode: mode 0, empty psk_id.
  Bytes context{0x00};
  const Bytes psk_id_hash = labeled_extract(suite.kdf, suite_id, {}, "psk_id_hash", {});
  const Bytes info_hash = labeled_extract(suite.kdf, suite_id, {}, "info_hash", info);
  context.insert(context.end(), psk_id_hash.begin(), psk_id_hash.end());
  context.insert(context.end(), info_hash.begin(), info_hash.end());
  if (cache.size() == kMaxEntries) cache.erase(cache.begin());
  cache.push_back({suite, Bytes(info.begin(), info.end()), context});
  return context;
}

}  // namespace

HpkeContext::HpkeContext(const HpkeSuite& suite, Bytes shared_secret, ByteSpan info)
    : suite_(suite), shared_secret_(std::move(shared_secret)) {
  const AeadInfo aead = aead_info(suite.aead);
  const Bytes suite_id = hpke_suite_id(suite);
  key_schedule_context_ = base_key_schedule_context(suite, suite_id, info);
  // Base mode: empty psk.
  secret_ = labeled_extract(suite.kdf, suite_id, shared_secret_, "secret", {});
  key_ = labeled_expand(suite.kdf, suite_id, secret_, "key", key_schedule_context_, aead.key_size);
  base_nonce_ = labeled_expand(suite.kdf, suite_id, secret_, "base_nonce", key_schedule_context_,
                               aead.nonce_size);
  // exporter_secret is derived on demand: single-shot seal/open never export.
}

Bytes HpkeContext::exporter_secret() const {
  return labeled_expand(suite_.kdf, hpke_suite_id(suite_), secret_, "exp", key_schedule_context_,
                        kdf_info(suite_.kdf).hash_size);
}

std::pair<Bytes, HpkeContext> HpkeContext::setup_base_sender(const HpkeSuite& suite,
                                                             ByteSpan recipient_public_key,
                                                             ByteSpan info,
                                                             const HpkeKeyPair* ephemeral) {
  const KemInfo kem = kem_info(suite.kem);
  aead_info(suite.aead);  // reject an unsupported suite before any work
  kdf_info(suite.kdf);
  PkeyPtr recipient = deserialize_public_key(suite.kem, recipient_public_key);
  std::optional<HpkeKeyPair> fresh;
  if (ephemeral == nullptr) {
    fresh = HpkeKeyPair::generate(suite.kem);
    ephemeral = &*fresh;
  } else if (ephemeral->kem() != suite.kem) {
    fail("ephemeral key is for another KEM");
  }
  SecretBytes dh(32);
  diffie_hellman(ephemeral->impl().key.get(), recipient.get(), dh, /*long_lived=*/false);
  Bytes enc = ephemeral->public_key();
  Bytes shared = extract_and_expand(kem, dh.bytes, enc, recipient_public_key);
  return {std::move(enc), HpkeContext(suite, std::move(shared), info)};
}

HpkeContext HpkeContext::setup_base_receiver(const HpkeSuite& suite, const HpkeKeyPair& recipient,
                                             ByteSpan enc, ByteSpan info) {
  const KemInfo kem = kem_info(suite.kem);
  aead_info(suite.aead);
  kdf_info(suite.kdf);
  if (recipient.kem() != suite.kem) fail("recipient key is for another KEM");
  SecretBytes dh(32);
  if (suite.kem == HpkeKemId::X25519HkdfSha256) {
    // One peer key object per thread, its public key replaced for each message: making a
    // new EVP_PKEY per message costs a tenth of the DH under load (type lookups and locks).
    if (enc.size() != kem.public_size) fail("public key has the wrong length");
    thread_local PkeyPtr peer = deserialize_public_key(suite.kem, enc);
    check(EVP_PKEY_set_octet_string_param(peer.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                          enc.data(), enc.size()) == 1,
          "invalid X25519 public key");
    diffie_hellman(recipient.impl().key.get(), peer.get(), dh, /*long_lived=*/true);
  } else {
    PkeyPtr sender = deserialize_public_key(suite.kem, enc);
    diffie_hellman(recipient.impl().key.get(), sender.get(), dh, /*long_lived=*/true);
  }
  Bytes shared = extract_and_expand(kem, dh.bytes, enc, recipient.public_key());
  return HpkeContext(suite, std::move(shared), info);
}

Bytes HpkeContext::current_nonce() const {
  Bytes nonce = base_nonce_;
  for (std::size_t i = 0; i < 8 && i < nonce.size(); ++i)
    nonce[nonce.size() - 1 - i] ^= static_cast<std::uint8_t>(sequence_ >> (8 * i));
  return nonce;
}

void HpkeContext::advance() {
  // Nn = 12 bytes, so the limit 2^96-1 is beyond a u64 counter.
  if (sequence_ == UINT64_MAX) fail("HPKE message limit reached");
  ++sequence_;
}

Bytes HpkeContext::seal(ByteSpan aad, ByteSpan plaintext) {
  if (suite_.aead == kHpkeAeadExportOnly) fail("export-only HPKE context cannot seal");
  Bytes ciphertext = aead_seal(suite_.aead, key_, current_nonce(), aad, plaintext);
  advance();
  return ciphertext;
}

Bytes HpkeContext::open(ByteSpan aad, ByteSpan ciphertext) {
  if (suite_.aead == kHpkeAeadExportOnly) fail("export-only HPKE context cannot open");
  Bytes plaintext = aead_open(suite_.aead, key_, current_nonce(), aad, ciphertext);
  advance();
  return plaintext;
}

Bytes HpkeContext::export_secret(ByteSpan exporter_context, std::size_t length) const {
  return labeled_expand(suite_.kdf, hpke_suite_id(suite_), exporter_secret(), "sec",
                        exporter_context, length);
}

// ---- Single-shot ------------------------------------------------------------------

HpkeSealed hpke_seal(const HpkeSuite& suite, ByteSpan recipient_public_key, ByteSpan info,
                     ByteSpan aad, ByteSpan plaintext) {
  auto [enc, context] = HpkeContext::setup_base_sender(suite, recipient_public_key, info);
  return {std::move(enc), context.seal(aad, plaintext)};
}

Bytes hpke_open(const HpkeSuite& suite, const HpkeKeyPair& recipient, ByteSpan enc, ByteSpan info,
                ByteSpan aad, ByteSpan ciphertext) {
  HpkeContext context = HpkeContext::setup_base_receiver(suite, recipient, enc, info);
  return context.open(aad, ciphertext);
}

// ---- DAP ----------------------------------------------------------------------------

Bytes dap_input_share_info(Role server_role) {
  Bytes info = to_bytes("dap-09 input share");
  info.push_back(static_cast<std::uint8_t>(Role::Client));
  info.push_back(static_cast<std::uint8_t>(server_role));
  return info;
}

Bytes dap_aggregate_share_info(Role server_role) {
  Bytes info = to_bytes("dap-09 aggregate share");
  info.push_back(static_cast<std::uint8_t>(server_role));
  info.push_back(static_cast<std::uint8_t>(Role::Collector));
  return info;
}

DapHpkeKeyPair DapHpkeKeyPair::generate(HpkeConfigId id, const HpkeSuite& suite) {
  if (!hpke_suite_supported(suite)) fail("unsupported HPKE suite");
  HpkeKeyPair pair = HpkeKeyPair::generate(suite.kem);
  HpkeConfig config{id, suite.kem, suite.kdf, suite.aead, pair.public_key()};
  return {std::move(config), std::move(pair)};
}

DapHpkeKeyPair DapHpkeKeyPair::from_config(const HpkeConfig& config, ByteSpan private_key) {
  if (!hpke_suite_supported(suite_of(config))) fail("unsupported HPKE suite");
  return {config, HpkeKeyPair::from_keys(config.kem_id, private_key, config.public_key)};
}

HpkeCiphertext dap_seal(const HpkeConfig& config, ByteSpan info, ByteSpan aad, ByteSpan plaintext) {
  if (!hpke_suite_supported(suite_of(config))) fail("unsupported HPKE suite");
  HpkeSealed sealed = hpke_seal(suite_of(config), config.public_key, info, aad, plaintext);
  return {config.id, std::move(sealed.enc), std::move(sealed.ciphertext)};
}

Bytes dap_open(const DapHpkeKeyPair& key_pair, const HpkeCiphertext& ciphertext, ByteSpan info,
               ByteSpan aad) {
  if (ciphertext.config_id != key_pair.config.id) fail("ciphertext is for another HPKE config");
  return hpke_open(suite_of(key_pair.config), key_pair.key_pair, ciphertext.enc, info, aad,
                   ciphertext.payload);
}

}  // namespace janus
