// The key rotator (Janus 0.7's `key_rotator`, also run inside the aggregator from its
// `key_rotator:` section): moves the global HPKE keys through PENDING → ACTIVE → EXPIRED →
// deleted, keeping one key per configured ciphersuite. One pass is one transaction that
// first takes an EXCLUSIVE lock on global_hpke_keys, so replicas running it at once take
// turns, each seeing what the previous one wrote (the aggregators' reads are not blocked).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "janus/datastore.h"
#include "janus/hpke.h"

namespace spdlog {
class logger;
}

namespace janus::key_rotator {

struct KeyRotatorConfig {
  // How often the aggregator runs it (its section's frequency_s); none standalone, where
  // Janus's binary does one pass and exits.
  std::optional<std::chrono::seconds> frequency;
  // How long a key stays PENDING before it is promoted: longer than the aggregators'
  // global key refresh interval (Janus: twice its 30-minute default).
  Duration pending_duration = 3600;
  Duration active_duration = 60 * 60 * 24 * 7 * 12;  // 12 weeks
  Duration expired_duration = 60 * 60 * 24 * 7;      // 1 week
  std::vector<HpkeSuite> ciphersuites = {kDapMandatorySuite};
};

// Reads the `key_rotator` mapping: frequency_s (optional here; Janus's aggregator requires
// it) and hpke: {pending_duration_s, active_duration_s, expired_duration_s, ciphersuites:
// [{kem_id, kdf_id, aead_id}]}, every hpke key optional (`hpke: {}` = defaults), at least
// one ciphersuite. Unknown keys, unsupported suites and bad values throw ConfigError.
KeyRotatorConfig parse_key_rotator_config(const YAML::Node& section, const std::string& file,
                                          const std::string& path);

// What a pass changed.
struct RotationResult {
  std::vector<std::uint8_t> created, promoted, expired, deleted;
};

class KeyRotator {
 public:
  // Times come from the datastore's clock (Transaction::now()).
  KeyRotator(KeyRotatorConfig config, Datastore& datastore, std::shared_ptr<spdlog::logger> logger);

  // One pass in one transaction. Throws (rolling back) on database errors, when the config
  // id space is exhausted, or when the pass would leave no ACTIVE key (Janus's guard: the
  // aggregators could not advertise any key).
  RotationResult run_once();

 private:
  RotationResult rotate(Transaction& tx);

  KeyRotatorConfig config_;
  Datastore& datastore_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace janus::key_rotator
