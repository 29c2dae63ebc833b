#include "janus/messages.h"

#include <utility>

namespace janus {

// ---- VDAF ping-pong -------------------------------------------------------

PingPongMessage PingPongMessage::initialize(Bytes prep_share) {
  return {Type::Initialize, {}, std::move(prep_share)};
}

PingPongMessage PingPongMessage::continue_with(Bytes prep_msg, Bytes prep_share) {
  return {Type::Continue, std::move(prep_msg), std::move(prep_share)};
}

PingPongMessage PingPongMessage::finish(Bytes prep_msg) {
  return {Type::Finish, std::move(prep_msg), {}};
}

void PingPongMessage::encode(ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(type));
  switch (type) {
    case Type::Initialize:
      writer.opaque32(prep_share);
      break;
    case Type::Continue:
      writer.opaque32(prep_msg);
      writer.opaque32(prep_share);
      break;
    case Type::Finish:
      writer.opaque32(prep_msg);
      break;
    default:
      throw EncodeError("invalid PingPongMessage type");
  }
}

PingPongMessage PingPongMessage::decode(ByteReader& reader) {
  const std::uint8_t type = reader.u8();
  switch (type) {
    case static_cast<std::uint8_t>(Type::Initialize):
      return initialize(reader.opaque32());
    case static_cast<std::uint8_t>(Type::Continue): {
      Bytes prep_msg = reader.opaque32();
      return continue_with(std::move(prep_msg), reader.opaque32());
    }
    case static_cast<std::uint8_t>(Type::Finish):
      return finish(reader.opaque32());
    default:
      throw DecodeError("unknown ping-pong message type");
  }
}

}  // namespace janus

namespace janus {
namespace {

// Encodes/decodes a ping-pong Message wrapped in opaque payload<0..2^32-1>.
void encode_wrapped(ByteWriter& writer, const PingPongMessage& message) {
  writer.vector(4, [&](ByteWriter& inner) { message.encode(inner); });
}

PingPongMessage decode_wrapped(ByteReader& reader) {
  ByteReader inner = reader.vector32();
  PingPongMessage message = PingPongMessage::decode(inner);
  inner.expect_end("ping-pong message payload");
  return message;
}

// Decodes every element of a length-prefixed vector of structures.
template <typename T>
std::vector<T> decode_all(ByteReader contents) {
  std::vector<T> items;
  while (!contents.empty()) items.push_back(T::decode(contents));
  return items;
}

template <typename T>
void encode_all(ByteWriter& writer, std::size_t prefix_size, const std::vector<T>& items) {
  writer.vector(prefix_size, [&](ByteWriter& inner) {
    for (const T& item : items) item.encode(inner);
  });
}

QueryType decode_concrete_query_type(ByteReader& reader) {
  QueryType type = decode_query_type(reader);
  if (type == QueryType::Reserved) throw DecodeError("reserved query type");
  return type;
}

}  // namespace

// ---- Common ---------------------------------------------------------------

void encode_interval(ByteWriter& writer, const Interval& interval) {
  writer.u64(interval.start);
  writer.u64(interval.duration);
}

Interval decode_interval(ByteReader& reader) {
  Interval interval;
  interval.start = reader.u64();
  interval.duration = reader.u64();
  return interval;
}

void encode_role(ByteWriter& writer, Role role) { writer.u8(static_cast<std::uint8_t>(role)); }

Role decode_role(ByteReader& reader) {
  const std::uint8_t value = reader.u8();
  if (value > static_cast<std::uint8_t>(Role::Helper)) throw DecodeError("unknown role");
  return static_cast<Role>(value);
}

// ---- HPKE configuration ---------------------------------------------------

namespace {

template <typename Id>
struct IdName {
  Id id;
  std::string_view name;
};

constexpr IdName<HpkeKemId> kKemNames[] = {{HpkeKemId::P256HkdfSha256, "P256HkdfSha256"},
                                           {HpkeKemId::X25519HkdfSha256, "X25519HkdfSha256"}};
constexpr IdName<HpkeKdfId> kKdfNames[] = {{HpkeKdfId::HkdfSha256, "HkdfSha256"},
                                           {HpkeKdfId::HkdfSha384, "HkdfSha384"},
                                           {HpkeKdfId::HkdfSha512, "HkdfSha512"}};
constexpr IdName<HpkeAeadId> kAeadNames[] = {{HpkeAeadId::Aes128Gcm, "Aes128Gcm"},
                                             {HpkeAeadId::Aes256Gcm, "Aes256Gcm"},
                                             {HpkeAeadId::ChaCha20Poly1305, "ChaCha20Poly1305"}};

template <typename Id, std::size_t N>
std::string_view name_of(const IdName<Id> (&names)[N], Id id) {
  for (const auto& entry : names)
    if (entry.id == id) return entry.name;
  return {};
}

template <typename Id, std::size_t N>
std::optional<Id> id_named(const IdName<Id> (&names)[N], std::string_view name) {
  for (const auto& entry : names)
    if (entry.name == name) return entry.id;
  return std::nullopt;
}

}  // namespace

std::string_view hpke_kem_id_name(HpkeKemId id) { return name_of(kKemNames, id); }
std::string_view hpke_kdf_id_name(HpkeKdfId id) { return name_of(kKdfNames, id); }
std::string_view hpke_aead_id_name(HpkeAeadId id) { return name_of(kAeadNames, id); }
std::optional<HpkeKemId> parse_hpke_kem_id(std::string_view name) {
  return id_named(kKemNames, name);
}
std::optional<HpkeKdfId> parse_hpke_kdf_id(std::string_view name) {
  return id_named(kKdfNames, name);
}
std::optional<HpkeAeadId> parse_hpke_aead_id(std::string_view name) {
  return id_named(kAeadNames, name);
}

void HpkeConfig::encode(ByteWriter& writer) const {
  writer.u8(id);
  writer.u16(static_cast<std::uint16_t>(kem_id));
  writer.u16(static_cast<std::uint16_t>(kdf_id));
  writer.u16(static_cast<std::uint16_t>(aead_id));
  writer.opaque16(public_key);
}

HpkeConfig HpkeConfig::decode(ByteReader& reader) {
  HpkeConfig config;
  config.id = reader.u8();
  config.kem_id = static_cast<HpkeKemId>(reader.u16());
  config.kdf_id = static_cast<HpkeKdfId>(reader.u16());
  config.aead_id = static_cast<HpkeAeadId>(reader.u16());
  config.public_key = reader.opaque16();
  return config;
}

void HpkeConfigList::encode(ByteWriter& writer) const { encode_all(writer, 2, configs); }

HpkeConfigList HpkeConfigList::decode(ByteReader& reader) {
  return {decode_all<HpkeConfig>(reader.vector16(1))};
}

void HpkeCiphertext::encode(ByteWriter& writer) const {
  writer.u8(config_id);
  writer.opaque16(enc);
  writer.opaque32(payload);
}

HpkeCiphertext HpkeCiphertext::decode(ByteReader& reader) {
  HpkeCiphertext ciphertext;
  ciphertext.config_id = reader.u8();
  ciphertext.enc = reader.opaque16(1);
  ciphertext.payload = reader.opaque32(1);
  return ciphertext;
}

// ---- Upload ---------------------------------------------------------------

void Extension::encode(ByteWriter& writer) const {
  writer.u16(static_cast<std::uint16_t>(type));
  writer.opaque16(data);
}

Extension Extension::decode(ByteReader& reader) {
  Extension extension;
  extension.type = static_cast<ExtensionType>(reader.u16());
  extension.data = reader.opaque16();
  return extension;
}

void ReportMetadata::encode(ByteWriter& writer) const {
  encode_id(writer, id);
  writer.u64(time);
}

ReportMetadata ReportMetadata::decode(ByteReader& reader) {
  ReportMetadata metadata;
  metadata.id = decode_id<ReportId>(reader);
  metadata.time = reader.u64();
  return metadata;
}

void Report::encode(ByteWriter& writer) const {
  metadata.encode(writer);
  writer.opaque32(public_share);
  leader_encrypted_input_share.encode(writer);
  helper_encrypted_input_share.encode(writer);
}

Report Report::decode(ByteReader& reader) {
  Report report;
  report.metadata = ReportMetadata::decode(reader);
  report.public_share = reader.opaque32();
  report.leader_encrypted_input_share = HpkeCiphertext::decode(reader);
  report.helper_encrypted_input_share = HpkeCiphertext::decode(reader);
  return report;
}

void PlaintextInputShare::encode(ByteWriter& writer) const {
  encode_all(writer, 2, extensions);
  writer.opaque32(payload);
}

PlaintextInputShare PlaintextInputShare::decode(ByteReader& reader) {
  PlaintextInputShare share;
  share.extensions = decode_all<Extension>(reader.vector16());
  share.payload = reader.opaque32();
  return share;
}

void InputShareAad::encode(ByteWriter& writer) const {
  encode_id(writer, task_id);
  metadata.encode(writer);
  writer.opaque32(public_share);
}

InputShareAad InputShareAad::decode(ByteReader& reader) {
  InputShareAad aad;
  aad.task_id = decode_id<TaskId>(reader);
  aad.metadata = ReportMetadata::decode(reader);
  aad.public_share = reader.opaque32();
  return aad;
}

// ---- Queries and batches --------------------------------------------------

void encode_query_type(ByteWriter& writer, QueryType type) {
  writer.u8(static_cast<std::uint8_t>(type));
}

QueryType decode_query_type(ByteReader& reader) {
  const std::uint8_t value = reader.u8();
  if (value > static_cast<std::uint8_t>(QueryType::FixedSize))
    throw DecodeError("unknown query type");
  return static_cast<QueryType>(value);
}

void FixedSizeQuery::encode(ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(type));
  switch (type) {
    case Type::ByBatchId:
      encode_id(writer, batch_id);
      break;
    case Type::CurrentBatch:
      break;
    default:
      throw EncodeError("invalid FixedSizeQuery type");
  }
}

FixedSizeQuery FixedSizeQuery::decode(ByteReader& reader) {
  switch (reader.u8()) {
    case static_cast<std::uint8_t>(Type::ByBatchId):
      return by_batch_id(decode_id<BatchId>(reader));
    case static_cast<std::uint8_t>(Type::CurrentBatch):
      return current_batch();
    default:
      throw DecodeError("unknown fixed-size query type");
  }
}

void Query::encode(ByteWriter& writer) const {
  encode_query_type(writer, type);
  switch (type) {
    case QueryType::TimeInterval:
      encode_interval(writer, batch_interval);
      break;
    case QueryType::FixedSize:
      fixed_size_query.encode(writer);
      break;
    default:
      throw EncodeError("invalid query type");
  }
}

Query Query::decode(ByteReader& reader) {
  if (decode_concrete_query_type(reader) == QueryType::TimeInterval)
    return time_interval(decode_interval(reader));
  return fixed_size(FixedSizeQuery::decode(reader));
}

void PartialBatchSelector::encode(ByteWriter& writer) const {
  encode_query_type(writer, type);
  switch (type) {
    case QueryType::TimeInterval:
      break;
    case QueryType::FixedSize:
      encode_id(writer, batch_id);
      break;
    default:
      throw EncodeError("invalid query type");
  }
}

PartialBatchSelector PartialBatchSelector::decode(ByteReader& reader) {
  if (decode_concrete_query_type(reader) == QueryType::TimeInterval) return time_interval();
  return fixed_size(decode_id<BatchId>(reader));
}

void BatchSelector::encode(ByteWriter& writer) const {
  encode_query_type(writer, type);
  switch (type) {
    case QueryType::TimeInterval:
      encode_interval(writer, batch_interval);
      break;
    case QueryType::FixedSize:
      encode_id(writer, batch_id);
      break;
    default:
      throw EncodeError("invalid query type");
  }
}

BatchSelector BatchSelector::decode(ByteReader& reader) {
  if (decode_concrete_query_type(reader) == QueryType::TimeInterval)
    return time_interval(decode_interval(reader));
  return fixed_size(decode_id<BatchId>(reader));
}

// ---- Aggregation ----------------------------------------------------------

void ReportShare::encode(ByteWriter& writer) const {
  metadata.encode(writer);
  writer.opaque32(public_share);
  encrypted_input_share.encode(writer);
}

ReportShare ReportShare::decode(ByteReader& reader) {
  ReportShare share;
  share.metadata = ReportMetadata::decode(reader);
  share.public_share = reader.opaque32();
  share.encrypted_input_share = HpkeCiphertext::decode(reader);
  return share;
}

void PrepareInit::encode(ByteWriter& writer) const {
  report_share.encode(writer);
  encode_wrapped(writer, message);
}

PrepareInit PrepareInit::decode(ByteReader& reader) {
  PrepareInit init;
  init.report_share = ReportShare::decode(reader);
  init.message = decode_wrapped(reader);
  return init;
}

void AggregationJobInitReq::encode(ByteWriter& writer) const {
  writer.opaque32(aggregation_parameter);
  partial_batch_selector.encode(writer);
  encode_all(writer, 4, prepare_inits);
}

AggregationJobInitReq AggregationJobInitReq::decode(ByteReader& reader) {
  AggregationJobInitReq req;
  req.aggregation_parameter = reader.opaque32();
  req.partial_batch_selector = PartialBatchSelector::decode(reader);
  req.prepare_inits = decode_all<PrepareInit>(reader.vector32(1));
  return req;
}

void encode_prepare_error(ByteWriter& writer, PrepareError error) {
  writer.u8(static_cast<std::uint8_t>(error));
}

PrepareError decode_prepare_error(ByteReader& reader) {
  const std::uint8_t value = reader.u8();
  if (value > static_cast<std::uint8_t>(PrepareError::ReportTooEarly))
    throw DecodeError("unknown prepare error");
  return static_cast<PrepareError>(value);
}

std::string_view prepare_error_name(PrepareError error) {
  switch (error) {
    case PrepareError::BatchCollected:
      return "batch_collected";
    case PrepareError::ReportReplayed:
      return "report_replayed";
    case PrepareError::ReportDropped:
      return "report_dropped";
    case PrepareError::HpkeUnknownConfigId:
      return "hpke_unknown_config_id";
    case PrepareError::HpkeDecryptError:
      return "hpke_decrypt_error";
    case PrepareError::VdafPrepError:
      return "vdaf_prep_error";
    case PrepareError::BatchSaturated:
      return "batch_saturated";
    case PrepareError::TaskExpired:
      return "task_expired";
    case PrepareError::InvalidMessage:
      return "invalid_message";
    case PrepareError::ReportTooEarly:
      return "report_too_early";
  }
  return "unknown";
}

void PrepareResp::encode(ByteWriter& writer) const {
  encode_id(writer, report_id);
  writer.u8(static_cast<std::uint8_t>(state));
  switch (state) {
    case State::Continue:
      encode_wrapped(writer, message);
      break;
    case State::Finished:
      break;
    case State::Reject:
      encode_prepare_error(writer, error);
      break;
    default:
      throw EncodeError("invalid PrepareResp state");
  }
}

PrepareResp PrepareResp::decode(ByteReader& reader) {
  const ReportId id = decode_id<ReportId>(reader);
  switch (reader.u8()) {
    case static_cast<std::uint8_t>(State::Continue):
      return continue_with(id, decode_wrapped(reader));
    case static_cast<std::uint8_t>(State::Finished):
      return finished(id);
    case static_cast<std::uint8_t>(State::Reject):
      return reject(id, decode_prepare_error(reader));
    default:
      throw DecodeError("unknown prepare response state");
  }
}

void AggregationJobResp::encode(ByteWriter& writer) const { encode_all(writer, 4, prepare_resps); }

AggregationJobResp AggregationJobResp::decode(ByteReader& reader) {
  return {decode_all<PrepareResp>(reader.vector32(1))};
}

void PrepareContinue::encode(ByteWriter& writer) const {
  encode_id(writer, report_id);
  encode_wrapped(writer, message);
}

PrepareContinue PrepareContinue::decode(ByteReader& reader) {
  PrepareContinue cont;
  cont.report_id = decode_id<ReportId>(reader);
  cont.message = decode_wrapped(reader);
  return cont;
}

void AggregationJobContinueReq::encode(ByteWriter& writer) const {
  writer.u16(step);
  encode_all(writer, 4, prepare_continues);
}

AggregationJobContinueReq AggregationJobContinueReq::decode(ByteReader& reader) {
  AggregationJobContinueReq req;
  req.step = reader.u16();
  req.prepare_continues = decode_all<PrepareContinue>(reader.vector32(1));
  return req;
}

// ---- Collection -----------------------------------------------------------

void CollectionReq::encode(ByteWriter& writer) const {
  query.encode(writer);
  writer.opaque32(aggregation_parameter);
}

CollectionReq CollectionReq::decode(ByteReader& reader) {
  CollectionReq req;
  req.query = Query::decode(reader);
  req.aggregation_parameter = reader.opaque32();
  return req;
}

void Collection::encode(ByteWriter& writer) const {
  partial_batch_selector.encode(writer);
  writer.u64(report_count);
  encode_interval(writer, interval);
  leader_encrypted_aggregate_share.encode(writer);
  helper_encrypted_aggregate_share.encode(writer);
}

Collection Collection::decode(ByteReader& reader) {
  Collection collection;
  collection.partial_batch_selector = PartialBatchSelector::decode(reader);
  collection.report_count = reader.u64();
  collection.interval = decode_interval(reader);
  collection.leader_encrypted_aggregate_share = HpkeCiphertext::decode(reader);
  collection.helper_encrypted_aggregate_share = HpkeCiphertext::decode(reader);
  return collection;
}

void AggregateShareReq::encode(ByteWriter& writer) const {
  batch_selector.encode(writer);
  writer.opaque32(aggregation_parameter);
  writer.u64(report_count);
  writer.raw(checksum);
}

AggregateShareReq AggregateShareReq::decode(ByteReader& reader) {
  AggregateShareReq req;
  req.batch_selector = BatchSelector::decode(reader);
  req.aggregation_parameter = reader.opaque32();
  req.report_count = reader.u64();
  req.checksum = reader.array<32>();
  return req;
}

void AggregateShare::encode(ByteWriter& writer) const { encrypted_aggregate_share.encode(writer); }

AggregateShare AggregateShare::decode(ByteReader& reader) {
  return {HpkeCiphertext::decode(reader)};
}

void AggregateShareAad::encode(ByteWriter& writer) const {
  encode_id(writer, task_id);
  writer.opaque32(aggregation_parameter);
  batch_selector.encode(writer);
}

AggregateShareAad AggregateShareAad::decode(ByteReader& reader) {
  AggregateShareAad aad;
  aad.task_id = decode_id<TaskId>(reader);
  aad.aggregation_parameter = reader.opaque32();
  aad.batch_selector = BatchSelector::decode(reader);
  return aad;
}

}  // namespace janus
