#include "janus/taskprov.h"

#include <array>
#include <cctype>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/kdf.h>

namespace janus::taskprov {
namespace {

std::array<std::uint8_t, 32> sha256(ByteSpan data) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return digest;
}

void encode_url(ByteWriter& writer, std::string_view url) {
  if (url.empty()) throw EncodeError("a taskprov endpoint URL must not be empty");
  writer.opaque16(ByteSpan(reinterpret_cast<const std::uint8_t*>(url.data()), url.size()));
}

std::string decode_url(ByteReader& reader) {
  Bytes bytes = reader.opaque16(1);
  // DAP's Url is ASCII; a control character or non-ASCII byte cannot name an endpoint.
  for (std::uint8_t b : bytes) {
    if (b < 0x21 || b > 0x7e) throw DecodeError("endpoint URL is not printable ASCII");
  }
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

void QueryConfig::encode(ByteWriter& writer) const {
  writer.u64(time_precision);
  writer.u16(max_batch_query_count);
  writer.u32(min_batch_size);
  writer.u8(static_cast<std::uint8_t>(type));
  if (type == Type::FixedSize) writer.u32(max_batch_size);
}

QueryConfig QueryConfig::decode(ByteReader& reader) {
  QueryConfig config;
  config.time_precision = reader.u64();
  config.max_batch_query_count = reader.u16();
  config.min_batch_size = reader.u32();
  const std::uint8_t type = reader.u8();
  switch (type) {
    case 1:
      config.type = Type::TimeInterval;
      break;
    case 2:
      config.type = Type::FixedSize;
      config.max_batch_size = reader.u32();
      break;
    default:
      throw DecodeError("unsupported query type " + std::to_string(type));
  }
  return config;
}

VdafConfig::DpMechanism VdafConfig::dp_mechanism() const {
  if (dp_config.size() == 1 && dp_config[0] == 0) return DpMechanism::Reserved;
  if (dp_config.size() == 1 && dp_config[0] == 1) return DpMechanism::None;
  return DpMechanism::Unrecognized;
}

void VdafConfig::encode(ByteWriter& writer) const {
  if (dp_config.empty()) throw EncodeError("dp_config must not be empty");
  writer.opaque16(dp_config);
  writer.u32(static_cast<std::uint32_t>(type));
  switch (type) {
    case VdafTypeCode::Prio3Count:
      break;
    case VdafTypeCode::Prio3Sum:
      writer.u8(bits);
      break;
    case VdafTypeCode::Prio3SumVec:
      writer.u32(length);
      writer.u8(bits);
      writer.u32(chunk_length);
      break;
    case VdafTypeCode::Prio3SumVecField64MultiproofHmacSha256Aes128:
      writer.u32(length);
      writer.u8(bits);
      writer.u32(chunk_length);
      writer.u8(proofs);
      break;
    case VdafTypeCode::Prio3Histogram:
      writer.u32(length);
      writer.u32(chunk_length);
      break;
    case VdafTypeCode::Poplar1:
      writer.u16(poplar1_bits);
      break;
  }
}

VdafConfig VdafConfig::decode(ByteReader& reader) {
  VdafConfig config;
  config.dp_config = reader.opaque16(1);
  const std::uint32_t code = reader.u32();
  switch (code) {
    case static_cast<std::uint32_t>(VdafTypeCode::Prio3Count):
      config.type = VdafTypeCode::Prio3Count;
      break;
    case static_cast<std::uint32_t>(VdafTypeCode::Prio3Sum):
      config.type = VdafTypeCode::Prio3Sum;
      config.bits = reader.u8();
      break;
    case static_cast<std::uint32_t>(VdafTypeCode::Prio3SumVec):
      config.type = VdafTypeCode::Prio3SumVec;
      config.length = reader.u32();
      config.bits = reader.u8();
      config.chunk_length = reader.u32();
      break;
    case static_cast<std::uint32_t>(VdafTypeCode::Prio3SumVecField64MultiproofHmacSha256Aes128):
      config.type = VdafTypeCode::Prio3SumVecField64MultiproofHmacSha256Aes128;
      config.length = reader.u32();
      config.bits = reader.u8();
      config.chunk_length = reader.u32();
      config.proofs = reader.u8();
      break;
    case static_cast<std::uint32_t>(VdafTypeCode::Prio3Histogram):
      config.type = VdafTypeCode::Prio3Histogram;
      config.length = reader.u32();
      config.chunk_length = reader.u32();
      break;
    case static_cast<std::uint32_t>(VdafTypeCode::Poplar1):
      config.type = VdafTypeCode::Poplar1;
      config.poplar1_bits = reader.u16();
      break;
    default:
      throw DecodeError("unsupported VDAF type code " + std::to_string(code));
  }
  return config;
}

TaskConfig TaskConfig::make(Bytes task_info, std::string leader_endpoint,
                            std::string helper_endpoint, const QueryConfig& query_config,
                            Time task_expiration, const VdafConfig& vdaf_config) {
  TaskConfig config;
  config.task_info = std::move(task_info);
  config.leader_aggregator_endpoint = std::move(leader_endpoint);
  config.helper_aggregator_endpoint = std::move(helper_endpoint);
  config.query_config_bytes = encode_message(query_config);
  config.query_config = query_config;
  config.task_expiration = task_expiration;
  config.vdaf_config_bytes = encode_message(vdaf_config);
  config.vdaf_config = vdaf_config;
  return config;
}

void TaskConfig::encode(ByteWriter& writer) const {
  if (task_info.empty()) throw EncodeError("task_info must not be empty");
  writer.opaque8(task_info);
  encode_url(writer, leader_aggregator_endpoint);
  encode_url(writer, helper_aggregator_endpoint);
  writer.opaque16(query_config_bytes);
  writer.u64(task_expiration);
  writer.opaque16(vdaf_config_bytes);
}

TaskConfig TaskConfig::decode(ByteReader& reader) {
  TaskConfig config;
  config.task_info = reader.opaque8(1);
  config.leader_aggregator_endpoint = decode_url(reader);
  config.helper_aggregator_endpoint = decode_url(reader);
  config.query_config_bytes = reader.opaque16(1);
  config.task_expiration = reader.u64();
  config.vdaf_config_bytes = reader.opaque16(1);
  try {
    config.query_config = decode_message<QueryConfig>(config.query_config_bytes);
  } catch (const DecodeError& e) {
    config.query_config_error = e.what();
  }
  try {
    config.vdaf_config = decode_message<VdafConfig>(config.vdaf_config_bytes);
  } catch (const DecodeError& e) {
    config.vdaf_config_error = e.what();
  }
  return config;
}

TaskId task_id_of(ByteSpan encoded_task_config) {
  TaskId id;
  id.bytes = sha256(encoded_task_config);
  return id;
}

Bytes derive_vdaf_verify_key(ByteSpan verify_key_init, const TaskId& task_id, std::size_t length) {
  if (verify_key_init.size() != kVerifyKeyInitLength) {
    throw std::invalid_argument("verify_key_init must be 32 bytes");
  }
  static const std::string_view kLabel = "dap-taskprov";
  const auto salt =
      sha256(ByteSpan(reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size()));
  Bytes key(length);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
            EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
            EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt.data(), static_cast<int>(salt.size())) == 1 &&
            EVP_PKEY_CTX_set1_hkdf_key(ctx, verify_key_init.data(),
                                       static_cast<int>(verify_key_init.size())) == 1 &&
            EVP_PKEY_CTX_add1_hkdf_info(ctx, task_id.bytes.data(),
                                        static_cast<int>(task_id.bytes.size())) == 1;
  std::size_t out_length = key.size();
  ok = ok && EVP_PKEY_derive(ctx, key.data(), &out_length) == 1 && out_length == key.size();
  EVP_PKEY_CTX_free(ctx);
  if (!ok) throw std::runtime_error("taskprov verify key derivation (HKDF-SHA256) failed");
  return key;
}

std::string header_value(ByteSpan encoded_task_config) {
  return base64url_encode(encoded_task_config);
}

AdvertisedTask parse_header(std::string_view value, const TaskId& task_id) {
  std::optional<Bytes> encoded = base64url_decode(value);
  if (!encoded) throw DecodeError("the dap-taskprov header is not unpadded base64url");
  AdvertisedTask advertised{decode_message<TaskConfig>(*encoded), std::move(*encoded)};
  if (task_id_of(advertised.encoded) != task_id) {
    throw TaskIdMismatch("the task id is not SHA-256 of the advertised task config");
  }
  return advertised;
}

std::string normalize_endpoint(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  std::size_t path_start = url.find_first_of("/?#", scheme_end + 3);
  if (path_start == std::string_view::npos) path_start = url.size();
  // Built afresh rather than edited in place (GCC 12 -O3 misreads an in-place insert).
  std::string out;
  out.reserve(url.size() + 1);
  for (char c : url.substr(0, path_start)) {
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (path_start == url.size() || url[path_start] != '/') out.push_back('/');
  out.append(url.substr(path_start));
  return out;
}

}  // namespace janus::taskprov
