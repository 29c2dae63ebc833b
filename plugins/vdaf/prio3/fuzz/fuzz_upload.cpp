// libFuzzer target for what the leader does with an uploaded report before it stores it,
// where every byte comes from an unauthenticated client: decode the Report, open the
// leader's share with HPKE (the vector task's X25519 key, and a P-256 key under the same
// config id, so a malicious `enc` also reaches P-256 point decoding), decode the
// PlaintextInputShare, and check the public and input shares against each Prio3 VDAF of the
// real client's vectors. Anything but DecodeError, HpkeError or VdafError, a crash, an
// over-read or UB is a finding. Seeded with the shared vectors' reports (scripts/fuzz).
#include <cstdint>
#include <fstream>
#include <memory>
#include <vector>

#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "prio3.h"

namespace {

using janus::Bytes;
using janus::ByteSpan;

Bytes hex(const nlohmann::json& value) {
  auto bytes = janus::hex_decode(value.get<std::string>());
  if (!bytes) std::abort();
  return *bytes;
}

struct Leader {
  janus::TaskId task_id;
  std::vector<janus::DapHpkeKeyPair> keys;
  std::vector<std::shared_ptr<const janus::Vdaf>> vdafs;
};

Leader make_leader() {
  std::ifstream in(JANUS_SHARED_DIR "/vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
  const nlohmann::json doc = nlohmann::json::parse(in);
  Leader leader;
  leader.task_id = *janus::TaskId::from_bytes(hex(doc.at("task_id_hex")));
  const nlohmann::json& key = doc.at("hpke").at("leader");
  const auto list = janus::decode_message<janus::HpkeConfigList>(hex(key.at("hpke_config_list")));
  leader.keys.push_back(
      janus::DapHpkeKeyPair::from_config(list.configs.at(0), hex(key.at("private_key"))));
  leader.keys.push_back(janus::DapHpkeKeyPair::generate(
      list.configs.at(0).id, {janus::HpkeKemId::P256HkdfSha256, janus::HpkeKdfId::HkdfSha256,
                              janus::HpkeAeadId::Aes128Gcm}));
  for (const nlohmann::json& test_case : doc.at("cases")) {
    const std::string name = test_case.at("vdaf");
    const nlohmann::json& p = test_case.at("params");
    janus::VdafDescription description;
    if (name == "count") {
      description = {"Prio3Count", nlohmann::json::object()};
    } else if (name == "sum") {
      description = {"Prio3Sum", {{"bits", p.at("bits")}}};
    } else if (name == "sumVec") {
      description = {"Prio3SumVec",
                     {{"bits", p.at("bits")},
                      {"length", p.at("length")},
                      {"chunk_length", p.at("chunkLength")}}};
    } else {
      description = {"Prio3Histogram",
                     {{"length", p.at("length")}, {"chunk_length", p.at("chunkLength")}}};
    }
    leader.vdafs.push_back(janus::prio3::make_prio3(description));
  }
  return leader;
}

void upload(const Leader& leader, ByteSpan bytes) {
  const auto report = janus::decode_message<janus::Report>(bytes);
  const Bytes aad = janus::encode_message(
      janus::InputShareAad{leader.task_id, report.metadata, report.public_share});
  for (const janus::DapHpkeKeyPair& key : leader.keys) {
    Bytes plaintext;
    try {
      plaintext = janus::dap_open(key, report.leader_encrypted_input_share,
                                  janus::dap_input_share_info(janus::Role::Leader), aad);
    } catch (const janus::HpkeError&) {
      continue;
    }
    const auto share = janus::decode_message<janus::PlaintextInputShare>(plaintext);
    for (const auto& vdaf : leader.vdafs) {
      try {
        vdaf->check_public_share(report.public_share);
        vdaf->check_input_share(0, share.payload);
      } catch (const janus::VdafError&) {
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Leader leader = make_leader();
  try {
    upload(leader, ByteSpan(data, size));
  } catch (const janus::DecodeError&) {
    // Rejected cleanly.
  }
  return 0;
}
