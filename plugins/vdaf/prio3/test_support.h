// Helpers for the Prio3 tests: vector files are read at run time from
// ../shared (JANUS_SHARED_DIR), and every field of a vector must be consumed.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <janus/bytes.h>
#include <janus/vdaf.h>
#include <nlohmann/json.hpp>

namespace janus::prio3::testing {

inline std::string shared_path(const std::string& relative) {
  return std::string(JANUS_SHARED_DIR) + "/" + relative;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline nlohmann::json read_json(const std::string& relative) {
  return nlohmann::json::parse(read_text(shared_path(relative)));
}

inline Bytes unhex(const std::string& text) {
  auto bytes = hex_decode(text);
  if (!bytes) throw std::runtime_error("bad hex in vector: " + text.substr(0, 40));
  return *bytes;
}

// A JSON object whose fields must all be read before it is destroyed, so a
// vector field the test forgot to check fails the test.
class Fields {
 public:
  Fields(const nlohmann::json& object, std::string where)
      : object_(object), where_(std::move(where)) {}
  Fields(const Fields&) = delete;
  ~Fields() {
    for (const auto& [key, value] : object_.items()) {
      EXPECT_TRUE(used_.count(key)) << where_ << ": vector field '" << key << "' was not checked";
    }
  }
  const nlohmann::json& operator[](const std::string& key) {
    used_.insert(key);
    if (!object_.contains(key)) throw std::runtime_error(where_ + ": missing field " + key);
    return object_.at(key);
  }
  bool contains(const std::string& key) const { return object_.contains(key); }
  // Marks a field as deliberately belonging to another layer's tests.
  void belongs_elsewhere(const std::string& key) { used_.insert(key); }

 private:
  const nlohmann::json& object_;
  std::string where_;
  std::set<std::string> used_;
};

// `trials` preparations of a valid report with random bytes in one place: the input share
// replaced, truncated or lengthened, or one byte flipped; the public share replaced; a prep
// share or the prep message replaced. Every one must either work or throw VdafError (any
// other exception fails the test; a crash, over-read or UB is found by the sanitizers).
inline void prepare_with_random_bytes(const Vdaf& vdaf, const VdafShards& shards,
                                      const Bytes& verify_key, const Bytes& nonce, int trials,
                                      std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto random_bytes_of = [&](std::size_t n) {
    Bytes out(n);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
  };
  const Bytes no_agg_param;
  for (int trial = 0; trial < trials; ++trial) {
    const std::size_t agg_id = static_cast<std::size_t>(trial % 2);
    Bytes input = shards.input_shares[agg_id];
    Bytes public_share = shards.public_share;
    switch (trial % 4) {
      case 0:
        input = random_bytes_of(input.size());
        break;
      case 1:
        input = random_bytes_of(rng() % (input.size() + 40));
        break;
      case 2:
        if (!public_share.empty()) public_share = random_bytes_of(public_share.size());
        break;
      default:
        input[rng() % input.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
        break;
    }
    try {
      const VdafPrepInit init =
          vdaf.prep_init(verify_key, agg_id, no_agg_param, nonce, public_share, input);
      const VdafPrepInit other =
          vdaf.prep_init(verify_key, 1 - agg_id, no_agg_param, nonce, shards.public_share,
                         shards.input_shares[1 - agg_id]);
      std::vector<Bytes> prep_shares = {init.prep_share, other.prep_share};
      if (agg_id == 1) std::swap(prep_shares[0], prep_shares[1]);
      if (trial % 3 == 0) prep_shares[0] = random_bytes_of(prep_shares[0].size());
      const Bytes message = vdaf.prep_shares_to_prep(no_agg_param, prep_shares);
      vdaf.prep_next(init.state, trial % 5 == 0 ? random_bytes_of(message.size()) : message);
    } catch (const VdafError&) {
      // expected for almost every trial
    }
  }
}

// Two aggregators' aggregate shares of `measurements` (VDAFs with an empty aggregation
// parameter), each report sharded with a nonce of its index.
inline std::vector<Bytes> aggregate(const Vdaf& vdaf,
                                    const std::vector<nlohmann::json>& measurements) {
  std::vector<Bytes> shares = {vdaf.empty_aggregate_share({}), vdaf.empty_aggregate_share({})};
  const Bytes verify_key(vdaf.verify_key_size(), 1);
  for (std::size_t index = 0; index < measurements.size(); ++index) {
    const Bytes nonce(vdaf.nonce_size(), static_cast<std::uint8_t>(index));
    const VdafShards input = vdaf.shard(measurements[index], nonce);
    VdafPrepInit inits[2];
    std::vector<Bytes> prep_shares;
    for (std::size_t side = 0; side < 2; ++side) {
      inits[side] =
          vdaf.prep_init(verify_key, side, {}, nonce, input.public_share, input.input_shares[side]);
      prep_shares.push_back(inits[side].prep_share);
    }
    const Bytes message = vdaf.prep_shares_to_prep({}, prep_shares);
    for (std::size_t side = 0; side < 2; ++side) {
      vdaf.accumulate(shares[side], {}, *vdaf.prep_next(inits[side].state, message).output_share);
    }
  }
  return shares;
}

inline std::string concat_hex(const nlohmann::json& elements) {
  std::string out;
  for (const auto& element : elements) out += element.get<std::string>();
  return out;
}

// Shards every measurement of the vector with its rand, prepares from the
// recorded shares, aggregates and unshards, comparing every value it has.
inline void reproduce_vector(const Vdaf& vdaf, Fields& top, const std::string& file) {
  const std::size_t shares = top["shares"].get<std::size_t>();
  ASSERT_EQ(vdaf.num_shares(), shares);
  const Bytes verify_key = unhex(top["verify_key"]);
  ASSERT_EQ(verify_key.size(), vdaf.verify_key_size());
  ASSERT_TRUE(top["agg_param"].is_null());
  const Bytes agg_param;

  std::vector<Bytes> aggregate_shares(shares, vdaf.empty_aggregate_share(agg_param));
  std::size_t num_measurements = 0;
  for (const nlohmann::json& prep_json : top["prep"]) {
    Fields prep(prep_json, file + " prep");
    const Bytes nonce = unhex(prep["nonce"]);
    const Bytes rand = unhex(prep["rand"]);
    ASSERT_EQ(rand.size(), vdaf.rand_size());
    const VdafShards shards = vdaf.shard(prep["measurement"], nonce, rand);
    EXPECT_EQ(hex_encode(shards.public_share), prep["public_share"].get<std::string>());
    ASSERT_EQ(shards.input_shares.size(), shares);
    const nlohmann::json& input_shares = prep["input_shares"];
    for (std::size_t j = 0; j < shares; ++j) {
      EXPECT_EQ(hex_encode(shards.input_shares[j]), input_shares[j].get<std::string>()) << j;
    }

    // Prepare from the recorded shares, not our own.
    const nlohmann::json& prep_shares_json = prep["prep_shares"];
    ASSERT_EQ(prep_shares_json.size(), vdaf.rounds());
    std::vector<Bytes> states, prep_shares;
    for (std::size_t j = 0; j < shares; ++j) {
      const VdafPrepInit init = vdaf.prep_init(verify_key, j, agg_param, nonce,
                                               unhex(prep["public_share"]), unhex(input_shares[j]));
      EXPECT_EQ(hex_encode(init.prep_share), prep_shares_json[0][j].get<std::string>()) << j;
      states.push_back(init.state);
      prep_shares.push_back(init.prep_share);
    }
    const Bytes prep_message = vdaf.prep_shares_to_prep(agg_param, prep_shares);
    EXPECT_EQ(hex_encode(prep_message), prep["prep_messages"][0].get<std::string>());
    const nlohmann::json& out_shares = prep["out_shares"];
    for (std::size_t j = 0; j < shares; ++j) {
      const VdafPrepNext next = vdaf.prep_next(states[j], prep_message);
      ASSERT_TRUE(next.finished());
      EXPECT_EQ(hex_encode(*next.output_share), concat_hex(out_shares[j])) << j;
      vdaf.accumulate(aggregate_shares[j], {}, *next.output_share);
    }
    ++num_measurements;
  }
  const nlohmann::json& expected_agg_shares = top["agg_shares"];
  for (std::size_t j = 0; j < shares; ++j) {
    EXPECT_EQ(hex_encode(aggregate_shares[j]), expected_agg_shares[j].get<std::string>()) << j;
  }
  EXPECT_EQ(vdaf.unshard(agg_param, aggregate_shares, num_measurements), top["agg_result"]);
}

}  // namespace janus::prio3::testing
