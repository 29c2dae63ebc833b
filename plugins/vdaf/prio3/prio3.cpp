#include "prio3.h"

#include <openssl/bn.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "circuits.h"
#include "dp.h"
#include "field.h"
#include "flp.h"
#include "xof.h"
#include "xof_hmac.h"

namespace janus::prio3 {
namespace {

constexpr std::uint8_t kVdafVersion = 8;

enum class Usage : std::uint16_t {
  kMeasShare = 1,
  kProofShare = 2,
  kJointRandomness = 3,
  kProveRandomness = 4,
  kQueryRandomness = 5,
  kJointRandSeed = 6,
  kJointRandPart = 7,
};

using Dst = std::array<std::uint8_t, 8>;

Dst format_dst(std::uint32_t algorithm_id, Usage usage) {
  const auto u = static_cast<std::uint16_t>(usage);
  return {kVdafVersion,
          0,  // algorithm class: VDAF
          static_cast<std::uint8_t>(algorithm_id >> 24),
          static_cast<std::uint8_t>(algorithm_id >> 16),
          static_cast<std::uint8_t>(algorithm_id >> 8),
          static_cast<std::uint8_t>(algorithm_id),
          static_cast<std::uint8_t>(u >> 8),
          static_cast<std::uint8_t>(u)};
}

template <class F>
void encode_vec_into(std::span<const F> values, Bytes& out) {
  const std::size_t offset = out.size();
  out.resize(offset + values.size() * F::kEncodedSize);
  std::uint8_t* p = out.data() + offset;
  for (const F& value : values) {
    value.encode(p);
    p += F::kEncodedSize;
  }
}

template <class F>
std::vector<F> decode_vec(ByteSpan bytes, const char* what) {
  if (bytes.size() % F::kEncodedSize != 0) {
    throw VdafDecodeError(std::string(what) + ": length is not a multiple of the field size");
  }
  std::vector<F> out(bytes.size() / F::kEncodedSize);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto value = F::decode(bytes.data() + i * F::kEncodedSize);
    if (!value) throw VdafDecodeError(std::string(what) + ": field element out of range");
    out[i] = *value;
  }
  return out;
}

// Per-thread scratch vectors for large transient values (a measurement share
// of Histogram(10000) is 160 KiB). Fresh allocations of that size are mmap'd
// or trimmed back to the kernel by glibc on free, so every call would pay
// page faults; reusing the storage keeps those out of the per-report cost.
// Slots are distinct per use within one call; calls do not nest.
enum class Scratch { kMeasurement, kMeasShare, kLeaderMeas, kCount };

template <class F>
std::vector<F>& scratch_vector(Scratch slot, std::size_t size) {
  static thread_local std::array<std::vector<F>, static_cast<std::size_t>(Scratch::kCount)> slots;
  std::vector<F>& vector = slots[static_cast<std::size_t>(slot)];
  vector.resize(size);
  return vector;
}

// Decoding/encoding of vectors scaled by F::decode_scale() (see prep_init).
template <class F>
void decode_vec_scaled_into(ByteSpan bytes, std::vector<F>& out, const char* what) {
  if (bytes.size() != out.size() * F::kEncodedSize) {
    throw VdafDecodeError(std::string(what) + ": wrong length");
  }
  if constexpr (F::kScaledIsEncoding) {
    // Range checks, then one copy (see BlockSampler: building each value
    // from two halves and reloading it whole stalls on store forwarding).
    bool in_range = true;
    for (std::size_t i = 0; i < out.size(); ++i) {
      in_range &= F::encoded_in_range(bytes.data() + i * F::kEncodedSize);
    }
    if (!in_range) throw VdafDecodeError(std::string(what) + ": field element out of range");
    if (!bytes.empty()) std::memcpy(static_cast<void*>(out.data()), bytes.data(), bytes.size());
  } else {
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto value = F::decode_scaled(bytes.data() + i * F::kEncodedSize);
      if (!value) throw VdafDecodeError(std::string(what) + ": field element out of range");
      out[i] = *value;
    }
  }
}

template <class F>
void encode_vec_scaled_into(std::span<const F> values, Bytes& out) {
  const std::size_t offset = out.size();
  out.resize(offset + values.size() * F::kEncodedSize);
  std::uint8_t* p = out.data() + offset;
  for (const F& value : values) {
    value.encode_scaled(p);
    p += F::kEncodedSize;
  }
}

// Little-endian integers of a field's encoded size, for adding encoded
// vectors without converting them to the field's internal representation.
template <class F>
typename F::Integer load_integer(const std::uint8_t* p) {
  if constexpr (F::kEncodedSize == 8) {
    return load_le_u64(p);
  } else {
    return (static_cast<uint128>(load_le_u64(p + 8)) << 64) | load_le_u64(p);
  }
}

template <class F>
void store_integer(std::uint8_t* p, typename F::Integer v) {
  if constexpr (F::kEncodedSize == 8) {
    store_le_u64(p, v);
  } else {
    store_le_u64(p, lo64(v));
    store_le_u64(p + 8, hi64(v));
  }
}

// dst[i] = dst[i] + src[i] mod p over encoded vectors of equal length.
template <class F>
void add_encoded(Bytes& dst, ByteSpan src, const char* what) {
  if (dst.size() != src.size()) throw VdafDecodeError(std::string(what) + ": wrong length");
  using Int = typename F::Integer;
  constexpr Int p = F::kModulus;
  for (std::size_t offset = 0; offset < dst.size(); offset += F::kEncodedSize) {
    const Int a = load_integer<F>(dst.data() + offset);
    const Int b = load_integer<F>(src.data() + offset);
    if (a >= p || b >= p) throw VdafDecodeError(std::string(what) + ": field element out of range");
    Int sum = a + b;
    if (sum < a || sum >= p) sum -= p;
    store_integer<F>(dst.data() + offset, sum);
  }
}

template <class F>
void check_encoded_vec(ByteSpan bytes, std::size_t count, const char* what) {
  if (bytes.size() != count * F::kEncodedSize) {
    throw VdafDecodeError(std::string(what) + ": expected " +
                          std::to_string(count * F::kEncodedSize) + " bytes, got " +
                          std::to_string(bytes.size()));
  }
  for (std::size_t offset = 0; offset < bytes.size(); offset += F::kEncodedSize) {
    if (load_integer<F>(bytes.data() + offset) >= F::kModulus) {
      throw VdafDecodeError(std::string(what) + ": field element out of range");
    }
  }
}

void check_size(ByteSpan bytes, std::size_t expected, const char* what) {
  if (bytes.size() != expected) {
    throw VdafDecodeError(std::string(what) + ": expected " + std::to_string(expected) +
                          " bytes, got " + std::to_string(bytes.size()));
  }
}

nlohmann::json integer_to_json(uint128 value) {
  if (value <= std::numeric_limits<std::uint64_t>::max()) {
    return static_cast<std::uint64_t>(value);
  }
  // Beyond JSON's safe integers: a decimal string.
  std::string digits;
  while (value != 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return digits;
}

std::optional<std::uint64_t> json_to_u64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v >= 0) return static_cast<std::uint64_t>(v);
  }
  return std::nullopt;
}

template <class F>
void encode_into_bit_vector(std::uint64_t value, std::size_t bits, std::vector<F>& out) {
  for (std::size_t l = 0; l < bits; ++l) {
    out.push_back(l < 64 && ((value >> l) & 1) ? F::one() : F::zero());
  }
}

bool fits_in_bits(std::uint64_t value, std::size_t bits) {
  return bits >= 64 || (value >> bits) == 0;
}

// Prio3 over field F with XOF `Xof` (XofTurboShake128 as VDAF-08 specifies,
// or libprio's XofHmacSha256Aes128) and PROOFS = num_proofs (VDAF-08 §7.1.2:
// the FLP runs num_proofs times with independent randomness; DAP-09's four
// standard instances use one).
template <class F, class Xof = XofTurboShake128>
class Prio3 : public Vdaf {
  static constexpr std::size_t kSeedSize = Xof::kSeedLength;
  using Seed = typename Xof::SeedType;
  using Feed = FeedFor<Xof>;
  using Pass = PassengerFor<F, Xof>;

 public:
  Prio3(VdafDescription description, std::uint32_t algorithm_id,
        std::shared_ptr<const ValidityCircuit<F>> circuit, std::size_t num_shares,
        std::size_t num_proofs = 1)
      : description_(std::move(description)),
        algorithm_id_(algorithm_id),
        flp_(std::move(circuit)),
        num_shares_(num_shares),
        num_proofs_(static_cast<std::uint8_t>(num_proofs)),
        uses_joint_rand_(flp_.joint_rand_len() > 0) {
    if (num_shares < 2 || num_shares > 255) {
      throw std::invalid_argument("Prio3: the number of shares must be in 2..255");
    }
    if (num_proofs < 1 || num_proofs > 255) {
      throw std::invalid_argument("Prio3: the number of proofs must be in 1..255");
    }
    for (std::uint16_t usage = 1; usage <= 7; ++usage) {
      dsts_[usage] = format_dst(algorithm_id_, static_cast<Usage>(usage));
    }
  }

  const VdafDescription& description() const override { return description_; }
  std::uint32_t algorithm_id() const override { return algorithm_id_; }
  std::size_t verify_key_size() const override { return kSeedSize; }
  std::size_t nonce_size() const override { return 16; }
  std::size_t rand_size() const override {
    return kSeedSize * (1 + 2 * (num_shares_ - 1) + (uses_joint_rand_ ? num_shares_ : 0));
  }
  std::size_t rounds() const override { return 1; }
  std::size_t num_shares() const override { return num_shares_; }

  VdafShards shard(const nlohmann::json& measurement, ByteSpan nonce,
                   ByteSpan rand) const override {
    check_size(nonce, nonce_size(), "nonce");
    if (rand.size() != rand_size()) throw std::invalid_argument("Prio3 shard: wrong rand size");
    std::vector<F>& meas = scratch_vector<F>(Scratch::kMeasurement, 0);
    encode_measurement(measurement, meas);
    auto seed = [&](std::size_t i) { return rand.subspan(i * kSeedSize, kSeedSize); };
    const std::size_t helpers = num_shares_ - 1;
    const std::size_t per_helper = uses_joint_rand_ ? 3 : 2;
    // Each helper's measurement share is streamed out of its XOF: subtracted
    // from the leader's share and hashed into its joint randomness part
    // chunk by chunk, so it is never stored. With the last helper's share
    // the leader's is final, so it is encoded (it starts the leader's input
    // share) and hashed into the leader's part in the same pass; the
    // sponges permute side by side (next_vec_feeding).
    std::vector<F>& leader_meas = scratch_vector<F>(Scratch::kLeaderMeas, meas.size());
    std::copy(meas.begin(), meas.end(), leader_meas.begin());
    Bytes leader;
    leader.reserve((flp_.meas_len() + proofs_len()) * F::kEncodedSize + kSeedSize);
    const ByteSpan leader_blind = uses_joint_rand_ ? seed(helpers * per_helper) : ByteSpan{};
    std::optional<Xof> leader_part_xof;
    std::optional<Feed> leader_part_feed;
    if (uses_joint_rand_) {
      leader_part_xof.emplace(leader_blind, dst(Usage::kJointRandPart));
      leader_part_xof->absorb_binder(std::array{std::uint8_t{0}});
      leader_part_xof->absorb_binder(nonce);
      leader_part_feed.emplace(*leader_part_xof);
    }
    // The helpers' proof shares and the prove randomness depend on nothing
    // else: they ride along the expansions below where lanes are free.
    const ByteSpan k_prove = seed(helpers * per_helper + (uses_joint_rand_ ? 1 : 0));
    Xof prove_xof(k_prove, dst(Usage::kProveRandomness), std::array{num_proofs_});
    std::vector<F> prove_rand(flp_.prove_rand_len() * num_proofs_);
    bool prove_rand_done = false;
    std::vector<std::vector<F>> helper_proofs(helpers, std::vector<F>(proofs_len()));
    std::vector<Seed> helper_parts;
    for (std::size_t j = 0; j < helpers; ++j) {
      const std::uint8_t helper_id = static_cast<std::uint8_t>(j + 1);
      const bool last = j + 1 == helpers;
      Xof proof_xof(seed(j * per_helper + 1), dst(Usage::kProofShare),
                    std::array{num_proofs_, helper_id});
      std::optional<Pass> proof_passenger, prove_passenger;
      Pass* passengers[2];
      std::size_t passenger_count = 0;
      const std::size_t free_lanes = 3 - (uses_joint_rand_ ? (last ? 2 : 1) : 0);
      proof_passenger.emplace(proof_xof, helper_proofs[j].data(), helper_proofs[j].size());
      passengers[passenger_count++] = &*proof_passenger;
      if (!prove_rand_done && free_lanes >= 2) {
        prove_passenger.emplace(prove_xof, prove_rand.data(), prove_rand.size());
        passengers[passenger_count++] = &*prove_passenger;
        prove_rand_done = true;
      }
      Xof meas_xof(seed(j * per_helper), dst(Usage::kMeasShare), std::array{helper_id});
      std::optional<Xof> part_xof;
      std::optional<Feed> part_feed;
      Feed* feeds[2];
      std::size_t feed_count = 0;
      if (uses_joint_rand_) {
        part_xof.emplace(seed(j * per_helper + 2), dst(Usage::kJointRandPart));
        part_xof->absorb_binder(std::array{helper_id});
        part_xof->absorb_binder(nonce);
        part_feed.emplace(*part_xof);
        feeds[feed_count++] = &*part_feed;
        if (last) feeds[feed_count++] = &*leader_part_feed;
      }
      F* leader_out = leader_meas.data();
      next_vec_feeding<F>(
          meas_xof, leader_meas.size(), std::span<Feed* const>(feeds, feed_count),
          [&](const F* values, const std::uint8_t* encoded, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i) leader_out[i] -= values[i];
            if (part_feed) part_feed->push(encoded, n * F::kEncodedSize);
            if (last) {
              encode_vec_into<F>(std::span<const F>(leader_out, n), leader);
              if (leader_part_feed) {
                leader_part_feed->push(leader.data() + leader.size() - n * F::kEncodedSize,
                                       n * F::kEncodedSize);
              }
            }
            leader_out += n;
          },
          /*scaled=*/false, std::span<Pass* const>(passengers, passenger_count));
      if (part_feed) {
        part_feed->finish();
        helper_parts.push_back(part_xof->next_seed());
      }
    }
    std::vector<Seed> parts;
    if (uses_joint_rand_) {
      leader_part_feed->finish();
      parts.push_back(leader_part_xof->next_seed());
      parts.insert(parts.end(), helper_parts.begin(), helper_parts.end());
    }
    if (!prove_rand_done) prove_xof.next_vec(prove_rand.data(), prove_rand.size());
    std::vector<F> joint_rand;
    if (uses_joint_rand_) joint_rand = joint_rands(joint_rand_seed(parts));
    std::vector<F> leader_proof = prove_all(meas, prove_rand, joint_rand);
    for (const std::vector<F>& share : helper_proofs) {
      for (std::size_t i = 0; i < leader_proof.size(); ++i) leader_proof[i] -= share[i];
    }

    VdafShards shards;
    for (const Seed& part : parts) {
      shards.public_share.insert(shards.public_share.end(), part.begin(), part.end());
    }
    encode_vec_into<F>(leader_proof, leader);
    leader.insert(leader.end(), leader_blind.begin(), leader_blind.end());
    shards.input_shares.push_back(std::move(leader));
    for (std::size_t j = 0; j < helpers; ++j) {
      Bytes helper;
      for (std::size_t k = 0; k < per_helper; ++k) {
        const ByteSpan s = seed(j * per_helper + k);
        helper.insert(helper.end(), s.begin(), s.end());
      }
      shards.input_shares.push_back(std::move(helper));
    }
    return shards;
  }

  void check_aggregation_parameter(ByteSpan agg_param) const override {
    if (!agg_param.empty()) throw VdafDecodeError("Prio3 takes an empty aggregation parameter");
  }
  bool is_valid_aggregation_parameter(ByteSpan, std::span<const Bytes> previous) const override {
    return previous.empty();
  }

  VdafPrepInit prep_init(ByteSpan verify_key, std::size_t agg_id, ByteSpan agg_param,
                         ByteSpan nonce, ByteSpan public_share,
                         ByteSpan input_share) const override {
    check_size(verify_key, verify_key_size(), "verify key");
    if (agg_id >= num_shares_) throw std::invalid_argument("Prio3: aggregator ID out of range");
    check_aggregation_parameter(agg_param);
    check_size(nonce, nonce_size(), "nonce");
    check_public_share(public_share);
    check_input_share_length(agg_id, input_share);

    // The measurement share both as field elements (for the circuit) and
    // encoded (hashed into the joint randomness part, and the output share
    // when truncation is the identity).
    //
    // Everything the query consumes is linear in the measurement and proof
    // shares, so both are taken "scaled" (F::decode_scaled: multiplied by
    // F::decode_scale() = R^-1 for Field128, which is the encoded integer
    // read as a Montgomery representation) and the results are written back
    // with encode_scaled: no Montgomery conversion per element either way.
    const F scale = F::decode_scale();
    std::vector<F>& meas_share = scratch_vector<F>(Scratch::kMeasShare, flp_.meas_len());
    std::vector<F> proof_share;
    Bytes expanded_meas_share;
    ByteSpan encoded_meas_share;
    ByteSpan blind;
    Seed helper_part{};  // the helper's joint randomness part, hashed during expansion
    const std::size_t meas_bytes = flp_.meas_len() * F::kEncodedSize;
    // The query randomness depends on nothing else, so it is expanded
    // alongside the long hash or expansion below, sharing its permutations.
    Xof query_xof(verify_key, dst(Usage::kQueryRandomness));
    query_xof.absorb_binder(std::array{num_proofs_});
    query_xof.absorb_binder(nonce);
    std::vector<F> query_rand(flp_.query_rand_len() * num_proofs_);
    std::optional<Pass> query_passenger;
    if (agg_id != 0 || uses_joint_rand_) {
      query_passenger.emplace(query_xof, query_rand.data(), query_rand.size());
    }
    if (agg_id == 0) {
      const std::size_t proof_bytes = proofs_len() * F::kEncodedSize;
      encoded_meas_share = input_share.subspan(0, meas_bytes);
      decode_vec_scaled_into<F>(encoded_meas_share, meas_share, "leader measurement share");
      proof_share.resize(proofs_len());
      decode_vec_scaled_into<F>(input_share.subspan(meas_bytes, proof_bytes), proof_share,
                                "leader proof share");
      if (uses_joint_rand_) blind = input_share.subspan(meas_bytes + proof_bytes, kSeedSize);
    } else {
      // Appended chunk by chunk (no zero-fill first); capacity for the seed
      // too, because it may become the prep state. The joint randomness part
      // hashes the expanded share as it comes out of the XOF, the two
      // sponges permuting side by side.
      expanded_meas_share.reserve(meas_bytes + kSeedSize);
      if (uses_joint_rand_) blind = input_share.subspan(2 * kSeedSize, kSeedSize);
      std::optional<Xof> part_xof;
      std::optional<Feed> part_feed;
      if (uses_joint_rand_) {
        part_xof.emplace(blind, dst(Usage::kJointRandPart));
        const std::uint8_t id = static_cast<std::uint8_t>(agg_id);
        part_xof->absorb_binder({&id, 1});
        part_xof->absorb_binder(nonce);
        part_feed.emplace(*part_xof);
      }
      Feed* feeds[1] = {part_feed ? &*part_feed : nullptr};
      // The proof share and the query randomness ride along.
      proof_share.resize(proofs_len());
      Xof proof_xof(input_share.subspan(kSeedSize, kSeedSize), dst(Usage::kProofShare),
                    std::array{num_proofs_, static_cast<std::uint8_t>(agg_id)});
      Pass proof_passenger(proof_xof, proof_share.data(), proof_share.size(), /*scaled=*/true);
      Pass* passengers[2] = {&proof_passenger, &*query_passenger};
      Xof xof(input_share.subspan(0, kSeedSize), dst(Usage::kMeasShare),
              std::array{static_cast<std::uint8_t>(agg_id)});
      F* values_out = meas_share.data();
      next_vec_feeding<F>(
          xof, meas_share.size(), std::span<Feed* const>(feeds, part_feed ? 1 : 0),
          [&](const F* values, const std::uint8_t* encoded, std::size_t n) {
            std::copy(values, values + n, values_out);
            values_out += n;
            expanded_meas_share.insert(expanded_meas_share.end(), encoded,
                                       encoded + n * F::kEncodedSize);
            if (part_feed) part_feed->push(encoded, n * F::kEncodedSize);
          },
          /*scaled=*/true, std::span<Pass* const>(passengers, 2));
      if (part_feed) {
        part_feed->finish();
        helper_part = part_xof->next_seed();
      }
      encoded_meas_share = expanded_meas_share;
    }

    VdafPrepInit result;
    const std::size_t out_bytes = flp_.output_len() * F::kEncodedSize;
    result.state.reserve(out_bytes + kSeedSize);
    if (flp_.circuit().truncate_is_identity()) {
      if (agg_id == 0) {
        result.state.assign(encoded_meas_share.begin(), encoded_meas_share.end());
      } else {
        result.state = std::move(expanded_meas_share);  // encoded_meas_share now views state
        encoded_meas_share = result.state;
      }
    } else {
      std::vector<F> out_share(flp_.output_len());
      flp_.circuit().truncate(meas_share, out_share.data());  // linear: stays scaled
      encode_vec_scaled_into<F>(out_share, result.state);
    }

    std::vector<F> joint_rand;
    Seed part{};
    if (uses_joint_rand_) {
      if (agg_id == 0) {
        Xof part_xof(blind, dst(Usage::kJointRandPart));
        part_xof.absorb_binder(std::array{std::uint8_t{0}});
        part_xof.absorb_binder(nonce);
        Pass* passengers[1] = {&*query_passenger};
        absorb_alongside<F>(part_xof, encoded_meas_share, std::span<Pass* const>(passengers, 1));
        part = part_xof.next_seed();
      } else {
        part = helper_part;
      }
      std::vector<Seed> parts(num_shares_);
      for (std::size_t i = 0; i < num_shares_; ++i) {
        std::memcpy(parts[i].data(), public_share.data() + i * kSeedSize, kSeedSize);
      }
      parts[agg_id] = part;
      const Seed corrected = joint_rand_seed(parts);
      joint_rand = joint_rands(corrected);
      result.state.insert(result.state.end(), corrected.begin(), corrected.end());
    }

    if (!query_passenger) query_xof.next_vec(query_rand.data(), query_rand.size());

    try {
      if (num_proofs_ == 1) {
        encode_vec_scaled_into<F>(
            flp_.query(meas_share, proof_share, query_rand, joint_rand, num_shares_, scale),
            result.prep_share);
      } else {
        const std::span<const F> proofs(proof_share), query_rands(query_rand),
            joint_rands(joint_rand);
        const std::size_t proof_len = flp_.proof_len(), query_rand_len = flp_.query_rand_len(),
                          joint_rand_len = flp_.joint_rand_len();
        result.prep_share.reserve(verifiers_len() * F::kEncodedSize + kSeedSize);
        for (std::size_t p = 0; p < num_proofs_; ++p) {
          encode_vec_scaled_into<F>(
              flp_.query(meas_share, proofs.subspan(p * proof_len, proof_len),
                         query_rands.subspan(p * query_rand_len, query_rand_len),
                         joint_rands.subspan(p * joint_rand_len, joint_rand_len), num_shares_,
                         scale),
              result.prep_share);
        }
      }
    } catch (const FlpAbort& e) {
      throw VdafPrepError(e.what());
    }
    if (uses_joint_rand_)
      result.prep_share.insert(result.prep_share.end(), part.begin(), part.end());
    return result;
  }

  Bytes prep_shares_to_prep(ByteSpan agg_param, std::span<const Bytes> prep_shares) const override {
    check_aggregation_parameter(agg_param);
    if (prep_shares.size() != num_shares_) {
      throw VdafDecodeError("Prio3: expected one prep share per aggregator");
    }
    // Add the verifier shares as encoded integers (add_encoded checks each
    // element is below p) and convert to field elements once.
    const std::size_t verifier_bytes = verifiers_len() * F::kEncodedSize;
    Bytes verifier_sum(verifier_bytes, 0);
    std::vector<Seed> parts;
    for (const Bytes& prep_share : prep_shares) {
      check_size(prep_share, verifier_bytes + (uses_joint_rand_ ? kSeedSize : 0),
                 "Prio3 prep share");
      const ByteSpan bytes(prep_share);
      add_encoded<F>(verifier_sum, bytes.subspan(0, verifier_bytes), "Prio3 prep share");
      if (uses_joint_rand_) {
        Seed part;
        std::memcpy(part.data(), bytes.data() + verifier_bytes, kSeedSize);
        parts.push_back(part);
      }
    }
    // The sum is already range-checked; decode it scaled (no conversion).
    std::vector<F> verifiers(verifiers_len());
    for (std::size_t i = 0; i < verifiers.size(); ++i) {
      verifiers[i] = *F::decode_scaled(verifier_sum.data() + i * F::kEncodedSize);
    }
    const std::size_t verifier_len = flp_.verifier_len();
    for (std::size_t p = 0; p < num_proofs_; ++p) {
      if (!flp_.decide_scaled(std::span<const F>(verifiers).subspan(p * verifier_len, verifier_len),
                              F::decode_scale())) {
        throw VdafPrepError("Prio3: proof verifier check failed");
      }
    }
    if (!uses_joint_rand_) return {};
    const Seed seed = joint_rand_seed(parts);
    return Bytes(seed.begin(), seed.end());
  }

  VdafPrepNext prep_next(ByteSpan state, ByteSpan prep_message) const override {
    const std::size_t out_bytes = flp_.output_len() * F::kEncodedSize;
    check_size(state, out_bytes + (uses_joint_rand_ ? kSeedSize : 0), "Prio3 prep state");
    check_prep_message(prep_message);
    if (uses_joint_rand_ &&
        !std::equal(prep_message.begin(), prep_message.end(), state.begin() + out_bytes)) {
      throw VdafPrepError("Prio3: joint randomness check failed");
    }
    VdafPrepNext next;
    next.output_share.emplace(state.begin(), state.begin() + out_bytes);
    return next;
  }

  Bytes empty_aggregate_share(ByteSpan agg_param) const override {
    check_aggregation_parameter(agg_param);
    return Bytes(flp_.output_len() * F::kEncodedSize, 0);
  }
  void accumulate(Bytes& aggregate_share, ByteSpan, ByteSpan output_share) const override {
    add_encoded<F>(aggregate_share, output_share, "Prio3 output share");
  }
  void merge(Bytes& aggregate_share, ByteSpan, ByteSpan other) const override {
    add_encoded<F>(aggregate_share, other, "Prio3 aggregate share");
  }

  // Janus's dp_strategy (dp.h): independent noise on every element.
  void set_noise(std::shared_ptr<const dp::IntegerNoise> noise) { noise_ = std::move(noise); }
  void add_noise_to_aggregate_share(Bytes& aggregate_share, ByteSpan agg_param,
                                    std::uint64_t) const override {
    check_aggregation_parameter(agg_param);
    if (!noise_) return;
    check_aggregate_share(aggregate_share);
    std::vector<F> values = decode_vec<F>(aggregate_share, "aggregate share");
    // p = (p - 1) + 1, from the field's own encoding of p - 1.
    std::array<std::uint8_t, F::kEncodedSize> bytes{};
    (F::zero() - F::one()).encode(bytes.data());
    dp::Bignum modulus(BN_lebin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!modulus || BN_add_word(modulus.get(), 1) != 1) throw std::bad_alloc();
    for (F& value : values) {
      const dp::Bignum noise = noise_->sample_mod(dp::system_random(), modulus.get());
      if (BN_bn2lebinpad(noise.get(), bytes.data(), static_cast<int>(bytes.size())) < 0) {
        throw std::logic_error("noise reduced mod p does not fit the field");
      }
      value += *F::decode(bytes.data());
    }
    aggregate_share.clear();
    encode_vec_into<F>(values, aggregate_share);
  }

  nlohmann::json unshard(ByteSpan agg_param, std::span<const Bytes> aggregate_shares,
                         std::uint64_t num_measurements) const override {
    check_aggregation_parameter(agg_param);
    std::vector<F> total(flp_.output_len());
    for (const Bytes& share : aggregate_shares) {
      check_aggregate_share(share);
      const std::vector<F> values = decode_vec<F>(share, "aggregate share");
      for (std::size_t i = 0; i < total.size(); ++i) total[i] += values[i];
    }
    return decode_result(total, num_measurements);
  }

  void check_public_share(ByteSpan public_share) const override {
    check_size(public_share, uses_joint_rand_ ? kSeedSize * num_shares_ : 0, "Prio3 public share");
  }
  void check_input_share(std::size_t agg_id, ByteSpan input_share) const override {
    check_input_share_length(agg_id, input_share);
    if (agg_id == 0) {
      check_encoded_vec<F>(
          input_share.subspan(0, (flp_.meas_len() + proofs_len()) * F::kEncodedSize),
          flp_.meas_len() + proofs_len(), "Prio3 leader input share");
    }
  }
  void check_prep_share(ByteSpan prep_share) const override {
    const std::size_t verifier_bytes = verifiers_len() * F::kEncodedSize;
    check_size(prep_share, verifier_bytes + (uses_joint_rand_ ? kSeedSize : 0), "Prio3 prep share");
    check_encoded_vec<F>(prep_share.subspan(0, verifier_bytes), verifiers_len(),
                         "Prio3 prep share");
  }
  void check_prep_message(ByteSpan prep_message) const override {
    check_size(prep_message, uses_joint_rand_ ? kSeedSize : 0, "Prio3 prep message");
  }
  void check_output_share(ByteSpan output_share) const override {
    check_encoded_vec<F>(output_share, flp_.output_len(), "Prio3 output share");
  }
  void check_aggregate_share(ByteSpan aggregate_share) const override {
    check_encoded_vec<F>(aggregate_share, flp_.output_len(), "Prio3 aggregate share");
  }

 protected:
  const FlpGeneric<F>& flp() const { return flp_; }
  std::size_t num_proofs() const { return num_proofs_; }

 private:
  std::shared_ptr<const dp::IntegerNoise> noise_;

 protected:
  // Throws VdafInputError for a measurement the circuit cannot encode.
  // Writes the encoded measurement into `out` (whose old contents are discarded).
  virtual void encode_measurement(const nlohmann::json& measurement, std::vector<F>& out) const = 0;
  virtual nlohmann::json decode_result(std::span<const F> aggregate,
                                       std::uint64_t num_measurements) const = 0;

 private:
  std::span<const std::uint8_t> dst(Usage usage) const {
    return dsts_[static_cast<std::size_t>(usage)];
  }

  // Lengths of the concatenated proofs and verifiers (PROOF_LEN·PROOFS, VERIFIER_LEN·PROOFS).
  std::size_t proofs_len() const { return flp_.proof_len() * num_proofs_; }
  std::size_t verifiers_len() const { return flp_.verifier_len() * num_proofs_; }

  // The proofs, concatenated: proof p uses the p-th slices of the prove and
  // joint randomness.
  std::vector<F> prove_all(std::span<const F> meas, std::span<const F> prove_rands,
                           std::span<const F> joint_rands) const {
    if (num_proofs_ == 1) return flp_.prove(meas, prove_rands, joint_rands);
    const std::size_t prove_rand_len = flp_.prove_rand_len(),
                      joint_rand_len = flp_.joint_rand_len();
    std::vector<F> proofs;
    proofs.reserve(proofs_len());
    for (std::size_t p = 0; p < num_proofs_; ++p) {
      const std::vector<F> proof =
          flp_.prove(meas, prove_rands.subspan(p * prove_rand_len, prove_rand_len),
                     joint_rands.subspan(p * joint_rand_len, joint_rand_len));
      proofs.insert(proofs.end(), proof.begin(), proof.end());
    }
    return proofs;
  }

  Seed joint_rand_seed(const std::vector<Seed>& parts) const {
    const Seed zero{};
    Xof xof(zero, dst(Usage::kJointRandSeed));
    for (const Seed& part : parts) xof.absorb_binder(part);
    return xof.next_seed();
  }
  std::vector<F> joint_rands(const Seed& seed) const {
    return expand_into_vec<F, Xof>(seed, dst(Usage::kJointRandomness), std::array{num_proofs_},
                                   flp_.joint_rand_len() * num_proofs_);
  }

  void check_input_share_length(std::size_t agg_id, ByteSpan input_share) const {
    if (agg_id >= num_shares_) throw std::invalid_argument("Prio3: aggregator ID out of range");
    const std::size_t blind = uses_joint_rand_ ? kSeedSize : 0;
    if (agg_id == 0) {
      check_size(input_share, (flp_.meas_len() + proofs_len()) * F::kEncodedSize + blind,
                 "Prio3 leader input share");
    } else {
      check_size(input_share, 2 * kSeedSize + blind, "Prio3 helper input share");
    }
  }

  VdafDescription description_;
  std::uint32_t algorithm_id_;
  FlpGeneric<F> flp_;
  std::size_t num_shares_;
  std::uint8_t num_proofs_;
  bool uses_joint_rand_;
  std::array<Dst, 8> dsts_{};
};

class Prio3Count final : public Prio3<Field64> {
 public:
  Prio3Count(VdafDescription description, std::size_t num_shares)
      : Prio3(std::move(description), 0, std::make_shared<CountCircuit>(), num_shares) {}

 protected:
  void encode_measurement(const nlohmann::json& measurement,
                          std::vector<Field64>& out) const override {
    if (measurement.is_boolean()) {
      out.assign(1, measurement.get<bool>() ? Field64::one() : Field64::zero());
      return;
    }
    const auto value = json_to_u64(measurement);
    if (!value || *value > 1) {
      throw VdafInputError("Prio3Count: measurement must be 0, 1 or a boolean");
    }
    out.assign(1, Field64::from_u64(*value));
  }
  nlohmann::json decode_result(std::span<const Field64> aggregate, std::uint64_t) const override {
    return aggregate[0].to_integer();
  }
};

class Prio3Sum final : public Prio3<Field128> {
 public:
  Prio3Sum(VdafDescription description, std::size_t bits, std::size_t num_shares)
      : Prio3(std::move(description), 1, std::make_shared<SumCircuit>(bits), num_shares),
        bits_(bits) {}

 protected:
  void encode_measurement(const nlohmann::json& measurement,
                          std::vector<Field128>& out) const override {
    const auto value = json_to_u64(measurement);
    if (!value || !fits_in_bits(*value, bits_)) {
      throw VdafInputError("Prio3Sum: measurement must be an integer in [0, 2^" +
                           std::to_string(bits_) + ")");
    }
    out.clear();
    encode_into_bit_vector(*value, bits_, out);
  }
  nlohmann::json decode_result(std::span<const Field128> aggregate, std::uint64_t) const override {
    return integer_to_json(aggregate[0].to_integer());
  }

 private:
  std::size_t bits_;
};

// Prio3SumVec (algorithm ID 2: Field128, XofTurboShake128, one proof), and
// the same circuit over other fields, XOFs and numbers of proofs.
template <class F, class Xof = XofTurboShake128>
class Prio3SumVecOver final : public Prio3<F, Xof> {
 public:
  Prio3SumVecOver(VdafDescription description, std::size_t bits, std::size_t length,
                  std::size_t chunk_length, std::size_t num_shares, std::uint32_t algorithm_id = 2,
                  std::size_t num_proofs = 1)
      : Prio3<F, Xof>(std::move(description), algorithm_id,
                      std::make_shared<SumVecCircuitOver<F>>(length, bits, chunk_length),
                      num_shares, num_proofs),
        bits_(bits),
        length_(length) {}

 protected:
  void encode_measurement(const nlohmann::json& measurement, std::vector<F>& out) const override {
    if (!measurement.is_array() || measurement.size() != length_) {
      throw VdafInputError(this->description().name + ": measurement must be an array of " +
                           std::to_string(length_) + " integers");
    }
    out.clear();
    for (const auto& element : measurement) {
      const auto value = json_to_u64(element);
      if (!value || !fits_in_bits(*value, bits_)) {
        throw VdafInputError(this->description().name +
                             ": each element must be an integer in [0, 2^" + std::to_string(bits_) +
                             ")");
      }
      encode_into_bit_vector(*value, bits_, out);
    }
  }
  nlohmann::json decode_result(std::span<const F> aggregate, std::uint64_t) const override {
    nlohmann::json out = nlohmann::json::array();
    for (const F& value : aggregate) out.push_back(integer_to_json(value.to_integer()));
    return out;
  }

 private:
  std::size_t bits_, length_;
};

using Prio3SumVec = Prio3SumVecOver<Field128>;

class Prio3Histogram final : public Prio3<Field128> {
 public:
  Prio3Histogram(VdafDescription description, std::size_t length, std::size_t chunk_length,
                 std::size_t num_shares)
      : Prio3(std::move(description), 3, std::make_shared<HistogramCircuit>(length, chunk_length),
              num_shares),
        length_(length) {}

 protected:
  void encode_measurement(const nlohmann::json& measurement,
                          std::vector<Field128>& out) const override {
    const auto index = json_to_u64(measurement);
    if (!index || *index >= length_) {
      throw VdafInputError("Prio3Histogram: measurement must be a bucket index in [0, " +
                           std::to_string(length_) + ")");
    }
    out.assign(length_, Field128::zero());
    out[*index] = Field128::one();
  }
  nlohmann::json decode_result(std::span<const Field128> aggregate, std::uint64_t) const override {
    nlohmann::json out = nlohmann::json::array();
    for (const Field128& value : aggregate) out.push_back(integer_to_json(value.to_integer()));
    return out;
  }

 private:
  std::size_t length_;
};

// libprio 0.16.8's Prio3FixedPointBoundedL2VecSum, as Janus 0.7 serves it
// (its fpvec_bounded_l2 feature): algorithm ID 0xFFFF0000, Field128,
// XofTurboShake128, one proof. A measurement is `length` fixed-point numbers
// in [−1, 1) with n − 1 fraction bits (n = 16 or 32: Janus's BitSize16 and
// BitSize32, the fixed crate's I1F15 and I1F31) whose L2 norm is below 1.
// Each may be a JSON number or a decimal string (as the interop API sends
// them); either is rounded to the nearest representable value, ties to even,
// as the fixed crate converts. The result is the vector of sums, as floats.
class Prio3FixedPointBoundedL2VecSum final : public Prio3<Field128> {
 public:
  Prio3FixedPointBoundedL2VecSum(VdafDescription description, std::size_t bits, std::size_t length,
                                 std::size_t num_shares)
      : Prio3(std::move(description), kFixedPointBoundedL2VecSumId,
              std::make_shared<FixedPointL2Circuit>(bits, length), num_shares),
        bits_(bits),
        length_(length) {}

 protected:
  void encode_measurement(const nlohmann::json& measurement,
                          std::vector<Field128>& out) const override {
    const std::string name = description().name;
    if (!measurement.is_array() || measurement.size() != length_) {
      throw VdafInputError(name + ": measurement must be an array of " + std::to_string(length_) +
                           " numbers");
    }
    const std::int64_t offset = std::int64_t{1} << (bits_ - 1);
    uint128 norm = 0;
    out.clear();
    for (const auto& element : measurement) {
      const std::optional<std::int64_t> raw = fixed_point_raw(element);
      if (!raw) {
        throw VdafInputError(name + ": each element must be a number in [-1, 1) (" +
                             std::to_string(bits_ - 1) + " fraction bits)");
      }
      encode_into_bit_vector(static_cast<std::uint64_t>(*raw + offset), bits_, out);
      const auto magnitude = static_cast<std::uint64_t>(*raw < 0 ? -*raw : *raw);  // <= 2^31
      norm += magnitude * magnitude;
    }
    const std::size_t norm_bits = 2 * bits_ - 2;
    if (norm >= (uint128{1} << norm_bits)) {
      throw VdafInputError(name + ": the measurement's L2 norm must be below 1");
    }
    encode_into_bit_vector(static_cast<std::uint64_t>(norm), norm_bits, out);  // < 2^62
  }

  // libprio's decode_result: (s − c·2^(n−1))·2^(1−n) for aggregate s over c
  // measurements, the difference taken in integers, then rounded to f64.
  nlohmann::json decode_result(std::span<const Field128> aggregate,
                               std::uint64_t num_measurements) const override {
    const uint128 offset = static_cast<uint128>(num_measurements) << (bits_ - 1);
    const double unit = std::ldexp(1.0, 1 - static_cast<int>(bits_));
    nlohmann::json out = nlohmann::json::array();
    for (const Field128& value : aggregate) {
      const uint128 s = value.to_integer();
      const double result = s < offset ? -static_cast<double>(offset - s) * unit
                                       : static_cast<double>(s - offset) * unit;
      out.push_back(result);
    }
    return out;
  }

 private:
  // The element as a signed n-bit raw value (the number times 2^(n−1)), or
  // nullopt when it is not a number or out of range.
  std::optional<std::int64_t> fixed_point_raw(const nlohmann::json& element) const {
    const double scale = std::ldexp(1.0, static_cast<int>(bits_) - 1);
    std::optional<std::int64_t> raw;
    if (element.is_number()) {
      const double value = element.get<double>();
      if (!std::isfinite(value) || std::abs(value) > 2) return std::nullopt;
      raw = static_cast<std::int64_t>(std::nearbyint(value * scale));  // ties to even
    } else if (element.is_string()) {
      raw = decimal_raw(element.get<std::string>());
    }
    const std::int64_t limit = std::int64_t{1} << (bits_ - 1);
    if (!raw || *raw < -limit || *raw >= limit) return std::nullopt;
    return raw;
  }

  // [+-]digits[.digits][(e|E|@)[+-]digits] times 2^(n−1), rounded to nearest, ties to even,
  // exactly (OpenSSL BIGNUM): the syntax of the fixed crate's FromStr (1.27, libprio 0.16.8's),
  // which takes "1.", ".5" and exponents. The crate rounds a few long strings one unit up that
  // lie just below a midpoint ("0.0000457" is 1.4975 units; it gives 2); this gives the nearest.
  std::optional<std::int64_t> decimal_raw(const std::string& text) const {
    std::size_t i = 0;
    bool negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
    std::string digits;
    std::int64_t fraction_digits = 0;
    bool point = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '.' && !point) {
        point = true;
      } else if (c >= '0' && c <= '9') {
        digits.push_back(c);
        if (point) ++fraction_digits;
      } else {
        break;
      }
    }
    if (digits.empty()) return std::nullopt;
    std::int64_t exponent = 0;
    if (i < text.size()) {
      if (text[i] != 'e' && text[i] != 'E' && text[i] != '@') return std::nullopt;
      ++i;
      bool negative_exponent = false;
      if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
        negative_exponent = text[i++] == '-';
      }
      if (i == text.size()) return std::nullopt;
      // An i32, as the crate reads it: down to −2^31, up to 2^31 − 1.
      const std::int64_t limit =
          std::int64_t{std::numeric_limits<std::int32_t>::max()} + (negative_exponent ? 1 : 0);
      for (; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        exponent = exponent * 10 + (text[i] - '0');
        if (exponent > limit) return std::nullopt;
      }
      if (negative_exponent) exponent = -exponent;
    }
    // The value is digits · 10^scale. Leading zeros, and trailing ones that a scale takes,
    // change nothing, so the length that counts is that of the significant digits.
    const std::size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) return 0;
    digits.erase(0, first);
    std::int64_t scale = exponent - fraction_digits;
    while (digits.size() > 1 && digits.back() == '0') {
      digits.pop_back();
      ++scale;
    }
    const std::int64_t magnitude_digits = static_cast<std::int64_t>(digits.size()) + scale;
    if (magnitude_digits > 2) return std::nullopt;  // 100 or more: out of every range
    // Below 10^-30 the value times 2^31 is far below half a unit: it rounds to 0.
    if (magnitude_digits < -30) return 0;
    if (digits.size() > 10000) return std::nullopt;
    if (scale > 0) {
      digits.append(static_cast<std::size_t>(scale), '0');
      scale = 0;
    }
    fraction_digits = -scale;
    const auto bn = [](BIGNUM* value) {
      if (!value) throw std::bad_alloc();
      return dp::Bignum(value);
    };
    std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> context(BN_CTX_new(), BN_CTX_free);
    if (!context) throw std::bad_alloc();
    BIGNUM* parsed = nullptr;
    if (BN_dec2bn(&parsed, digits.c_str()) == 0) throw std::bad_alloc();
    const dp::Bignum numerator = bn(parsed);
    const dp::Bignum denominator = bn(BN_new()), ten = bn(BN_new()), power = bn(BN_new());
    const dp::Bignum quotient = bn(BN_new()), remainder = bn(BN_new());
    bool ok = BN_set_word(ten.get(), 10) == 1 &&
              BN_set_word(power.get(), static_cast<BN_ULONG>(fraction_digits)) == 1 &&
              BN_exp(denominator.get(), ten.get(), power.get(), context.get()) == 1 &&
              BN_lshift(numerator.get(), numerator.get(), static_cast<int>(bits_) - 1) == 1 &&
              BN_div(quotient.get(), remainder.get(), numerator.get(), denominator.get(),
                     context.get()) == 1 &&
              BN_lshift1(remainder.get(), remainder.get()) == 1;
    if (!ok) throw std::runtime_error("bignum arithmetic failed");
    const int half = BN_cmp(remainder.get(), denominator.get());  // 2·remainder vs denominator
    if (half > 0 || (half == 0 && BN_is_odd(quotient.get()))) {
      if (BN_add_word(quotient.get(), 1) != 1) throw std::runtime_error("bignum arithmetic failed");
    }
    if (BN_num_bits(quotient.get()) > 40) return std::nullopt;
    const auto magnitude = static_cast<std::int64_t>(BN_get_word(quotient.get()));
    return negative ? -magnitude : magnitude;
  }

  std::size_t bits_, length_;
};

// Parameters as Janus writes them: integers (or, from untyped YAML scalars,
// decimal strings). Unknown keys are errors.
class Parameters {
 public:
  Parameters(const VdafDescription& description, std::vector<std::string> allowed)
      : description_(description) {
    const nlohmann::json& params = description.parameters;
    if (!params.is_null() && !params.is_object()) {
      throw std::invalid_argument(description.name + ": parameters must be a map");
    }
    if (params.is_object()) {
      for (const auto& [key, value] : params.items()) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
          throw std::invalid_argument(description.name + ": unknown parameter '" + key + "'");
        }
      }
    }
  }

  std::size_t positive(const std::string& key) const {
    const nlohmann::json& params = description_.parameters;
    if (!params.is_object() || !params.contains(key)) {
      throw std::invalid_argument(description_.name + ": missing parameter '" + key + "'");
    }
    const nlohmann::json& value = params.at(key);
    std::optional<std::uint64_t> number = json_to_u64(value);
    if (!number && value.is_string()) {
      const std::string text = value.get<std::string>();
      if (!text.empty() && text.size() < 19 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        number = std::stoull(text);
      }
    }
    if (!number || *number == 0 || *number > (std::uint64_t{1} << 32)) {
      throw std::invalid_argument(description_.name + ": parameter '" + key +
                                  "' must be a positive integer");
    }
    return static_cast<std::size_t>(*number);
  }

  // A string parameter that must be one of `choices`.
  std::string choice(const std::string& key, const std::vector<std::string>& choices) const {
    const nlohmann::json& params = description_.parameters;
    if (params.is_object() && params.contains(key) && params.at(key).is_string()) {
      const std::string value = params.at(key).get<std::string>();
      if (std::find(choices.begin(), choices.end(), value) != choices.end()) return value;
    }
    std::string list;
    for (const std::string& c : choices) list += (list.empty() ? "" : " or ") + c;
    throw std::invalid_argument(description_.name + ": parameter '" + key + "' must be " + list);
  }

  // Janus's dp_strategy (dp.h): nullopt without differential privacy. It is
  // optional unless `required` (Janus's FixedPointBoundedL2VecSum has no
  // default for it).
  std::optional<dp::EpsilonBudget> dp_budget(
      dp::DpStrategy admitted = dp::DpStrategy::kPureDpDiscreteLaplace,
      bool required = false) const {
    const nlohmann::json& params = description_.parameters;
    if (!params.is_object() || !params.contains("dp_strategy")) {
      if (required) {
        throw std::invalid_argument(description_.name + ": missing parameter 'dp_strategy'");
      }
      return std::nullopt;
    }
    return dp::parse_dp_strategy(params.at("dp_strategy"), description_.name, admitted);
  }

 private:
  const VdafDescription& description_;
};

}  // namespace

namespace {

// SumVec's noise: Laplace for its L1 sensitivity under substitution (dp::sum_vec_sensitivity).
std::shared_ptr<const dp::DiscreteLaplace> sum_vec_noise(const std::string& name,
                                                         const dp::PureDpBudget& budget,
                                                         std::size_t bits, std::size_t length) {
  if (bits >= 128) throw std::invalid_argument(name + ": with a dp_strategy, bits must be < 128");
  dp::Bignum sensitivity = dp::sum_vec_sensitivity(bits, length);
  return std::make_shared<const dp::DiscreteLaplace>(dp::laplace_for(budget, sensitivity.get()));
}

}  // namespace

std::shared_ptr<const Vdaf> make_prio3(const VdafDescription& description, std::size_t num_shares) {
  const std::string& name = description.name;
  if (name == "Prio3Count") {
    Parameters params(description, {});
    return std::make_shared<Prio3Count>(description, num_shares);
  }
  if (name == "Prio3Sum") {
    Parameters params(description, {"bits"});
    return std::make_shared<Prio3Sum>(description, params.positive("bits"), num_shares);
  }
  if (name == "Prio3SumVec") {
    Parameters params(description, {"bits", "length", "chunk_length", "dp_strategy"});
    auto vdaf = std::make_shared<Prio3SumVec>(description, params.positive("bits"),
                                              params.positive("length"),
                                              params.positive("chunk_length"), num_shares);
    if (auto budget = params.dp_budget()) {
      vdaf->set_noise(
          sum_vec_noise(name, *budget, params.positive("bits"), params.positive("length")));
    }
    return vdaf;
  }
  if (name == "Prio3Histogram") {
    Parameters params(description, {"length", "chunk_length", "dp_strategy"});
    auto vdaf = std::make_shared<Prio3Histogram>(description, params.positive("length"),
                                                 params.positive("chunk_length"), num_shares);
    if (auto budget = params.dp_budget()) {
      // Substituting one measurement moves one count down and another up: L1 sensitivity 2.
      vdaf->set_noise(std::make_shared<const dp::DiscreteLaplace>(
          dp::laplace_for(*budget, dp::bignum(2).get())));
    }
    return vdaf;
  }
  if (name == kSumVecField64MultiproofHmacSha256Aes128) {
    // Janus 0.7's VdafInstance: proofs is a u8, and Janus refuses fewer than
    // two proofs with Field64.
    Parameters params(description, {"proofs", "bits", "length", "chunk_length", "dp_strategy"});
    const std::size_t proofs = params.positive("proofs");
    if (proofs < 2 || proofs > 255) {
      throw std::invalid_argument(name + ": parameter 'proofs' must be in 2..255");
    }
    auto vdaf = std::make_shared<Prio3SumVecOver<Field64, XofHmacSha256Aes128>>(
        description, params.positive("bits"), params.positive("length"),
        params.positive("chunk_length"), num_shares, kSumVecField64MultiproofHmacSha256Aes128Id,
        proofs);
    if (auto budget = params.dp_budget()) {
      vdaf->set_noise(
          sum_vec_noise(name, *budget, params.positive("bits"), params.positive("length")));
    }
    return vdaf;
  }
  if (name == kFixedPointBoundedL2VecSum) {
    Parameters params(description, {"bitsize", "dp_strategy", "length"});
    const std::size_t bits =
        params.choice("bitsize", {"BitSize16", "BitSize32"}) == "BitSize16" ? 16 : 32;
    const auto budget = params.dp_budget(dp::DpStrategy::kZCdpDiscreteGaussian, true);
    auto vdaf = std::make_shared<Prio3FixedPointBoundedL2VecSum>(
        description, bits, params.positive("length"), num_shares);
    if (budget) {
      // libprio's L2 sensitivity under substitution: two vectors of norm
      // below 1 differ by less than 2, which is 2·2^(n−1) = 2^n raw units,
      // whatever the length and the report count.
      dp::Bignum sensitivity = dp::bignum(0);
      if (BN_set_bit(sensitivity.get(), static_cast<int>(bits)) != 1) throw std::bad_alloc();
      vdaf->set_noise(std::make_shared<const dp::DiscreteGaussian>(
          dp::gaussian_for(*budget, sensitivity.get())));
    }
    return vdaf;
  }
  throw std::invalid_argument("unknown Prio3 VDAF '" + name + "'");
}

std::shared_ptr<const Vdaf> make_prio3_sum_vec_field64_multiproof_turboshake(
    std::size_t proofs, std::size_t bits, std::size_t length, std::size_t chunk_length,
    std::size_t num_shares, std::uint32_t algorithm_id) {
  VdafDescription description{
      "Prio3SumVecField64Multiproof",
      {{"proofs", proofs}, {"bits", bits}, {"length", length}, {"chunk_length", chunk_length}}};
  return std::make_shared<Prio3SumVecOver<Field64>>(std::move(description), bits, length,
                                                    chunk_length, num_shares, algorithm_id, proofs);
}

}  // namespace janus::prio3
