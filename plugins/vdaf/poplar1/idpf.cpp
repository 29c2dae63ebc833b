#include "idpf.h"

#include <algorithm>
#include <array>
#include <string>

namespace janus::poplar1 {
namespace {

// The IDPF's two fixed AES keys for one binder (VDAF-08 §8.3.3: extend uses
// format_dst(1, 0, 0), convert format_dst(1, 0, 1)).
struct IdpfKeys {
  explicit IdpfKeys(ConstBytes binder)
      : extend(format_dst(1, 0, 0), binder), convert(format_dst(1, 0, 1), binder) {}
  FixedKeyAes128 extend;
  FixedKeyAes128 convert;
};

struct Extended {
  std::array<Seed, 2> seeds;
  std::array<std::uint8_t, 2> ctrl;
};

Extended extend(const IdpfKeys& keys, const Seed& seed) {
  XofFixedKeyAes128 xof(keys.extend, seed, 2 * kSeedSize);
  Extended out;
  xof.next(out.seeds[0].data(), kSeedSize);
  xof.next(out.seeds[1].data(), kSeedSize);
  // The least significant bits are the control bits; they are then cleared.
  for (int i = 0; i < 2; ++i) {
    out.ctrl[i] = out.seeds[i][0] & 1;
    out.seeds[i][0] &= 0xFE;
  }
  return out;
}

// convert: the next seed and, when `value` is given, the node's value in the level's field.
template <class F>
Seed convert(const IdpfKeys& keys, const Seed& seed, Pair<F>* value) {
  XofFixedKeyAes128 xof(keys.convert, seed,
                        kSeedSize + (value != nullptr ? 2 * F::kEncodedSize : 0));
  Seed next;
  xof.next(next.data(), kSeedSize);
  if (value != nullptr) {
    // next_vec(2) without its vector: rejection sampling of little-endian candidates.
    std::array<std::uint8_t, F::kEncodedSize> candidate;
    for (F& w : *value) {
      do {
        xof.next(candidate.data(), candidate.size());
      } while (!F::sample(candidate.data(), w));
    }
  }
  return next;
}

void xor_into(Seed& seed, const Seed& other, std::uint8_t when) {
  const std::uint8_t mask = static_cast<std::uint8_t>(-static_cast<int>(when & 1));
  for (std::size_t i = 0; i < kSeedSize; ++i) seed[i] ^= other[i] & mask;
}

template <class F>
Pair<F> value_correction(const Pair<F>& beta, const Pair<F>& w0, const Pair<F>& w1,
                         std::uint8_t ctrl1) {
  Pair<F> w_cw;
  for (int i = 0; i < 2; ++i) {
    w_cw[i] = beta[i] - w0[i] + w1[i];
    if (ctrl1) w_cw[i] = -w_cw[i];
  }
  return w_cw;
}

template <class F>
void encode_pair(const Pair<F>& pair, std::vector<std::uint8_t>& out) {
  for (const F& x : pair) {
    const std::size_t at = out.size();
    out.resize(at + F::kEncodedSize);
    x.encode(out.data() + at);
  }
}

template <class F>
Pair<F> decode_pair(const std::uint8_t* in) {
  Pair<F> pair;
  for (int i = 0; i < 2; ++i) {
    if (!F::decode(in + i * F::kEncodedSize, pair[i])) {
      throw IdpfError(std::string("IDPF public share: ") + F::kName + " element out of range");
    }
  }
  return pair;
}

}  // namespace

IdpfPoplar::IdpfPoplar(std::size_t bits) : bits_(bits) {
  if (bits == 0) throw std::invalid_argument("IdpfPoplar: BITS must be positive");
}

std::size_t IdpfPoplar::public_share_size() const {
  return (2 * bits_ + 7) / 8 + bits_ * kSeedSize + (bits_ - 1) * 2 * Field64::kEncodedSize +
         2 * Field255::kEncodedSize;
}

std::vector<std::uint8_t> IdpfPoplar::gen(const Path& alpha,
                                          std::span<const Pair<Field64>> beta_inner,
                                          const Pair<Field255>& beta_leaf, ConstBytes binder,
                                          ConstBytes rand, std::array<Seed, 2>& keys) const {
  if (alpha.size() != bits_) throw IdpfError("IdpfPoplar.gen: alpha has the wrong length");
  if (beta_inner.size() != bits_ - 1)
    throw IdpfError("IdpfPoplar.gen: beta_inner has the wrong length");
  if (rand.size() != kRandSize) throw IdpfError("IdpfPoplar.gen: rand has the wrong length");
  const IdpfKeys aes(binder);
  std::array<Seed, 2> seed;
  std::copy_n(rand.begin(), kSeedSize, seed[0].begin());
  std::copy_n(rand.begin() + kSeedSize, kSeedSize, seed[1].begin());
  keys = seed;
  std::array<std::uint8_t, 2> ctrl = {0, 1};
  IdpfPublicShare share;
  share.words.resize(bits_);
  for (std::size_t level = 0; level < bits_; ++level) {
    const std::uint8_t keep = alpha[level] & 1;
    const std::uint8_t lose = keep ^ 1;
    const Extended e0 = extend(aes, seed[0]);
    const Extended e1 = extend(aes, seed[1]);
    IdpfCorrectionWord& word = share.words[level];
    for (std::size_t i = 0; i < kSeedSize; ++i)
      word.seed[i] = e0.seeds[lose][i] ^ e1.seeds[lose][i];
    word.ctrl[0] = e0.ctrl[0] ^ e1.ctrl[0] ^ keep ^ 1;
    word.ctrl[1] = e0.ctrl[1] ^ e1.ctrl[1] ^ keep;
    Seed x0 = e0.seeds[keep];
    Seed x1 = e1.seeds[keep];
    xor_into(x0, word.seed, ctrl[0]);
    xor_into(x1, word.seed, ctrl[1]);
    ctrl[0] = e0.ctrl[keep] ^ (ctrl[0] & word.ctrl[keep]);
    ctrl[1] = e1.ctrl[keep] ^ (ctrl[1] & word.ctrl[keep]);
    if (level + 1 < bits_) {
      Pair<Field64> w0, w1;
      seed[0] = convert(aes, x0, &w0);
      seed[1] = convert(aes, x1, &w1);
      word.inner = value_correction(beta_inner[level], w0, w1, ctrl[1]);
    } else {
      Pair<Field255> w0, w1;
      seed[0] = convert(aes, x0, &w0);
      seed[1] = convert(aes, x1, &w1);
      word.leaf = value_correction(beta_leaf, w0, w1, ctrl[1]);
    }
  }
  return encode_public_share(share);
}

std::vector<std::uint8_t> IdpfPoplar::encode_public_share(const IdpfPublicShare& share) const {
  std::vector<std::uint8_t> out((2 * bits_ + 7) / 8, 0);
  for (std::size_t level = 0; level < bits_; ++level) {
    for (std::size_t j = 0; j < 2; ++j) {
      const std::size_t bit = 2 * level + j;
      out[bit / 8] |= static_cast<std::uint8_t>((share.words[level].ctrl[j] & 1) << (bit % 8));
    }
  }
  for (std::size_t level = 0; level < bits_; ++level) {
    const IdpfCorrectionWord& word = share.words[level];
    out.insert(out.end(), word.seed.begin(), word.seed.end());
    if (level + 1 < bits_) {
      encode_pair(word.inner, out);
    } else {
      encode_pair(word.leaf, out);
    }
  }
  return out;
}

IdpfPublicShare IdpfPoplar::decode_public_share(ConstBytes encoded) const {
  if (encoded.size() != public_share_size()) {
    throw IdpfError("IDPF public share: expected " + std::to_string(public_share_size()) +
                    " bytes, got " + std::to_string(encoded.size()));
  }
  const std::size_t ctrl_bits = 2 * bits_;
  const std::size_t ctrl_bytes = (ctrl_bits + 7) / 8;
  if (ctrl_bits % 8 != 0 && (encoded[ctrl_bytes - 1] >> (ctrl_bits % 8)) != 0) {
    throw IdpfError("IDPF public share: unused control bits are not zero");
  }
  IdpfPublicShare share;
  share.words.resize(bits_);
  const std::uint8_t* at = encoded.data() + ctrl_bytes;
  for (std::size_t level = 0; level < bits_; ++level) {
    IdpfCorrectionWord& word = share.words[level];
    for (std::size_t j = 0; j < 2; ++j) {
      const std::size_t bit = 2 * level + j;
      word.ctrl[j] = (encoded[bit / 8] >> (bit % 8)) & 1;
    }
    std::copy_n(at, kSeedSize, word.seed.begin());
    at += kSeedSize;
    if (level + 1 < bits_) {
      word.inner = decode_pair<Field64>(at);
      at += 2 * Field64::kEncodedSize;
    } else {
      word.leaf = decode_pair<Field255>(at);
      at += 2 * Field255::kEncodedSize;
    }
  }
  return share;
}

IdpfValues IdpfPoplar::eval(std::size_t agg_id, const IdpfPublicShare& public_share, ConstBytes key,
                            std::size_t level, std::span<const Path> prefixes,
                            ConstBytes binder) const {
  if (agg_id > 1) throw IdpfError("IdpfPoplar.eval: invalid aggregator id");
  if (level >= bits_) throw IdpfError("IdpfPoplar.eval: level too deep");
  if (key.size() != kKeySize) throw IdpfError("IdpfPoplar.eval: key has the wrong length");
  if (public_share.words.size() != bits_)
    throw IdpfError("IdpfPoplar.eval: public share for other BITS");
  const IdpfKeys aes(binder);
  const bool leaf = level + 1 == bits_;
  IdpfValues values;
  (leaf ? values.leaf.reserve(prefixes.size()) : values.inner.reserve(prefixes.size()));

  // nodes[d]: (seed, ctrl) after depth d on the previous prefix's path; `known` of them are
  // still on the current prefix's path. extended[d]: the corrected extension of the node above
  // depth d on that path, which the first differing depth shares (same parent, other child).
  std::vector<Seed> node_seed(level + 1);
  std::vector<std::uint8_t> node_ctrl(level + 1);
  std::vector<Extended> extended(level + 1);
  const Path* previous = nullptr;
  Seed root;
  std::copy(key.begin(), key.end(), root.begin());
  for (const Path& prefix : prefixes) {
    if (prefix.size() != level + 1) throw IdpfError("IdpfPoplar.eval: prefix of the wrong length");
    std::size_t known = 0;
    if (previous != nullptr) {
      // The last depth always differs for distinct prefixes and is recomputed for its value.
      while (known < level && (*previous)[known] == prefix[known]) ++known;
    }
    Pair<Field64> inner_value{};
    Pair<Field255> leaf_value{};
    for (std::size_t depth = known; depth <= level; ++depth) {
      const Seed& seed = depth == 0 ? root : node_seed[depth - 1];
      const std::uint8_t ctrl =
          depth == 0 ? static_cast<std::uint8_t>(agg_id) : node_ctrl[depth - 1];
      const IdpfCorrectionWord& word = public_share.words[depth];
      Extended& e = extended[depth];
      if (previous == nullptr || depth > known) {
        e = extend(aes, seed);
        xor_into(e.seeds[0], word.seed, ctrl);
        xor_into(e.seeds[1], word.seed, ctrl);
        e.ctrl[0] ^= word.ctrl[0] & ctrl;
        e.ctrl[1] ^= word.ctrl[1] & ctrl;
      }
      const std::uint8_t bit = prefix[depth] & 1;
      const std::uint8_t next_ctrl = e.ctrl[bit];
      const bool last = depth == level;
      if (last && leaf) {
        node_seed[depth] = convert<Field255>(aes, e.seeds[bit], &leaf_value);
        if (next_ctrl) {
          for (int i = 0; i < 2; ++i) leaf_value[i] += word.leaf[i];
        }
      } else if (last) {
        node_seed[depth] = convert<Field64>(aes, e.seeds[bit], &inner_value);
        if (next_ctrl) {
          for (int i = 0; i < 2; ++i) inner_value[i] += word.inner[i];
        }
      } else {
        node_seed[depth] = convert<Field64>(aes, e.seeds[bit], nullptr);
      }
      node_ctrl[depth] = next_ctrl;
    }
    if (leaf) {
      if (agg_id == 1) leaf_value = {-leaf_value[0], -leaf_value[1]};
      values.leaf.push_back(leaf_value);
    } else {
      if (agg_id == 1) inner_value = {-inner_value[0], -inner_value[1]};
      values.inner.push_back(inner_value);
    }
    previous = &prefix;
  }
  return values;
}

}  // namespace janus::poplar1
