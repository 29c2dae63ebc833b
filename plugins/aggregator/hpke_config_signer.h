// Signs the encoded HpkeConfigList that GET /hpke_config answers, as Janus 0.7 does when
// given HPKE_CONFIG_SIGNING_KEY (or --hpke-config-signing-key): ECDSA over P-256 with
// SHA-256, the signature DER-encoded (ASN.1) and sent unpadded base64url in the
// `x-hpke-config-signature` header, so clients that pin the public key can check the keys
// they are given.
#pragma once

#include <memory>
#include <stdexcept>
#include <string_view>

#include "janus/bytes.h"

namespace janus::aggregator {

inline constexpr std::string_view kHpkeConfigSignatureHeader = "x-hpke-config-signature";
inline constexpr const char* kHpkeConfigSigningKeyEnv = "HPKE_CONFIG_SIGNING_KEY";

class HpkeConfigSigner {
 public:
  // A P-256 private key in PEM: SEC 1 ("EC PRIVATE KEY", what Janus documents) or PKCS #8
  // ("PRIVATE KEY"). Throws std::invalid_argument (one line, no key material) otherwise.
  static HpkeConfigSigner from_pem(std::string_view pem);

  HpkeConfigSigner(HpkeConfigSigner&&) noexcept;
  HpkeConfigSigner& operator=(HpkeConfigSigner&&) noexcept;
  ~HpkeConfigSigner();

  // The DER-encoded ECDSA-P256-SHA256 signature of `message` (randomized: each call differs).
  Bytes sign(ByteSpan message) const;
  // The public key as DER SubjectPublicKeyInfo, for operators and tests.
  Bytes public_key_der() const;

 private:
  struct Key;
  explicit HpkeConfigSigner(std::unique_ptr<Key> key);
  std::unique_ptr<Key> key_;
};

}  // namespace janus::aggregator
