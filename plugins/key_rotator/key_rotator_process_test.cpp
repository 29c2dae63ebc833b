// The real `janus key_rotator --config-file F` with each of Janus 0.7's own sample
// key_rotator.yaml files (only the database URL and the placeholder TLS trust store path
// changed): one pass, exit 0, as Janus's cron-job binary does. And the real `janus
// aggregator` with the advanced sample, whose `key_rotator:` section bootstraps a global key
// on an empty table that the DAP API then advertises.
#include <signal.h>

#include <gtest/gtest.h>

#include "janus/codec.h"
#include "janus/datastore.h"
#include "janus/datastore/keys.h"
#include "janus/messages.h"
#include "janus/testing/test_database.h"
#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

std::string new_keys() {
  auto key = DatastoreKeys::generate_key();
  return base64url_encode(ByteSpan(key.data(), key.size()));
}

TEST(KeyRotatorProcess, StandaloneRunsOnePassAndExits) {
  TestDatabase db;
  const std::string keys = new_keys();
  RealClock clock;
  auto datastore = db.open_datastore(clock, DatastoreKeys::parse(keys));
  for (const char* flavour : {"basic_config", "advanced_config"}) {
    const std::string config = write_file(
        std::string(flavour) + "-key_rotator.yaml",
        runnable_sample_config(flavour, "key_rotator", db.url(), free_port(), free_port()));
    Process janus(JANUS_EXECUTABLE, {"key_rotator", "--config-file", config},
                  {{"DATASTORE_KEYS", keys}, {"RUST_LOG", "info"}});
    ExitStatus status = janus.wait(60s);
    ASSERT_TRUE(status.exited) << janus.stderr_text() << janus.stdout_text();
    EXPECT_EQ(status.exit_code, 0) << janus.stderr_text() << janus.stdout_text();
    // The first run bootstraps one ACTIVE X25519 key; the second finds nothing to do.
    auto stored =
        datastore->run_tx("read", [](Transaction& tx) { return tx.get_global_hpke_keypairs(); });
    ASSERT_EQ(stored.size(), 1u) << flavour;
    EXPECT_EQ(stored[0].state, HpkeKeyState::Active);
    EXPECT_EQ(decode_message<HpkeConfig>(stored[0].keypair.config).kem_id,
              HpkeKemId::X25519HkdfSha256);
  }
}

TEST(KeyRotatorProcess, StandaloneWithoutKeysFailsPlainly) {
  TestDatabase db;
  const std::string config = write_file(
      "nokeys-key_rotator.yaml",
      runnable_sample_config("basic_config", "key_rotator", db.url(), free_port(), free_port()));
  Process janus(JANUS_EXECUTABLE, {"key_rotator", "--config-file", config},
                {{"DATASTORE_KEYS", ""}});
  ExitStatus status = janus.wait(60s);
  ASSERT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_EQ(janus.stderr_text().rfind("janus: error: ", 0), 0u) << janus.stderr_text();
}

TEST(KeyRotatorProcess, InsideTheAggregatorBootstrapsTheAdvertisedKey) {
  TestDatabase db;
  const std::string keys = new_keys();
  RealClock clock;
  auto datastore = db.open_datastore(clock, DatastoreKeys::parse(keys));
  const std::uint16_t health = free_port(), port = free_port(), metrics = free_port();
  const std::string config = write_file(
      "advanced-aggregator-kr.yaml",
      runnable_sample_config("advanced_config", "aggregator", db.url(), health, metrics, port));
  Process janus(JANUS_EXECUTABLE, {"aggregator", "--config-file", config},
                {{"DATASTORE_KEYS", keys}, {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  auto stored =
      datastore->run_tx("read", [](Transaction& tx) { return tx.get_global_hpke_keypairs(); });
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].state, HpkeKeyState::Active);
  // Served at once: the rotator's first pass precedes the aggregator's first key read.
  Reply reply = http(port, "GET", "/hpke_config");
  ASSERT_EQ(reply.status, 200) << reply.body;
  HpkeConfigList list = decode_message<HpkeConfigList>(
      ByteSpan(reinterpret_cast<const std::uint8_t*>(reply.body.data()), reply.body.size()));
  ASSERT_EQ(list.configs.size(), 1u);
  EXPECT_EQ(encode_message(list.configs[0]), stored[0].keypair.config);

  EXPECT_TRUE(stops_cleanly(janus));
}

}  // namespace
}  // namespace janus::testing
