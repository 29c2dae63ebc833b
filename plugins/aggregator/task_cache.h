// What the DAP handlers need of a task, read from the datastore and kept for a while:
// the task itself, its HPKE key pairs parsed once (opening a report must not re-parse
// private keys) and its VDAF instance. Also the global HPKE key pairs, refreshed
// periodically. Both are read by many request threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "janus/datastore.h"
#include "janus/hpke.h"
#include "janus/vdaf.h"
#include "janus/vdaf_registry.h"

namespace spdlog {
class logger;
}

namespace janus::aggregator {

struct CachedTask {
  AggregatorTask task;
  // Key pairs by config id; a stored key that does not parse is left out (and logged).
  std::map<HpkeConfigId, DapHpkeKeyPair> hpke_keys;
  // nullptr when no loaded VDAF plugin provides the task's VDAF (vdaf_error says why).
  std::shared_ptr<const Vdaf> vdaf;
  std::string vdaf_error;
};

using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

// Tasks by id with a time to live (Janus's task_cache_ttl_s / task_cache_capacity). Absent
// tasks are cached too, so a flood of uploads for an unknown task does not reach the
// database for every request.
class TaskCache {
 public:
  TaskCache(Datastore& datastore, VdafRegistry& vdafs, std::chrono::seconds ttl,
            std::size_t capacity, std::shared_ptr<spdlog::logger> logger,
            SteadyNow now = &std::chrono::steady_clock::now);

  // nullptr when the task does not exist. Datastore errors propagate.
  std::shared_ptr<const CachedTask> get(const TaskId& task_id);
  // Whether get(task_id) will answer from memory, with a task that exists, for at least
  // `at_least` longer (so a caller that must not block may call it now). Never blocks.
  bool cached(const TaskId& task_id, std::chrono::milliseconds at_least);
  // Drops the entry, so the next get reads the database (a task just opted into by taskprov
  // may be cached as absent).
  void forget(const TaskId& task_id);

 private:
  struct Entry {
    std::shared_ptr<const CachedTask> task;  // null: known to be absent
    std::chrono::steady_clock::time_point fetched_at;
  };
  std::shared_ptr<const CachedTask> load(const TaskId& task_id);

  Datastore& datastore_;
  VdafRegistry& vdafs_;
  std::chrono::seconds ttl_;
  std::size_t capacity_;
  std::shared_ptr<spdlog::logger> logger_;
  SteadyNow now_;
  std::mutex mutex_;
  std::unordered_map<TaskId, Entry> entries_;
};

// The global HPKE key pairs (not tied to a task). Every state may decrypt (a PENDING key
// may already be in a client's hands once another replica advertises it; an EXPIRED one
// still opens reports sealed before rotation); only ACTIVE keys are advertised.
class GlobalHpkeKeys {
 public:
  explicit GlobalHpkeKeys(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

  // Reads every global key pair from the datastore and replaces the cached set.
  void refresh(Datastore& datastore);

  std::vector<HpkeConfig> active_configs() const;
  std::optional<DapHpkeKeyPair> find(HpkeConfigId config_id) const;

 private:
  struct Key {
    DapHpkeKeyPair key_pair;
    HpkeKeyState state;
  };
  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mutex_;
  std::map<HpkeConfigId, Key> keys_;
};

// Parses a stored key pair (encoded HpkeConfig + private key); nullopt (logged) when it
// does not parse or the keys do not match.
std::optional<DapHpkeKeyPair> parse_stored_keypair(const StoredHpkeKeypair& stored,
                                                   const std::shared_ptr<spdlog::logger>& logger);

}  // namespace janus::aggregator
