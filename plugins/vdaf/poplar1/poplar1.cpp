#include "poplar1.h"

#include <openssl/rand.h>

#include <algorithm>
#include <string>
#include <utility>

namespace janus::poplar1 {
namespace {

// VDAF-08 §8.2 usages of the Poplar1 XOF.
enum Usage : std::uint16_t {
  kUsageShardRand = 1,
  kUsageCorrInner = 2,
  kUsageCorrLeaf = 3,
  kUsageVerifyRand = 4,
};

std::array<std::uint8_t, 8> dst(Usage usage) { return format_dst(0, kAlgorithmId, usage); }

constexpr std::size_t kNonceSize = 16;
constexpr std::size_t kRandSize = 3 * kSeedSize + IdpfPoplar::kRandSize;

[[noreturn]] void decode_error(const std::string& what) {
  throw VdafDecodeError("Poplar1: " + what);
}

template <class F>
void append(Bytes& out, const F& x) {
  const std::size_t at = out.size();
  out.resize(at + F::kEncodedSize);
  x.encode(out.data() + at);
}

template <class F>
Bytes encode_vec(const std::vector<F>& values) {
  Bytes out;
  out.reserve(values.size() * F::kEncodedSize);
  for (const F& x : values) append(out, x);
  return out;
}

template <class F>
std::vector<F> decode_vec(ByteSpan encoded, const char* what) {
  if (encoded.size() % F::kEncodedSize != 0) {
    decode_error(std::string(what) + ": length is not a multiple of " + F::kName + "'s size");
  }
  std::vector<F> values(encoded.size() / F::kEncodedSize);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!F::decode(encoded.data() + i * F::kEncodedSize, values[i])) {
      decode_error(std::string(what) + ": " + F::kName + " element out of range");
    }
  }
  return values;
}

template <class F>
std::vector<F> decode_vec_of(ByteSpan encoded, std::size_t count, const char* what) {
  if (encoded.size() != count * F::kEncodedSize) {
    decode_error(std::string(what) + ": expected " + std::to_string(count) + " " + F::kName +
                 " elements");
  }
  return decode_vec<F>(encoded, what);
}

Bytes concat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (ByteSpan part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// A `length`-bit string as JSON: a '0'/'1' string, an array of Booleans (the interop test
// API's form) or an unsigned integer (length <= 64). `what` names it in errors.
Path path_from_json(const nlohmann::json& value, std::size_t length, const std::string& what) {
  const std::string bits = std::to_string(length);
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() != length || text.find_first_not_of("01") != std::string::npos) {
      throw VdafInputError("Poplar1: a string " + what + " must be " + bits +
                           " '0'/'1' characters");
    }
    Path path(length);
    for (std::size_t i = 0; i < length; ++i) path[i] = text[i] == '1';
    return path;
  }
  if (value.is_array()) {
    if (value.size() != length) {
      throw VdafInputError("Poplar1: a Boolean-array " + what + " must have " + bits + " elements");
    }
    Path path;
    path.reserve(length);
    for (const auto& bit : value) {
      if (!bit.is_boolean()) throw VdafInputError("Poplar1: " + what + " array of non-Booleans");
      path.push_back(bit.get<bool>() ? 1 : 0);
    }
    return path;
  }
  if (value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    if (length > 64) {
      throw VdafInputError("Poplar1: with more than 64 bits, give the " + what +
                           " as a string of '0'/'1'");
    }
    const std::uint64_t number = value.get<std::uint64_t>();
    if (length < 64 && number >> length != 0) {
      throw VdafInputError("Poplar1: " + what + " does not fit in " + bits + " bits");
    }
    return path_from_integer(number, length);
  }
  throw VdafInputError("Poplar1: " + what +
                       " must be an unsigned integer, a bit string or an array of Booleans");
}

// The big-endian integer `bytes` as bits, least significant first: bit i of the packing.
bool packed_bit(ByteSpan packed, std::size_t i) {
  const std::size_t byte = packed.size() - 1 - i / 8;
  return (packed[byte] >> (i % 8)) & 1;
}

// What aggregation needs of a parameter: its level (hence the field) and prefix count. The
// encoding is checked (level below BITS, the packing's length, zero padding bits) without
// unpacking the prefixes, which accumulate would otherwise do for every report.
struct ParameterShape {
  std::uint16_t level = 0;
  std::size_t count = 0;
  std::size_t width = 0;  // bits per prefix: level + 1
  ByteSpan packed;
};

ParameterShape decode_parameter_shape(ByteSpan encoded, std::size_t bits) {
  if (encoded.size() < 6) decode_error("aggregation parameter shorter than 6 bytes");
  ParameterShape shape;
  shape.level = static_cast<std::uint16_t>(encoded[0] << 8 | encoded[1]);
  if (shape.level >= bits) {
    decode_error("aggregation parameter level " + std::to_string(shape.level) +
                 " is not below BITS = " + std::to_string(bits));
  }
  std::uint64_t count = 0;
  for (int i = 2; i < 6; ++i) count = count << 8 | encoded[i];
  shape.width = shape.level + 1u;
  shape.packed = encoded.subspan(6);
  // Compare in bits first: a huge count must not be multiplied into an allocation.
  if (count > shape.packed.size() * 8 / shape.width ||
      (shape.width * count + 7) / 8 != shape.packed.size()) {
    decode_error("aggregation parameter: " + std::to_string(count) + " prefixes of " +
                 std::to_string(shape.width) + " bits do not fill " +
                 std::to_string(shape.packed.size()) + " bytes");
  }
  shape.count = static_cast<std::size_t>(count);
  for (std::size_t bit = shape.width * shape.count; bit < shape.packed.size() * 8; ++bit) {
    if (packed_bit(shape.packed, bit)) {
      decode_error("aggregation parameter: non-zero padding bits");
    }
  }
  return shape;
}

// An input share: IDPF key ‖ correlation seed ‖ corr_inner (2·(BITS-1) Field64) ‖ corr_leaf
// (2 Field255).
struct InputShare {
  Seed key{};
  Seed corr_seed{};
  std::vector<Field64> corr_inner;
  std::vector<Field255> corr_leaf;
};

// Preparation state: step (1 or 2) ‖ level (u16) ‖ the level's field elements
// (step 1: A, B, agg_id, output share; step 2: output share).
struct PrepState {
  std::uint8_t step = 0;
  std::uint16_t level = 0;
  ByteSpan elements;
};

class Poplar1 final : public Vdaf {
 public:
  Poplar1(VdafDescription description, std::size_t bits)
      : description_(std::move(description)), bits_(bits), idpf_(bits) {}

  const VdafDescription& description() const override { return description_; }
  std::uint32_t algorithm_id() const override { return kAlgorithmId; }
  std::size_t verify_key_size() const override { return kSeedSize; }
  std::size_t nonce_size() const override { return kNonceSize; }
  std::size_t rand_size() const override { return kRandSize; }
  std::size_t rounds() const override { return 2; }
  std::size_t num_shares() const override { return 2; }
  bool requires_aggregation_parameter() const override { return true; }

  VdafShards shard(const nlohmann::json& measurement, ByteSpan nonce,
                   ByteSpan rand) const override {
    if (nonce.size() != kNonceSize) throw VdafInputError("Poplar1: nonce must be 16 bytes");
    if (rand.size() != kRandSize) throw VdafInputError("Poplar1: rand must be 80 bytes");
    const Path alpha = measurement_path(measurement);
    const ByteSpan idpf_rand = rand.subspan(0, IdpfPoplar::kRandSize);
    const ByteSpan corr_seed[2] = {rand.subspan(IdpfPoplar::kRandSize, kSeedSize),
                                   rand.subspan(IdpfPoplar::kRandSize + kSeedSize, kSeedSize)};
    const ByteSpan shard_seed = rand.subspan(IdpfPoplar::kRandSize + 2 * kSeedSize, kSeedSize);

    // Each level's IDPF value is (1, k) with a random authenticator k.
    XofTurboShake128 xof(shard_seed, dst(kUsageShardRand), nonce);
    const std::vector<Field64> inner_auth = xof.next_vec<Field64>(bits_ - 1);
    const Field255 leaf_auth = xof.next_vec<Field255>(1)[0];
    std::vector<Pair<Field64>> beta_inner;
    beta_inner.reserve(bits_ - 1);
    for (const Field64& k : inner_auth) beta_inner.push_back({Field64(1), k});
    const Pair<Field255> beta_leaf = {Field255(1), leaf_auth};

    std::array<Seed, 2> keys;
    VdafShards shards;
    shards.public_share = idpf_.gen(alpha, beta_inner, beta_leaf, nonce, idpf_rand, keys);

    // Shares of the sketch's correlated randomness (a, b, c) per level, and of (A, B).
    const std::vector<Field64> inner_offsets =
        correlation<Field64>(corr_seed, kUsageCorrInner, nonce, 3 * (bits_ - 1));
    const std::vector<Field255> leaf_offsets =
        correlation<Field255>(corr_seed, kUsageCorrLeaf, nonce, 3);
    InputShare share[2];
    for (std::size_t level = 0; level + 1 < bits_; ++level) {
      correlated_pair<Field64>(inner_offsets.data() + 3 * level, inner_auth[level], xof,
                               share[0].corr_inner, share[1].corr_inner);
    }
    correlated_pair<Field255>(leaf_offsets.data(), leaf_auth, xof, share[0].corr_leaf,
                              share[1].corr_leaf);
    for (int j = 0; j < 2; ++j) {
      share[j].key = keys[j];
      std::copy(corr_seed[j].begin(), corr_seed[j].end(), share[j].corr_seed.begin());
      shards.input_shares.push_back(encode_input_share(share[j]));
    }
    return shards;
  }

  void check_aggregation_parameter(ByteSpan agg_param) const override {
    decode_aggregation_parameter(agg_param, bits_);
  }

  // {"level": L, "prefixes": [P, ...]}, each prefix L + 1 bits in any form a measurement
  // takes, strictly increasing (the order of the counts in the result).
  Bytes aggregation_parameter_from_json(const nlohmann::json& parameter) const override {
    if (!parameter.is_object() || parameter.size() != 2 || !parameter.contains("level") ||
        !parameter.contains("prefixes")) {
      throw VdafInputError(
          "Poplar1: the aggregation parameter is {\"level\": L, \"prefixes\": [...]}");
    }
    const nlohmann::json& level = parameter["level"];
    if (!level.is_number_integer() || level.get<std::int64_t>() < 0 ||
        level.get<std::int64_t>() >= static_cast<std::int64_t>(bits_)) {
      throw VdafInputError("Poplar1: level must be an integer in 0.." + std::to_string(bits_ - 1));
    }
    const nlohmann::json& prefixes = parameter["prefixes"];
    if (!prefixes.is_array()) throw VdafInputError("Poplar1: prefixes must be an array");
    AggregationParameter param;
    param.level = static_cast<std::uint16_t>(level.get<std::int64_t>());
    for (const nlohmann::json& prefix : prefixes) {
      param.prefixes.push_back(path_from_json(prefix, param.level + 1u, "prefix"));
    }
    Bytes encoded = encode_aggregation_parameter(param);
    try {
      decode_aggregation_parameter(encoded, bits_);
    } catch (const VdafDecodeError& e) {
      throw VdafInputError(e.what());
    }
    return encoded;
  }

  // VDAF-08 §8.2.3: a report is prepared at most once per level.
  bool is_valid_aggregation_parameter(ByteSpan agg_param,
                                      std::span<const Bytes> previous) const override {
    const std::uint16_t level = decode_aggregation_parameter(agg_param, bits_).level;
    return std::none_of(previous.begin(), previous.end(), [&](const Bytes& other) {
      return decode_parameter_shape(other, bits_).level == level;
    });
  }

  VdafPrepInit prep_init(ByteSpan verify_key, std::size_t agg_id, ByteSpan agg_param,
                         ByteSpan nonce, ByteSpan public_share,
                         ByteSpan input_share) const override {
    if (verify_key.size() != kSeedSize) decode_error("verify key must be 16 bytes");
    if (agg_id > 1) throw VdafPrepError("Poplar1: aggregator id must be 0 or 1");
    if (nonce.size() != kNonceSize) decode_error("nonce must be 16 bytes");
    const AggregationParameter param = decode_aggregation_parameter(agg_param, bits_);
    const InputShare share = decode_input_share(input_share);
    IdpfPublicShare idpf_public;
    try {
      idpf_public = idpf_.decode_public_share(public_share);
    } catch (const IdpfError& e) {
      decode_error(e.what());
    }
    const IdpfValues values =
        idpf_.eval(agg_id, idpf_public, share.key, param.level, param.prefixes, nonce);
    if (is_leaf(param.level)) {
      return prep_init_at<Field255>(verify_key, agg_id, param, nonce, share, values.leaf);
    }
    return prep_init_at<Field64>(verify_key, agg_id, param, nonce, share, values.inner);
  }

  Bytes prep_shares_to_prep(ByteSpan agg_param, std::span<const Bytes> prep_shares) const override {
    if (prep_shares.size() != 2) decode_error("preparation needs two prep shares");
    return is_leaf(decode_parameter_shape(agg_param, bits_).level)
               ? combine_sketches<Field255>(prep_shares)
               : combine_sketches<Field64>(prep_shares);
  }

  VdafPrepNext prep_next(ByteSpan state, ByteSpan prep_message) const override {
    const PrepState decoded = decode_state(state);
    return is_leaf(decoded.level) ? prep_next_at<Field255>(decoded, prep_message)
                                  : prep_next_at<Field64>(decoded, prep_message);
  }

  Bytes empty_aggregate_share(ByteSpan agg_param) const override {
    const ParameterShape shape = decode_parameter_shape(agg_param, bits_);
    return Bytes(shape.count * element_size(shape.level), 0);
  }

  void accumulate(Bytes& aggregate_share, ByteSpan agg_param,
                  ByteSpan output_share) const override {
    add_into(aggregate_share, agg_param, output_share, "output share");
  }

  void merge(Bytes& aggregate_share, ByteSpan agg_param, ByteSpan other) const override {
    add_into(aggregate_share, agg_param, other, "aggregate share");
  }

  nlohmann::json unshard(ByteSpan agg_param, std::span<const Bytes> aggregate_shares,
                         std::uint64_t) const override {
    Bytes total = empty_aggregate_share(agg_param);
    for (const Bytes& share : aggregate_shares) merge(total, agg_param, share);
    return is_leaf(decode_parameter_shape(agg_param, bits_).level) ? counts<Field255>(total)
                                                                   : counts<Field64>(total);
  }

  void check_public_share(ByteSpan public_share) const override {
    try {
      idpf_.decode_public_share(public_share);
    } catch (const IdpfError& e) {
      decode_error(e.what());
    }
  }
  void check_input_share(std::size_t, ByteSpan input_share) const override {
    decode_input_share(input_share);
  }
  // Without the aggregation parameter only the sizes a sketch share can have are known:
  // 3 or 1 elements of Field64 or Field255. prep_shares_to_prep checks the rest.
  void check_prep_share(ByteSpan prep_share) const override {
    const std::size_t n = prep_share.size();
    if (n != 3 * Field64::kEncodedSize && n != Field64::kEncodedSize &&
        n != 3 * Field255::kEncodedSize && n != Field255::kEncodedSize) {
      decode_error("prep share of " + std::to_string(n) + " bytes");
    }
  }
  // The round-one sketch (3 elements) or the empty round-two message.
  void check_prep_message(ByteSpan prep_message) const override {
    const std::size_t n = prep_message.size();
    if (n != 0 && n != 3 * Field64::kEncodedSize && n != 3 * Field255::kEncodedSize) {
      decode_error("prep message of " + std::to_string(n) + " bytes");
    }
  }
  void check_output_share(ByteSpan output_share) const override {
    if (output_share.size() % Field64::kEncodedSize != 0) decode_error("output share length");
  }
  void check_aggregate_share(ByteSpan aggregate_share) const override {
    if (aggregate_share.size() % Field64::kEncodedSize != 0) decode_error("aggregate share length");
  }

 private:
  bool is_leaf(std::size_t level) const { return level + 1 == bits_; }
  std::size_t element_size(std::size_t level) const {
    return is_leaf(level) ? Field255::kEncodedSize : Field64::kEncodedSize;
  }
  std::size_t input_share_size() const {
    return 2 * kSeedSize + 2 * (bits_ - 1) * Field64::kEncodedSize + 2 * Field255::kEncodedSize;
  }

  Path measurement_path(const nlohmann::json& measurement) const {
    return path_from_json(measurement, bits_, "measurement");
  }

  // The sum of both seeds' expansions: the clear (a, b, c) triples.
  template <class F>
  std::vector<F> correlation(const ByteSpan (&seeds)[2], Usage usage, ByteSpan nonce,
                             std::size_t count) const {
    std::vector<F> sum(count);
    for (std::uint8_t j = 0; j < 2; ++j) {
      const Bytes binder = concat({ByteSpan(&j, 1), nonce});
      XofTurboShake128 xof(seeds[j], dst(usage), binder);
      const std::vector<F> part = xof.next_vec<F>(count);
      for (std::size_t i = 0; i < count; ++i) sum[i] += part[i];
    }
    return sum;
  }

  // A = -2a + k, B = a² + b - a·k + c, split as (A, B) - corr1 and corr1 (corr1 from the XOF).
  template <class F>
  static void correlated_pair(const F* abc, const F& k, XofTurboShake128& xof,
                              std::vector<F>& share0, std::vector<F>& share1) {
    const F& a = abc[0];
    const F& b = abc[1];
    const F& c = abc[2];
    const F big_a = k - F(2) * a;
    const F big_b = a * a + b - a * k + c;
    const std::vector<F> corr1 = xof.next_vec<F>(2);
    share0.push_back(big_a - corr1[0]);
    share0.push_back(big_b - corr1[1]);
    share1.push_back(corr1[0]);
    share1.push_back(corr1[1]);
  }

  Bytes encode_input_share(const InputShare& share) const {
    Bytes out(share.key.begin(), share.key.end());
    out.insert(out.end(), share.corr_seed.begin(), share.corr_seed.end());
    for (const Field64& x : share.corr_inner) append(out, x);
    for (const Field255& x : share.corr_leaf) append(out, x);
    return out;
  }

  InputShare decode_input_share(ByteSpan encoded) const {
    if (encoded.size() != input_share_size()) {
      decode_error("input share must be " + std::to_string(input_share_size()) + " bytes, got " +
                   std::to_string(encoded.size()));
    }
    InputShare share;
    std::copy_n(encoded.begin(), kSeedSize, share.key.begin());
    std::copy_n(encoded.begin() + kSeedSize, kSeedSize, share.corr_seed.begin());
    const std::size_t inner_bytes = 2 * (bits_ - 1) * Field64::kEncodedSize;
    share.corr_inner =
        decode_vec<Field64>(encoded.subspan(2 * kSeedSize, inner_bytes), "input share");
    share.corr_leaf =
        decode_vec<Field255>(encoded.subspan(2 * kSeedSize + inner_bytes), "input share");
    return share;
  }

  template <class F>
  VdafPrepInit prep_init_at(ByteSpan verify_key, std::size_t agg_id,
                            const AggregationParameter& param, ByteSpan nonce,
                            const InputShare& share, const std::vector<Pair<F>>& values) const {
    const std::uint8_t agg_byte = static_cast<std::uint8_t>(agg_id);
    const Bytes corr_binder = concat({ByteSpan(&agg_byte, 1), nonce});
    F a, b, c, big_a, big_b;
    if constexpr (std::is_same_v<F, Field255>) {
      XofTurboShake128 corr(share.corr_seed, dst(kUsageCorrLeaf), corr_binder);
      const std::vector<F> abc = corr.next_vec<F>(3);
      a = abc[0], b = abc[1], c = abc[2];
      big_a = share.corr_leaf[0];
      big_b = share.corr_leaf[1];
    } else {
      XofTurboShake128 corr(share.corr_seed, dst(kUsageCorrInner), corr_binder);
      // The triples of the levels above come first in the stream.
      const std::vector<F> abc = corr.next_vec<F>(3 * (param.level + 1));
      a = abc[3 * param.level], b = abc[3 * param.level + 1], c = abc[3 * param.level + 2];
      big_a = share.corr_inner[2 * param.level];
      big_b = share.corr_inner[2 * param.level + 1];
    }
    const std::uint8_t level_be[2] = {static_cast<std::uint8_t>(param.level >> 8),
                                      static_cast<std::uint8_t>(param.level)};
    XofTurboShake128 verify(verify_key, dst(kUsageVerifyRand), concat({nonce, level_be}));
    const std::vector<F> verify_rand = verify.next_vec<F>(param.prefixes.size());

    // Round one of the sketch: the masked input values.
    F sketch[3] = {a, b, c};
    Bytes state = {1, level_be[0], level_be[1]};
    append(state, big_a);
    append(state, big_b);
    append(state, F(agg_id));
    for (std::size_t i = 0; i < verify_rand.size(); ++i) {
      const F& r = verify_rand[i];
      const F& data = values[i][0];
      const F& auth = values[i][1];
      sketch[0] += data * r;
      sketch[1] += data * r * r;
      sketch[2] += auth * r;
      append(state, data);
    }
    VdafPrepInit init;
    init.state = std::move(state);
    for (const F& x : sketch) append(init.prep_share, x);
    return init;
  }

  PrepState decode_state(ByteSpan state) const {
    if (state.size() < 3 || (state[0] != 1 && state[0] != 2)) decode_error("malformed prep state");
    PrepState decoded;
    decoded.step = state[0];
    decoded.level = static_cast<std::uint16_t>(state[1] << 8 | state[2]);
    if (decoded.level >= bits_) decode_error("prep state for a level beyond BITS");
    decoded.elements = state.subspan(3);
    return decoded;
  }

  template <class F>
  VdafPrepNext prep_next_at(const PrepState& state, ByteSpan prep_message) const {
    const std::vector<F> elements = decode_vec<F>(state.elements, "prep state");
    VdafPrepNext next;
    if (state.step == 2) {
      if (!prep_message.empty()) decode_error("round-two prep message must be empty");
      next.output_share = Bytes(state.elements.begin(), state.elements.end());
      return next;
    }
    if (elements.size() < 3) decode_error("malformed prep state");
    // An empty round-one message stands for the all-zero sketch (VDAF-08 prep_next).
    const std::vector<F> sketch = prep_message.empty()
                                      ? std::vector<F>(3)
                                      : decode_vec_of<F>(prep_message, 3, "prep message");
    const F& big_a = elements[0];
    const F& big_b = elements[1];
    const F& agg_id = elements[2];
    const F share =
        agg_id * (sketch[0] * sketch[0] - sketch[1] - sketch[2]) + big_a * sketch[0] + big_b;
    const std::uint8_t level_be[2] = {static_cast<std::uint8_t>(state.level >> 8),
                                      static_cast<std::uint8_t>(state.level)};
    next.state = {2, level_be[0], level_be[1]};
    const std::size_t skip = 3 * F::kEncodedSize;
    next.state.insert(next.state.end(), state.elements.begin() + skip, state.elements.end());
    append(next.prep_share, share);
    return next;
  }

  template <class F>
  Bytes combine_sketches(std::span<const Bytes> prep_shares) const {
    const std::vector<F> first = decode_vec<F>(prep_shares[0], "prep share");
    const std::vector<F> second = decode_vec<F>(prep_shares[1], "prep share");
    if (first.size() != second.size() || (first.size() != 3 && first.size() != 1)) {
      decode_error("prep shares of different rounds or lengths");
    }
    std::vector<F> sketch(first.size());
    for (std::size_t i = 0; i < sketch.size(); ++i) sketch[i] = first[i] + second[i];
    if (sketch.size() == 3) return encode_vec(sketch);
    // Round two: the shares sum to zero exactly when the output shares are one-hot.
    if (!sketch[0].is_zero()) throw VdafPrepError("Poplar1: sketch verification failed");
    return {};
  }

  void add_into(Bytes& total, ByteSpan agg_param, ByteSpan other, const char* what) const {
    const ParameterShape shape = decode_parameter_shape(agg_param, bits_);
    if (is_leaf(shape.level)) {
      add_into_at<Field255>(total, shape.count, other, what);
    } else {
      add_into_at<Field64>(total, shape.count, other, what);
    }
  }

  template <class F>
  static void add_into_at(Bytes& total, std::size_t count, ByteSpan other, const char* what) {
    std::vector<F> sum = decode_vec_of<F>(total, count, "aggregate share");
    const std::vector<F> addend = decode_vec_of<F>(other, count, what);
    for (std::size_t i = 0; i < count; ++i) sum[i] += addend[i];
    total = encode_vec(sum);
  }

  template <class F>
  static nlohmann::json counts(ByteSpan total) {
    nlohmann::json result = nlohmann::json::array();
    for (const F& x : decode_vec<F>(total, "aggregate share")) {
      if constexpr (std::is_same_v<F, Field255>) {
        if (x.fits_u64()) {
          result.push_back(x.low_u64());
        } else {
          result.push_back(x.to_decimal());
        }
      } else {
        result.push_back(x.as_u64());
      }
    }
    return result;
  }

  VdafDescription description_;
  std::size_t bits_;
  IdpfPoplar idpf_;
};

}  // namespace

Path path_from_integer(std::uint64_t value, std::size_t length) {
  Path path(length, 0);
  for (std::size_t i = 0; i < length && i < 64; ++i) {
    path[length - 1 - i] = static_cast<std::uint8_t>((value >> i) & 1);
  }
  return path;
}

AggregationParameter aggregation_parameter(std::uint16_t level,
                                           const std::vector<std::uint64_t>& prefixes) {
  AggregationParameter param;
  param.level = level;
  for (std::uint64_t prefix : prefixes)
    param.prefixes.push_back(path_from_integer(prefix, level + 1u));
  return param;
}

Bytes encode_aggregation_parameter(const AggregationParameter& param) {
  const std::size_t width = param.level + 1u;
  if (param.prefixes.size() > 0xFFFFFFFFu) throw VdafInputError("Poplar1: too many prefixes");
  Bytes out = {static_cast<std::uint8_t>(param.level >> 8), static_cast<std::uint8_t>(param.level)};
  const std::uint32_t count = static_cast<std::uint32_t>(param.prefixes.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(count >> shift));
  const std::size_t packed_size = (width * count + 7) / 8;
  Bytes packed(packed_size, 0);
  for (std::size_t i = 0; i < count; ++i) {
    const Path& prefix = param.prefixes[i];
    if (prefix.size() != width) throw VdafInputError("Poplar1: prefix of the wrong length");
    // Prefix bit b (least significant first) is bit width·i + b of the packing.
    for (std::size_t b = 0; b < width; ++b) {
      if (prefix[width - 1 - b] & 1) {
        const std::size_t bit = width * i + b;
        packed[packed_size - 1 - bit / 8] |= static_cast<std::uint8_t>(1u << (bit % 8));
      }
    }
  }
  out.insert(out.end(), packed.begin(), packed.end());
  return out;
}

AggregationParameter decode_aggregation_parameter(ByteSpan encoded, std::size_t bits) {
  const ParameterShape shape = decode_parameter_shape(encoded, bits);
  AggregationParameter param;
  param.level = shape.level;
  param.prefixes.reserve(shape.count);
  // Bit k of the packing (k = width·i + b, prefix bit b least significant first) is bit k % 8
  // of byte size − 1 − k / 8: walk the bytes from the end instead of indexing every bit.
  const std::uint8_t* byte = shape.packed.data() + shape.packed.size();
  unsigned shift = 8;
  std::uint8_t current = 0;
  for (std::size_t i = 0; i < shape.count; ++i) {
    Path prefix(shape.width);
    for (std::size_t b = shape.width; b-- > 0;) {
      if (shift == 8) {
        current = *--byte;
        shift = 0;
      }
      prefix[b] = (current >> shift++) & 1;
    }
    // Strictly increasing (VDAF-08 prep_init): unique, and cheap to walk in order.
    if (!param.prefixes.empty() && !(param.prefixes.back() < prefix)) {
      decode_error("aggregation parameter: prefixes are not strictly increasing");
    }
    param.prefixes.push_back(std::move(prefix));
  }
  return param;
}

std::shared_ptr<const Vdaf> make_poplar1(const VdafDescription& description) {
  if (description.name != kName) {
    throw std::invalid_argument("unknown Poplar1 VDAF '" + description.name + "'");
  }
  const nlohmann::json& params = description.parameters;
  for (const auto& [key, value] : params.items()) {
    if (key != "bits") throw std::invalid_argument("Poplar1: unknown parameter '" + key + "'");
  }
  if (!params.contains("bits") || !params["bits"].is_number_integer()) {
    throw std::invalid_argument("Poplar1: parameter 'bits' (an integer) is required");
  }
  const std::int64_t bits = params["bits"].get<std::int64_t>();
  if (bits < 1 || bits > 0xFFFF) {
    throw std::invalid_argument("Poplar1: parameter 'bits' must be in 1..65535");
  }
  return std::make_shared<const Poplar1>(description, static_cast<std::size_t>(bits));
}

}  // namespace janus::poplar1
