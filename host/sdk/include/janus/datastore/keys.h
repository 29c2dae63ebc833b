// Datastore keys: the AES-128-GCM keys that encrypt secrets at rest (janus-DEPLOYING.md
// "Datastore Keys"). Given as DATASTORE_KEYS / --datastore-keys: comma-separated unpadded
// base64url 16-byte keys; the first encrypts, all decrypt.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "janus/bytes.h"

namespace janus {

// Thrown when the datastore keys are missing or malformed (a startup error).
class DatastoreKeyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

using DatastoreKey = std::array<std::uint8_t, 16>;

class DatastoreKeys {
 public:
  // Parses "key1,key2,…". Throws DatastoreKeyError naming the offending key (by position,
  // never by value) when the list is empty, a key is not unpadded base64url, or a key is
  // not 16 bytes.
  static DatastoreKeys parse(std::string_view text);
  // Throws DatastoreKeyError if `keys` is empty.
  explicit DatastoreKeys(std::vector<DatastoreKey> keys);
  // A fresh random key (tests and `janus_cli`-style generation).
  static DatastoreKey generate_key();

  const DatastoreKey& primary() const { return keys_.front(); }
  const std::vector<DatastoreKey>& all() const { return keys_; }

 private:
  std::vector<DatastoreKey> keys_;
};

// Encrypts and decrypts one column value. The table, row and column are bound as
// associated data, so a value copied to another row or column does not decrypt. The
// stored form is ciphertext ‖ tag(16) ‖ nonce(12), as Janus stores it.
class Crypter {
 public:
  explicit Crypter(DatastoreKeys keys) : keys_(std::move(keys)) {}

  Bytes encrypt(std::string_view table, ByteSpan row, std::string_view column,
                ByteSpan plaintext) const;
  // Tries every key; throws DecryptionError (janus/datastore/errors.h) naming table and column
  // when none authenticates the value.
  Bytes decrypt(std::string_view table, ByteSpan row, std::string_view column,
                ByteSpan stored) const;
  // For key rotation: nullopt when the first key already authenticates `stored`; otherwise
  // the value decrypted with another key and encrypted again under the first. Throws
  // DecryptionError like decrypt().
  std::optional<Bytes> reencrypt(std::string_view table, ByteSpan row, std::string_view column,
                                 ByteSpan stored) const;

 private:
  DatastoreKeys keys_;
};

}  // namespace janus
