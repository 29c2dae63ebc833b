// Taskprov, draft-wang-ppm-dap-taskprov-06 (the draft Janus 0.7 implements; a copy is in
// tests/data/taskprov/): the TaskConfig a client, leader or collector advertises in the
// `dap-taskprov` header, the task id derived from it and the VDAF verify key derived from the
// peers' pre-shared verify_key_init. Pure codec and key derivation: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "janus/bytes.h"
#include "janus/codec.h"
#include "janus/ids.h"

namespace janus::taskprov {

// The HTTP header carrying base64url(TaskConfig) without padding (§3).
inline constexpr std::string_view kHeader = "dap-taskprov";
// The report extension a taskprov report's shares carry, with empty data (§4).
inline constexpr std::uint16_t kExtensionType = 0xff00;
// verify_key_init is exactly 32 bytes (§3.2).
inline constexpr std::size_t kVerifyKeyInitLength = 32;

//   struct { Duration time_precision; uint16 max_batch_query_count; uint32 min_batch_size;
//            QueryType query_type; select (query_type) { case time_interval: Empty;
//            case fixed_size: uint32 max_batch_size; }; } QueryConfig;
struct QueryConfig {
  enum class Type : std::uint8_t { Reserved = 0, TimeInterval = 1, FixedSize = 2 };
  Duration time_precision = 0;
  std::uint16_t max_batch_query_count = 0;
  std::uint32_t min_batch_size = 0;
  Type type = Type::TimeInterval;
  std::uint32_t max_batch_size = 0;  // fixed_size only; 0 means no maximum (§3)

  void encode(ByteWriter& writer) const;
  // An unknown query type is a DecodeError: the caller decoded it from its own length
  // prefix, so the TaskConfig around it still decodes (see TaskConfig::query_config).
  static QueryConfig decode(ByteReader& reader);
  friend bool operator==(const QueryConfig&, const QueryConfig&) = default;
};

// VdafType codes: the draft's, plus Janus 0.7's private code for the multiproof SumVec.
enum class VdafTypeCode : std::uint32_t {
  Prio3Count = 0x00000000,
  Prio3Sum = 0x00000001,
  Prio3SumVec = 0x00000002,
  Prio3Histogram = 0x00000003,
  Poplar1 = 0x00001000,
  Prio3SumVecField64MultiproofHmacSha256Aes128 = 0xFFFF1003,
};

//   struct { opaque dp_config<1..2^16-1>; VdafType vdaf_type; select (vdaf_type) {…}; }
// dp_config is kept as its bytes: DpMechanism reserved(0) and none(1) are the only ones
// defined; anything else is "unrecognized", which the aggregator opts out of unless told
// to ignore it (Janus's ignore_unknown_differential_privacy_mechanism).
struct VdafConfig {
  Bytes dp_config;
  VdafTypeCode type = VdafTypeCode::Prio3Count;
  std::uint32_t length = 0;        // SumVec, multiproof SumVec, Histogram
  std::uint8_t bits = 0;           // Sum, SumVec, multiproof SumVec
  std::uint32_t chunk_length = 0;  // SumVec, multiproof SumVec, Histogram
  std::uint8_t proofs = 0;         // multiproof SumVec
  std::uint16_t poplar1_bits = 0;  // Poplar1

  enum class DpMechanism { Reserved, None, Unrecognized };
  DpMechanism dp_mechanism() const;

  void encode(ByteWriter& writer) const;
  static VdafConfig decode(ByteReader& reader);
  friend bool operator==(const VdafConfig&, const VdafConfig&) = default;
};

//   struct { opaque task_info<1..2^8-1>; Url leader_aggregator_endpoint;
//            Url helper_aggregator_endpoint; opaque query_config<1..2^16-1>;
//            Time task_expiration; opaque vdaf_config<1..2^16-1>; } TaskConfig;
// Url is opaque<1..2^16-1> (DAP-09 §4.1). The query and VDAF configs are kept both as
// their bytes and, when this build understands them, decoded: an unsupported variant
// still decodes the TaskConfig (the length prefixes exist for that), and is an opt-out
// (invalidTask), not a malformed message.
struct TaskConfig {
  Bytes task_info;
  std::string leader_aggregator_endpoint;
  std::string helper_aggregator_endpoint;
  Bytes query_config_bytes;
  Time task_expiration = 0;
  Bytes vdaf_config_bytes;

  // The decoded configs; nullopt with the reason when this build does not support them.
  std::optional<QueryConfig> query_config;
  std::string query_config_error;
  std::optional<VdafConfig> vdaf_config;
  std::string vdaf_config_error;

  // Builds a TaskConfig from decoded parts (tests, the CLI's taskprov uploads).
  static TaskConfig make(Bytes task_info, std::string leader_endpoint, std::string helper_endpoint,
                         const QueryConfig& query_config, Time task_expiration,
                         const VdafConfig& vdaf_config);

  void encode(ByteWriter& writer) const;
  static TaskConfig decode(ByteReader& reader);
};

// §3.1: task_id = SHA-256(task_config), over the advertised bytes.
TaskId task_id_of(ByteSpan encoded_task_config);

// §3.2: HKDF-Expand(HKDF-Extract(SHA-256("dap-taskprov"), verify_key_init), task_id, length),
// both with SHA-256. Throws std::invalid_argument unless verify_key_init is 32 bytes.
Bytes derive_vdaf_verify_key(ByteSpan verify_key_init, const TaskId& task_id, std::size_t length);

// The header value: unpadded base64url of the encoded TaskConfig.
std::string header_value(ByteSpan encoded_task_config);

// Parses a `dap-taskprov` header sent for the task `task_id`: returns the decoded config and
// its bytes. Throws DecodeError when the value is not unpadded base64url or not a TaskConfig,
// and TaskIdMismatch when SHA-256 of the bytes is not `task_id`.
struct AdvertisedTask {
  TaskConfig config;
  Bytes encoded;
};
class TaskIdMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
AdvertisedTask parse_header(std::string_view header_value, const TaskId& task_id);

// Taskprov peers are found by endpoint; the draft compares URLs, and Janus parses them. We
// compare after this normalisation: scheme and host lower-cased, and an empty path made "/".
std::string normalize_endpoint(std::string_view url);

}  // namespace janus::taskprov
