// Prio3 (VDAF-08 §7) over the generic FLP, exposed through the byte-level
// janus::Vdaf interface. The four instances the DAP-09 client speaks:
//   Prio3Count                                  (algorithm ID 0x00000000)
//   Prio3Sum       {bits}                       (0x00000001)
//   Prio3SumVec    {bits, length, chunk_length} (0x00000002)
//   Prio3Histogram {length, chunk_length}       (0x00000003)
// and the one Janus 0.7 adds (libprio 0.16's SumVec over Field64 with
// `proofs` proofs and XofHmacSha256Aes128: 32-byte verify key and seeds):
//   Prio3SumVecField64MultiproofHmacSha256Aes128
//                  {proofs, bits, length, chunk_length} (0xFFFF1003)
// and the fixed-point vector of Janus 0.7's fpvec_bounded_l2 feature (libprio
// 0.16's FixedPointBoundedL2VecSum; dp_strategy is required, as in Janus):
//   Prio3FixedPointBoundedL2VecSum
//                  {bitsize: BitSize16|BitSize32, dp_strategy, length} (0xFFFF0000)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <janus/vdaf.h>

namespace janus::prio3 {

inline constexpr const char* kSumVecField64MultiproofHmacSha256Aes128 =
    "Prio3SumVecField64MultiproofHmacSha256Aes128";
inline constexpr std::uint32_t kSumVecField64MultiproofHmacSha256Aes128Id = 0xFFFF1003;
inline constexpr const char* kFixedPointBoundedL2VecSum = "Prio3FixedPointBoundedL2VecSum";
inline constexpr std::uint32_t kFixedPointBoundedL2VecSumId = 0xFFFF0000;

inline const std::vector<std::string>& prio3_vdaf_names() {
  static const std::vector<std::string> names = {"Prio3Count",
                                                 "Prio3Sum",
                                                 "Prio3SumVec",
                                                 "Prio3Histogram",
                                                 kSumVecField64MultiproofHmacSha256Aes128,
                                                 kFixedPointBoundedL2VecSum};
  return names;
}

// Builds a Prio3 instance from a task's VDAF description. `num_shares` is the
// number of aggregators (2 for DAP; the official vectors also use 3).
// Throws std::invalid_argument on unknown names or invalid parameters.
std::shared_ptr<const Vdaf> make_prio3(const VdafDescription& description,
                                       std::size_t num_shares = 2);

// Prio3SumVec over Field64 with XofTurboShake128 (16-byte seeds) and `proofs`
// proofs: how libprio 0.16's Prio3SumVecField64Multiproof vectors (3 proofs,
// algorithm ID 0xFFFFFFFF) and VDAF-08's Prio3SumVecWithMultiproof vectors
// are made. No task names this VDAF; it is here for those vectors.
std::shared_ptr<const Vdaf> make_prio3_sum_vec_field64_multiproof_turboshake(
    std::size_t proofs, std::size_t bits, std::size_t length, std::size_t chunk_length,
    std::size_t num_shares = 2, std::uint32_t algorithm_id = 0xFFFFFFFF);

}  // namespace janus::prio3
