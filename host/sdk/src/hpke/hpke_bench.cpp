// HPKE open/seal and DAP message decode throughput (Google Benchmark).
// Inputs are the real client reports in
// vectors/dap-09/divviup-ts-0.9.1-client-reports.json. See BENCHMARKS.md.
#include <benchmark/benchmark.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "janus/hpke.h"
#include "janus/messages.h"

namespace janus {
namespace {

struct ClientVectors {
  TaskId task_id;
  DapHpkeKeyPair leader;
  std::map<std::string, Report> report_by_vdaf;
  std::map<std::string, Bytes> report_bytes_by_vdaf;
};

Bytes hex_or_throw(const std::string& text) {
  auto bytes = hex_decode(text);
  if (!bytes) throw std::runtime_error("bad hex");
  return *bytes;
}

const ClientVectors& vectors() {
  static const ClientVectors loaded = [] {
    std::ifstream in(JANUS_SHARED_DIR "/vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
    if (!in) throw std::runtime_error("cannot open client reports");
    const auto doc = nlohmann::json::parse(in);
    const auto& leader = doc.at("hpke").at("leader");
    const auto list = decode_message<HpkeConfigList>(hex_or_throw(leader.at("hpke_config_list")));
    ClientVectors v{
        *TaskId::from_bytes(hex_or_throw(doc.at("task_id_hex"))),
        DapHpkeKeyPair::from_config(list.configs.at(0), hex_or_throw(leader.at("private_key"))),
        {},
        {}};
    for (const auto& test_case : doc.at("cases")) {
      Bytes bytes = hex_or_throw(test_case.at("reports").at(0).at("report"));
      v.report_by_vdaf[test_case.at("vdaf")] = decode_message<Report>(bytes);
      v.report_bytes_by_vdaf[test_case.at("vdaf")] = bytes;
    }
    return v;
  }();
  return loaded;
}

// The leader's share of a real report, opened as the upload handler does:
// InputShareAad encoded, then OpenBase (X25519 / HKDF-SHA256 / AES-128-GCM).
void BM_DapOpenLeaderShare(benchmark::State& state, const char* vdaf) {
  const ClientVectors& v = vectors();
  const Report& report = v.report_by_vdaf.at(vdaf);
  const Bytes info = dap_input_share_info(Role::Leader);
  for (auto _ : state) {
    const Bytes aad =
        encode_message(InputShareAad{v.task_id, report.metadata, report.public_share});
    Bytes plaintext = dap_open(v.leader, report.leader_encrypted_input_share, info, aad);
    benchmark::DoNotOptimize(plaintext.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::to_string(report.leader_encrypted_input_share.payload.size()) +
                 " B ciphertext");
}
BENCHMARK_CAPTURE(BM_DapOpenLeaderShare, count, "count");
BENCHMARK_CAPTURE(BM_DapOpenLeaderShare, histogram, "histogram");

void BM_HpkeSealOpen(benchmark::State& state, HpkeSuite suite, bool seal) {
  const HpkeKeyPair recipient = HpkeKeyPair::generate(suite.kem);
  const Bytes info = dap_input_share_info(Role::Leader);
  const Bytes aad(88, 0x5a);
  const Bytes plaintext(64, 0xa5);
  const HpkeSealed sealed = hpke_seal(suite, recipient.public_key(), info, aad, plaintext);
  for (auto _ : state) {
    if (seal) {
      HpkeSealed out = hpke_seal(suite, recipient.public_key(), info, aad, plaintext);
      benchmark::DoNotOptimize(out.ciphertext.data());
    } else {
      Bytes out = hpke_open(suite, recipient, sealed.enc, info, aad, sealed.ciphertext);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_HpkeSealOpen, open_x25519_sha256_aes128gcm, kDapMandatorySuite, false);
BENCHMARK_CAPTURE(BM_HpkeSealOpen, seal_x25519_sha256_aes128gcm, kDapMandatorySuite, true);
BENCHMARK_CAPTURE(BM_HpkeSealOpen, open_p256_sha256_aes128gcm,
                  HpkeSuite{HpkeKemId::P256HkdfSha256, HpkeKdfId::HkdfSha256,
                            HpkeAeadId::Aes128Gcm},
                  false);

// Report decode (what the upload handler does first with the body).
void BM_ReportDecode(benchmark::State& state, const char* vdaf) {
  const Bytes& bytes = vectors().report_bytes_by_vdaf.at(vdaf);
  for (auto _ : state) {
    Report report = decode_message<Report>(bytes);
    benchmark::DoNotOptimize(report.metadata.time);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
  state.SetLabel(std::to_string(bytes.size()) + " B report");
}
BENCHMARK_CAPTURE(BM_ReportDecode, count, "count");
BENCHMARK_CAPTURE(BM_ReportDecode, histogram, "histogram");

}  // namespace
}  // namespace janus

BENCHMARK_MAIN();
