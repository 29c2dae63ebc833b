// Prio3 (VDAF-08 §7) over the generic FLP, exposed through the byte-level
// janus::Vdaf interface. The four instances the DAP-09 client speaks:
//   Prio3Count                                  (algorithm ID 0x00000000)
//   Prio3Sum       {bits}                       (0x00000001)
//   Prio3SumVec    {bits, length, chunk_length} (0x00000002)
//   Prio3Histogram {length, chunk_length}       (0x00000003)
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <janus/vdaf.h>

namespace janus::prio3 {

inline const std::vector<std::string>& prio3_vdaf_names() {
  static const std::vector<std::string> names = {"Prio3Count", "Prio3Sum", "Prio3SumVec",
                                                 "Prio3Histogram"};
  return names;
}

// Builds a Prio3 instance from a task's VDAF description. `num_shares` is the
// number of aggregators (2 for DAP; the official vectors also use 3).
// Throws std::invalid_argument on unknown names or invalid parameters.
std::shared_ptr<const Vdaf> make_prio3(const VdafDescription& description,
                                       std::size_t num_shares = 2);

}  // namespace janus::prio3
