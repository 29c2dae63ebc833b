// HPKE (RFC 9180) base mode on OpenSSL 3.0 EVP primitives (3.0 has no HPKE
// API), plus the DAP-09 §4.4 / §4.6 info strings and seal/open helpers.
//
// Suites: KEM DHKEM(X25519, HKDF-SHA256) 0x0020 and DHKEM(P-256, HKDF-SHA256)
// 0x0010; KDF HKDF-SHA256/384/512; AEAD AES-128-GCM, AES-256-GCM,
// ChaCha20Poly1305 (and export-only 0xFFFF for contexts). DAP-09 mandates
// X25519 / HKDF-SHA256 / AES-128-GCM (kDapMandatorySuite).
//
// Pure computation: no I/O. Every failure (bad key, bad enc, wrong tag,
// unsupported suite) is an HpkeError; nothing is partially returned.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include "janus/bytes.h"
#include "janus/ids.h"
#include "janus/messages.h"

namespace janus {

class HpkeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Export-only AEAD (RFC 9180 §7.3): a context that can only export secrets.
inline constexpr HpkeAeadId kHpkeAeadExportOnly = static_cast<HpkeAeadId>(0xFFFF);

struct HpkeSuite {
  HpkeKemId kem = HpkeKemId::X25519HkdfSha256;
  HpkeKdfId kdf = HpkeKdfId::HkdfSha256;
  HpkeAeadId aead = HpkeAeadId::Aes128Gcm;
  friend bool operator==(const HpkeSuite&, const HpkeSuite&) = default;
};

inline constexpr HpkeSuite kDapMandatorySuite{HpkeKemId::X25519HkdfSha256, HpkeKdfId::HkdfSha256,
                                              HpkeAeadId::Aes128Gcm};

inline HpkeSuite suite_of(const HpkeConfig& config) {
  return {config.kem_id, config.kdf_id, config.aead_id};
}

// True if this library implements every algorithm of the suite (seal/open;
// export-only is not "supported" here because it cannot seal).
bool hpke_suite_supported(const HpkeSuite& suite);
bool hpke_kem_supported(HpkeKemId kem);

// A KEM key pair holding the parsed OpenSSL key, so that open() does not parse
// the private key again. Immutable and cheap to copy (shared state);
// thread-safe to use concurrently.
class HpkeKeyPair {
 public:
  // A fresh random key pair (RFC 9180 §4: DeriveKeyPair of random ikm).
  static HpkeKeyPair generate(HpkeKemId kem);
  // RFC 9180 §7.1.3 DeriveKeyPair(ikm).
  static HpkeKeyPair derive(HpkeKemId kem, ByteSpan ikm);
  // From SerializePrivateKey output (X25519: 32 raw bytes; P-256: 32-byte
  // big-endian scalar in [1, n-1]). The public key is recomputed.
  static HpkeKeyPair from_private_key(HpkeKemId kem, ByteSpan private_key);
  // As above, also checking that `public_key` matches the private key.
  static HpkeKeyPair from_keys(HpkeKemId kem, ByteSpan private_key, ByteSpan public_key);

  HpkeKemId kem() const;
  // SerializePublicKey (X25519: 32 bytes; P-256: 65-byte uncompressed point).
  const Bytes& public_key() const;
  // SerializePrivateKey. A secret: keep it out of logs.
  Bytes private_key() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit HpkeKeyPair(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// An RFC 9180 §5.2 encryption context (base mode). Contexts are used for
// single-shot seal/open and exposed for the RFC's multi-message vectors.
class HpkeContext {
 public:
  // SetupBaseS. `ephemeral` fixes the sender's ephemeral key (test vectors
  // only); otherwise a fresh one is generated. Returns (enc, context).
  static std::pair<Bytes, HpkeContext> setup_base_sender(const HpkeSuite& suite,
                                                         ByteSpan recipient_public_key,
                                                         ByteSpan info,
                                                         const HpkeKeyPair* ephemeral = nullptr);
  // SetupBaseR.
  static HpkeContext setup_base_receiver(const HpkeSuite& suite, const HpkeKeyPair& recipient,
                                         ByteSpan enc, ByteSpan info);

  Bytes seal(ByteSpan aad, ByteSpan plaintext);
  Bytes open(ByteSpan aad, ByteSpan ciphertext);
  Bytes export_secret(ByteSpan exporter_context, std::size_t length) const;

  // Key schedule values, for test vectors. secret() and key() are secrets.
  const Bytes& shared_secret() const { return shared_secret_; }
  const Bytes& key() const { return key_; }
  const Bytes& base_nonce() const { return base_nonce_; }
  Bytes exporter_secret() const;  // derived on demand (not needed by seal/open)
  const Bytes& key_schedule_context() const { return key_schedule_context_; }
  const Bytes& secret() const { return secret_; }
  std::uint64_t sequence_number() const { return sequence_; }
  // The AEAD nonce for the next seal/open.
  Bytes current_nonce() const;

 private:
  HpkeContext(const HpkeSuite& suite, Bytes shared_secret, ByteSpan info);
  void advance();

  HpkeSuite suite_;
  Bytes shared_secret_;
  Bytes key_;
  Bytes base_nonce_;
  Bytes key_schedule_context_;
  Bytes secret_;
  std::uint64_t sequence_ = 0;
};

struct HpkeSealed {
  Bytes enc;
  Bytes ciphertext;
};

// Single-shot SealBase / OpenBase (RFC 9180 §6.1).
HpkeSealed hpke_seal(const HpkeSuite& suite, ByteSpan recipient_public_key, ByteSpan info,
                     ByteSpan aad, ByteSpan plaintext);
Bytes hpke_open(const HpkeSuite& suite, const HpkeKeyPair& recipient, ByteSpan enc, ByteSpan info,
                ByteSpan aad, ByteSpan ciphertext);

// ---- DAP-09 ------------------------------------------------------------------

// "dap-09 input share" || 0x01 (client) || server_role  (DAP-09 §4.4.2)
Bytes dap_input_share_info(Role server_role);
// "dap-09 aggregate share" || server_role || 0x00 (collector)  (DAP-09 §4.6)
Bytes dap_aggregate_share_info(Role server_role);

// An aggregator's (or collector's) HPKE configuration with its private key.
struct DapHpkeKeyPair {
  HpkeConfig config;
  HpkeKeyPair key_pair;

  // A fresh key pair for `suite` under config id `id`.
  static DapHpkeKeyPair generate(HpkeConfigId id, const HpkeSuite& suite = kDapMandatorySuite);
  // From a stored config and private key; checks that they match.
  static DapHpkeKeyPair from_config(const HpkeConfig& config, ByteSpan private_key);
};

// Seals to `config` (its suite and public key) and tags the ciphertext with
// its id.
HpkeCiphertext dap_seal(const HpkeConfig& config, ByteSpan info, ByteSpan aad, ByteSpan plaintext);
// Opens a ciphertext addressed to `key_pair` (its config_id must match).
Bytes dap_open(const DapHpkeKeyPair& key_pair, const HpkeCiphertext& ciphertext, ByteSpan info,
               ByteSpan aad);

}  // namespace janus
