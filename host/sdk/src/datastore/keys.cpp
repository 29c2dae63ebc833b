#include <openssl/evp.h>

#include <memory>
#include <string>

#include "janus/codec.h"
#include "janus/datastore/errors.h"
#include "janus/datastore/keys.h"
#include "janus/ids.h"

namespace janus {
namespace {

constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

// be64(len table) ‖ table ‖ be64(len row) ‖ row ‖ be64(len column) ‖ column, as Janus.
Bytes associated_data(std::string_view table, ByteSpan row, std::string_view column) {
  ByteWriter aad;
  for (ByteSpan part : {as_bytes(table), row, as_bytes(column)}) {
    aad.u64(part.size());
    aad.raw(part);
  }
  return aad.take();
}

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherContext new_context() {
  CipherContext context(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!context) throw DatastoreError("EVP_CIPHER_CTX_new failed");
  return context;
}

std::optional<Bytes> open_with(const DatastoreKey& key, ByteSpan aad, ByteSpan stored) {
  ByteSpan ciphertext = stored.first(stored.size() - kTagSize - kNonceSize);
  ByteSpan tag = stored.subspan(ciphertext.size(), kTagSize);
  ByteSpan nonce = stored.last(kNonceSize);
  auto context = new_context();
  Bytes plaintext(ciphertext.size());
  int length = 0;
  if (EVP_DecryptInit_ex(context.get(), EVP_aes_128_gcm(), nullptr, key.data(), nonce.data()) !=
          1 ||
      EVP_DecryptUpdate(context.get(), nullptr, &length, aad.data(),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(context.get(), plaintext.data(), &length, ciphertext.data(),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                          const_cast<std::uint8_t*>(tag.data())) != 1) {
    return std::nullopt;
  }
  int final_length = 0;
  if (EVP_DecryptFinal_ex(context.get(), plaintext.data() + length, &final_length) != 1) {
    return std::nullopt;
  }
  return plaintext;
}

}  // namespace

DatastoreKeys::DatastoreKeys(std::vector<DatastoreKey> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) throw DatastoreKeyError("no datastore key given");
}

DatastoreKeys DatastoreKeys::parse(std::string_view text) {
  if (text.empty()) {
    throw DatastoreKeyError(
        "no datastore keys: set DATASTORE_KEYS or --datastore-keys to comma-separated "
        "unpadded base64url 16-byte keys");
  }
  std::vector<DatastoreKey> keys;
  std::size_t position = 1;
  while (true) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    std::string where = "datastore key #" + std::to_string(position);
    if (item.empty()) throw DatastoreKeyError(where + " is empty");
    auto decoded = base64url_decode(item);
    if (!decoded) throw DatastoreKeyError(where + " is not unpadded base64url");
    if (decoded->size() != 16) {
      throw DatastoreKeyError(where + " is " + std::to_string(decoded->size()) +
                              " bytes, expected 16 (AES-128)");
    }
    DatastoreKey key;
    std::copy(decoded->begin(), decoded->end(), key.begin());
    keys.push_back(key);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    ++position;
  }
  return DatastoreKeys(std::move(keys));
}

DatastoreKey DatastoreKeys::generate_key() {
  DatastoreKey key;
  random_bytes(key);
  return key;
}

Bytes Crypter::encrypt(std::string_view table, ByteSpan row, std::string_view column,
                       ByteSpan plaintext) const {
  Bytes aad = associated_data(table, row, column);
  std::array<std::uint8_t, kNonceSize> nonce;
  random_bytes(nonce);
  const DatastoreKey& key = keys_.primary();
  auto context = new_context();
  Bytes out(plaintext.size() + kTagSize + kNonceSize);
  int length = 0;
  int final_length = 0;
  if (EVP_EncryptInit_ex(context.get(), EVP_aes_128_gcm(), nullptr, key.data(), nonce.data()) !=
          1 ||
      EVP_EncryptUpdate(context.get(), nullptr, &length, aad.data(),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(context.get(), out.data(), &length, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context.get(), out.data() + length, &final_length) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          out.data() + plaintext.size()) != 1) {
    throw DatastoreError("AES-128-GCM encryption failed for " + std::string(table) + "." +
                         std::string(column));
  }
  std::copy(nonce.begin(), nonce.end(), out.end() - kNonceSize);
  return out;
}

Bytes Crypter::decrypt(std::string_view table, ByteSpan row, std::string_view column,
                       ByteSpan stored) const {
  std::string where = std::string(table) + "." + std::string(column);
  if (stored.size() < kTagSize + kNonceSize) {
    throw DecryptionError("cannot decrypt " + where + ": the stored value is too short");
  }
  Bytes aad = associated_data(table, row, column);
  for (const auto& key : keys_.all()) {
    if (auto plaintext = open_with(key, aad, stored)) return std::move(*plaintext);
  }
  throw DecryptionError("cannot decrypt " + where +
                        ": no datastore key authenticates it for this row (wrong "
                        "DATASTORE_KEYS, or the value was moved)");
}

std::optional<Bytes> Crypter::reencrypt(std::string_view table, ByteSpan row,
                                        std::string_view column, ByteSpan stored) const {
  if (stored.size() >= kTagSize + kNonceSize &&
      open_with(keys_.primary(), associated_data(table, row, column), stored)) {
    return std::nullopt;
  }
  return encrypt(table, row, column, decrypt(table, row, column, stored));
}

}  // namespace janus
