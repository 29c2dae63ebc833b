#include "key_rotator.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include <spdlog/spdlog.h>

#include "janus/codec.h"
#include "janus/config.h"

namespace janus::key_rotator {
namespace {

std::string suite_name(const HpkeSuite& suite) {
  return std::string(hpke_kem_id_name(suite.kem)) + "/" + std::string(hpke_kdf_id_name(suite.kdf)) +
         "/" + std::string(hpke_aead_id_name(suite.aead));
}

bool suite_less(const HpkeSuite& a, const HpkeSuite& b) {
  return std::tuple(a.kem, a.kdf, a.aead) < std::tuple(b.kem, b.kdf, b.aead);
}

template <typename T>
T algorithm(ConfigMap& map, const std::string& key, std::optional<T> (*parse)(std::string_view)) {
  const std::string name = map.required<std::string>(key);
  std::optional<T> id = parse(name);
  if (!id) {
    throw ConfigError(config_location(map.file(), map.node()[key]) + ": key '" + map.key_path(key) +
                      "': unknown or unsupported algorithm '" + name + "'");
  }
  return *id;
}

// A key as the pass sees it.
struct Key {
  GlobalHpkeKeypair stored;
  std::optional<HpkeSuite> suite;  // none: its config does not decode (left alone)
};

}  // namespace

KeyRotatorConfig parse_key_rotator_config(const YAML::Node& section, const std::string& file,
                                          const std::string& path) {
  ConfigMap map(section, file, path);
  KeyRotatorConfig config;
  if (auto frequency = map.optional<std::uint64_t>("frequency_s")) {
    if (*frequency == 0) {
      throw ConfigError(config_location(file, map.node()["frequency_s"]) + ": key '" +
                        map.key_path("frequency_s") + "': must be greater than 0");
    }
    config.frequency = std::chrono::seconds(*frequency);
  }
  if (!map.has("hpke")) {
    throw ConfigError(config_location(file, section) + ": missing required key '" +
                      map.key_path("hpke") + "'");
  }
  ConfigMap hpke = map.section("hpke");
  config.pending_duration = hpke.get<std::uint64_t>("pending_duration_s", config.pending_duration);
  config.active_duration = hpke.get<std::uint64_t>("active_duration_s", config.active_duration);
  config.expired_duration = hpke.get<std::uint64_t>("expired_duration_s", config.expired_duration);
  YAML::Node suites = hpke.raw("ciphersuites");
  if (suites.IsDefined() && !suites.IsNull()) {
    if (!suites.IsSequence() || suites.size() == 0) {
      throw ConfigError(config_location(file, suites) + ": key '" + hpke.key_path("ciphersuites") +
                        "': must provide at least one ciphersuite");
    }
    config.ciphersuites.clear();
    for (std::size_t i = 0; i < suites.size(); ++i) {
      ConfigMap entry(suites[i], file,
                      hpke.key_path("ciphersuites") + "[" + std::to_string(i) + "]");
      HpkeSuite suite{algorithm<HpkeKemId>(entry, "kem_id", parse_hpke_kem_id),
                      algorithm<HpkeKdfId>(entry, "kdf_id", parse_hpke_kdf_id),
                      algorithm<HpkeAeadId>(entry, "aead_id", parse_hpke_aead_id)};
      entry.finish();
      if (!hpke_suite_supported(suite)) {
        throw ConfigError(config_location(file, suites[i]) + ": ciphersuite " + suite_name(suite) +
                          " is not supported by this build");
      }
      // A set, as in Janus: the same suite twice is one key.
      if (std::find(config.ciphersuites.begin(), config.ciphersuites.end(), suite) ==
          config.ciphersuites.end()) {
        config.ciphersuites.push_back(suite);
      }
    }
  }
  hpke.finish();
  map.finish();
  return config;
}

KeyRotator::KeyRotator(KeyRotatorConfig config, Datastore& datastore,
                       std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)), datastore_(datastore), logger_(std::move(logger)) {}

RotationResult KeyRotator::run_once() {
  return datastore_.run_tx("global_hpke_key_rotator", [&](Transaction& tx) { return rotate(tx); });
}

// Janus 0.7's policy (aggregator/src/aggregator/key_rotator.rs), as one list of changes
// computed from the locked table and then written:
//  - bootstrap: on an empty table one ACTIVE key per configured suite; otherwise a PENDING
//    key for each configured suite with neither a PENDING nor an ACTIVE key;
//  - per configured suite: the newest PENDING key, once pending for longer than
//    pending_duration, becomes ACTIVE and the newest ACTIVE key EXPIRED; without a PENDING
//    key, an ACTIVE key older than active_duration gets a PENDING successor; other ACTIVE
//    keys expire and other PENDING keys are deleted;
//  - keys of suites no longer configured: ACTIVE ones expire, PENDING ones are deleted;
//  - EXPIRED keys are deleted once expired for longer than expired_duration.
RotationResult KeyRotator::rotate(Transaction& tx) {
  tx.lock_global_hpke_keypairs();  // first statement: the snapshot comes after the lock
  const Time now = tx.now();
  auto age = [&](Time since) { return now > since ? now - since : 0; };

  std::map<std::uint8_t, Key> keys;
  for (GlobalHpkeKeypair& stored : tx.get_global_hpke_keypairs()) {
    Key key{std::move(stored), std::nullopt};
    try {
      key.suite = suite_of(decode_message<HpkeConfig>(key.stored.keypair.config));
    } catch (const std::exception& e) {
      if (logger_) {
        logger_->warn("global HPKE key {} has an undecodable config ({}); leaving it alone",
                      key.stored.keypair.config_id, e.what());
      }
    }
    keys.emplace(key.stored.keypair.config_id, std::move(key));
  }
  const bool initially_empty = keys.empty();

  // Fresh ids continue after the highest id in use and wrap around, so that an id comes
  // back as late as possible (old clients' reports then fail as outdated configs rather
  // than as undecryptable ones).
  std::set<std::uint8_t> used;
  for (const auto& [id, key] : keys) used.insert(id);
  unsigned next_candidate = used.empty() ? 0 : *used.rbegin();
  unsigned candidates_left = 256;
  auto fresh_id = [&]() -> std::uint8_t {
    while (candidates_left > 0) {
      const auto id = static_cast<std::uint8_t>(next_candidate);
      next_candidate = (next_candidate + 1) % 256;
      --candidates_left;
      if (!used.contains(id)) {
        used.insert(id);
        return id;
      }
    }
    throw std::runtime_error("global HPKE key config id space exhausted");
  };

  struct Change {
    enum Kind { Create, Promote, Expire, Delete } kind;
    std::uint8_t id = 0;
    HpkeSuite suite;
    HpkeKeyState state = HpkeKeyState::Pending;  // Create
    const char* reason = "";
  };
  std::vector<Change> changes;
  auto configured = [&](const HpkeSuite& suite) {
    return std::find(config_.ciphersuites.begin(), config_.ciphersuites.end(), suite) !=
           config_.ciphersuites.end();
  };

  for (const HpkeSuite& suite : config_.ciphersuites) {
    if (initially_empty) {
      changes.push_back(
          {Change::Create, 0, suite, HpkeKeyState::Active, "bootstrapping new database"});
      continue;
    }
    const bool has_live = std::any_of(keys.begin(), keys.end(), [&](const auto& entry) {
      const Key& key = entry.second;
      return key.suite == suite && key.stored.state != HpkeKeyState::Expired;
    });
    if (!has_live) {
      changes.push_back(
          {Change::Create, 0, suite, HpkeKeyState::Pending, "bootstrapping new configuration"});
    }
  }

  // Per suite and state, newest first (by last state change, then id).
  std::map<HpkeSuite, std::map<HpkeKeyState, std::vector<const Key*>>, decltype(&suite_less)>
      by_suite(&suite_less);
  for (const auto& [id, key] : keys) {
    if (key.suite) by_suite[*key.suite][key.stored.state].push_back(&key);
  }
  for (auto& [suite, by_state] : by_suite) {
    for (auto& [state, list] : by_state) {
      std::sort(list.begin(), list.end(), [](const Key* a, const Key* b) {
        return std::tuple(a->stored.last_state_change_at, a->stored.keypair.config_id) >
               std::tuple(b->stored.last_state_change_at, b->stored.keypair.config_id);
      });
    }
    const std::vector<const Key*>& active = by_state[HpkeKeyState::Active];
    const std::vector<const Key*>& pending = by_state[HpkeKeyState::Pending];
    const std::vector<const Key*>& expired = by_state[HpkeKeyState::Expired];
    auto id_of = [](const Key* key) { return key->stored.keypair.config_id; };
    if (configured(suite)) {
      if (!pending.empty()) {
        if (age(pending.front()->stored.last_state_change_at) > config_.pending_duration) {
          changes.push_back({Change::Promote, id_of(pending.front()), suite, HpkeKeyState::Active,
                             "ready for promotion"});
          if (!active.empty()) {
            changes.push_back({Change::Expire, id_of(active.front()), suite, HpkeKeyState::Expired,
                               "pending key ready"});
          }
        }
      } else if (!active.empty() &&
                 age(active.front()->stored.last_state_change_at) > config_.active_duration) {
        changes.push_back({Change::Create, 0, suite, HpkeKeyState::Pending,
                           "active key ready for expiration, but no pending key present"});
      }
      for (std::size_t i = 1; i < active.size(); ++i) {
        changes.push_back(
            {Change::Expire, id_of(active[i]), suite, HpkeKeyState::Expired, "extraneous key"});
      }
      for (std::size_t i = 1; i < pending.size(); ++i) {
        changes.push_back(
            {Change::Delete, id_of(pending[i]), suite, HpkeKeyState::Pending, "extraneous key"});
      }
    } else {
      for (const Key* key : active) {
        changes.push_back(
            {Change::Expire, id_of(key), suite, HpkeKeyState::Expired, "unknown ciphersuite"});
      }
      for (const Key* key : pending) {
        changes.push_back(
            {Change::Delete, id_of(key), suite, HpkeKeyState::Pending, "unknown ciphersuite"});
      }
    }
    for (const Key* key : expired) {
      if (age(key->stored.last_state_change_at) > config_.expired_duration) {
        changes.push_back(
            {Change::Delete, id_of(key), suite, HpkeKeyState::Expired, "expired key"});
      }
    }
  }

  RotationResult result;
  for (const Change& change : changes) {
    switch (change.kind) {
      case Change::Create: {
        const std::uint8_t id = fresh_id();
        DapHpkeKeyPair key_pair = DapHpkeKeyPair::generate(id, change.suite);
        tx.put_global_hpke_keypair(
            {id, encode_message(key_pair.config), key_pair.key_pair.private_key()});
        if (change.state != HpkeKeyState::Pending)
          tx.set_global_hpke_keypair_state(id, change.state);
        result.created.push_back(id);
        if (logger_) {
          logger_->info("creating global HPKE key {} ({}, {}): {}", id, suite_name(change.suite),
                        change.state == HpkeKeyState::Active ? "active" : "pending", change.reason);
        }
        break;
      }
      case Change::Promote:
      case Change::Expire:
        tx.set_global_hpke_keypair_state(change.id, change.state);
        (change.kind == Change::Promote ? result.promoted : result.expired).push_back(change.id);
        if (logger_) {
          logger_->info("global HPKE key {} ({}) is now {}: {}", change.id,
                        suite_name(change.suite),
                        change.kind == Change::Promote ? "active" : "expired", change.reason);
        }
        break;
      case Change::Delete:
        tx.delete_global_hpke_keypair(change.id);
        result.deleted.push_back(change.id);
        if (logger_) {
          logger_->info("deleting global HPKE key {} ({}): {}", change.id, suite_name(change.suite),
                        change.reason);
        }
        break;
    }
  }

  const auto after = tx.get_global_hpke_keypairs();
  if (std::none_of(after.begin(), after.end(), [](const GlobalHpkeKeypair& key) {
        return key.state == HpkeKeyState::Active;
      })) {
    throw std::runtime_error(
        "key rotation would leave no active global HPKE key; nothing changed (make a key "
        "active with janus_cli set-global-hpke-key-state)");
  }
  return result;
}

}  // namespace janus::key_rotator
