#include "task_cache.h"

#include <spdlog/spdlog.h>

#include "janus/codec.h"
#include "janus/messages.h"

namespace janus::aggregator {

std::optional<DapHpkeKeyPair> parse_stored_keypair(const StoredHpkeKeypair& stored,
                                                   const std::shared_ptr<spdlog::logger>& logger) {
  try {
    HpkeConfig config = decode_message<HpkeConfig>(stored.config);
    return DapHpkeKeyPair::from_config(config, stored.private_key);
  } catch (const std::exception& e) {
    if (logger) {
      logger->error("HPKE key pair with config id {} cannot be used: {}", stored.config_id,
                    e.what());
    }
    return std::nullopt;
  }
}

TaskCache::TaskCache(Datastore& datastore, VdafRegistry& vdafs, std::chrono::seconds ttl,
                     std::size_t capacity, std::shared_ptr<spdlog::logger> logger, SteadyNow now)
    : datastore_(datastore),
      vdafs_(vdafs),
      ttl_(ttl),
      capacity_(capacity),
      logger_(std::move(logger)),
      now_(std::move(now)) {}

std::shared_ptr<const CachedTask> TaskCache::get(const TaskId& task_id) {
  const auto now = now_();
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(task_id);
    if (it != entries_.end() && now - it->second.fetched_at < ttl_) return it->second.task;
  }
  // Loaded outside the lock: two threads may both load a task, which is harmless.
  std::shared_ptr<const CachedTask> task = load(task_id);
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_ && !entries_.contains(task_id)) {
    // Drop expired entries first; if none, the oldest one.
    std::erase_if(entries_, [&](const auto& item) { return now - item.second.fetched_at >= ttl_; });
    if (entries_.size() >= capacity_) {
      auto oldest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.fetched_at < oldest->second.fetched_at) oldest = it;
      }
      entries_.erase(oldest);
    }
  }
  entries_[task_id] = Entry{task, now};
  return task;
}

bool TaskCache::cached(const TaskId& task_id, std::chrono::milliseconds at_least) {
  const auto now = now_();
  std::lock_guard lock(mutex_);
  auto it = entries_.find(task_id);
  return it != entries_.end() && it->second.task && now + at_least - it->second.fetched_at < ttl_;
}

void TaskCache::forget(const TaskId& task_id) {
  std::lock_guard lock(mutex_);
  entries_.erase(task_id);
}

std::shared_ptr<const CachedTask> TaskCache::load(const TaskId& task_id) {
  std::optional<AggregatorTask> task = datastore_.run_tx(
      "get_aggregator_task", [&](Transaction& tx) { return tx.get_aggregator_task(task_id); });
  if (!task) return nullptr;
  auto cached = std::make_shared<CachedTask>();
  cached->task = std::move(*task);
  for (const StoredHpkeKeypair& stored : cached->task.hpke_keys) {
    if (auto key_pair = parse_stored_keypair(stored, logger_)) {
      cached->hpke_keys.emplace(key_pair->config.id, std::move(*key_pair));
    }
  }
  try {
    cached->vdaf = vdafs_.create(cached->task.vdaf);
  } catch (const std::exception& e) {
    cached->vdaf_error = e.what();
  }
  return cached;
}

void GlobalHpkeKeys::refresh(Datastore& datastore) {
  std::vector<GlobalHpkeKeypair> stored = datastore.run_tx(
      "get_global_hpke_keypairs", [](Transaction& tx) { return tx.get_global_hpke_keypairs(); });
  std::map<HpkeConfigId, Key> keys;
  for (const GlobalHpkeKeypair& keypair : stored) {
    if (auto key_pair = parse_stored_keypair(keypair.keypair, logger_)) {
      keys.emplace(key_pair->config.id, Key{std::move(*key_pair), keypair.state});
    }
  }
  std::lock_guard lock(mutex_);
  keys_ = std::move(keys);
}

std::vector<HpkeConfig> GlobalHpkeKeys::active_configs() const {
  std::lock_guard lock(mutex_);
  std::vector<HpkeConfig> configs;
  for (const auto& [id, key] : keys_) {
    if (key.state == HpkeKeyState::Active) configs.push_back(key.key_pair.config);
  }
  return configs;
}

std::optional<DapHpkeKeyPair> GlobalHpkeKeys::find(HpkeConfigId config_id) const {
  std::lock_guard lock(mutex_);
  auto it = keys_.find(config_id);
  if (it == keys_.end()) return std::nullopt;
  return it->second.key_pair;
}

}  // namespace janus::aggregator
