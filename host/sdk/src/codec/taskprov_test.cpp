// Taskprov's TaskConfig codec, task id and verify key derivation against Janus 0.7's own
// encodings (tests/data/taskprov/janus-0.7-taskprov-encodings.json) and an HKDF computed here
// from HMAC-SHA256 alone (RFC 5869 §2.2–2.3).
#include "janus/taskprov.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace janus::taskprov {
namespace {

nlohmann::json vectors() {
  std::ifstream in(JANUS_SOURCE_DIR "/tests/data/taskprov/janus-0.7-taskprov-encodings.json");
  if (!in) throw std::runtime_error("cannot open janus-0.7-taskprov-encodings.json");
  return nlohmann::json::parse(in);
}

Bytes hex(const nlohmann::json& value) {
  auto bytes = hex_decode(value.get<std::string>());
  if (!bytes) throw std::runtime_error("bad hex in vector");
  return *bytes;
}

void expect_vdaf(const VdafConfig& config, const nlohmann::json& expected) {
  const std::string type = expected.at("type");
  static const std::map<std::string, VdafTypeCode> kCodes = {
      {"Prio3Count", VdafTypeCode::Prio3Count},
      {"Prio3Sum", VdafTypeCode::Prio3Sum},
      {"Prio3SumVec", VdafTypeCode::Prio3SumVec},
      {"Prio3Histogram", VdafTypeCode::Prio3Histogram},
      {"Prio3SumVecField64MultiproofHmacSha256Aes128",
       VdafTypeCode::Prio3SumVecField64MultiproofHmacSha256Aes128},
      {"Poplar1", VdafTypeCode::Poplar1}};
  ASSERT_EQ(config.type, kCodes.at(type)) << type;
  EXPECT_EQ(config.length, expected.value("length", 0u)) << type;
  if (type != "Poplar1") {
    EXPECT_EQ(config.bits, expected.value("bits", 0u)) << type;
  }
  EXPECT_EQ(config.chunk_length, expected.value("chunk_length", 0u)) << type;
  EXPECT_EQ(config.proofs, expected.value("proofs", 0u)) << type;
  if (type == "Poplar1") {
    EXPECT_EQ(config.poplar1_bits, expected.at("bits").get<unsigned>());
  }
}

TEST(Taskprov, JanusTaskConfigsDecodeAndReencode) {
  const auto doc = vectors();
  ASSERT_EQ(doc.at("task_configs").size(), 2u);
  for (const auto& v : doc.at("task_configs")) {
    const Bytes encoded = hex(v.at("encoded"));
    TaskConfig config = decode_message<TaskConfig>(encoded);
    EXPECT_EQ(config.task_info, hex(v.at("task_info_hex")));
    EXPECT_EQ(config.leader_aggregator_endpoint, v.at("leader").get<std::string>());
    EXPECT_EQ(config.helper_aggregator_endpoint, v.at("helper").get<std::string>());
    ASSERT_TRUE(config.query_config) << config.query_config_error;
    EXPECT_EQ(config.query_config->time_precision, v.at("time_precision").get<Duration>());
    EXPECT_EQ(config.query_config->max_batch_query_count,
              v.at("max_batch_query_count").get<unsigned>());
    EXPECT_EQ(config.query_config->min_batch_size, v.at("min_batch_size").get<unsigned>());
    if (v.at("query_type") == "FixedSize") {
      EXPECT_EQ(config.query_config->type, QueryConfig::Type::FixedSize);
      EXPECT_EQ(config.query_config->max_batch_size, v.at("max_batch_size").get<unsigned>());
    } else {
      EXPECT_EQ(config.query_config->type, QueryConfig::Type::TimeInterval);
    }
    EXPECT_EQ(config.task_expiration, v.at("task_expiration").get<Time>());
    ASSERT_TRUE(config.vdaf_config) << config.vdaf_config_error;
    EXPECT_EQ(config.vdaf_config->dp_mechanism(), VdafConfig::DpMechanism::None);
    expect_vdaf(*config.vdaf_config, v.at("vdaf"));
    EXPECT_EQ(encode_message(config), encoded);

    // The same config built from its parts encodes to the same bytes.
    TaskConfig built = TaskConfig::make(config.task_info, config.leader_aggregator_endpoint,
                                        config.helper_aggregator_endpoint, *config.query_config,
                                        config.task_expiration, *config.vdaf_config);
    EXPECT_EQ(encode_message(built), encoded);
  }
}

TEST(Taskprov, JanusInvalidTaskConfigsAreDecodeErrors) {
  for (const auto& v : vectors().at("invalid_task_configs")) {
    EXPECT_THROW(decode_message<TaskConfig>(hex(v.at("encoded"))), DecodeError) << v.at("why");
  }
}

TEST(Taskprov, JanusVdafTypesDecodeAndReencode) {
  const auto doc = vectors();
  ASSERT_EQ(doc.at("vdaf_types").size(), 6u);
  for (const auto& v : doc.at("vdaf_types")) {
    // A VdafConfig is dp_config<1..2^16-1> (here DpMechanism none) then the VDAF type.
    Bytes encoded = {0x00, 0x01, 0x01};
    const Bytes type = hex(v.at("encoded"));
    encoded.insert(encoded.end(), type.begin(), type.end());
    VdafConfig config = decode_message<VdafConfig>(encoded);
    expect_vdaf(config, v.at("vdaf"));
    EXPECT_EQ(encode_message(config), encoded);
  }
}

TaskConfig sample_config() {
  return TaskConfig::make(
      Bytes{'t'}, "https://leader.example/", "https://helper.example/",
      QueryConfig{.time_precision = 300, .max_batch_query_count = 1, .min_batch_size = 10},
      2'000'000'000, VdafConfig{.dp_config = {1}, .type = VdafTypeCode::Prio3Count});
}

TEST(Taskprov, UnsupportedVariantsStillDecodeTheTaskConfig) {
  TaskConfig config = sample_config();
  // An unknown query type and VDAF code inside their length prefixes.
  config.query_config_bytes = {0, 0, 0, 0, 0, 0, 1, 0x2c, 0, 1, 0, 0, 0, 10, 9};
  config.vdaf_config_bytes = {0, 1, 1, 0x12, 0x34, 0x56, 0x78};
  const Bytes encoded = encode_message(config);
  TaskConfig decoded = decode_message<TaskConfig>(encoded);
  EXPECT_FALSE(decoded.query_config);
  EXPECT_NE(decoded.query_config_error.find("query type 9"), std::string::npos);
  EXPECT_FALSE(decoded.vdaf_config);
  EXPECT_NE(decoded.vdaf_config_error.find("VDAF type"), std::string::npos);
  EXPECT_EQ(encode_message(decoded), encoded);

  // A DP mechanism other than reserved(0) or none(1), with its own payload.
  VdafConfig vdaf{.dp_config = {7, 0xde, 0xad}, .type = VdafTypeCode::Prio3Count};
  EXPECT_EQ(decode_message<VdafConfig>(encode_message(vdaf)).dp_mechanism(),
            VdafConfig::DpMechanism::Unrecognized);
}

TEST(Taskprov, MalformedTaskConfigsAreDecodeErrors) {
  const Bytes good = encode_message(sample_config());
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_THROW(decode_message<TaskConfig>(ByteSpan(good.data(), n)), DecodeError) << n;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_THROW(decode_message<TaskConfig>(trailing), DecodeError);
  // A control character in an endpoint.
  TaskConfig bad_url = sample_config();
  bad_url.leader_aggregator_endpoint = "https://leader.example/\n";
  EXPECT_THROW(decode_message<TaskConfig>(encode_message(bad_url)), DecodeError);
}

std::array<std::uint8_t, 32> sha256(std::string_view text) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

TEST(Taskprov, TaskIdIsSha256OfTheAdvertisedBytes) {
  const Bytes encoded = encode_message(sample_config());
  const TaskId id = task_id_of(encoded);
  const auto expected =
      sha256(std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
  EXPECT_EQ(Bytes(id.bytes.begin(), id.bytes.end()), Bytes(expected.begin(), expected.end()));

  AdvertisedTask advertised = parse_header(header_value(encoded), id);
  EXPECT_EQ(advertised.encoded, encoded);
  EXPECT_EQ(advertised.config.helper_aggregator_endpoint, "https://helper.example/");

  TaskId other = id;
  other.bytes[0] ^= 1;
  EXPECT_THROW(parse_header(header_value(encoded), other), TaskIdMismatch);
  EXPECT_THROW(parse_header(header_value(encoded) + "=", id), DecodeError);
  EXPECT_THROW(parse_header("!!", id), DecodeError);
}

// RFC 5869 from HMAC alone: PRK = HMAC(salt, IKM); T(1) = HMAC(PRK, info ‖ 0x01); …
Bytes hkdf_sha256(ByteSpan salt, ByteSpan ikm, ByteSpan info, std::size_t length) {
  unsigned char prk[32];
  unsigned int prk_length = 0;
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()), ikm.data(), ikm.size(), prk,
       &prk_length);
  Bytes okm, previous;
  for (std::uint8_t counter = 1; okm.size() < length; ++counter) {
    Bytes input = previous;
    input.insert(input.end(), info.begin(), info.end());
    input.push_back(counter);
    unsigned char block[32];
    unsigned int block_length = 0;
    HMAC(EVP_sha256(), prk, static_cast<int>(prk_length), input.data(), input.size(), block,
         &block_length);
    previous.assign(block, block + block_length);
    okm.insert(okm.end(), previous.begin(), previous.end());
  }
  okm.resize(length);
  return okm;
}

TEST(Taskprov, VerifyKeyIsHkdfOfVerifyKeyInitWithTheTaskprovSalt) {
  // Janus's salt constant is SHA-256("dap-taskprov").
  const Bytes salt = hex(vectors().at("taskprov_salt").at("hex"));
  const auto computed_salt = sha256("dap-taskprov");
  ASSERT_EQ(salt, Bytes(computed_salt.begin(), computed_salt.end()));

  Bytes verify_key_init(32);
  for (std::size_t i = 0; i < verify_key_init.size(); ++i) {
    verify_key_init[i] = static_cast<std::uint8_t>(i * 7 + 1);
  }
  const TaskId task_id = task_id_of(encode_message(sample_config()));
  for (std::size_t length : {16u, 32u, 48u}) {
    EXPECT_EQ(derive_vdaf_verify_key(verify_key_init, task_id, length),
              hkdf_sha256(salt, verify_key_init, task_id.span(), length))
        << length;
  }
  EXPECT_THROW(derive_vdaf_verify_key(Bytes(31), task_id, 16), std::invalid_argument);
}

TEST(Taskprov, EndpointsCompareNormalised) {
  EXPECT_EQ(normalize_endpoint("https://Leader.Example"), "https://leader.example/");
  EXPECT_EQ(normalize_endpoint("HTTPS://leader.example/"), "https://leader.example/");
  EXPECT_EQ(normalize_endpoint("http://127.0.0.1:8080/dap/"), "http://127.0.0.1:8080/dap/");
  EXPECT_EQ(normalize_endpoint("http://h:1?x"), "http://h:1/?x");
  EXPECT_EQ(normalize_endpoint("http://h/Path"), "http://h/Path");
}

}  // namespace
}  // namespace janus::taskprov
