// Every DAP-09 message (draft-ietf-ppm-dap-09 §4) and the VDAF-08 ping-pong
// Message (draft-irtf-cfrg-vdaf-08 §5.8), with exact encode/decode.
// Each type has `void encode(ByteWriter&) const` and
// `static T decode(ByteReader&)`; use encode_message / decode_message
// (janus/codec.h) for a whole buffer. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "janus/bytes.h"
#include "janus/codec.h"
#include "janus/ids.h"

namespace janus {

// VDAF-08 §5.8: the ping-pong topology's Message.
//   enum { initialize(0), continue(1), finish(2), (255) } MessageType;
//   initialize: opaque prep_share<0..2^32-1>;
//   continue:   opaque prep_msg<0..2^32-1>; opaque prep_share<0..2^32-1>;
//   finish:     opaque prep_msg<0..2^32-1>;
struct PingPongMessage {
  enum class Type : std::uint8_t { Initialize = 0, Continue = 1, Finish = 2 };

  Type type = Type::Initialize;
  Bytes prep_msg;    // Continue and Finish only (empty otherwise)
  Bytes prep_share;  // Initialize and Continue only (empty otherwise)

  static PingPongMessage initialize(Bytes prep_share);
  static PingPongMessage continue_with(Bytes prep_msg, Bytes prep_share);
  static PingPongMessage finish(Bytes prep_msg);

  void encode(ByteWriter& writer) const;
  static PingPongMessage decode(ByteReader& reader);
  friend bool operator==(const PingPongMessage&, const PingPongMessage&) = default;
};

// ---- Common types (DAP-09 §4.1) ---------------------------------------------
// Ids are janus/ids.h FixedId<N>: fixed arrays with no length prefix.

template <std::size_t N, typename Tag>
void encode_id(ByteWriter& writer, const FixedId<N, Tag>& id) {
  writer.raw(id.span());
}
template <typename Id>
Id decode_id(ByteReader& reader) {
  Id id;
  id.bytes = reader.template array<Id::kSize>();
  return id;
}

void encode_interval(ByteWriter& writer, const Interval& interval);
Interval decode_interval(ByteReader& reader);

// Role is one byte; values other than 0..3 are a DecodeError.
void encode_role(ByteWriter& writer, Role role);
Role decode_role(ByteReader& reader);

// ---- HPKE configuration (DAP-09 §4.4.1) -------------------------------------

using HpkeConfigId = std::uint8_t;

// The registered code points Janus knows; other values decode unchanged (an
// HpkeConfig with an unknown algorithm is still a well-formed message).
enum class HpkeKemId : std::uint16_t { P256HkdfSha256 = 0x0010, X25519HkdfSha256 = 0x0020 };
enum class HpkeKdfId : std::uint16_t {
  HkdfSha256 = 0x0001,
  HkdfSha384 = 0x0002,
  HkdfSha512 = 0x0003
};
enum class HpkeAeadId : std::uint16_t {
  Aes128Gcm = 0x0001,
  Aes256Gcm = 0x0002,
  ChaCha20Poly1305 = 0x0003,
};

// Janus's names for the algorithm ids (tasks.yaml, datastore JSON):
// "X25519HkdfSha256", "HkdfSha256", "Aes128Gcm", ... nullopt for an unknown
// name; a code point without a name gives an empty string.
std::string_view hpke_kem_id_name(HpkeKemId id);
std::string_view hpke_kdf_id_name(HpkeKdfId id);
std::string_view hpke_aead_id_name(HpkeAeadId id);
std::optional<HpkeKemId> parse_hpke_kem_id(std::string_view name);
std::optional<HpkeKdfId> parse_hpke_kdf_id(std::string_view name);
std::optional<HpkeAeadId> parse_hpke_aead_id(std::string_view name);

struct HpkeConfig {
  HpkeConfigId id = 0;
  HpkeKemId kem_id = HpkeKemId::X25519HkdfSha256;
  HpkeKdfId kdf_id = HpkeKdfId::HkdfSha256;
  HpkeAeadId aead_id = HpkeAeadId::Aes128Gcm;
  // The spec says <1..2^16-1>; an empty key is accepted like Janus 0.7 does
  // (its own encoding vectors contain one). HPKE rejects it when used.
  Bytes public_key;

  void encode(ByteWriter& writer) const;
  static HpkeConfig decode(ByteReader& reader);
  friend bool operator==(const HpkeConfig&, const HpkeConfig&) = default;
};

// HpkeConfig HpkeConfigList<1..2^16-1>. Distinct ids are the server's
// business (Janus's own vectors repeat one), so decoding does not check them.
struct HpkeConfigList {
  std::vector<HpkeConfig> configs;

  void encode(ByteWriter& writer) const;
  static HpkeConfigList decode(ByteReader& reader);
  friend bool operator==(const HpkeConfigList&, const HpkeConfigList&) = default;
};

// struct { HpkeConfigId config_id; opaque enc<1..2^16-1>; opaque payload<1..2^32-1>; }
struct HpkeCiphertext {
  HpkeConfigId config_id = 0;
  Bytes enc;
  Bytes payload;

  void encode(ByteWriter& writer) const;
  static HpkeCiphertext decode(ByteReader& reader);
  friend bool operator==(const HpkeCiphertext&, const HpkeCiphertext&) = default;
};

// ---- Upload (DAP-09 §4.4.2, §4.4.3) -----------------------------------------

// uint16; any value decodes (unknown extensions are rejected by the protocol
// layer with invalid_message, not by the codec). Taskprov is Janus's 0xff00.
enum class ExtensionType : std::uint16_t { Tbd = 0x0000, Taskprov = 0xff00 };

struct Extension {
  ExtensionType type = ExtensionType::Tbd;
  Bytes data;  // opaque extension_data<0..2^16-1>

  void encode(ByteWriter& writer) const;
  static Extension decode(ByteReader& reader);
  friend bool operator==(const Extension&, const Extension&) = default;
};

struct ReportMetadata {
  ReportId id;
  Time time = 0;

  void encode(ByteWriter& writer) const;
  static ReportMetadata decode(ByteReader& reader);
  friend bool operator==(const ReportMetadata&, const ReportMetadata&) = default;
};

struct Report {
  ReportMetadata metadata;
  Bytes public_share;  // opaque<0..2^32-1>
  HpkeCiphertext leader_encrypted_input_share;
  HpkeCiphertext helper_encrypted_input_share;

  void encode(ByteWriter& writer) const;
  static Report decode(ByteReader& reader);
  friend bool operator==(const Report&, const Report&) = default;
};

// struct { Extension extensions<0..2^16-1>; opaque payload<0..2^32-1>; }
struct PlaintextInputShare {
  std::vector<Extension> extensions;
  Bytes payload;

  void encode(ByteWriter& writer) const;
  static PlaintextInputShare decode(ByteReader& reader);
  friend bool operator==(const PlaintextInputShare&, const PlaintextInputShare&) = default;
};

// The AAD of an input share's HPKE ciphertext.
struct InputShareAad {
  TaskId task_id;
  ReportMetadata metadata;
  Bytes public_share;

  void encode(ByteWriter& writer) const;
  static InputShareAad decode(ByteReader& reader);
  friend bool operator==(const InputShareAad&, const InputShareAad&) = default;
};

// ---- Queries and batches (DAP-09 §4.1) --------------------------------------

// Reserved (0) is a valid code point of the enum but never a valid query:
// decoding a Query or selector with it is a DecodeError.
enum class QueryType : std::uint8_t { Reserved = 0, TimeInterval = 1, FixedSize = 2 };

void encode_query_type(ByteWriter& writer, QueryType type);
QueryType decode_query_type(ByteReader& reader);  // accepts 0..2

struct FixedSizeQuery {
  enum class Type : std::uint8_t { ByBatchId = 0, CurrentBatch = 1 };
  Type type = Type::CurrentBatch;
  BatchId batch_id;  // ByBatchId only (zero otherwise)

  static FixedSizeQuery by_batch_id(const BatchId& batch_id) { return {Type::ByBatchId, batch_id}; }
  static FixedSizeQuery current_batch() { return {Type::CurrentBatch, {}}; }

  void encode(ByteWriter& writer) const;
  static FixedSizeQuery decode(ByteReader& reader);
  friend bool operator==(const FixedSizeQuery&, const FixedSizeQuery&) = default;
};

struct Query {
  QueryType type = QueryType::TimeInterval;
  Interval batch_interval;          // TimeInterval only
  FixedSizeQuery fixed_size_query;  // FixedSize only

  static Query time_interval(const Interval& interval) {
    return {QueryType::TimeInterval, interval, {}};
  }
  static Query fixed_size(const FixedSizeQuery& query) { return {QueryType::FixedSize, {}, query}; }

  void encode(ByteWriter& writer) const;
  static Query decode(ByteReader& reader);
  friend bool operator==(const Query&, const Query&) = default;
};

struct PartialBatchSelector {
  QueryType type = QueryType::TimeInterval;
  BatchId batch_id;  // FixedSize only

  static PartialBatchSelector time_interval() { return {QueryType::TimeInterval, {}}; }
  static PartialBatchSelector fixed_size(const BatchId& id) { return {QueryType::FixedSize, id}; }

  void encode(ByteWriter& writer) const;
  static PartialBatchSelector decode(ByteReader& reader);
  friend bool operator==(const PartialBatchSelector&, const PartialBatchSelector&) = default;
};

struct BatchSelector {
  QueryType type = QueryType::TimeInterval;
  Interval batch_interval;  // TimeInterval only
  BatchId batch_id;         // FixedSize only

  static BatchSelector time_interval(const Interval& interval) {
    return {QueryType::TimeInterval, interval, {}};
  }
  static BatchSelector fixed_size(const BatchId& id) { return {QueryType::FixedSize, {}, id}; }

  void encode(ByteWriter& writer) const;
  static BatchSelector decode(ByteReader& reader);
  friend bool operator==(const BatchSelector&, const BatchSelector&) = default;
};

// ---- Aggregation (DAP-09 §4.5) ----------------------------------------------

struct ReportShare {
  ReportMetadata metadata;
  Bytes public_share;
  HpkeCiphertext encrypted_input_share;

  void encode(ByteWriter& writer) const;
  static ReportShare decode(ByteReader& reader);
  friend bool operator==(const ReportShare&, const ReportShare&) = default;
};

// struct { ReportShare report_share; opaque payload<0..2^32-1>; } where the
// payload is a ping-pong Message, decoded strictly (it must fill the opaque).
struct PrepareInit {
  ReportShare report_share;
  PingPongMessage message;

  void encode(ByteWriter& writer) const;
  static PrepareInit decode(ByteReader& reader);
  friend bool operator==(const PrepareInit&, const PrepareInit&) = default;
};

struct AggregationJobInitReq {
  Bytes aggregation_parameter;  // opaque<0..2^32-1>
  PartialBatchSelector partial_batch_selector;
  std::vector<PrepareInit> prepare_inits;  // <1..2^32-1>: never empty

  void encode(ByteWriter& writer) const;
  static AggregationJobInitReq decode(ByteReader& reader);
  friend bool operator==(const AggregationJobInitReq&, const AggregationJobInitReq&) = default;
};

enum class PrepareError : std::uint8_t {
  BatchCollected = 0,
  ReportReplayed = 1,
  ReportDropped = 2,
  HpkeUnknownConfigId = 3,
  HpkeDecryptError = 4,
  VdafPrepError = 5,
  BatchSaturated = 6,
  TaskExpired = 7,
  InvalidMessage = 8,
  ReportTooEarly = 9,
};
void encode_prepare_error(ByteWriter& writer, PrepareError error);
PrepareError decode_prepare_error(ByteReader& reader);    // DecodeError past 9
std::string_view prepare_error_name(PrepareError error);  // e.g. "vdaf_prep_error"

struct PrepareResp {
  enum class State : std::uint8_t { Continue = 0, Finished = 1, Reject = 2 };
  ReportId report_id;
  State state = State::Finished;
  PingPongMessage message;                            // Continue only
  PrepareError error = PrepareError::BatchCollected;  // Reject only

  static PrepareResp continue_with(const ReportId& id, PingPongMessage message) {
    return {id, State::Continue, std::move(message), PrepareError::BatchCollected};
  }
  static PrepareResp finished(const ReportId& id) {
    return {id, State::Finished, {}, PrepareError::BatchCollected};
  }
  static PrepareResp reject(const ReportId& id, PrepareError error) {
    return {id, State::Reject, {}, error};
  }

  void encode(ByteWriter& writer) const;
  static PrepareResp decode(ByteReader& reader);
  friend bool operator==(const PrepareResp&, const PrepareResp&) = default;
};

struct AggregationJobResp {
  std::vector<PrepareResp> prepare_resps;  // <1..2^32-1>

  void encode(ByteWriter& writer) const;
  static AggregationJobResp decode(ByteReader& reader);
  friend bool operator==(const AggregationJobResp&, const AggregationJobResp&) = default;
};

struct PrepareContinue {
  ReportId report_id;
  PingPongMessage message;  // opaque payload<0..2^32-1>, a ping-pong Message

  void encode(ByteWriter& writer) const;
  static PrepareContinue decode(ByteReader& reader);
  friend bool operator==(const PrepareContinue&, const PrepareContinue&) = default;
};

struct AggregationJobContinueReq {
  std::uint16_t step = 0;
  std::vector<PrepareContinue> prepare_continues;  // <1..2^32-1>

  void encode(ByteWriter& writer) const;
  static AggregationJobContinueReq decode(ByteReader& reader);
  friend bool operator==(const AggregationJobContinueReq&,
                         const AggregationJobContinueReq&) = default;
};

// ---- Collection (DAP-09 §4.6) -----------------------------------------------

struct CollectionReq {
  Query query;
  Bytes aggregation_parameter;

  void encode(ByteWriter& writer) const;
  static CollectionReq decode(ByteReader& reader);
  friend bool operator==(const CollectionReq&, const CollectionReq&) = default;
};

struct Collection {
  PartialBatchSelector partial_batch_selector;
  std::uint64_t report_count = 0;
  Interval interval;
  HpkeCiphertext leader_encrypted_aggregate_share;
  HpkeCiphertext helper_encrypted_aggregate_share;

  void encode(ByteWriter& writer) const;
  static Collection decode(ByteReader& reader);
  friend bool operator==(const Collection&, const Collection&) = default;
};

// XOR over the batch's reports of SHA-256(report_id) (DAP-09 §4.6.3).
using ReportIdChecksum = std::array<std::uint8_t, 32>;
// SHA-256(report_id): the checksum of a one-report batch.
ReportIdChecksum report_id_checksum_for(const ReportId& report_id);
// checksum ^= SHA-256(report_id)
void update_report_id_checksum(ReportIdChecksum& checksum, const ReportId& report_id);
// checksum ^= other (merging the checksums of two disjoint sets of reports)
void combine_report_id_checksums(ReportIdChecksum& checksum, const ReportIdChecksum& other);

struct AggregateShareReq {
  BatchSelector batch_selector;
  Bytes aggregation_parameter;
  std::uint64_t report_count = 0;
  ReportIdChecksum checksum{};

  void encode(ByteWriter& writer) const;
  static AggregateShareReq decode(ByteReader& reader);
  friend bool operator==(const AggregateShareReq&, const AggregateShareReq&) = default;
};

struct AggregateShare {
  HpkeCiphertext encrypted_aggregate_share;

  void encode(ByteWriter& writer) const;
  static AggregateShare decode(ByteReader& reader);
  friend bool operator==(const AggregateShare&, const AggregateShare&) = default;
};

// The AAD of an aggregate share's HPKE ciphertext.
struct AggregateShareAad {
  TaskId task_id;
  Bytes aggregation_parameter;
  BatchSelector batch_selector;

  void encode(ByteWriter& writer) const;
  static AggregateShareAad decode(ByteReader& reader);
  friend bool operator==(const AggregateShareAad&, const AggregateShareAad&) = default;
};

// ---- Media types (DAP-09 §4) -------------------------------------------------

namespace media_type {
inline constexpr std::string_view kHpkeConfigList = "application/dap-hpke-config-list";
inline constexpr std::string_view kReport = "application/dap-report";
inline constexpr std::string_view kAggregationJobInitReq =
    "application/dap-aggregation-job-init-req";
inline constexpr std::string_view kAggregationJobResp = "application/dap-aggregation-job-resp";
inline constexpr std::string_view kAggregationJobContinueReq =
    "application/dap-aggregation-job-continue-req";
inline constexpr std::string_view kAggregateShareReq = "application/dap-aggregate-share-req";
inline constexpr std::string_view kAggregateShare = "application/dap-aggregate-share";
inline constexpr std::string_view kCollectReq = "application/dap-collect-req";
inline constexpr std::string_view kCollection = "application/dap-collection";
inline constexpr std::string_view kProblemJson = "application/problem+json";
}  // namespace media_type

}  // namespace janus
