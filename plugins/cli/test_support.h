// Shared by the cli tests: a VDAF registry with the Prio3 VDAFs and Poplar1, the sample
// tasks.yaml path and scratch files.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "janus/vdaf_registry.h"
#include "poplar1.h"
#include "prio3.h"

namespace janus::cli::testing {

// The project's sample tasks.yaml (Janus 0.7's own sample, as README.md shows it).
inline const std::string kSampleTasks = JANUS_SOURCE_DIR "/config/tasks.yaml";

inline VdafRegistry& vdaf_registry() {
  static VdafRegistry* registry = [] {
    auto* vdafs = new VdafRegistry;
    for (const auto& name : prio3::prio3_vdaf_names()) {
      vdafs->add(name, [](const VdafDescription& d) { return prio3::make_prio3(d); });
    }
    vdafs->add(poplar1::kName, [](const VdafDescription& d) { return poplar1::make_poplar1(d); });
    return vdafs;
  }();
  return *registry;
}

// A file in a directory private to this test process.
inline std::string scratch_file(const std::string& name, const std::string& contents) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("janus_cli_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::path path = dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  return path.string();
}

}  // namespace janus::cli::testing
