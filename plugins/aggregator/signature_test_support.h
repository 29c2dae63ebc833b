// ECDSA P-256/SHA-256 signature checks for the tests of x-hpke-config-signature.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "janus/bytes.h"

namespace janus::testing {

// True when `signature` (DER ECDSA) is a valid P-256/SHA-256 signature of `message` under the
// DER SubjectPublicKeyInfo `public_key`.
inline bool ecdsa_p256_signature_verifies(const Bytes& public_key, const Bytes& message,
                                          const Bytes& signature) {
  const unsigned char* cursor = public_key.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &cursor, static_cast<long>(public_key.size()));
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(),
                                   message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace janus::testing
