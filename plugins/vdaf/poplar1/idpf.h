// IdpfPoplar (VDAF-08 §8.3): the incremental distributed point function of
// BBCGGI21 with VALUE_LEN = 2, Field64 for inner levels and Field255 for the
// leaf level, its seeds expanded with XofFixedKeyAes128.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "field.h"
#include "xof.h"

namespace janus::poplar1 {

// A node's path from the root: bit d is the branch taken at depth d (the most
// significant bit of the index first). Length = level + 1 at `level`.
using Path = std::vector<std::uint8_t>;

// Bad input to the IDPF (a key, public share or prefix that cannot be used).
class IdpfError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

template <class F>
using Pair = std::array<F, 2>;

struct IdpfCorrectionWord {
  Seed seed{};
  std::array<std::uint8_t, 2> ctrl{};
  // The value correction at this level: Field64 for inner levels, Field255 at the leaf.
  Pair<Field64> inner{};
  Pair<Field255> leaf{};
};

struct IdpfPublicShare {
  std::vector<IdpfCorrectionWord> words;  // one per level
};

// The output of eval at one level: one pair per prefix, in the level's field.
struct IdpfValues {
  std::vector<Pair<Field64>> inner;
  std::vector<Pair<Field255>> leaf;
};

class IdpfPoplar {
 public:
  static constexpr std::size_t kRandSize = 2 * kSeedSize;
  static constexpr std::size_t kKeySize = kSeedSize;

  explicit IdpfPoplar(std::size_t bits);
  std::size_t bits() const { return bits_; }
  std::size_t public_share_size() const;

  // Keys for alpha (given as its BITS-bit path), programmed with beta_inner[level] on inner
  // levels and beta_leaf at the leaf. Returns the encoded public share; keys get the two
  // 16-byte keys.
  std::vector<std::uint8_t> gen(const Path& alpha, std::span<const Pair<Field64>> beta_inner,
                                const Pair<Field255>& beta_leaf, ConstBytes binder, ConstBytes rand,
                                std::array<Seed, 2>& keys) const;

  // Throws IdpfError unless `encoded` is a canonical public share for BITS.
  IdpfPublicShare decode_public_share(ConstBytes encoded) const;
  std::vector<std::uint8_t> encode_public_share(const IdpfPublicShare& share) const;

  // Aggregator agg_id's shares of the values at `level` for each prefix (distinct, each of
  // length level + 1). Prefixes sharing a path reuse its nodes, so sorted input is cheapest.
  IdpfValues eval(std::size_t agg_id, const IdpfPublicShare& public_share, ConstBytes key,
                  std::size_t level, std::span<const Path> prefixes, ConstBytes binder) const;

 private:
  std::size_t bits_;
};

}  // namespace janus::poplar1
