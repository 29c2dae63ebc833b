// The datastore's records: what the components put into and get out of the database.
// Encoded DAP structures (HpkeConfig, extensions, public shares, input shares, HPKE
// ciphertexts, prepare messages and states, aggregate shares, queries) are opaque Bytes
// here: the message codec, not the datastore, gives them meaning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "janus/auth.h"
#include "janus/bytes.h"
#include "janus/ids.h"
#include "janus/vdaf_registry.h"

namespace janus {

// ---- Tasks (tasks.yaml fields, janus-0.7.md §3.3) ----

// A task's batch mode: `TimeInterval` or `!FixedSize {max_batch_size, batch_time_window_size}`.
struct TaskQueryType {
  enum class Kind { TimeInterval, FixedSize };
  Kind kind = Kind::TimeInterval;
  std::optional<std::uint64_t> max_batch_size;     // FixedSize only
  std::optional<Duration> batch_time_window_size;  // FixedSize only

  // Janus's database form: "TimeInterval" or
  // {"FixedSize":{"max_batch_size":100,"batch_time_window_size":null}}.
  nlohmann::json to_json() const;
  // Throws std::invalid_argument on anything else.
  static TaskQueryType from_json(const nlohmann::json& json);
  friend bool operator==(const TaskQueryType&, const TaskQueryType&) = default;
};

// An HPKE keypair as stored: the encoded HpkeConfig (whose first byte is its config id)
// and the private key (encrypted at rest). DapHpkeKeyPair::from_config (janus/hpke.h) turns
// it into a usable key pair.
struct StoredHpkeKeypair {
  std::uint8_t config_id = 0;
  Bytes config;
  Bytes private_key;
  friend bool operator==(const StoredHpkeKeypair&, const StoredHpkeKeypair&) = default;
};

struct AggregatorTask {
  TaskId task_id;
  std::string peer_aggregator_endpoint;
  // {peer_aggregator_endpoint}/tasks/{task_id}/{resource}, as both drivers address the
  // helper.
  std::string peer_task_url(std::string_view resource) const;
  TaskQueryType query_type;
  VdafDescription vdaf;
  Role role = Role::Leader;  // Leader or Helper
  Bytes vdaf_verify_key;     // encrypted at rest
  std::uint64_t max_batch_query_count = 1;
  std::optional<Time> task_expiration;
  std::optional<Duration> report_expiry_age;
  std::uint64_t min_batch_size = 1;
  Duration time_precision = 1;
  Duration tolerable_clock_skew = 0;
  std::optional<Bytes> collector_hpke_config;  // encoded HpkeConfig
  // Leader: the token it sends to the helper (encrypted at rest).
  std::optional<AuthToken> aggregator_auth_token;
  // Helper: the hash of the token the leader must send.
  std::optional<AuthTokenHash> aggregator_auth_token_hash;
  // Leader: the hash of the token the collector must send.
  std::optional<AuthTokenHash> collector_auth_token_hash;
  std::vector<StoredHpkeKeypair> hpke_keys;
  // Taskprov: the encoded TaskConfig this task was opted into (janus/taskprov.h); task_id is
  // its SHA-256. Requests to the peer advertise it in the dap-taskprov header.
  std::optional<Bytes> taskprov_task_config;

  // The headers every request to the peer aggregator carries: the aggregator auth token
  // (leader) and, for a taskprov task, its dap-taskprov header. Throws std::logic_error when
  // the task has no aggregator auth token to send.
  std::vector<std::pair<std::string, std::string>> peer_request_headers() const;

  friend bool operator==(const AggregatorTask& a, const AggregatorTask& b);
};

// A taskprov peer aggregator (Janus 0.7's taskprov_peer_aggregators): another aggregator we
// have agreed, out of band, to run taskprov tasks with. Identified by its endpoint and its
// role (the peer's role: Leader when this aggregator is the helper).
struct TaskprovPeerAggregator {
  std::string endpoint;  // as given; lookups compare taskprov::normalize_endpoint forms
  Role role = Role::Leader;
  Bytes verify_key_init;        // 32 bytes, encrypted at rest
  Bytes collector_hpke_config;  // encoded HpkeConfig
  std::optional<Duration> report_expiry_age;
  Duration tolerable_clock_skew = 0;
  // Leader→helper tokens; the first is the one a leader sends, any of them is accepted.
  std::vector<AuthToken> aggregator_auth_tokens;
  // Collector→leader tokens (when this aggregator is the leader).
  std::vector<AuthToken> collector_auth_tokens;
  friend bool operator==(const TaskprovPeerAggregator&, const TaskprovPeerAggregator&) = default;
};

enum class HpkeKeyState { Pending, Active, Expired };

struct GlobalHpkeKeypair {
  StoredHpkeKeypair keypair;
  HpkeKeyState state = HpkeKeyState::Pending;
  Time last_state_change_at = 0;
  friend bool operator==(const GlobalHpkeKeypair&, const GlobalHpkeKeypair&) = default;
};

// ---- Reports and aggregation ----

// A report as the leader stores it after upload: the leader's share decrypted, the
// helper's still sealed.
struct LeaderStoredReport {
  TaskId task_id;
  ReportId report_id;
  Time client_timestamp = 0;
  Bytes extensions;                    // encoded, leader's plaintext extensions
  Bytes public_share;                  // encoded (empty for Prio3Count)
  Bytes leader_input_share;            // encoded PlaintextInputShare payload
  Bytes helper_encrypted_input_share;  // encoded HpkeCiphertext
  friend bool operator==(const LeaderStoredReport&, const LeaderStoredReport&) = default;
};

enum class AggregationJobState { InProgress, Finished, Abandoned, Deleted };

struct AggregationJob {
  TaskId task_id;
  AggregationJobId aggregation_job_id;
  Bytes aggregation_parameter;
  std::optional<BatchId> batch_id;     // fixed_size tasks
  Interval client_timestamp_interval;  // spans every report's time
  AggregationJobState state = AggregationJobState::InProgress;
  std::uint16_t step = 0;
  std::optional<Bytes> last_request_hash;  // helper
  friend bool operator==(const AggregationJob&, const AggregationJob&) = default;
};

enum class ReportAggregationState { StartLeader, WaitingLeader, WaitingHelper, Finished, Failed };

// One report within an aggregation job. Which optional fields are set follows the state:
// StartLeader → the four report fields; WaitingLeader → leader_prep_transition;
// WaitingHelper → helper_prep_state; Failed → error_code (a PrepareError wire value).
struct ReportAggregation {
  TaskId task_id;
  AggregationJobId aggregation_job_id;
  ReportId report_id;
  Time client_timestamp = 0;
  std::uint64_t ord = 0;
  std::optional<Bytes> last_prep_resp;  // helper: encoded PrepareResp
  ReportAggregationState state = ReportAggregationState::StartLeader;
  std::optional<Bytes> public_share;
  std::optional<Bytes> leader_extensions;
  std::optional<Bytes> leader_input_share;
  std::optional<Bytes> helper_encrypted_input_share;
  std::optional<Bytes> leader_prep_transition;
  std::optional<Bytes> helper_prep_state;
  std::optional<std::uint8_t> error_code;
  friend bool operator==(const ReportAggregation&, const ReportAggregation&) = default;
};

// ---- Batches and collection ----

// A time_interval batch is an Interval, a fixed_size batch a BatchId.
using BatchIdentifier = std::variant<Interval, BatchId>;
// The DAP encoding (Interval: be64 start ‖ be64 duration; BatchId: its 32 bytes), which is
// how batch identifiers are keyed in the database.
Bytes encode_batch_identifier(const BatchIdentifier& identifier);

enum class BatchAggregationState { Aggregating, Collected, Scrubbed };

// One shard (`ord`) of the aggregate over a batch. Collection reads every shard.
struct BatchAggregation {
  TaskId task_id;
  BatchIdentifier batch_identifier;
  Bytes aggregation_parameter;
  std::uint64_t ord = 0;
  BatchAggregationState state = BatchAggregationState::Aggregating;
  std::optional<Bytes> aggregate_share;  // encoded; none while empty or once scrubbed
  std::uint64_t report_count = 0;
  Bytes checksum;  // 32 bytes, XOR of report id hashes
  Interval client_timestamp_interval;
  std::uint64_t aggregation_jobs_created = 0;
  std::uint64_t aggregation_jobs_terminated = 0;
  friend bool operator==(const BatchAggregation&, const BatchAggregation&) = default;
};

enum class CollectionJobState { Start, Finished, Abandoned, Deleted };

struct CollectionJob {
  TaskId task_id;
  CollectionJobId collection_job_id;
  Bytes query;  // encoded Query
  Bytes aggregation_parameter;
  BatchIdentifier batch_identifier;
  CollectionJobState state = CollectionJobState::Start;
  // Finished only:
  std::optional<std::uint64_t> report_count;
  std::optional<Interval> client_timestamp_interval;
  std::optional<Bytes> helper_aggregate_share;  // encoded HpkeCiphertext
  std::optional<Bytes> leader_aggregate_share;  // encoded
  friend bool operator==(const CollectionJob&, const CollectionJob&) = default;
};

// The helper's answer to an AggregateShareReq, kept to answer identical requests again.
struct AggregateShareJob {
  TaskId task_id;
  BatchIdentifier batch_identifier;
  Bytes aggregation_parameter;
  Bytes helper_aggregate_share;  // encoded
  std::uint64_t report_count = 0;
  Bytes checksum;
  friend bool operator==(const AggregateShareJob&, const AggregateShareJob&) = default;
};

enum class OutstandingBatchState { Filling, Filled };

// A leader fixed_size batch still accepting aggregation jobs.
struct OutstandingBatch {
  TaskId task_id;
  BatchId batch_id;
  std::optional<Time> time_bucket_start;
  OutstandingBatchState state = OutstandingBatchState::Filling;
  friend bool operator==(const OutstandingBatch&, const OutstandingBatch&) = default;
};

// ---- Counters ----

struct TaskUploadCounter {
  std::uint64_t interval_collected = 0;
  std::uint64_t report_decode_failure = 0;
  std::uint64_t report_decrypt_failure = 0;
  std::uint64_t report_expired = 0;
  std::uint64_t report_outdated_key = 0;
  std::uint64_t report_success = 0;
  std::uint64_t report_too_early = 0;
  std::uint64_t task_expired = 0;
  friend bool operator==(const TaskUploadCounter&, const TaskUploadCounter&) = default;
};

// ---- Leases ----

// A job held by one worker until `expiry` (or until released with `token`).
template <typename T>
struct Lease {
  T leased;
  Bytes token;  // 16 random bytes
  Time expiry = 0;
  std::uint64_t attempts = 0;  // acquisitions since the job was last released
};

struct AcquiredAggregationJob {
  TaskId task_id;
  AggregationJobId aggregation_job_id;
  TaskQueryType query_type;
  VdafDescription vdaf;
};

struct AcquiredCollectionJob {
  TaskId task_id;
  CollectionJobId collection_job_id;
  TaskQueryType query_type;
  VdafDescription vdaf;
  std::uint64_t step_attempts = 0;
};

}  // namespace janus
