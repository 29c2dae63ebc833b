// VDAF-08 ping-pong Message: libprio 0.16 encodings read from
// vectors/vdaf-08/libprio-0.16-extra/ping_pong_messages.json.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "janus/messages.h"

namespace janus {
namespace {

nlohmann::json load_ping_pong_vectors() {
  std::ifstream in(JANUS_SHARED_DIR "/vectors/vdaf-08/libprio-0.16-extra/ping_pong_messages.json");
  if (!in) throw std::runtime_error("cannot open ping_pong_messages.json");
  return nlohmann::json::parse(in);
}

Bytes hex(std::string_view text) {
  auto bytes = hex_decode(text);
  if (!bytes) throw std::invalid_argument("bad hex");
  return *bytes;
}

// The values in the file are Rust expressions; the expected decoded value is
// written here per variant and matched to the entry by its variant name.
PingPongMessage expected_for(const std::string& rust) {
  if (rust.find("PingPongMessage::Initialize") == 0)
    return PingPongMessage::initialize(to_bytes("prepare share"));
  if (rust.find("PingPongMessage::Continue") == 0)
    return PingPongMessage::continue_with(to_bytes("prepare message"), to_bytes("prepare share"));
  if (rust.find("PingPongMessage::Finish") == 0)
    return PingPongMessage::finish(to_bytes("prepare message"));
  throw std::runtime_error("unexpected vector value: " + rust);
}

TEST(PingPongMessage, LibprioVectorsRoundTrip) {
  auto doc = load_ping_pong_vectors();
  const auto& vectors = doc.at("vectors");
  ASSERT_EQ(vectors.size(), 3u);
  for (const auto& v : vectors) {
    const std::string rust = v.at("value_rust");
    SCOPED_TRACE(rust);
    EXPECT_EQ(v.at("test_fn"), "roundtrip_message");
    Bytes encoded = hex(v.at("hex").get<std::string>());
    PingPongMessage decoded = decode_message<PingPongMessage>(encoded);
    EXPECT_EQ(decoded, expected_for(rust));
    EXPECT_EQ(encode_message(decoded), encoded);
  }
}

TEST(PingPongMessage, RejectsUnknownTypeTruncationAndTrailingBytes) {
  EXPECT_THROW(decode_message<PingPongMessage>(hex("0300000000")), DecodeError);
  EXPECT_THROW(decode_message<PingPongMessage>(hex("")), DecodeError);
  EXPECT_THROW(decode_message<PingPongMessage>(hex("00000001")), DecodeError);
  EXPECT_THROW(decode_message<PingPongMessage>(hex("0000000001")), DecodeError);
  EXPECT_THROW(decode_message<PingPongMessage>(hex("01000000000000")), DecodeError);
  EXPECT_THROW(decode_message<PingPongMessage>(hex("020000000000")), DecodeError);
  EXPECT_NO_THROW(decode_message<PingPongMessage>(hex("0200000000")));
}

TEST(PingPongMessage, EmptyFieldsRoundTrip) {
  // Prio3Count's prep message is empty: finish(prep_msg = "").
  auto msg = PingPongMessage::finish({});
  EXPECT_EQ(hex_encode(encode_message(msg)), "0200000000");
}

}  // namespace
}  // namespace janus
