// Per-operation, per-aggregator costs of Poplar1 through the byte-level janus::Vdaf
// interface (what the aggregator calls), for a few string lengths, levels and candidate
// prefix counts. See BENCHMARKS.md for the command and the results.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <functional>
#include <string>

#include "janus/allocator.h"
#include "poplar1.h"

namespace janus::poplar1 {
namespace {

struct Config {
  std::size_t bits;
  std::uint16_t level;
  std::size_t prefixes;  // candidate prefixes at the level, the measurement's among them
};

std::string label(const Config& c) {
  return "Poplar1(" + std::to_string(c.bits) + ")/level " + std::to_string(c.level) + ", " +
         std::to_string(c.prefixes) + " prefixes";
}

struct Prepared {
  std::shared_ptr<const Vdaf> vdaf;
  nlohmann::json measurement;
  Bytes verify_key = Bytes(16, 0x5a);
  Bytes nonce = Bytes(16, 0x11);
  Bytes rand;
  Bytes agg_param;
  VdafShards shards;
  VdafPrepInit init[2];
  Bytes round_one;
  VdafPrepNext next[2];
  Bytes round_two;
  Bytes output_share;

  explicit Prepared(const Config& config)
      : vdaf(make_poplar1({"Poplar1", {{"bits", config.bits}}})) {
    // A measurement of alternating bits, as a bit string (any BITS).
    std::string bits(config.bits, '0');
    for (std::size_t i = 0; i < bits.size(); i += 2) bits[i] = '1';
    measurement = bits;
    rand.resize(vdaf->rand_size());
    for (std::size_t i = 0; i < rand.size(); ++i) rand[i] = static_cast<std::uint8_t>(i * 13 + 1);
    shards = vdaf->shard(measurement, nonce, rand);
    // Prefixes: the measurement's own and its neighbours at the level, in order (distinct).
    AggregationParameter param;
    param.level = config.level;
    Path own(bits.begin(), bits.begin() + config.level + 1);
    for (auto& b : own) b = b == '1';
    for (std::size_t k = 0; k < config.prefixes; ++k) {
      Path p = own;
      // Flip the lowest bits to count k (the measurement's own prefix at k = 0).
      for (std::size_t b = 0; b < 32 && b <= config.level; ++b) {
        if ((k >> b) & 1) p[config.level - b] ^= 1;
      }
      param.prefixes.push_back(p);
    }
    std::sort(param.prefixes.begin(), param.prefixes.end());
    agg_param = encode_aggregation_parameter(param);
    for (std::size_t j = 0; j < 2; ++j) {
      init[j] = vdaf->prep_init(verify_key, j, agg_param, nonce, shards.public_share,
                                shards.input_shares[j]);
    }
    round_one = vdaf->prep_shares_to_prep(
        agg_param, std::vector<Bytes>{init[0].prep_share, init[1].prep_share});
    for (std::size_t j = 0; j < 2; ++j) next[j] = vdaf->prep_next(init[j].state, round_one);
    round_two = vdaf->prep_shares_to_prep(
        agg_param, std::vector<Bytes>{next[0].prep_share, next[1].prep_share});
    output_share = *vdaf->prep_next(next[0].state, round_two).output_share;
  }
};

void register_all() {
  const std::vector<Config> configs = {
      {16, 7, 16},    {16, 15, 16},  // 2-byte strings: an inner level and the leaf
      {64, 31, 64},   {64, 63, 64},  // 8-byte strings
      {256, 127, 16}, {256, 255, 256},
  };
  for (const Config& config : configs) {
    auto prepared = std::make_shared<Prepared>(config);
    auto add = [&](const std::string& op, std::function<void(benchmark::State&)> body) {
      benchmark::RegisterBenchmark((label(config) + "/" + op).c_str(), body)
          ->Unit(benchmark::kMicrosecond);
    };
    add("shard", [prepared](benchmark::State& state) {
      const Prepared& p = *prepared;
      for (auto _ : state) benchmark::DoNotOptimize(p.vdaf->shard(p.measurement, p.nonce, p.rand));
    });
    add("prep_init_helper", [prepared](benchmark::State& state) {
      const Prepared& p = *prepared;
      for (auto _ : state) {
        benchmark::DoNotOptimize(p.vdaf->prep_init(p.verify_key, 1, p.agg_param, p.nonce,
                                                   p.shards.public_share,
                                                   p.shards.input_shares[1]));
      }
    });
    add("prep_shares_to_prep_round1", [prepared](benchmark::State& state) {
      const Prepared& p = *prepared;
      const std::vector<Bytes> shares = {p.init[0].prep_share, p.init[1].prep_share};
      for (auto _ : state)
        benchmark::DoNotOptimize(p.vdaf->prep_shares_to_prep(p.agg_param, shares));
    });
    add("prep_next_round1_helper", [prepared](benchmark::State& state) {
      const Prepared& p = *prepared;
      for (auto _ : state)
        benchmark::DoNotOptimize(p.vdaf->prep_next(p.init[1].state, p.round_one));
    });
    add("prep_next_round2_helper", [prepared](benchmark::State& state) {
      const Prepared& p = *prepared;
      for (auto _ : state)
        benchmark::DoNotOptimize(p.vdaf->prep_next(p.next[1].state, p.round_two));
    });
    add("aggregate", [prepared](benchmark::State& state) {
      const Prepared& p = *prepared;
      Bytes aggregate = p.vdaf->empty_aggregate_share(p.agg_param);
      for (auto _ : state) {
        p.vdaf->accumulate(aggregate, p.agg_param, p.output_share);
        benchmark::ClobberMemory();
      }
    });
  }
}

}  // namespace
}  // namespace janus::poplar1

int main(int argc, char** argv) {
  janus::configure_allocator();  // as the janus process does
  benchmark::Initialize(&argc, argv);
  janus::poplar1::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
