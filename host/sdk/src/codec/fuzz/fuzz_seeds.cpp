// Writes libFuzzer seed corpora from the shared DAP-09 vectors:
//   janus_fuzz_seeds <shared dir> <output dir>
// creates <output dir>/<MessageType>/<n> for every vector of the top-level
// messages the fuzz targets decode.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "janus/bytes.h"

namespace {

namespace fs = std::filesystem;

void write_seed(const fs::path& out, const std::string& message, const std::string& hex) {
  auto bytes = janus::hex_decode(hex);
  if (!bytes) throw std::runtime_error("bad hex in a vector");
  const fs::path dir = out / message;
  fs::create_directories(dir);
  std::size_t n = 0;
  while (fs::exists(dir / std::to_string(n))) ++n;
  std::ofstream file(dir / std::to_string(n), std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes->data()),
             static_cast<std::streamsize>(bytes->size()));
}

nlohmann::json load(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: janus_fuzz_seeds <shared dir> <output dir>\n";
    return 2;
  }
  const fs::path shared = argv[1];
  const fs::path out = argv[2];
  try {
    const std::map<std::string, std::string> janus_test_fns = {
        {"roundtrip_report", "Report"},
        {"roundtrip_aggregation_job_initialize_req", "AggregationJobInitReq"},
        {"roundtrip_aggregation_job_continue_req", "AggregationJobContinueReq"},
        {"roundtrip_aggregation_job_resp", "AggregationJobResp"},
        {"roundtrip_aggregate_share_req", "AggregateShareReq"},
        {"roundtrip_collection_req", "CollectionReq"},
        {"roundtrip_collection", "Collection"},
        {"roundtrip_hpke_config_list", "HpkeConfigList"},
        {"roundtrip_plaintext_input_share", "PlaintextInputShare"},
    };
    const auto janus = load(shared / "vectors/dap-09/janus-0.7-message-encodings.json");
    for (const auto& v : janus.at("vectors")) {
      auto it = janus_test_fns.find(v.at("test_fn").get<std::string>());
      if (it != janus_test_fns.end()) write_seed(out, it->second, v.at("hex"));
    }
    const auto client = load(shared / "vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
    for (const char* role : {"leader", "helper"})
      write_seed(out, "HpkeConfigList", client.at("hpke").at(role).at("hpke_config_list"));
    for (const auto& test_case : client.at("cases")) {
      for (const auto& report : test_case.at("reports")) {
        write_seed(out, "Report", report.at("report"));
        write_seed(out, "AggregationJobInitReq",
                   report.at("dap_aggregation_job_init_req_single_report"));
        write_seed(out, "AggregationJobResp", report.at("dap_aggregation_job_resp_single_report"));
        write_seed(out, "PlaintextInputShare", report.at("leader_plaintext_input_share"));
        write_seed(out, "PlaintextInputShare", report.at("helper_plaintext_input_share"));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "janus_fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
