// libFuzzer target for Prio3's decoders and preparation, where the bytes come from a
// malicious client (public and input shares) or a malicious peer (prep shares, prep
// messages, aggregate shares). Each input picks a VDAF instance (first byte) and an
// operation (second byte); the rest replaces one piece of an otherwise valid report, so
// the fuzzer reaches the checks behind the decoders. Properties:
//   - every operation either succeeds or throws janus::VdafError (any other exception,
//     crash, over-read or UB is a finding: abort, or ASan/UBSan abort);
//   - accepted shares keep their size (also when noised), and prep_init on accepted bytes is
//     deterministic.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "prio3.h"

namespace {

using janus::Bytes;
using janus::ByteSpan;

struct Instance {
  std::shared_ptr<const janus::Vdaf> vdaf;
  nlohmann::json measurement;
  Bytes verify_key, nonce, rand;
  janus::VdafShards shards;
  janus::VdafPrepInit leader, helper;
  Bytes prep_message, leader_output, aggregate;
};

std::vector<Instance> make_instances() {
  const std::vector<std::pair<janus::VdafDescription, nlohmann::json>> configs = {
      {{"Prio3Count", nlohmann::json::object()}, true},
      {{"Prio3Sum", {{"bits", 8}}}, 200},
      {{"Prio3SumVec", {{"bits", 2}, {"length", 5}, {"chunk_length", 2}}},
       nlohmann::json::array({0, 1, 2, 3, 1})},
      {{"Prio3Histogram", {{"length", 10}, {"chunk_length", 3}}}, 7},
      // With Janus's differential-privacy noise on aggregate shares.
      {{"Prio3Histogram",
        {{"length", 10},
         {"chunk_length", 3},
         {"dp_strategy",
          {{"dp_strategy", "PureDpDiscreteLaplace"},
           {"budget", {{"epsilon", nlohmann::json::parse("[[1], [1]]")}}}}}}},
       7},
      {{"Prio3SumVecField64MultiproofHmacSha256Aes128",
        {{"proofs", 2}, {"bits", 2}, {"length", 5}, {"chunk_length", 2}}},
       nlohmann::json::array({0, 1, 2, 3, 1})},
      // Two gadgets, one a polynomial with a constant term; Gaussian noise.
      {{"Prio3FixedPointBoundedL2VecSum",
        {{"bitsize", "BitSize16"},
         {"length", 5},
         {"dp_strategy",
          {{"dp_strategy", "ZCdpDiscreteGaussian"},
           {"budget", {{"epsilon", nlohmann::json::parse("[[1], [1]]")}}}}}}},
       nlohmann::json::array({0.5, -0.25, 0.125, 0, "0.0625"})},
  };
  std::vector<Instance> instances;
  for (const auto& [description, measurement] : configs) {
    Instance in;
    in.vdaf = janus::prio3::make_prio3(description);
    in.measurement = measurement;
    in.verify_key.assign(in.vdaf->verify_key_size(), 7);
    in.nonce.assign(in.vdaf->nonce_size(), 9);
    in.rand.resize(in.vdaf->rand_size());
    for (std::size_t i = 0; i < in.rand.size(); ++i) in.rand[i] = static_cast<std::uint8_t>(i);
    in.shards = in.vdaf->shard(measurement, in.nonce, in.rand);
    in.leader = in.vdaf->prep_init(in.verify_key, 0, {}, in.nonce, in.shards.public_share,
                                   in.shards.input_shares[0]);
    in.helper = in.vdaf->prep_init(in.verify_key, 1, {}, in.nonce, in.shards.public_share,
                                   in.shards.input_shares[1]);
    in.prep_message = in.vdaf->prep_shares_to_prep(
        {}, std::vector<Bytes>{in.leader.prep_share, in.helper.prep_share});
    in.leader_output = *in.vdaf->prep_next(in.leader.state, in.prep_message).output_share;
    in.aggregate = in.vdaf->empty_aggregate_share({});
    in.vdaf->accumulate(in.aggregate, {}, in.leader_output);
    instances.push_back(std::move(in));
  }
  return instances;
}

void run(const Instance& in, std::uint8_t operation, ByteSpan bytes) {
  const janus::Vdaf& vdaf = *in.vdaf;
  const Bytes fuzzed(bytes.begin(), bytes.end());
  switch (operation % 12) {
    case 0:  // a client's public share
      vdaf.check_public_share(bytes);
      vdaf.prep_init(in.verify_key, 1, {}, in.nonce, bytes, in.shards.input_shares[1]);
      break;
    case 1:    // the leader's input share, as the client sent it
    case 2: {  // the helper's
      const std::size_t agg_id = operation % 12 == 1 ? 0 : 1;
      vdaf.check_input_share(agg_id, bytes);
      auto a = vdaf.prep_init(in.verify_key, agg_id, {}, in.nonce, in.shards.public_share, bytes);
      auto b = vdaf.prep_init(in.verify_key, agg_id, {}, in.nonce, in.shards.public_share, bytes);
      if (a.state != b.state || a.prep_share != b.prep_share) std::abort();
      break;
    }
    case 3:  // the peer's prep share
      vdaf.check_prep_share(bytes);
      vdaf.prep_shares_to_prep({}, std::vector<Bytes>{in.leader.prep_share, fuzzed});
      break;
    case 4:  // the peer's prep message
      vdaf.check_prep_message(bytes);
      vdaf.prep_next(in.helper.state, bytes);
      break;
    case 5:  // a prep state (ours, but decoded: it round-trips through the database)
      vdaf.prep_next(bytes, in.prep_message);
      break;
    case 6: {  // an output share read back from storage
      vdaf.check_output_share(bytes);
      Bytes aggregate = vdaf.empty_aggregate_share({});
      vdaf.accumulate(aggregate, {}, bytes);
      if (aggregate.size() != in.aggregate.size()) std::abort();
      break;
    }
    case 7: {  // the helper's aggregate share (collection) or a stored one (merge)
      vdaf.check_aggregate_share(bytes);
      Bytes aggregate = in.aggregate;
      vdaf.merge(aggregate, {}, bytes);
      if (aggregate.size() != in.aggregate.size()) std::abort();
      Bytes noised = fuzzed;  // a stored share being noised for a collection
      vdaf.add_noise_to_aggregate_share(noised, {}, 1);
      if (noised.size() != fuzzed.size()) std::abort();
      vdaf.unshard({}, std::vector<Bytes>{in.aggregate, fuzzed}, 1);
      break;
    }
    case 8:  // an aggregation parameter from a collector or the leader
      vdaf.check_aggregation_parameter(bytes);
      vdaf.prep_init(in.verify_key, 1, bytes, in.nonce, in.shards.public_share,
                     in.shards.input_shares[1]);
      break;
    case 9:  // a verify key of the wrong length (a bad task) must not crash either
      vdaf.prep_init(bytes, 1, {}, in.nonce, in.shards.public_share, in.shards.input_shares[1]);
      break;
    case 10:  // a nonce of any length
      vdaf.prep_init(in.verify_key, 0, {}, bytes, in.shards.public_share,
                     in.shards.input_shares[0]);
      break;
    default:  // both prep shares from the peer side
      vdaf.prep_shares_to_prep({}, std::vector<Bytes>{fuzzed, fuzzed});
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
