#include "hpke_config_signer.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

namespace janus::aggregator {

struct HpkeConfigSigner::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

[[noreturn]] void refuse(const std::string& why) {
  throw std::invalid_argument(std::string(kHpkeConfigSigningKeyEnv) + ": " + why);
}

}  // namespace

HpkeConfigSigner::HpkeConfigSigner(std::unique_ptr<Key> key) : key_(std::move(key)) {}
HpkeConfigSigner::HpkeConfigSigner(HpkeConfigSigner&&) noexcept = default;
HpkeConfigSigner& HpkeConfigSigner::operator=(HpkeConfigSigner&&) noexcept = default;
HpkeConfigSigner::~HpkeConfigSigner() = default;

HpkeConfigSigner HpkeConfigSigner::from_pem(std::string_view pem) {
  if (pem.size() > 64 * 1024) refuse("too long for a PEM private key");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) refuse("out of memory");
  auto key = std::make_unique<Key>();
  // A null password callback and user data: an encrypted key fails instead of prompting.
  key->pkey = PEM_read_bio_PrivateKey(
      bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  BIO_free(bio);
  if (!key->pkey) refuse("not a PEM private key (expected an unencrypted P-256 EC key)");
  char group[64] = {};
  std::size_t group_length = 0;
  if (!EVP_PKEY_is_a(key->pkey, "EC") ||
      EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &group_length) != 1 ||
      std::string_view(group, group_length) != "prime256v1") {
    refuse("the key is not an ECDSA P-256 key");
  }
  return HpkeConfigSigner(std::move(key));
}

Bytes HpkeConfigSigner::sign(ByteSpan message) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) throw std::runtime_error("hpke config signing: out of memory");
  Bytes signature;
  std::size_t length = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &length, message.data(), message.size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx, signature.data(), &length, message.data(), message.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("hpke config signing failed");
  return signature;
}

Bytes HpkeConfigSigner::public_key_der() const {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key_->pkey, &der);
  if (length <= 0) throw std::runtime_error("hpke config signing key: no public key");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

}  // namespace janus::aggregator
