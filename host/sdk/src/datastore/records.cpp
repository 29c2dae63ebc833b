#include <stdexcept>

#include "db_enums.h"
#include "janus/codec.h"
#include "janus/datastore/records.h"
#include "janus/messages.h"
#include "janus/taskprov.h"

namespace janus {
namespace {

template <typename Enum, std::size_t N>
struct EnumNames {
  std::array<std::pair<Enum, std::string_view>, N> names;
  std::string_view what;

  std::string_view to_db(Enum value) const {
    for (const auto& [e, name] : names) {
      if (e == value) return name;
    }
    throw DatastoreError("invalid " + std::string(what) + " value");
  }
  Enum from_db(std::string_view text) const {
    for (const auto& [e, name] : names) {
      if (name == text) return e;
    }
    throw DatastoreError("unknown " + std::string(what) + " '" + std::string(text) +
                         "' in the database");
  }
};

constexpr EnumNames<Role, 2> kRoles{{{{Role::Leader, "LEADER"}, {Role::Helper, "HELPER"}}},
                                    "aggregator role"};
constexpr EnumNames<AuthTokenType, 2> kTokenTypes{
    {{{AuthTokenType::Bearer, "BEARER"}, {AuthTokenType::DapAuth, "DAP_AUTH"}}}, "auth token type"};
constexpr EnumNames<HpkeKeyState, 3> kHpkeKeyStates{{{{HpkeKeyState::Pending, "PENDING"},
                                                      {HpkeKeyState::Active, "ACTIVE"},
                                                      {HpkeKeyState::Expired, "EXPIRED"}}},
                                                    "HPKE key state"};
constexpr EnumNames<AggregationJobState, 4> kAggregationJobStates{
    {{{AggregationJobState::InProgress, "IN_PROGRESS"},
      {AggregationJobState::Finished, "FINISHED"},
      {AggregationJobState::Abandoned, "ABANDONED"},
      {AggregationJobState::Deleted, "DELETED"}}},
    "aggregation job state"};
constexpr EnumNames<ReportAggregationState, 5> kReportAggregationStates{
    {{{ReportAggregationState::StartLeader, "START_LEADER"},
      {ReportAggregationState::WaitingLeader, "WAITING_LEADER"},
      {ReportAggregationState::WaitingHelper, "WAITING_HELPER"},
      {ReportAggregationState::Finished, "FINISHED"},
      {ReportAggregationState::Failed, "FAILED"}}},
    "report aggregation state"};
constexpr EnumNames<BatchAggregationState, 3> kBatchAggregationStates{
    {{{BatchAggregationState::Aggregating, "AGGREGATING"},
      {BatchAggregationState::Collected, "COLLECTED"},
      {BatchAggregationState::Scrubbed, "SCRUBBED"}}},
    "batch aggregation state"};
constexpr EnumNames<CollectionJobState, 4> kCollectionJobStates{
    {{{CollectionJobState::Start, "START"},
      {CollectionJobState::Finished, "FINISHED"},
      {CollectionJobState::Abandoned, "ABANDONED"},
      {CollectionJobState::Deleted, "DELETED"}}},
    "collection job state"};
constexpr EnumNames<OutstandingBatchState, 2> kOutstandingBatchStates{
    {{{OutstandingBatchState::Filling, "FILLING"}, {OutstandingBatchState::Filled, "FILLED"}}},
    "outstanding batch state"};

std::optional<std::uint64_t> optional_u64(const nlohmann::json& json, const char* key) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  if (!json[key].is_number_unsigned()) {
    throw std::invalid_argument(std::string("query type field ") + key +
                                " must be an unsigned integer or null");
  }
  return json[key].get<std::uint64_t>();
}

}  // namespace

namespace db_enums {
std::string_view to_db(Role role) { return kRoles.to_db(role); }
Role role_from_db(std::string_view text) { return kRoles.from_db(text); }
std::string_view to_db(AuthTokenType type) { return kTokenTypes.to_db(type); }
AuthTokenType token_type_from_db(std::string_view text) { return kTokenTypes.from_db(text); }
std::string_view to_db(HpkeKeyState state) { return kHpkeKeyStates.to_db(state); }
HpkeKeyState hpke_key_state_from_db(std::string_view text) { return kHpkeKeyStates.from_db(text); }
std::string_view to_db(AggregationJobState state) { return kAggregationJobStates.to_db(state); }
AggregationJobState aggregation_job_state_from_db(std::string_view text) {
  return kAggregationJobStates.from_db(text);
}
std::string_view to_db(ReportAggregationState state) {
  return kReportAggregationStates.to_db(state);
}
ReportAggregationState report_aggregation_state_from_db(std::string_view text) {
  return kReportAggregationStates.from_db(text);
}
std::string_view to_db(BatchAggregationState state) { return kBatchAggregationStates.to_db(state); }
BatchAggregationState batch_aggregation_state_from_db(std::string_view text) {
  return kBatchAggregationStates.from_db(text);
}
std::string_view to_db(CollectionJobState state) { return kCollectionJobStates.to_db(state); }
CollectionJobState collection_job_state_from_db(std::string_view text) {
  return kCollectionJobStates.from_db(text);
}
std::string_view to_db(OutstandingBatchState state) { return kOutstandingBatchStates.to_db(state); }
OutstandingBatchState outstanding_batch_state_from_db(std::string_view text) {
  return kOutstandingBatchStates.from_db(text);
}

BatchIdentifier decode_batch_identifier(ByteSpan encoded) {
  if (auto batch_id = BatchId::from_bytes(encoded)) return *batch_id;
  try {
    ByteReader reader(encoded);
    Interval interval = decode_interval(reader);
    reader.expect_end("batch interval");
    return interval;
  } catch (const DecodeError& error) {
    throw DatastoreError(std::string("stored batch identifier is malformed: ") + error.what());
  }
}
}  // namespace db_enums

nlohmann::json TaskQueryType::to_json() const {
  if (kind == Kind::TimeInterval) return "TimeInterval";
  nlohmann::json fixed = nlohmann::json::object();
  fixed["max_batch_size"] = max_batch_size ? nlohmann::json(*max_batch_size) : nlohmann::json();
  fixed["batch_time_window_size"] =
      batch_time_window_size ? nlohmann::json(*batch_time_window_size) : nlohmann::json();
  return {{"FixedSize", fixed}};
}

TaskQueryType TaskQueryType::from_json(const nlohmann::json& json) {
  if (json == "TimeInterval") return TaskQueryType{};
  if (json.is_object() && json.size() == 1 && json.contains("FixedSize") &&
      json["FixedSize"].is_object()) {
    const auto& fixed = json["FixedSize"];
    for (const auto& [key, value] : fixed.items()) {
      if (key != "max_batch_size" && key != "batch_time_window_size") {
        throw std::invalid_argument("unknown FixedSize field '" + key + "'");
      }
    }
    TaskQueryType query_type;
    query_type.kind = Kind::FixedSize;
    query_type.max_batch_size = optional_u64(fixed, "max_batch_size");
    query_type.batch_time_window_size = optional_u64(fixed, "batch_time_window_size");
    return query_type;
  }
  throw std::invalid_argument("invalid query type " + json.dump());
}

bool operator==(const AggregatorTask& a, const AggregatorTask& b) {
  return a.task_id == b.task_id && a.peer_aggregator_endpoint == b.peer_aggregator_endpoint &&
         a.query_type == b.query_type && a.vdaf.name == b.vdaf.name &&
         a.vdaf.parameters == b.vdaf.parameters && a.role == b.role &&
         a.vdaf_verify_key == b.vdaf_verify_key &&
         a.max_batch_query_count == b.max_batch_query_count &&
         a.task_expiration == b.task_expiration && a.report_expiry_age == b.report_expiry_age &&
         a.min_batch_size == b.min_batch_size && a.time_precision == b.time_precision &&
         a.tolerable_clock_skew == b.tolerable_clock_skew &&
         a.collector_hpke_config == b.collector_hpke_config &&
         a.aggregator_auth_token == b.aggregator_auth_token &&
         a.aggregator_auth_token_hash == b.aggregator_auth_token_hash &&
         a.collector_auth_token_hash == b.collector_auth_token_hash && a.hpke_keys == b.hpke_keys &&
         a.taskprov_task_config == b.taskprov_task_config;
}

Bytes encode_batch_identifier(const BatchIdentifier& identifier) {
  if (const auto* batch_id = std::get_if<BatchId>(&identifier)) {
    return Bytes(batch_id->bytes.begin(), batch_id->bytes.end());
  }
  ByteWriter writer;
  encode_interval(writer, std::get<Interval>(identifier));
  return writer.take();
}

std::string AggregatorTask::peer_task_url(std::string_view resource) const {
  std::string url = peer_aggregator_endpoint;
  if (url.empty() || url.back() != '/') url += '/';
  return url + "tasks/" + task_id.to_base64url() + "/" + std::string(resource);
}

std::vector<std::pair<std::string, std::string>> AggregatorTask::peer_request_headers() const {
  if (!aggregator_auth_token) {
    throw std::logic_error("task " + task_id.to_base64url() +
                           " has no aggregator auth token to send to its peer");
  }
  std::vector<std::pair<std::string, std::string>> headers;
  auto [name, value] = aggregator_auth_token->request_header();
  headers.emplace_back(std::string(name), std::string(value));
  if (taskprov_task_config) {
    headers.emplace_back(std::string(taskprov::kHeader),
                         taskprov::header_value(*taskprov_task_config));
  }
  return headers;
}

}  // namespace janus
