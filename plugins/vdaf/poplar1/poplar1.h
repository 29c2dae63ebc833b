// Poplar1 (VDAF-08 §8): heavy hitters over BITS-bit strings. Two preparation
// rounds (the secure sketch of BBCGGI21 App. C.4) and an aggregation parameter
// the collector chooses: a level of the IDPF tree and the candidate prefixes
// to count at that level. Task YAML names it as Janus does: `!Poplar1 {bits: N}`.
//
// Measurements (JSON): an unsigned integer below 2^BITS (BITS <= 64), a string
// of exactly BITS '0'/'1' characters or an array of BITS Booleans (the interop
// test API's form), most significant bit first.
// Aggregate result (JSON): one count per candidate prefix, in parameter order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <janus/vdaf.h>

#include "idpf.h"

namespace janus::poplar1 {

inline constexpr std::uint32_t kAlgorithmId = 0x00001000;
inline constexpr const char* kName = "Poplar1";

struct AggregationParameter {
  std::uint16_t level = 0;
  std::vector<Path> prefixes;  // each level + 1 bits long
};

// The spec's encoding (VDAF-08 §8.2.6): level (u16), prefix count (u32), then the
// prefixes packed (level + 1) bits each into a big-endian integer, first prefix lowest.
Bytes encode_aggregation_parameter(const AggregationParameter& param);
// Throws VdafDecodeError on a malformed encoding, non-zero padding bits, a level not
// below `bits`, or prefixes that are not strictly increasing (prep_init would refuse them).
AggregationParameter decode_aggregation_parameter(ByteSpan encoded, std::size_t bits);

// The `length`-bit path of `value` (most significant bit first).
Path path_from_integer(std::uint64_t value, std::size_t length);
// The parameter counting `prefixes` (as integers of level + 1 bits) at `level`.
AggregationParameter aggregation_parameter(std::uint16_t level,
                                           const std::vector<std::uint64_t>& prefixes);

// Throws std::invalid_argument unless the description is Poplar1 with 1 <= bits <= 65535.
std::shared_ptr<const Vdaf> make_poplar1(const VdafDescription& description);

}  // namespace janus::poplar1
