// libFuzzer target for Poplar1's decoders and preparation, where the bytes come from a
// malicious client (public and input shares), a malicious peer (prep shares, prep
// messages, aggregate shares) or a collector (the aggregation parameter). Each input
// picks an instance (first byte: BITS and the level of its aggregation parameter) and an
// operation (second byte); the rest replaces one piece of an otherwise valid report, so
// the fuzzer reaches the checks behind the decoders. Properties:
//   - every operation either succeeds or throws janus::VdafError (any other exception,
//     crash, over-read or UB is a finding: abort, or ASan/UBSan abort);
//   - accepted shares keep their size, and prep_init on accepted bytes is deterministic.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "poplar1.h"

namespace {

using janus::Bytes;
using janus::ByteSpan;

struct Instance {
  std::shared_ptr<const janus::Vdaf> vdaf;
  Bytes agg_param, verify_key, nonce;
  janus::VdafShards shards;
  janus::VdafPrepInit leader, helper;
  Bytes round_one_message;
  janus::VdafPrepNext leader_next, helper_next;
  Bytes aggregate;
};

std::vector<Instance> make_instances() {
  struct Config {
    std::size_t bits;
    std::uint64_t measurement;
    std::uint16_t level;
    std::vector<std::uint64_t> prefixes;
  };
  const std::vector<Config> configs = {
      {4, 13, 1, {0, 1, 2, 3}},         // inner level (Field64)
      {4, 13, 3, {1, 12, 13, 15}},      // leaf (Field255)
      {16, 40000, 5, {9, 19, 20, 31}},  // a deeper tree
      {1, 1, 0, {0, 1}},                // the smallest one: the leaf at level 0
  };
  std::vector<Instance> instances;
  for (const Config& config : configs) {
    Instance in;
    in.vdaf = janus::poplar1::make_poplar1({"Poplar1", {{"bits", config.bits}}});
    in.agg_param = janus::poplar1::encode_aggregation_parameter(
        janus::poplar1::aggregation_parameter(config.level, config.prefixes));
    in.verify_key.assign(in.vdaf->verify_key_size(), 7);
    in.nonce.assign(in.vdaf->nonce_size(), 9);
    Bytes rand(in.vdaf->rand_size());
    for (std::size_t i = 0; i < rand.size(); ++i) rand[i] = static_cast<std::uint8_t>(i);
    in.shards = in.vdaf->shard(config.measurement, in.nonce, rand);
    in.leader = in.vdaf->prep_init(in.verify_key, 0, in.agg_param, in.nonce, in.shards.public_share,
                                   in.shards.input_shares[0]);
    in.helper = in.vdaf->prep_init(in.verify_key, 1, in.agg_param, in.nonce, in.shards.public_share,
                                   in.shards.input_shares[1]);
    in.round_one_message = in.vdaf->prep_shares_to_prep(
        in.agg_param, std::vector<Bytes>{in.leader.prep_share, in.helper.prep_share});
    in.leader_next = in.vdaf->prep_next(in.leader.state, in.round_one_message);
    in.helper_next = in.vdaf->prep_next(in.helper.state, in.round_one_message);
    const Bytes done = in.vdaf->prep_shares_to_prep(
        in.agg_param, std::vector<Bytes>{in.leader_next.prep_share, in.helper_next.prep_share});
    in.aggregate = in.vdaf->empty_aggregate_share(in.agg_param);
    in.vdaf->accumulate(in.aggregate, in.agg_param,
                        *in.vdaf->prep_next(in.leader_next.state, done).output_share);
    instances.push_back(std::move(in));
  }
  return instances;
}

void run(const Instance& in, std::uint8_t operation, ByteSpan bytes) {
  const janus::Vdaf& vdaf = *in.vdaf;
  const Bytes fuzzed(bytes.begin(), bytes.end());
  const Bytes& param = in.agg_param;
  switch (operation % 11) {
    case 0:  // a client's public share
      vdaf.check_public_share(bytes);
      vdaf.prep_init(in.verify_key, 1, param, in.nonce, bytes, in.shards.input_shares[1]);
      break;
    case 1:    // the leader's input share, as the client sent it
    case 2: {  // the helper's
      const std::size_t agg_id = operation % 11 == 1 ? 0 : 1;
      vdaf.check_input_share(agg_id, bytes);
      auto a =
          vdaf.prep_init(in.verify_key, agg_id, param, in.nonce, in.shards.public_share, bytes);
      auto b =
          vdaf.prep_init(in.verify_key, agg_id, param, in.nonce, in.shards.public_share, bytes);
      if (a.state != b.state || a.prep_share != b.prep_share) std::abort();
      break;
    }
    case 3:  // the peer's round-one prep share
      vdaf.check_prep_share(bytes);
      vdaf.prep_shares_to_prep(param, std::vector<Bytes>{in.leader.prep_share, fuzzed});
      break;
    case 4:  // the peer's round-two prep share
      vdaf.prep_shares_to_prep(param, std::vector<Bytes>{in.leader_next.prep_share, fuzzed});
      break;
    case 5:  // the peer's prep message, in either round
      vdaf.check_prep_message(bytes);
      vdaf.prep_next(in.helper.state, bytes);
      vdaf.prep_next(in.helper_next.state, bytes);
      break;
    case 6:  // a prep state (ours, but decoded: it round-trips through the database)
      vdaf.prep_next(bytes, in.round_one_message);
      vdaf.prep_next(bytes, {});
      break;
    case 7: {  // an output or aggregate share read back or sent by the helper
      vdaf.check_output_share(bytes);
      vdaf.check_aggregate_share(bytes);
      Bytes aggregate = in.aggregate;
      vdaf.accumulate(aggregate, param, bytes);
      if (aggregate.size() != in.aggregate.size()) std::abort();
      vdaf.merge(aggregate, param, bytes);
      vdaf.unshard(param, std::vector<Bytes>{in.aggregate, fuzzed}, 1);
      break;
    }
    case 8: {  // an aggregation parameter from a collector or the leader
      vdaf.check_aggregation_parameter(bytes);
      vdaf.is_valid_aggregation_parameter(bytes, std::vector<Bytes>{param});
      const Bytes empty = vdaf.empty_aggregate_share(bytes);
      vdaf.prep_init(in.verify_key, 1, bytes, in.nonce, in.shards.public_share,
                     in.shards.input_shares[1]);
      Bytes aggregate = empty;
      vdaf.merge(aggregate, bytes, empty);
      break;
    }
    case 9:  // a verify key or nonce of any length (a bad task or report)
      vdaf.prep_init(bytes, 1, param, in.nonce, in.shards.public_share, in.shards.input_shares[1]);
      vdaf.prep_init(in.verify_key, 0, param, bytes, in.shards.public_share,
                     in.shards.input_shares[0]);
      break;
    default:  // both prep shares from the peer side
      vdaf.prep_shares_to_prep(param, std::vector<Bytes>{fuzzed, fuzzed});
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<Instance> instances = make_instances();
  if (size < 2) return 0;
  const Instance& instance = instances[data[0] % instances.size()];
  try {
    run(instance, data[1], ByteSpan(data + 2, size - 2));
  } catch (const janus::VdafError&) {
    // Rejected cleanly.
  }
  return 0;
}
