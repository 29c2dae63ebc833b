// A third-party VDAF plugin: built by its own CMake project against the
// installed SDK headers (<janus/...>) and libjanus_sdk.so only, to prove the
// extension point. It registers Janus 0.7's test VDAFs:
//   !Fake {rounds: N}          — N rounds of preparation (default 1)
//   FakeFailsPrepInit          — prep_init always fails
//   !FakeFailsPrepStep {rounds} — every prep_next fails
// The measurement is an unsigned 64-bit integer; shares are additive mod 2^64
// and the aggregate result is the sum. There is no proof: it exists to drive
// job and ping-pong logic through any number of rounds and failure points.
#include <janus/plugin.h>
#include <janus/vdaf.h>
#include <janus/vdaf_registry.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

namespace fake_vdaf {
namespace {

using janus::Bytes;
using janus::ByteSpan;

constexpr std::uint32_t kAlgorithmId = 0xFFFF0000;  // private use

std::uint64_t load_u64(ByteSpan bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return v;
}

void store_u64(std::uint64_t v, Bytes& out) {
  for (std::size_t i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void require_size(ByteSpan bytes, std::size_t size, const char* what) {
  if (bytes.size() != size) throw janus::VdafDecodeError(std::string("Fake VDAF: bad ") + what);
}

enum class Failure { kNone, kPrepInit, kPrepStep };

class FakeVdaf final : public janus::Vdaf {
 public:
  FakeVdaf(janus::VdafDescription description, std::uint8_t rounds, Failure failure)
      : description_(std::move(description)), rounds_(rounds), failure_(failure) {}

  const janus::VdafDescription& description() const override { return description_; }
  std::uint32_t algorithm_id() const override { return kAlgorithmId; }
  std::size_t verify_key_size() const override { return 0; }
  std::size_t nonce_size() const override { return 16; }
  std::size_t rand_size() const override { return 8; }
  std::size_t rounds() const override { return rounds_; }
  std::size_t num_shares() const override { return 2; }

  janus::VdafShards shard(const nlohmann::json& measurement, ByteSpan nonce,
                          ByteSpan rand) const override {
    if (!measurement.is_number_unsigned() &&
        !(measurement.is_number_integer() && measurement.get<std::int64_t>() >= 0)) {
      throw janus::VdafInputError("Fake VDAF: measurement must be an unsigned integer");
    }
    require_size(nonce, 16, "nonce");
    require_size(rand, 8, "rand");
    const std::uint64_t helper = load_u64(rand);
    janus::VdafShards shards;
    shards.input_shares.resize(2);
    store_u64(measurement.get<std::uint64_t>() - helper, shards.input_shares[0]);
    store_u64(helper, shards.input_shares[1]);
    return shards;
  }

  void check_aggregation_parameter(ByteSpan) const override {}
  bool is_valid_aggregation_parameter(ByteSpan, std::span<const Bytes>) const override {
    return true;
  }

  // State: round (1 byte) ‖ input share (8 bytes). Prep share and message: round.
  janus::VdafPrepInit prep_init(ByteSpan verify_key, std::size_t agg_id, ByteSpan, ByteSpan nonce,
                                ByteSpan public_share, ByteSpan input_share) const override {
    require_size(verify_key, 0, "verify key");
    require_size(nonce, 16, "nonce");
    check_public_share(public_share);
    check_input_share(agg_id, input_share);
    if (failure_ == Failure::kPrepInit) throw janus::VdafPrepError("Fake VDAF: prep_init fails");
    janus::VdafPrepInit init;
    init.state.assign(9, 0);  // round 0
    std::copy(input_share.begin(), input_share.end(), init.state.begin() + 1);
    init.prep_share.assign(1, 0);
    return init;
  }

  Bytes prep_shares_to_prep(ByteSpan, std::span<const Bytes> prep_shares) const override {
    if (prep_shares.size() != 2) throw janus::VdafDecodeError("Fake VDAF: need two prep shares");
    for (const Bytes& share : prep_shares) check_prep_share(share);
    if (prep_shares[0] != prep_shares[1]) {
      throw janus::VdafPrepError("Fake VDAF: aggregators are in different rounds");
    }
    return prep_shares[0];
  }

  janus::VdafPrepNext prep_next(ByteSpan state, ByteSpan prep_message) const override {
    require_size(state, 9, "prep state");
    check_prep_message(prep_message);
    if (prep_message[0] != state[0]) {
      throw janus::VdafPrepError("Fake VDAF: prep message is for another round");
    }
    if (failure_ == Failure::kPrepStep) throw janus::VdafPrepError("Fake VDAF: prep_next fails");
    janus::VdafPrepNext next;
    const std::uint8_t round = static_cast<std::uint8_t>(state[0] + 1);
    if (round == rounds_) {
      next.output_share.emplace(state.begin() + 1, state.end());
    } else {
      next.state.assign(state.begin(), state.end());
      next.state[0] = round;
      next.prep_share.assign(1, round);
    }
    return next;
  }

  Bytes empty_aggregate_share(ByteSpan) const override { return Bytes(8, 0); }
  void accumulate(Bytes& aggregate_share, ByteSpan agg_param,
                  ByteSpan output_share) const override {
    merge(aggregate_share, agg_param, output_share);
  }
  void merge(Bytes& aggregate_share, ByteSpan, ByteSpan other) const override {
    check_aggregate_share(aggregate_share);
    check_aggregate_share(other);
    const std::uint64_t sum = load_u64(aggregate_share) + load_u64(other);
    aggregate_share.clear();
    store_u64(sum, aggregate_share);
  }
  nlohmann::json unshard(ByteSpan, std::span<const Bytes> aggregate_shares,
                         std::uint64_t) const override {
    std::uint64_t sum = 0;
    for (const Bytes& share : aggregate_shares) {
      check_aggregate_share(share);
      sum += load_u64(share);
    }
    return sum;
  }

  void check_public_share(ByteSpan public_share) const override {
    require_size(public_share, 0, "public share");
  }
  void check_input_share(std::size_t agg_id, ByteSpan input_share) const override {
    if (agg_id > 1) throw std::invalid_argument("Fake VDAF: aggregator ID out of range");
    require_size(input_share, 8, "input share");
  }
  void check_prep_share(ByteSpan prep_share) const override {
    require_size(prep_share, 1, "prep share");
  }
  void check_prep_message(ByteSpan prep_message) const override {
    require_size(prep_message, 1, "prep message");
  }
  void check_output_share(ByteSpan output_share) const override {
    require_size(output_share, 8, "output share");
  }
  void check_aggregate_share(ByteSpan aggregate_share) const override {
    require_size(aggregate_share, 8, "aggregate share");
  }

 private:
  janus::VdafDescription description_;
  std::uint8_t rounds_;
  Failure failure_;
};

std::uint8_t rounds_from(const janus::VdafDescription& description) {
  const nlohmann::json& params = description.parameters;
  if (params.is_null() || (params.is_object() && params.empty())) return 1;
  if (!params.is_object())
    throw std::invalid_argument(description.name + ": parameters must be a map");
  for (const auto& [key, value] : params.items()) {
    if (key != "rounds")
      throw std::invalid_argument(description.name + ": unknown parameter " + key);
  }
  const nlohmann::json& rounds = params.at("rounds");
  if (!rounds.is_number_integer() || rounds.get<std::int64_t>() < 1 ||
      rounds.get<std::int64_t>() > 255) {
    throw std::invalid_argument(description.name + ": rounds must be in 1..255");
  }
  return static_cast<std::uint8_t>(rounds.get<std::int64_t>());
}

class FakeVdafPlugin final : public janus::Plugin {
 public:
  void configure(janus::PluginContext& context) override {
    auto add = [&](const std::string& name, Failure failure) {
      context.vdafs().add(name, [failure](const janus::VdafDescription& description) {
        return std::make_shared<FakeVdaf>(description, rounds_from(description), failure);
      });
    };
    add("Fake", Failure::kNone);
    add("FakeFailsPrepInit", Failure::kPrepInit);
    add("FakeFailsPrepStep", Failure::kPrepStep);
  }
};

}  // namespace
}  // namespace fake_vdaf

JANUS_PLUGIN(fake_vdaf::FakeVdafPlugin)
