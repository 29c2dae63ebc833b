// Janus 0.7's own DAP-09 encoding vectors
// (vectors/dap-09/janus-0.7-message-encodings.json): every entry decodes as
// its message type and re-encodes to the same bytes; one or more entries per
// message type are also checked field by field against the value written in
// the entry (transcribed below from its Rust expression).
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "janus/messages.h"

namespace janus {
namespace {

struct Entry {
  std::string file;
  std::string test_fn;
  std::string value_rust;
  Bytes encoded;
};

std::vector<Entry> load_entries() {
  std::ifstream in(JANUS_SHARED_DIR "/vectors/dap-09/janus-0.7-message-encodings.json");
  if (!in) throw std::runtime_error("cannot open janus-0.7-message-encodings.json");
  auto doc = nlohmann::json::parse(in);
  std::vector<Entry> entries;
  for (const auto& v : doc.at("vectors")) {
    // Every field of an entry is read; an unexpected one fails the test.
    for (const auto& [key, value] : v.items()) {
      if (key != "file" && key != "test_fn" && key != "value_rust" && key != "hex")
        throw std::runtime_error("unread vector field: " + key);
    }
    auto encoded = hex_decode(v.at("hex").get<std::string>());
    if (!encoded) throw std::runtime_error("bad hex in vector");
    entries.push_back({v.at("file"), v.at("test_fn"), v.at("value_rust"), *encoded});
  }
  return entries;
}

template <WireMessage T>
Bytes roundtrip(ByteSpan input) {
  return encode_message(decode_message<T>(input));
}

// Primitive fields that are not messages of their own.
template <typename Read, typename Write>
Bytes roundtrip_with(ByteSpan input, Read read, Write write) {
  ByteReader reader(input);
  auto value = read(reader);
  reader.expect_end("value");
  ByteWriter writer;
  write(writer, value);
  return writer.take();
}

using Roundtrip = std::function<Bytes(ByteSpan)>;

const std::map<std::string, Roundtrip>& roundtrips() {
  auto u8 = [](ByteSpan in) {
    return roundtrip_with(
        in, [](ByteReader& r) { return r.u8(); }, [](ByteWriter& w, std::uint8_t v) { w.u8(v); });
  };
  auto u16 = [](ByteSpan in) {
    return roundtrip_with(
        in, [](ByteReader& r) { return r.u16(); },
        [](ByteWriter& w, std::uint16_t v) { w.u16(v); });
  };
  auto u64 = [](ByteSpan in) {
    return roundtrip_with(
        in, [](ByteReader& r) { return r.u64(); },
        [](ByteWriter& w, std::uint64_t v) { w.u64(v); });
  };
  static const std::map<std::string, Roundtrip> table = {
      {"roundtrip_report_share", roundtrip<ReportShare>},
      {"roundtrip_prepare_init", roundtrip<PrepareInit>},
      {"roundtrip_prepare_resp", roundtrip<PrepareResp>},
      {"roundtrip_report_share_error",
       [](ByteSpan in) { return roundtrip_with(in, decode_prepare_error, encode_prepare_error); }},
      {"roundtrip_aggregation_job_initialize_req", roundtrip<AggregationJobInitReq>},
      {"roundtrip_aggregation_job_continue_req", roundtrip<AggregationJobContinueReq>},
      {"roundtrip_aggregation_job_resp", roundtrip<AggregationJobResp>},
      {"roundtrip_collection_req", roundtrip<CollectionReq>},
      {"roundtrip_partial_batch_selector", roundtrip<PartialBatchSelector>},
      {"roundtrip_collection", roundtrip<Collection>},
      {"roundtrip_batch_selector", roundtrip<BatchSelector>},
      {"roundtrip_aggregate_share_req", roundtrip<AggregateShareReq>},
      {"roundtrip_aggregate_share", roundtrip<AggregateShare>},
      {"roundtrip_aggregate_share_aad", roundtrip<AggregateShareAad>},
      {"roundtrip_duration", u64},
      {"roundtrip_time", u64},
      {"roundtrip_interval",
       [](ByteSpan in) { return roundtrip_with(in, decode_interval, encode_interval); }},
      {"roundtrip_role", [](ByteSpan in) { return roundtrip_with(in, decode_role, encode_role); }},
      {"roundtrip_task_id",
       [](ByteSpan in) {
         return roundtrip_with(in, decode_id<TaskId>,
                               [](ByteWriter& w, const TaskId& id) { encode_id(w, id); });
       }},
      {"roundtrip_hpke_config_id", u8},
      {"roundtrip_hpke_kem_id", u16},
      {"roundtrip_hpke_kdf_id", u16},
      {"roundtrip_hpke_aead_id", u16},
      {"roundtrip_hpke_ciphertext", roundtrip<HpkeCiphertext>},
      {"roundtrip_hpke_public_key",
       [](ByteSpan in) {
         return roundtrip_with(
             in, [](ByteReader& r) { return r.opaque16(); },
             [](ByteWriter& w, const Bytes& b) { w.opaque16(b); });
       }},
      {"roundtrip_hpke_config", roundtrip<HpkeConfig>},
      {"roundtrip_hpke_config_list", roundtrip<HpkeConfigList>},
      {"roundtrip_batch_id",
       [](ByteSpan in) {
         return roundtrip_with(in, decode_id<BatchId>,
                               [](ByteWriter& w, const BatchId& id) { encode_id(w, id); });
       }},
      {"roundtrip_fixed_size_query", roundtrip<FixedSizeQuery>},
      {"roundtrip_query", roundtrip<Query>},
      {"roundtrip_code",
       [](ByteSpan in) { return roundtrip_with(in, decode_query_type, encode_query_type); }},
      {"roundtrip_report_id",
       [](ByteSpan in) {
         return roundtrip_with(in, decode_id<ReportId>,
                               [](ByteWriter& w, const ReportId& id) { encode_id(w, id); });
       }},
      {"roundtrip_extension", roundtrip<Extension>},
      {"roundtrip_extension_type", u16},
      {"roundtrip_report_metadata", roundtrip<ReportMetadata>},
      {"roundtrip_plaintext_input_share", roundtrip<PlaintextInputShare>},
      {"roundtrip_report", roundtrip<Report>},
      {"roundtrip_input_share_aad", roundtrip<InputShareAad>},
  };
  return table;
}

// ---- Field-by-field checks --------------------------------------------------

template <typename Id>
Id id_filled(std::uint8_t byte) {
  Id id;
  id.bytes.fill(byte);
  return id;
}
template <typename Id>
Id id_counting(std::uint8_t first, int step) {
  Id id;
  for (std::size_t i = 0; i < Id::kSize; ++i)
    id.bytes[i] = static_cast<std::uint8_t>(first + step * static_cast<int>(i));
  return id;
}
const ReportId kRid1to16 = id_counting<ReportId>(1, 1);
const ReportId kRid16to1 = id_counting<ReportId>(16, -1);

HpkeCiphertext ciphertext(HpkeConfigId id, std::string_view enc, std::string_view payload) {
  return {id, to_bytes(enc), to_bytes(payload)};
}

ReportShare report_share_a() {
  return {{kRid1to16, 54321}, {}, ciphertext(42, "012345", "543210")};
}
ReportShare report_share_b() {
  return {{kRid16to1, 73542}, to_bytes("0123"), ciphertext(13, "abce", "abfd")};
}

template <WireMessage T>
T decoded(ByteSpan in) {
  return decode_message<T>(in);
}

using Check = std::function<void(ByteSpan)>;

// Keyed by test_fn and the entry's position among that test_fn's entries;
// `anchor` is a piece of the entry's Rust expression that must be present, so
// that a reordered file cannot check the wrong entry.
struct FieldCheck {
  std::string anchor;
  Check check;
};

std::map<std::pair<std::string, int>, FieldCheck> field_checks() {
  std::map<std::pair<std::string, int>, FieldCheck> c;
  c[{"roundtrip_report_share", 1}] = {"Time::from_seconds_since_epoch(73542)", [](ByteSpan in) {
                                        EXPECT_EQ(decoded<ReportShare>(in), report_share_b());
                                      }};
  c[{"roundtrip_prepare_init", 0}] = {
      "PingPongMessage::Initialize", [](ByteSpan in) {
        EXPECT_EQ(decoded<PrepareInit>(in),
                  (PrepareInit{report_share_a(), PingPongMessage::initialize(to_bytes("012345"))}));
      }};
  c[{"roundtrip_prepare_init", 1}] = {
      "PingPongMessage::Finish { prep_msg: Vec::new()", [](ByteSpan in) {
        EXPECT_EQ(decoded<PrepareInit>(in),
                  (PrepareInit{report_share_b(), PingPongMessage::finish({})}));
      }};
  c[{"roundtrip_prepare_resp", 0}] = {
      "PrepareStepResult::Continue", [](ByteSpan in) {
        auto r = decoded<PrepareResp>(in);
        EXPECT_EQ(r.report_id, kRid1to16);
        EXPECT_EQ(r.state, PrepareResp::State::Continue);
        EXPECT_EQ(r.message, PingPongMessage::continue_with(to_bytes("012345"), to_bytes("6789")));
      }};
  c[{"roundtrip_prepare_resp", 1}] = {
      "PrepareStepResult::Finished",
      [](ByteSpan in) { EXPECT_EQ(decoded<PrepareResp>(in), PrepareResp::finished(kRid16to1)); }};
  c[{"roundtrip_prepare_resp", 2}] = {
      "PrepareError::VdafPrepError", [](ByteSpan in) {
        EXPECT_EQ(decoded<PrepareResp>(in),
                  PrepareResp::reject(id_filled<ReportId>(255), PrepareError::VdafPrepError));
      }};
  const char* prepare_errors[] = {"BatchCollected",      "ReportReplayed",   "ReportDropped",
                                  "HpkeUnknownConfigId", "HpkeDecryptError", "VdafPrepError",
                                  "BatchSaturated",      "TaskExpired",      "InvalidMessage",
                                  "ReportTooEarly"};
  for (int i = 0; i < 10; ++i) {
    c[{"roundtrip_report_share_error", i}] = {
        std::string("PrepareError::") + prepare_errors[i], [i](ByteSpan in) {
          ByteReader r(in);
          EXPECT_EQ(decode_prepare_error(r), static_cast<PrepareError>(i));
        }};
  }
  c[{"roundtrip_aggregation_job_initialize_req", 1}] = {
      "BatchId::from([2u8; 32])", [](ByteSpan in) {
        auto req = decoded<AggregationJobInitReq>(in);
        EXPECT_EQ(req.aggregation_parameter, to_bytes("012345"));
        EXPECT_EQ(req.partial_batch_selector,
                  PartialBatchSelector::fixed_size(id_filled<BatchId>(2)));
        ASSERT_EQ(req.prepare_inits.size(), 2u);
        EXPECT_EQ(req.prepare_inits[0],
                  (PrepareInit{report_share_a(), PingPongMessage::initialize(to_bytes("012345"))}));
        EXPECT_EQ(req.prepare_inits[1],
                  (PrepareInit{report_share_b(), PingPongMessage::finish({})}));
      }};
  c[{"roundtrip_aggregation_job_continue_req", 0}] = {
      "AggregationJobStep(42405)", [](ByteSpan in) {
        auto req = decoded<AggregationJobContinueReq>(in);
        EXPECT_EQ(req.step, 42405);
        auto init = PingPongMessage::initialize(to_bytes("012345"));
        EXPECT_EQ(req.prepare_continues,
                  (std::vector<PrepareContinue>{{kRid1to16, init}, {kRid16to1, init}}));
      }};
  c[{"roundtrip_aggregation_job_resp", 0}] = {
      "prep_msg: Vec::from(\"01234\")", [](ByteSpan in) {
        auto resp = decoded<AggregationJobResp>(in);
        EXPECT_EQ(
            resp.prepare_resps,
            (std::vector<PrepareResp>{
                PrepareResp::continue_with(kRid1to16, PingPongMessage::continue_with(
                                                          to_bytes("01234"), to_bytes("56789"))),
                PrepareResp::finished(kRid16to1)}));
      }};
  c[{"roundtrip_collection_req", 1}] = {
      "Time::from_seconds_since_epoch(48913)", [](ByteSpan in) {
        EXPECT_EQ(decoded<CollectionReq>(in),
                  (CollectionReq{Query::time_interval({48913, 44721}), to_bytes("012345")}));
      }};
  c[{"roundtrip_collection_req", 2}] = {
      "FixedSizeQuery::ByBatchId", [](ByteSpan in) {
        EXPECT_EQ(decoded<CollectionReq>(in),
                  (CollectionReq{
                      Query::fixed_size(FixedSizeQuery::by_batch_id(id_filled<BatchId>(10))), {}}));
      }};
  c[{"roundtrip_collection_req", 3}] = {
      "FixedSizeQuery::CurrentBatch", [](ByteSpan in) {
        EXPECT_EQ(decoded<CollectionReq>(in),
                  (CollectionReq{Query::fixed_size(FixedSizeQuery::current_batch()),
                                 to_bytes("012345")}));
      }};
  c[{"roundtrip_partial_batch_selector", 0}] = {"new_time_interval()", [](ByteSpan in) {
                                                  EXPECT_EQ(decoded<PartialBatchSelector>(in),
                                                            PartialBatchSelector::time_interval());
                                                }};
  c[{"roundtrip_partial_batch_selector", 2}] = {
      "BatchId::from([4u8; 32])", [](ByteSpan in) {
        EXPECT_EQ(decoded<PartialBatchSelector>(in),
                  PartialBatchSelector::fixed_size(id_filled<BatchId>(4)));
      }};
  // `interval` is a variable in Janus's test; its value is (54321, 12345) there.
  c[{"roundtrip_collection", 3}] = {
      "report_count: 23", [](ByteSpan in) {
        auto col = decoded<Collection>(in);
        EXPECT_EQ(col.partial_batch_selector,
                  PartialBatchSelector::fixed_size(id_filled<BatchId>(4)));
        EXPECT_EQ(col.report_count, 23u);
        EXPECT_EQ(col.interval, (Interval{54321, 12345}));
        EXPECT_EQ(col.leader_encrypted_aggregate_share, ciphertext(10, "0123", "4567"));
        EXPECT_EQ(col.helper_encrypted_aggregate_share, ciphertext(12, "01234", "567"));
      }};
  c[{"roundtrip_batch_selector", 1}] = {
      "Time::from_seconds_since_epoch(50821)", [](ByteSpan in) {
        EXPECT_EQ(decoded<BatchSelector>(in), BatchSelector::time_interval({50821, 84354}));
      }};
  c[{"roundtrip_batch_selector", 3}] = {
      "BatchId::from([7u8; 32])", [](ByteSpan in) {
        EXPECT_EQ(decoded<BatchSelector>(in), BatchSelector::fixed_size(id_filled<BatchId>(7)));
      }};
  c[{"roundtrip_aggregate_share_req", 1}] = {
      "report_count: 8725", [](ByteSpan in) {
        auto req = decoded<AggregateShareReq>(in);
        EXPECT_EQ(req.batch_selector, BatchSelector::time_interval({50821, 84354}));
        EXPECT_EQ(req.aggregation_parameter, to_bytes("012345"));
        EXPECT_EQ(req.report_count, 8725u);
        ReportIdChecksum all_ones;
        all_ones.fill(0xff);
        EXPECT_EQ(req.checksum, all_ones);
      }};
  c[{"roundtrip_aggregate_share_req", 2}] = {
      "BatchId::from([12u8; 32])", [](ByteSpan in) {
        auto req = decoded<AggregateShareReq>(in);
        EXPECT_EQ(req.batch_selector, BatchSelector::fixed_size(id_filled<BatchId>(12)));
        EXPECT_TRUE(req.aggregation_parameter.empty());
        EXPECT_EQ(req.report_count, 439u);
        EXPECT_EQ(req.checksum, ReportIdChecksum{});
      }};
  c[{"roundtrip_aggregate_share", 1}] = {
      "HpkeConfigId::from(12)", [](ByteSpan in) {
        EXPECT_EQ(decoded<AggregateShare>(in).encrypted_aggregate_share,
                  ciphertext(12, "01234", "567"));
      }};
  c[{"roundtrip_aggregate_share_aad", 0}] = {
      "TaskId::from([12u8; 32])", [](ByteSpan in) {
        EXPECT_EQ(decoded<AggregateShareAad>(in),
                  (AggregateShareAad{id_filled<TaskId>(12),
                                     {0, 1, 2, 3},
                                     BatchSelector::time_interval({54321, 12345})}));
      }};
  c[{"roundtrip_aggregate_share_aad", 1}] = {
      "BatchId::from([7u8; 32])", [](ByteSpan in) {
        EXPECT_EQ(decoded<AggregateShareAad>(in),
                  (AggregateShareAad{id_filled<TaskId>(0),
                                     {3, 2, 1, 0},
                                     BatchSelector::fixed_size(id_filled<BatchId>(7))}));
      }};
  c[{"roundtrip_duration", 1}] = {"Duration::from_seconds(12345)",
                                  [](ByteSpan in) { EXPECT_EQ(ByteReader(in).u64(), 12345u); }};
  c[{"roundtrip_time", 2}] = {"u64::MAX",
                              [](ByteSpan in) { EXPECT_EQ(ByteReader(in).u64(), UINT64_MAX); }};
  c[{"roundtrip_interval", 2}] = {"Time::from_seconds_since_epoch(u64::MAX)", [](ByteSpan in) {
                                    ByteReader r(in);
                                    EXPECT_EQ(decode_interval(r), (Interval{UINT64_MAX, 0}));
                                  }};
  const Role roles[] = {Role::Collector, Role::Client, Role::Leader, Role::Helper};
  const char* role_names[] = {"Role::Collector", "Role::Client", "Role::Leader", "Role::Helper"};
  for (int i = 0; i < 4; ++i) {
    c[{"roundtrip_role", i}] = {role_names[i], [role = roles[i]](ByteSpan in) {
                                  ByteReader r(in);
                                  EXPECT_EQ(decode_role(r), role);
                                }};
  }
  c[{"roundtrip_task_id", 1}] = {"TaskId::from([ 0, 1, 2", [](ByteSpan in) {
                                   ByteReader r(in);
                                   EXPECT_EQ(decode_id<TaskId>(r), id_counting<TaskId>(0, 1));
                                 }};
  c[{"roundtrip_hpke_config_id", 1}] = {"HpkeConfigId(10)",
                                        [](ByteSpan in) { EXPECT_EQ(ByteReader(in).u8(), 10); }};
  c[{"roundtrip_hpke_kem_id", 0}] = {"HpkeKemId::P256HkdfSha256", [](ByteSpan in) {
                                       EXPECT_EQ(static_cast<HpkeKemId>(ByteReader(in).u16()),
                                                 HpkeKemId::P256HkdfSha256);
                                     }};
  c[{"roundtrip_hpke_kem_id", 1}] = {"HpkeKemId::X25519HkdfSha256", [](ByteSpan in) {
                                       EXPECT_EQ(static_cast<HpkeKemId>(ByteReader(in).u16()),
                                                 HpkeKemId::X25519HkdfSha256);
                                     }};
  c[{"roundtrip_hpke_kdf_id", 1}] = {"HpkeKdfId::HkdfSha384", [](ByteSpan in) {
                                       EXPECT_EQ(static_cast<HpkeKdfId>(ByteReader(in).u16()),
                                                 HpkeKdfId::HkdfSha384);
                                     }};
  c[{"roundtrip_hpke_aead_id", 2}] = {"HpkeAeadId::ChaCha20Poly1305", [](ByteSpan in) {
                                        EXPECT_EQ(static_cast<HpkeAeadId>(ByteReader(in).u16()),
                                                  HpkeAeadId::ChaCha20Poly1305);
                                      }};
  c[{"roundtrip_hpke_ciphertext", 0}] = {
      "HpkeConfigId::from(10)",
      [](ByteSpan in) { EXPECT_EQ(decoded<HpkeCiphertext>(in), ciphertext(10, "0123", "4567")); }};
  c[{"roundtrip_hpke_public_key", 1}] = {
      "0123456789abcdef",
      [](ByteSpan in) { EXPECT_EQ(ByteReader(in).opaque16(), to_bytes("0123456789abcdef")); }};
  c[{"roundtrip_hpke_config", 1}] = {
      "HpkeConfigId::from(23)", [](ByteSpan in) {
        EXPECT_EQ(decoded<HpkeConfig>(in),
                  (HpkeConfig{23, HpkeKemId::X25519HkdfSha256, HpkeKdfId::HkdfSha256,
                              HpkeAeadId::ChaCha20Poly1305, to_bytes("0123456789abcdef")}));
      }};
  c[{"roundtrip_hpke_config", 2}] = {"HpkeKemId::Other(0x9999)", [](ByteSpan in) {
                                       EXPECT_EQ(decoded<HpkeConfig>(in),
                                                 (HpkeConfig{12,
                                                             static_cast<HpkeKemId>(0x9999),
                                                             HpkeKdfId::HkdfSha512,
                                                             HpkeAeadId::Aes256Gcm,
                                                             {}}));
                                     }};
  c[{"roundtrip_hpke_config_list", 0}] = {
      "HpkeAeadId::Other(0x9999)", [](ByteSpan in) {
        auto list = decoded<HpkeConfigList>(in);
        EXPECT_EQ(
            list.configs,
            (std::vector<HpkeConfig>{
                {12, HpkeKemId::P256HkdfSha256, HpkeKdfId::HkdfSha512, HpkeAeadId::Aes256Gcm, {}},
                {12,
                 HpkeKemId::P256HkdfSha256,
                 HpkeKdfId::HkdfSha512,
                 static_cast<HpkeAeadId>(0x9999),
                 {}}}));
      }};
  c[{"roundtrip_batch_id", 2}] = {"u8::MAX", [](ByteSpan in) {
                                    ByteReader r(in);
                                    EXPECT_EQ(decode_id<BatchId>(r), id_filled<BatchId>(255));
                                  }};
  c[{"roundtrip_fixed_size_query", 0}] = {
      "BatchId::from([10u8; 32])", [](ByteSpan in) {
        EXPECT_EQ(decoded<FixedSizeQuery>(in), FixedSizeQuery::by_batch_id(id_filled<BatchId>(10)));
      }};
  c[{"roundtrip_fixed_size_query", 1}] = {
      "FixedSizeQuery::CurrentBatch",
      [](ByteSpan in) { EXPECT_EQ(decoded<FixedSizeQuery>(in), FixedSizeQuery::current_batch()); }};
  c[{"roundtrip_query", 0}] = {
      "Time::from_seconds_since_epoch(54321)", [](ByteSpan in) {
        EXPECT_EQ(decoded<Query>(in), Query::time_interval({54321, 12345}));
      }};
  c[{"roundtrip_query", 3}] = {"FixedSizeQuery::CurrentBatch", [](ByteSpan in) {
                                 EXPECT_EQ(decoded<Query>(in),
                                           Query::fixed_size(FixedSizeQuery::current_batch()));
                               }};
  const QueryType codes[] = {QueryType::Reserved, QueryType::TimeInterval, QueryType::FixedSize};
  const char* code_names[] = {"Code::Reserved", "Code::TimeInterval", "Code::FixedSize"};
  for (int i = 0; i < 3; ++i) {
    c[{"roundtrip_code", i}] = {code_names[i], [code = codes[i]](ByteSpan in) {
                                  ByteReader r(in);
                                  EXPECT_EQ(decode_query_type(r), code);
                                }};
  }
  c[{"roundtrip_report_id", 1}] = {"ReportId::from([16, 15", [](ByteSpan in) {
                                     ByteReader r(in);
                                     EXPECT_EQ(decode_id<ReportId>(r), kRid16to1);
                                   }};
  c[{"roundtrip_extension", 1}] = {
      "ExtensionType::Taskprov", [](ByteSpan in) {
        EXPECT_EQ(decoded<Extension>(in), (Extension{ExtensionType::Taskprov, to_bytes("0123")}));
      }};
  c[{"roundtrip_extension_type", 0}] = {
      "ExtensionType::Tbd", [](ByteSpan in) {
        EXPECT_EQ(static_cast<ExtensionType>(ByteReader(in).u16()), ExtensionType::Tbd);
      }};
  c[{"roundtrip_report_metadata", 0}] = {
      "Time::from_seconds_since_epoch(12345)", [](ByteSpan in) {
        EXPECT_EQ(decoded<ReportMetadata>(in), (ReportMetadata{kRid1to16, 12345}));
      }};
  c[{"roundtrip_plaintext_input_share", 0}] = {
      "PlaintextInputShare::new(Vec::new()", [](ByteSpan in) {
        EXPECT_EQ(decoded<PlaintextInputShare>(in), (PlaintextInputShare{{}, to_bytes("0123")}));
      }};
  c[{"roundtrip_plaintext_input_share", 1}] = {
      "ExtensionType::Tbd, Vec::from(\"0123\")", [](ByteSpan in) {
        EXPECT_EQ(
            decoded<PlaintextInputShare>(in),
            (PlaintextInputShare{{{ExtensionType::Tbd, to_bytes("0123")}}, to_bytes("4567")}));
      }};
  c[{"roundtrip_report", 1}] = {"Vec::from(\"3210\")", [](ByteSpan in) {
                                  EXPECT_EQ(decoded<Report>(in),
                                            (Report{{kRid16to1, 54321},
                                                    to_bytes("3210"),
                                                    ciphertext(42, "012345", "543210"),
                                                    ciphertext(13, "abce", "abfd")}));
                                }};
  c[{"roundtrip_input_share_aad", 0}] = {
      "TaskId::from([12u8; 32])", [](ByteSpan in) {
        EXPECT_EQ(decoded<InputShareAad>(in),
                  (InputShareAad{id_filled<TaskId>(12), {kRid1to16, 54321}, to_bytes("0123")}));
      }};
  return c;
}

TEST(JanusVectors, RepresentativeEntriesDecodeToTheirWrittenValues) {
  const auto entries = load_entries();
  auto checks = field_checks();
  std::map<std::string, int> position;
  std::set<std::string> checked_fns;
  std::size_t checks_run = 0;
  for (const auto& entry : entries) {
    const int index = position[entry.test_fn]++;
    auto it = checks.find({entry.test_fn, index});
    if (it == checks.end()) continue;
    SCOPED_TRACE(entry.test_fn + "[" + std::to_string(index) + "]: " + entry.value_rust);
    ASSERT_NE(entry.value_rust.find(it->second.anchor), std::string::npos)
        << "vector file reordered?";
    it->second.check(entry.encoded);
    checked_fns.insert(entry.test_fn);
    ++checks_run;
  }
  EXPECT_EQ(checks_run, checks.size()) << "a field check matched no vector";
  // Every message type in the file has at least one field-checked entry.
  for (const auto& [fn, count] : position)
    EXPECT_TRUE(checked_fns.contains(fn)) << fn << " has no field check";
}

TEST(JanusVectors, EveryEntryDecodesAndReencodesExactly) {
  const auto entries = load_entries();
  ASSERT_EQ(entries.size(), 105u);
  std::set<std::string> used;
  for (const auto& entry : entries) {
    SCOPED_TRACE(entry.test_fn + ": " + entry.value_rust);
    EXPECT_TRUE(entry.file.starts_with("messages/src/tests/"));
    auto it = roundtrips().find(entry.test_fn);
    ASSERT_NE(it, roundtrips().end()) << "no decoder for " << entry.test_fn;
    used.insert(entry.test_fn);
    Bytes reencoded;
    ASSERT_NO_THROW(reencoded = it->second(entry.encoded));
    EXPECT_EQ(hex_encode(reencoded), hex_encode(entry.encoded));
  }
  EXPECT_EQ(used.size(), roundtrips().size()) << "a decoder in the table matched no vector";
}

}  // namespace
}  // namespace janus
