// Strict decoding: truncation, trailing bytes, lengths that overrun their
// container, unknown enum values and empty required vectors are DecodeErrors.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "janus/messages.h"

namespace janus {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = hex_decode(text);
  if (!bytes) throw std::invalid_argument("bad hex");
  return *bytes;
}

using Decoder = std::function<void(ByteSpan)>;

template <WireMessage T>
Decoder decoder() {
  return [](ByteSpan in) { (void)decode_message<T>(in); };
}

// Every message vector, cut short at every length and extended by one byte,
// fails to decode.
TEST(StrictDecoding, EveryTruncationAndEveryTrailingByteIsRejected) {
  const std::map<std::string, Decoder> decoders = {
      {"roundtrip_report_share", decoder<ReportShare>()},
      {"roundtrip_prepare_init", decoder<PrepareInit>()},
      {"roundtrip_prepare_resp", decoder<PrepareResp>()},
      {"roundtrip_aggregation_job_initialize_req", decoder<AggregationJobInitReq>()},
      {"roundtrip_aggregation_job_continue_req", decoder<AggregationJobContinueReq>()},
      {"roundtrip_aggregation_job_resp", decoder<AggregationJobResp>()},
      {"roundtrip_collection_req", decoder<CollectionReq>()},
      {"roundtrip_partial_batch_selector", decoder<PartialBatchSelector>()},
      {"roundtrip_collection", decoder<Collection>()},
      {"roundtrip_batch_selector", decoder<BatchSelector>()},
      {"roundtrip_aggregate_share_req", decoder<AggregateShareReq>()},
      {"roundtrip_aggregate_share", decoder<AggregateShare>()},
      {"roundtrip_aggregate_share_aad", decoder<AggregateShareAad>()},
      {"roundtrip_hpke_ciphertext", decoder<HpkeCiphertext>()},
      {"roundtrip_hpke_config", decoder<HpkeConfig>()},
      {"roundtrip_hpke_config_list", decoder<HpkeConfigList>()},
      {"roundtrip_fixed_size_query", decoder<FixedSizeQuery>()},
      {"roundtrip_query", decoder<Query>()},
      {"roundtrip_extension", decoder<Extension>()},
      {"roundtrip_report_metadata", decoder<ReportMetadata>()},
      {"roundtrip_plaintext_input_share", decoder<PlaintextInputShare>()},
      {"roundtrip_report", decoder<Report>()},
      {"roundtrip_input_share_aad", decoder<InputShareAad>()},
  };
  std::ifstream in(JANUS_SHARED_DIR "/vectors/dap-09/janus-0.7-message-encodings.json");
  ASSERT_TRUE(in);
  const auto doc = nlohmann::json::parse(in);
  std::size_t messages = 0;
  for (const auto& v : doc.at("vectors")) {
    auto it = decoders.find(v.at("test_fn").get<std::string>());
    if (it == decoders.end()) continue;  // primitives: covered by JanusVectors
    SCOPED_TRACE(v.at("value_rust").get<std::string>());
    const Bytes encoded = hex(v.at("hex").get<std::string>());
    ASSERT_NO_THROW(it->second(encoded));
    for (std::size_t length = 0; length < encoded.size(); ++length)
      EXPECT_THROW(it->second(ByteSpan(encoded).first(length)), DecodeError)
          << "prefix of " << length;
    Bytes extended = encoded;
    extended.push_back(0);
    EXPECT_THROW(it->second(extended), DecodeError);
    ++messages;
  }
  EXPECT_GT(messages, 50u);
}

TEST(StrictDecoding, EmptyVectorsThatMustHaveAnElement) {
  // HpkeConfigList<1..2^16-1>
  EXPECT_THROW(decode_message<HpkeConfigList>(hex("0000")), DecodeError);
  // AggregationJobInitReq.prepare_inits<1..2^32-1>: agg param "", time interval, no inits.
  EXPECT_THROW(decode_message<AggregationJobInitReq>(hex("00000000"
                                                         "01"
                                                         "00000000")),
               DecodeError);
  // AggregationJobResp.prepare_resps<1..2^32-1>
  EXPECT_THROW(decode_message<AggregationJobResp>(hex("00000000")), DecodeError);
  // AggregationJobContinueReq.prepare_continues<1..2^32-1>
  EXPECT_THROW(decode_message<AggregationJobContinueReq>(hex("0001"
                                                             "00000000")),
               DecodeError);
  // HpkeCiphertext.enc<1..2^16-1> and payload<1..2^32-1>
  EXPECT_THROW(decode_message<HpkeCiphertext>(hex("01"
                                                  "0000"
                                                  "00000001aa")),
               DecodeError);
  EXPECT_THROW(decode_message<HpkeCiphertext>(hex("01"
                                                  "0001aa"
                                                  "00000000")),
               DecodeError);
  EXPECT_NO_THROW(
      decode_message<HpkeCiphertext>(hex("01"
                                         "0001aa"
                                         "00000001bb")));
}

TEST(StrictDecoding, UnknownEnumValues) {
  const std::string rid = "0102030405060708090a0b0c0d0e0f10";
  // PrepareResp state 3; PrepareError 10.
  EXPECT_THROW(decode_message<PrepareResp>(hex(rid + "03")), DecodeError);
  EXPECT_THROW(decode_message<PrepareResp>(hex(rid + "020a")), DecodeError);
  EXPECT_NO_THROW(decode_message<PrepareResp>(hex(rid + "0209")));
  // Query / selector types 0 (reserved) and 3.
  EXPECT_THROW(decode_message<PartialBatchSelector>(hex("00")), DecodeError);
  EXPECT_THROW(decode_message<PartialBatchSelector>(hex("03")), DecodeError);
  EXPECT_THROW(decode_message<Query>(hex("00"
                                         "00000000000000000000000000000000")),
               DecodeError);
  EXPECT_THROW(decode_message<BatchSelector>(hex("03"
                                                 "00000000000000000000000000000000")),
               DecodeError);
  // FixedSizeQuery type 2.
  EXPECT_THROW(decode_message<FixedSizeQuery>(hex("02")), DecodeError);
  // Role 4.
  const Bytes role_bytes = hex("04");  // kept alive: the reader only views it
  ByteReader role{ByteSpan(role_bytes)};
  EXPECT_THROW(decode_role(role), DecodeError);
  // Ping-pong message type 3 inside a PrepareResp.
  EXPECT_THROW(decode_message<PrepareResp>(hex(rid + "00"
                                                     "00000005"
                                                     "0300000000")),
               DecodeError);
}

TEST(StrictDecoding, NestedLengthsMustAgree) {
  const std::string rid = "0102030405060708090a0b0c0d0e0f10";
  // The ping-pong payload's opaque length (6) is larger than its message (5):
  // trailing byte inside the payload.
  EXPECT_THROW(decode_message<PrepareResp>(hex(rid + "00"
                                                     "00000006"
                                                     "020000000000")),
               DecodeError);
  // The payload's length (4) cuts the message short.
  EXPECT_THROW(decode_message<PrepareResp>(hex(rid + "00"
                                                     "00000004"
                                                     "0200000000")),
               DecodeError);
  EXPECT_NO_THROW(decode_message<PrepareResp>(hex(rid + "00"
                                                        "00000005"
                                                        "0200000000")));
  // A vector whose byte length ends inside an element.
  EXPECT_THROW(decode_message<HpkeConfigList>(hex("0008"
                                                  "0100200001000100")),
               DecodeError);
  // A length prefix claiming 4 GiB in a short buffer: no allocation, no over-read.
  EXPECT_THROW(decode_message<AggregationJobResp>(hex("ffffffff00")), DecodeError);
  EXPECT_THROW(decode_message<Report>(hex(rid + "0000000000000000"
                                                "ffffffff")),
               DecodeError);
}

TEST(StrictDecoding, EncodeRejectsUnrepresentableValues) {
  HpkeConfig config;
  config.public_key.assign(70000, 1);  // longer than opaque<1..2^16-1>
  EXPECT_THROW(encode_message(config), EncodeError);
  PrepareResp resp = PrepareResp::finished({});
  resp.state = static_cast<PrepareResp::State>(9);
  EXPECT_THROW(encode_message(resp), EncodeError);
}

}  // namespace
}  // namespace janus
