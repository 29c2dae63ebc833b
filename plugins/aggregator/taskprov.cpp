// Taskprov (draft-wang-ppm-dap-taskprov-06, janus/taskprov.h) for both roles: the helper opts
// into a task a known leader advertises on its first aggregation job, the leader into a task a
// client advertises on upload (Janus 0.7 is helper-only; the draft defines both).
#include <spdlog/spdlog.h>

#include "aggregator.h"
#include "janus/auth.h"
#include "janus/messages.h"

namespace janus::aggregator {
namespace {

// 2^20 entries: a 16 MiB Field128 share, far beyond any histogram or vector in use.
constexpr std::uint32_t kMaxAdvertisedVectorLength = 1u << 20;

[[noreturn]] void opt_out(const TaskId& task_id, const std::string& why) {
  throw DapError(DapProblemType::InvalidTask, task_id, why);
}

// Janus's tasks.yaml / database form of the advertised VDAF. A VDAF no loaded plugin runs
// (Poplar1 today) is refused when the task's VDAF is created, as an opt-out.
VdafDescription vdaf_description(const taskprov::VdafConfig& config) {
  using Code = taskprov::VdafTypeCode;
  switch (config.type) {
    case Code::Prio3Count:
      return {"Prio3Count", nlohmann::json::object()};
    case Code::Prio3Sum:
      return {"Prio3Sum", {{"bits", config.bits}}};
    case Code::Prio3SumVec:
      return {"Prio3SumVec",
              {{"bits", config.bits},
               {"length", config.length},
               {"chunk_length", config.chunk_length}}};
    case Code::Prio3Histogram:
      return {"Prio3Histogram", {{"length", config.length}, {"chunk_length", config.chunk_length}}};
    case Code::Prio3SumVecField64MultiproofHmacSha256Aes128:
      return {"Prio3SumVecField64MultiproofHmacSha256Aes128",
              {{"proofs", config.proofs},
               {"bits", config.bits},
               {"length", config.length},
               {"chunk_length", config.chunk_length}}};
    case Code::Poplar1:
      return {"Poplar1", {{"bits", config.poplar1_bits}}};
  }
  return {"unknown", nlohmann::json::object()};
}

}  // namespace

std::optional<taskprov::AdvertisedTask> Aggregator::advertised_task(const HttpRequest& request,
                                                                    const TaskId& task_id) const {
  if (!config_.taskprov.enabled) return std::nullopt;  // the draft: ignore the header
  auto header = request.headers.get(std::string(taskprov::kHeader));
  if (!header) return std::nullopt;
  try {
    return taskprov::parse_header(*header, task_id);
  } catch (const taskprov::TaskIdMismatch& e) {
    throw DapError(DapProblemType::UnrecognizedTask, task_id, e.what());
  } catch (const DecodeError& e) {
    throw DapError(DapProblemType::InvalidMessage, task_id,
                   std::string("dap-taskprov header: ") + e.what());
  }
}

bool TaskprovPeers::accepts(const TaskprovPeerAggregator& peer, const AuthToken& token) {
  return std::any_of(peer.aggregator_auth_tokens.begin(), peer.aggregator_auth_tokens.end(),
                     [&](const AuthToken& known) { return known.hash().validate(token); });
}

TaskprovPeerAggregator Aggregator::taskprov_peer(const taskprov::AdvertisedTask& advertised,
                                                 Role peer_role, const TaskId& task_id,
                                                 const std::optional<AuthToken>& token) {
  const std::string endpoint = taskprov::normalize_endpoint(
      peer_role == Role::Leader ? advertised.config.leader_aggregator_endpoint
                                : advertised.config.helper_aggregator_endpoint);
  auto find = [&]() -> std::optional<TaskprovPeerAggregator> {
    for (const TaskprovPeerAggregator& peer : taskprov_peers_.peers) {
      if (peer.endpoint == endpoint && peer.role == peer_role) return peer;
    }
    return std::nullopt;
  };
  std::lock_guard lock(taskprov_peers_.mutex);
  const auto now = std::chrono::steady_clock::now();
  const bool loaded = taskprov_peers_.loaded_at.has_value();
  const auto age =
      loaded ? now - *taskprov_peers_.loaded_at : std::chrono::steady_clock::duration{};
  std::optional<TaskprovPeerAggregator> peer = find();
  const bool usable = peer && (!token || TaskprovPeers::accepts(*peer, *token));
  // Read again when the cached peers are old, or lack this peer or this token (a peer just
  // added, or re-added with new tokens), but at most once a second.
  if ((!loaded || age >= config_.task_cache_ttl || !usable) &&
      (!loaded || age >= std::chrono::seconds(1))) {
    taskprov_peers_.peers = datastore_.run_tx("get_taskprov_peer_aggregators", [](Transaction& tx) {
      return tx.get_taskprov_peer_aggregators();
    });
    taskprov_peers_.loaded_at = now;
    peer = find();
  }
  if (!peer) {
    opt_out(task_id, std::string("no taskprov peer ") +
                         (peer_role == Role::Leader ? "leader" : "helper") + " at " + endpoint);
  }
  return std::move(*peer);
}

std::shared_ptr<const CachedTask> Aggregator::taskprov_opt_in(
    const TaskId& task_id, const taskprov::AdvertisedTask& advertised,
    const TaskprovPeerAggregator& peer, Role our_role) {
  const taskprov::TaskConfig& config = advertised.config;
  // §3.3: we MUST opt out of an expired task and of parameters we do not support.
  if (config.task_expiration < clock_.now()) opt_out(task_id, "the task has expired");
  if (!config.query_config) opt_out(task_id, "query config: " + config.query_config_error);
  if (!config.vdaf_config) opt_out(task_id, "VDAF config: " + config.vdaf_config_error);
  const taskprov::QueryConfig& query = *config.query_config;
  const taskprov::VdafConfig& vdaf_config = *config.vdaf_config;
  if (vdaf_config.dp_mechanism() == taskprov::VdafConfig::DpMechanism::Unrecognized &&
      !config_.taskprov.ignore_unknown_differential_privacy_mechanism) {
    opt_out(task_id, "unrecognized differential privacy mechanism");
  }
  // Whoever advertises the task (on the leader, any client) picks the VDAF's size: an
  // aggregate share of `length` field elements is allocated per batch, so a length no real
  // telemetry needs is refused rather than left to exhaust memory.
  if (vdaf_config.length > kMaxAdvertisedVectorLength) {
    opt_out(task_id, "VDAF length " + std::to_string(vdaf_config.length) + " is over this " +
                         "aggregator's limit of " + std::to_string(kMaxAdvertisedVectorLength));
  }
  if (query.time_precision == 0) opt_out(task_id, "time_precision must not be 0");
  if (query.max_batch_query_count == 0) opt_out(task_id, "max_batch_query_count must not be 0");

  AggregatorTask task;
  task.task_id = task_id;
  task.role = our_role;
  task.peer_aggregator_endpoint = our_role == Role::Helper ? config.leader_aggregator_endpoint
                                                           : config.helper_aggregator_endpoint;
  if (query.type == taskprov::QueryConfig::Type::FixedSize) {
    task.query_type.kind = TaskQueryType::Kind::FixedSize;
    // §3: a max_batch_size of 0 means no maximum.
    if (query.max_batch_size != 0) task.query_type.max_batch_size = query.max_batch_size;
  }
  task.vdaf = vdaf_description(vdaf_config);
  std::shared_ptr<const Vdaf> vdaf;
  try {
    vdaf = vdafs_.create(task.vdaf);
  } catch (const std::exception& e) {
    opt_out(task_id, "VDAF " + task.vdaf.name + " is not supported here: " + e.what());
  }
  task.vdaf_verify_key =
      taskprov::derive_vdaf_verify_key(peer.verify_key_init, task_id, vdaf->verify_key_size());
  task.max_batch_query_count = query.max_batch_query_count;
  task.task_expiration = config.task_expiration;
  task.report_expiry_age = peer.report_expiry_age;
  task.min_batch_size = query.min_batch_size;
  task.time_precision = query.time_precision;
  task.tolerable_clock_skew = peer.tolerable_clock_skew;
  task.collector_hpke_config = peer.collector_hpke_config;
  if (our_role == Role::Leader) {
    // What the leader sends the helper, and the collector's token it checks.
    task.aggregator_auth_token = peer.aggregator_auth_tokens.at(0);
    if (!peer.collector_auth_tokens.empty()) {
      task.collector_auth_token_hash = peer.collector_auth_tokens.front().hash();
    }
  }
  // The helper checks every request against the peer's tokens instead (authorize_request).
  task.taskprov_task_config = advertised.encoded;
  // No task HPKE keys: taskprov clients encrypt to the global keys (§3.4).

  try {
    datastore_.run_tx("taskprov_put_task", [&](Transaction& tx) { tx.put_aggregator_task(task); });
    if (logger_) {
      logger_->info("taskprov: opted into task {} as {} with peer {}", task_id.to_base64url(),
                    our_role == Role::Leader ? "leader" : "helper", peer.endpoint);
    }
  } catch (const MutationTargetAlreadyExists&) {
    // Another request or replica opted in first, with the same advertised bytes.
  }
  tasks_.forget(task_id);
  std::shared_ptr<const CachedTask> cached = tasks_.get(task_id);
  if (!cached) throw std::runtime_error("taskprov: the task just stored is not readable");
  return cached;
}

}  // namespace janus::aggregator
