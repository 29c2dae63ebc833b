// The key rotator against a real PostgreSQL database with an injectable clock: its config
// as Janus writes it, the key life cycle PENDING → ACTIVE → EXPIRED → deleted, one key per
// configured suite, the phasing out of suites no longer configured and of extra keys, and
// replicas rotating at once.
#include "key_rotator.h"

#include <gtest/gtest.h>

#include <future>
#include <latch>

#include "janus/codec.h"
#include "janus/datastore/keys.h"
#include "janus/testing/test_database.h"

namespace janus::key_rotator {
namespace {

constexpr Time kStart = 1'700'000'000;
const HpkeSuite kP256{HpkeKemId::P256HkdfSha256, HpkeKdfId::HkdfSha256, HpkeAeadId::Aes128Gcm};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

KeyRotatorConfig parse(const std::string& yaml) {
  return parse_key_rotator_config(YAML::Load(yaml), "kr.yaml", "key_rotator");
}

TEST(KeyRotatorConfig, JanusKeysDefaultsAndErrors) {
  KeyRotatorConfig defaults = parse("hpke: {}\n");
  EXPECT_FALSE(defaults.frequency);
  EXPECT_EQ(defaults.pending_duration, 3600u);
  EXPECT_EQ(defaults.active_duration, 7'257'600u);
  EXPECT_EQ(defaults.expired_duration, 604'800u);
  EXPECT_EQ(defaults.ciphersuites, std::vector<HpkeSuite>{kDapMandatorySuite});

  KeyRotatorConfig full = parse(
      "frequency_s: 60\nhpke:\n  pending_duration_s: 10\n  active_duration_s: 20\n"
      "  expired_duration_s: 30\n  ciphersuites:\n"
      "    - {kem_id: X25519HkdfSha256, kdf_id: HkdfSha256, aead_id: Aes128Gcm}\n"
      "    - {kem_id: P256HkdfSha256, kdf_id: HkdfSha256, aead_id: Aes128Gcm}\n"
      "    - {kem_id: P256HkdfSha256, kdf_id: HkdfSha256, aead_id: Aes128Gcm}\n");
  EXPECT_EQ(full.frequency, std::chrono::seconds(60));
  EXPECT_EQ(full.pending_duration, 10u);
  EXPECT_EQ(full.active_duration, 20u);
  EXPECT_EQ(full.expired_duration, 30u);
  EXPECT_EQ(full.ciphersuites, (std::vector<HpkeSuite>{kDapMandatorySuite, kP256}));

  EXPECT_EQ(error_of([] { parse("frequency_s: 60\n"); }),
            "kr.yaml:1: missing required key 'key_rotator.hpke'");
  EXPECT_EQ(error_of([] { parse("hpke:\n  ciphersuites: []\n"); }),
            "kr.yaml:2: key 'key_rotator.hpke.ciphersuites': must provide at least one "
            "ciphersuite");
  EXPECT_EQ(error_of([] { parse("hpke:\n  pending_duration: 5\n"); }),
            "kr.yaml:2: unknown key 'key_rotator.hpke.pending_duration' (did you mean "
            "'key_rotator.hpke.pending_duration_s'?)");
  EXPECT_NE(error_of([] {
              parse(
                  "hpke:\n  ciphersuites:\n"
                  "    - {kem_id: X448HkdfSha512, kdf_id: HkdfSha256, aead_id: Aes128Gcm}\n");
            }).find("unknown or unsupported algorithm 'X448HkdfSha512'"),
            std::string::npos);
}

class KeyRotatorTest : public ::testing::Test {
 protected:
  KeyRotatorConfig config(std::vector<HpkeSuite> suites = {kDapMandatorySuite}) {
    // Every member given (GCC 12 warns, wrongly, about the default suite list's temporary).
    return KeyRotatorConfig{std::nullopt, 100, 1000, 500, std::move(suites)};
  }
  std::map<std::uint8_t, HpkeKeyState> states() {
    std::map<std::uint8_t, HpkeKeyState> out;
    for (const auto& key :
         datastore->run_tx("read", [](Transaction& tx) { return tx.get_global_hpke_keypairs(); })) {
      out[key.keypair.config_id] = key.state;
    }
    return out;
  }
  HpkeSuite suite_of_key(std::uint8_t id) {
    auto key =
        datastore->run_tx("read", [&](Transaction& tx) { return tx.get_global_hpke_keypair(id); });
    HpkeConfig config = decode_message<HpkeConfig>(key->keypair.config);
    // The stored key pair is usable: the private key matches the advertised config.
    DapHpkeKeyPair::from_config(config, key->keypair.private_key);
    return suite_of(config);
  }
  void put_key(std::uint8_t id, const HpkeSuite& suite, HpkeKeyState state) {
    DapHpkeKeyPair key_pair = DapHpkeKeyPair::generate(id, suite);
    datastore->run_tx("put", [&](Transaction& tx) {
      tx.put_global_hpke_keypair(
          {id, encode_message(key_pair.config), key_pair.key_pair.private_key()});
      if (state != HpkeKeyState::Pending) tx.set_global_hpke_keypair_state(id, state);
    });
  }

  static DatastoreKeys shared_keys() {
    auto key = DatastoreKeys::generate_key();
    return DatastoreKeys::parse(base64url_encode(ByteSpan(key.data(), key.size())));
  }

  testing::TestDatabase db;
  MockClock clock{kStart};
  // Replicas share the deployment's datastore keys.
  const DatastoreKeys keys = shared_keys();
  std::unique_ptr<Datastore> datastore = db.open_datastore(clock, keys);
};

using State = HpkeKeyState;

TEST_F(KeyRotatorTest, WalksAKeyThroughItsWholeLife) {
  KeyRotator rotator(config(), *datastore, nullptr);
  // An empty table: one ACTIVE key at once (Janus: the very first run).
  RotationResult result = rotator.run_once();
  ASSERT_EQ(result.created.size(), 1u);
  const std::uint8_t first = result.created[0];
  EXPECT_EQ(states(), (std::map<std::uint8_t, State>{{first, State::Active}}));
  EXPECT_EQ(suite_of_key(first), kDapMandatorySuite);

  // Nothing to do until the active key is older than active_duration.
  clock.advance(1000);
  result = rotator.run_once();
  EXPECT_TRUE(result.created.empty() && result.promoted.empty() && result.expired.empty());
  clock.advance(1);
  result = rotator.run_once();
  ASSERT_EQ(result.created.size(), 1u);
  const std::uint8_t second = result.created[0];
  EXPECT_EQ(second, static_cast<std::uint8_t>(first + 1));
  EXPECT_EQ(states(),
            (std::map<std::uint8_t, State>{{first, State::Active}, {second, State::Pending}}));

  // The successor stays pending for pending_duration (the aggregators' caches pick it up),
  // then replaces the active key, which expires.
  clock.advance(100);
  rotator.run_once();
  EXPECT_EQ(states()[second], State::Pending);
  clock.advance(1);
  result = rotator.run_once();
  EXPECT_EQ(result.promoted, std::vector<std::uint8_t>{second});
  EXPECT_EQ(result.expired, std::vector<std::uint8_t>{first});
  EXPECT_EQ(states(),
            (std::map<std::uint8_t, State>{{first, State::Expired}, {second, State::Active}}));

  // The expired key is kept for expired_duration (clients' cached configs), then deleted.
  clock.advance(500);
  rotator.run_once();
  EXPECT_EQ(states().size(), 2u);
  clock.advance(1);
  result = rotator.run_once();
  EXPECT_EQ(result.deleted, std::vector<std::uint8_t>{first});
  EXPECT_EQ(states(), (std::map<std::uint8_t, State>{{second, State::Active}}));
}

TEST_F(KeyRotatorTest, OneKeyPerConfiguredSuiteAndOldSuitesPhasedOut) {
  KeyRotator both(config({kDapMandatorySuite, kP256}), *datastore, nullptr);
  RotationResult result = both.run_once();
  ASSERT_EQ(result.created.size(), 2u);
  std::set<HpkeSuite, bool (*)(const HpkeSuite&, const HpkeSuite&)> suites(
      [](const HpkeSuite& a, const HpkeSuite& b) { return a.kem < b.kem; });
  for (std::uint8_t id : result.created) suites.insert(suite_of_key(id));
  EXPECT_EQ(suites.size(), 2u);
  for (const auto& [id, state] : states()) EXPECT_EQ(state, State::Active);

  // P-256 dropped from the config: its active key expires (still opens reports sealed to
  // it), later it is deleted; the table never holds a second X25519 key.
  KeyRotator x25519_only(config(), *datastore, nullptr);
  clock.advance(10);
  result = x25519_only.run_once();
  ASSERT_EQ(result.expired.size(), 1u);
  EXPECT_EQ(suite_of_key(result.expired[0]), kP256);
  EXPECT_TRUE(result.created.empty());
  clock.advance(501);
  result = x25519_only.run_once();
  EXPECT_EQ(result.deleted.size(), 1u);
  ASSERT_EQ(states().size(), 1u);
  EXPECT_EQ(suite_of_key(states().begin()->first), kDapMandatorySuite);

  // A suite added to a table that is not empty starts PENDING, not ACTIVE.
  result = both.run_once();
  ASSERT_EQ(result.created.size(), 1u);
  EXPECT_EQ(states()[result.created[0]], State::Pending);
  EXPECT_EQ(suite_of_key(result.created[0]), kP256);
}

TEST_F(KeyRotatorTest, AdoptsManualKeysAndRemovesExtraOnes) {
  put_key(7, kDapMandatorySuite, State::Active);
  clock.advance(5);
  put_key(9, kDapMandatorySuite, State::Active);  // newer
  put_key(3, kDapMandatorySuite, State::Pending);
  clock.advance(5);
  put_key(4, kDapMandatorySuite, State::Pending);  // newer
  put_key(20, kP256, State::Pending);              // a suite not configured
  KeyRotator rotator(config(), *datastore, nullptr);
  RotationResult result = rotator.run_once();
  EXPECT_EQ(result.expired, std::vector<std::uint8_t>{7});
  EXPECT_EQ((std::set<std::uint8_t>(result.deleted.begin(), result.deleted.end())),
            (std::set<std::uint8_t>{3, 20}));
  EXPECT_EQ(states(), (std::map<std::uint8_t, State>{
                          {4, State::Pending}, {7, State::Expired}, {9, State::Active}}));
}

TEST_F(KeyRotatorTest, RefusesToLeaveNoActiveKey) {
  put_key(1, kDapMandatorySuite, State::Expired);
  KeyRotator rotator(config(), *datastore, nullptr);
  EXPECT_NE(error_of([&] { rotator.run_once(); }).find("no active global HPKE key"),
            std::string::npos);
  // Rolled back: the pending key it would have created is not there.
  EXPECT_EQ(states(), (std::map<std::uint8_t, State>{{1, State::Expired}}));
}

// Replicas rotating at once on an empty table: exactly one key per suite, every time, and
// Janus's table lock makes them take turns.
TEST_F(KeyRotatorTest, ReplicasRunningAtOnceKeepOneKeyPerSuite) {
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<Datastore>> datastores;
  for (int i = 0; i < kReplicas; ++i) datastores.push_back(db.open_datastore(clock, keys));
  for (int round = 0; round < 3; ++round) {
    datastore->run_tx("clear", [](Transaction& tx) {
      for (const auto& key : tx.get_global_hpke_keypairs()) {
        tx.delete_global_hpke_keypair(key.keypair.config_id);
      }
    });
    std::latch start(kReplicas);
    std::vector<std::future<RotationResult>> runs;
    for (int i = 0; i < kReplicas; ++i) {
      runs.push_back(std::async(std::launch::async, [&, i] {
        KeyRotator rotator(config({kDapMandatorySuite, kP256}), *datastores[i], nullptr);
        start.arrive_and_wait();
        return rotator.run_once();
      }));
    }
    std::size_t created = 0;
    for (auto& run : runs) created += run.get().created.size();
    EXPECT_EQ(created, 2u);
    auto now = states();
    ASSERT_EQ(now.size(), 2u);
    for (const auto& [id, state] : now) EXPECT_EQ(state, State::Active);
  }
  // The lock serializes them before they read: no replica's insert ever collided with
  // another's (without it they would, and be retried as serialization failures).
  std::uint64_t retries = 0;
  for (const auto& replica : datastores) retries += replica->transaction_retries();
  EXPECT_EQ(retries, 0u);
}

}  // namespace
}  // namespace janus::key_rotator
