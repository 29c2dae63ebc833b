#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "janus/datastore.h"
#include "janus/testing/test_database.h"
#include "test_util.h"

namespace janus {
namespace {

using datastore_test::leader_task;

std::string encode_key(const DatastoreKey& key) { return base64url_encode(key); }

TEST(DatastoreKeysTest, ParsesCommaSeparatedUnpaddedBase64UrlKeys) {
  DatastoreKey first = DatastoreKeys::generate_key();
  DatastoreKey second = DatastoreKeys::generate_key();
  auto keys = DatastoreKeys::parse(encode_key(first) + "," + encode_key(second));
  ASSERT_EQ(keys.all().size(), 2u);
  EXPECT_EQ(keys.primary(), first);
  EXPECT_EQ(keys.all()[1], second);
}

TEST(DatastoreKeysTest, RejectsMissingAndMalformedKeysWithClearMessages) {
  auto message_of = [](std::string_view text) {
    try {
      DatastoreKeys::parse(text);
    } catch (const DatastoreKeyError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  std::string good = encode_key(DatastoreKeys::generate_key());
  EXPECT_NE(message_of("").find("DATASTORE_KEYS"), std::string::npos);
  EXPECT_NE(message_of(good + ",").find("key #2 is empty"), std::string::npos);
  EXPECT_NE(message_of(good + ",***").find("key #2 is not unpadded base64url"), std::string::npos);
  // Padded base64url is not accepted: Janus writes keys unpadded.
  EXPECT_NE(message_of(good + "==").find("key #1 is not unpadded base64url"), std::string::npos);
  EXPECT_NE(message_of("AAAA").find("key #1 is 3 bytes, expected 16"), std::string::npos);
  // A message never echoes the key material.
  EXPECT_EQ(message_of(good + ",AAAA").find(good), std::string::npos);
}

TEST(CrypterTest, RoundTripsAndBindsTableRowAndColumn) {
  Crypter crypter(DatastoreKeys({DatastoreKeys::generate_key()}));
  Bytes row = {1, 2, 3};
  Bytes secret = to_bytes("verify key bytes");
  Bytes stored = crypter.encrypt("tasks", row, "vdaf_verify_key", secret);
  EXPECT_EQ(stored.size(), secret.size() + 16 + 12);
  EXPECT_EQ(crypter.decrypt("tasks", row, "vdaf_verify_key", stored), secret);
  Bytes other_row = {1, 2, 4};
  EXPECT_THROW(crypter.decrypt("tasks", other_row, "vdaf_verify_key", stored), DecryptionError);
  EXPECT_THROW(crypter.decrypt("tasks", row, "aggregator_auth_token", stored), DecryptionError);
  EXPECT_THROW(crypter.decrypt("global_hpke_keys", row, "vdaf_verify_key", stored),
               DecryptionError);
  // Truncated or tampered values are errors, not crashes.
  EXPECT_THROW(crypter.decrypt("tasks", row, "vdaf_verify_key", ByteSpan(stored).first(10)),
               DecryptionError);
  stored[0] ^= 1;
  EXPECT_THROW(crypter.decrypt("tasks", row, "vdaf_verify_key", stored), DecryptionError);
  // Encryption is randomised (fresh nonce each time).
  EXPECT_NE(crypter.encrypt("t", row, "c", secret), crypter.encrypt("t", row, "c", secret));
}

// The stored layout and associated data Janus uses (janus-0.7.md §5), built here by hand
// with OpenSSL: ciphertext ‖ tag ‖ nonce, AAD = be64 len ‖ table ‖ be64 len ‖ row ‖ be64
// len ‖ column. A database written by Janus with the same keys decrypts.
TEST(CrypterTest, ReadsJanusLayout) {
  DatastoreKey key = DatastoreKeys::generate_key();
  Bytes nonce(12, 0x24);
  Bytes plaintext = to_bytes("secret");
  Bytes aad = *hex_decode(
      "0000000000000005"
      "7461736b73"  // "tasks"
      "0000000000000002"
      "0102"  // row
      "0000000000000001"
      "63");  // "c"
  Bytes stored(plaintext.size() + 16);
  int length = 0;
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex(context, EVP_aes_128_gcm(), nullptr, key.data(), nonce.data()), 1);
  ASSERT_EQ(EVP_EncryptUpdate(context, nullptr, &length, aad.data(), static_cast<int>(aad.size())),
            1);
  ASSERT_EQ(EVP_EncryptUpdate(context, stored.data(), &length, plaintext.data(),
                              static_cast<int>(plaintext.size())),
            1);
  ASSERT_EQ(EVP_EncryptFinal_ex(context, stored.data() + length, &length), 1);
  ASSERT_EQ(
      EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, stored.data() + plaintext.size()), 1);
  EVP_CIPHER_CTX_free(context);
  stored.insert(stored.end(), nonce.begin(), nonce.end());
  Crypter crypter(DatastoreKeys({key}));
  EXPECT_EQ(crypter.decrypt("tasks", Bytes{1, 2}, "c", stored), plaintext);
  EXPECT_THROW(crypter.decrypt("tasks", Bytes{1, 2}, "d", stored), DecryptionError);
}

TEST(CrypterTest, EmptyPlaintextRoundTrips) {
  Crypter crypter(DatastoreKeys({DatastoreKeys::generate_key()}));
  Bytes row = {9};
  EXPECT_EQ(crypter.decrypt("t", row, "c", crypter.encrypt("t", row, "c", {})), Bytes{});
}

class DatastoreKeysDatabaseTest : public ::testing::Test {
 protected:
  testing::TestDatabase db_;
  MockClock clock_{1'700'000'000};
};

TEST_F(DatastoreKeysDatabaseTest, SecretWrittenUnderOldKeyStillReadsAfterRotation) {
  DatastoreKey old_key = DatastoreKeys::generate_key();
  DatastoreKey new_key = DatastoreKeys::generate_key();
  AggregatorTask task = leader_task();
  db_.open_datastore(clock_, DatastoreKeys({old_key}))->run_tx("put", [&](Transaction& tx) {
    tx.put_aggregator_task(task);
  });
  // Rotation: the new key first (encrypts), the old one still listed (decrypts).
  auto rotated = db_.open_datastore(clock_, DatastoreKeys({new_key, old_key}));
  auto read =
      rotated->run_tx("get", [&](Transaction& tx) { return tx.get_aggregator_task(task.task_id); });
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, task);
  // New writes use the new key only: readable without the old key.
  AggregatorTask second = leader_task();
  rotated->run_tx("put", [&](Transaction& tx) { tx.put_aggregator_task(second); });
  auto new_only = db_.open_datastore(clock_, DatastoreKeys({new_key}));
  auto second_read = new_only->run_tx(
      "get", [&](Transaction& tx) { return tx.get_aggregator_task(second.task_id); });
  EXPECT_EQ(second_read, second);
}

TEST_F(DatastoreKeysDatabaseTest, WrongKeyGivesAnErrorNamingTheColumn) {
  AggregatorTask task = leader_task();
  db_.open_datastore(clock_)->run_tx("put", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  auto other = db_.open_datastore(clock_);  // a different random key
  try {
    other->run_tx("get", [&](Transaction& tx) { return tx.get_aggregator_task(task.task_id); });
    FAIL() << "decryption with a wrong key succeeded";
  } catch (const DecryptionError& error) {
    EXPECT_NE(std::string(error.what()).find("tasks.vdaf_verify_key"), std::string::npos)
        << error.what();
  }
}

TEST_F(DatastoreKeysDatabaseTest, ValueMovedToAnotherRowOrColumnFailsToDecrypt) {
  auto datastore = db_.open_datastore(clock_);
  AggregatorTask first = leader_task();
  AggregatorTask second = leader_task();
  datastore->run_tx("put", [&](Transaction& tx) {
    tx.put_aggregator_task(first);
    tx.put_aggregator_task(second);
  });
  // Another row: copy the first task's verify key ciphertext onto the second task.
  db_.query(
      "UPDATE tasks SET vdaf_verify_key = (SELECT vdaf_verify_key FROM tasks WHERE "
      "task_id = '\\x" +
      hex_encode(first.task_id.span()) + "') WHERE task_id = '\\x" +
      hex_encode(second.task_id.span()) + "'");
  EXPECT_THROW(
      datastore->run_tx("get", [&](Transaction& tx) { tx.get_aggregator_task(second.task_id); }),
      DecryptionError);
  // Another column: the first task's auth token ciphertext as its verify key.
  db_.query("UPDATE tasks SET vdaf_verify_key = aggregator_auth_token WHERE task_id = '\\x" +
            hex_encode(first.task_id.span()) + "'");
  EXPECT_THROW(
      datastore->run_tx("get", [&](Transaction& tx) { tx.get_aggregator_task(first.task_id); }),
      DecryptionError);
}

TEST_F(DatastoreKeysDatabaseTest, HpkePrivateKeysAreEncryptedAtRest) {
  auto datastore = db_.open_datastore(clock_);
  AggregatorTask task = leader_task();
  datastore->run_tx("put", [&](Transaction& tx) {
    tx.put_aggregator_task(task);
    tx.put_global_hpke_keypair(datastore_test::keypair(7));
  });
  std::string task_key = db_.query("SELECT encode(private_key, 'hex') FROM task_hpke_keys LIMIT 1");
  std::string global_key = db_.query("SELECT encode(private_key, 'hex') FROM global_hpke_keys");
  std::string verify_key = db_.query("SELECT encode(vdaf_verify_key, 'hex') FROM tasks");
  EXPECT_EQ(task_key.find(hex_encode(task.hpke_keys[0].private_key)), std::string::npos);
  EXPECT_EQ(global_key.find(hex_encode(datastore_test::keypair(7).private_key)), std::string::npos);
  EXPECT_EQ(verify_key.find(hex_encode(task.vdaf_verify_key)), std::string::npos);
  EXPECT_EQ(verify_key.size(), (16 + 16 + 12) * 2u);
}

}  // namespace
}  // namespace janus
