// Reading ../shared/vectors/dap-09/divviup-ts-0.9.1-client-reports.json in tests.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "janus/vdaf_registry.h"

namespace janus::testing {

// The Janus VDAF description of one of the file's cases, whose "vdaf" is the client's name
// ("count", "sum", "sumVec", "histogram") and whose "params" use the client's spelling.
inline VdafDescription client_report_vdaf(const nlohmann::json& test_case) {
  const std::string name = test_case.at("vdaf").get<std::string>();
  const nlohmann::json& params = test_case.at("params");
  if (name == "count") return {"Prio3Count", nlohmann::json::object()};
  if (name == "sum") return {"Prio3Sum", {{"bits", params.at("bits")}}};
  if (name == "sumVec") {
    return {"Prio3SumVec",
            {{"bits", params.at("bits")},
             {"length", params.at("length")},
             {"chunk_length", params.at("chunkLength")}}};
  }
  if (name == "histogram") {
    return {"Prio3Histogram",
            {{"length", params.at("length")}, {"chunk_length", params.at("chunkLength")}}};
  }
  throw std::runtime_error("unknown vdaf in vector file: " + name);
}

}  // namespace janus::testing
