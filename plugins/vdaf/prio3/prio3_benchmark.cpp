// Per-operation, per-aggregator costs of Prio3 through the byte-level
// janus::Vdaf interface (what the aggregator actually calls). See
// BENCHMARKS.md for the command and the results.
#include <benchmark/benchmark.h>

#include <functional>
#include <string>

#include "janus/allocator.h"
#include "prio3.h"

namespace janus::prio3 {
namespace {

struct Config {
  std::string label;
  VdafDescription description;
  nlohmann::json measurement;
};

std::vector<Config> configs() {
  auto sumvec = [](std::size_t length, std::size_t chunk) {
    nlohmann::json m = nlohmann::json::array();
    for (std::size_t i = 0; i < length; ++i) m.push_back(i % 2);
    return Config{"SumVec(1," + std::to_string(length) + "," + std::to_string(chunk) + ")",
                  {"Prio3SumVec", {{"bits", 1}, {"length", length}, {"chunk_length", chunk}}},
                  m};
  };
  auto histogram = [](std::size_t length, std::size_t chunk) {
    return Config{"Histogram(" + std::to_string(length) + "," + std::to_string(chunk) + ")",
                  {"Prio3Histogram", {{"length", length}, {"chunk_length", chunk}}},
                  length / 3};
  };
  // Janus 0.7's Field64 multiproof SumVec with XofHmacSha256Aes128.
  auto multiproof = [](std::size_t proofs, std::size_t bits, std::size_t length,
                       std::size_t chunk) {
    nlohmann::json m = nlohmann::json::array();
    for (std::size_t i = 0; i < length; ++i) m.push_back(i % 2);
    return Config{
        "SumVecField64MultiproofHmac(" + std::to_string(proofs) + "," + std::to_string(bits) + "," +
            std::to_string(length) + "," + std::to_string(chunk) + ")",
        {"Prio3SumVecField64MultiproofHmacSha256Aes128",
         {{"proofs", proofs}, {"bits", bits}, {"length", length}, {"chunk_length", chunk}}},
        m};
  };
  // Janus 0.7's fpvec_bounded_l2 VDAF (no noise: that is register_noise's).
  auto fixed_point = [](std::size_t bits, std::size_t length) {
    nlohmann::json m = nlohmann::json::array();
    // Entries of ±1/(2·sqrt(length)) or so: the norm stays below 1.
    for (std::size_t i = 0; i < length; ++i) m.push_back(i % 2 == 0 ? 0.015625 : -0.0078125);
    return Config{"FixedPointL2(" + std::to_string(bits) + "," + std::to_string(length) + ")",
                  {"Prio3FixedPointBoundedL2VecSum",
                   {{"bitsize", bits == 16 ? "BitSize16" : "BitSize32"},
                    {"length", length},
                    {"dp_strategy", {{"dp_strategy", "NoDifferentialPrivacy"}}}}},
                  m};
  };
  return {
      {"Count", {"Prio3Count", nlohmann::json::object()}, 1},
      {"Sum(8)", {"Prio3Sum", {{"bits", 8}}}, 173},
      {"Sum(32)", {"Prio3Sum", {{"bits", 32}}}, 3000000000ULL},
      sumvec(10, 3),
      sumvec(100, 10),
      sumvec(1000, 31),
      histogram(10, 3),
      histogram(100, 10),
      histogram(1000, 31),
      histogram(10000, 100),
      multiproof(2, 1, 100, 10),
      multiproof(3, 8, 1000, 94),
      fixed_point(16, 10),
      fixed_point(16, 1000),
      fixed_point(32, 1000),
  };
}

struct Prepared {
  std::shared_ptr<const Vdaf> vdaf;
  Bytes verify_key;
  Bytes nonce = Bytes(16, 0x11);
  Bytes rand;
  Bytes agg_param;
  VdafShards shards;
  VdafPrepInit init[2];
  std::vector<Bytes> prep_shares;
  Bytes message;
  Bytes output_share;

  explicit Prepared(const Config& config)
      : vdaf(make_prio3(config.description)), verify_key(vdaf->verify_key_size(), 0x5a) {
    rand.resize(vdaf->rand_size());
    for (std::size_t i = 0; i < rand.size(); ++i) rand[i] = static_cast<std::uint8_t>(i * 13 + 1);
    shards = vdaf->shard(config.measurement, nonce, rand);
    for (std::size_t j = 0; j < 2; ++j) {
      init[j] = vdaf->prep_init(verify_key, j, agg_param, nonce, shards.public_share,
                                shards.input_shares[j]);
      prep_shares.push_back(init[j].prep_share);
    }
    message = vdaf->prep_shares_to_prep(agg_param, prep_shares);
    output_share = *vdaf->prep_next(init[0].state, message).output_share;
  }
};

void register_all() {
  for (const Config& config : configs()) {
    auto prepared = std::make_shared<Prepared>(config);
    auto add = [&](const std::string& op, std::function<void(benchmark::State&)> body) {
      benchmark::RegisterBenchmark((config.label + "/" + op).c_str(), body)
          ->Unit(benchmark::kMicrosecond);
    };
    const nlohmann::json measurement = config.measurement;
    add("shard", [prepared, measurement](benchmark::State& state) {
      for (auto _ : state) {
        benchmark::DoNotOptimize(
            prepared->vdaf->shard(measurement, prepared->nonce, prepared->rand));
      }
    });
    for (std::size_t j = 0; j < 2; ++j) {
      add(std::string("prep_init_") + (j == 0 ? "leader" : "helper"),
          [prepared, j](benchmark::State& state) {
            const Prepared& p = *prepared;
            for (auto _ : state) {
              benchmark::DoNotOptimize(p.vdaf->prep_init(p.verify_key, j, p.agg_param, p.nonce,
                                                         p.shards.public_share,
                                                         p.shards.input_shares[j]));
            }
          });
    }
    add("prep_shares_to_prep", [prepared](benchmark::State& state) {
      const Prepared& p = *prepared;
      for (auto _ : state) {
        benchmark::DoNotOptimize(p.vdaf->prep_shares_to_prep(p.agg_param, p.prep_shares));
      }
    });
    for (std::size_t j = 0; j < 2; ++j) {
      add(std::string("prep_next_") + (j == 0 ? "leader" : "helper"),
          [prepared, j](benchmark::State& state) {
            const Prepared& p = *prepared;
            for (auto _ : state) {
              benchmark::DoNotOptimize(p.vdaf->prep_next(p.init[j].state, p.message));
            }
          });
    }
    add("aggregate", [prepared](benchmark::State& state) {
      const Prepared& p = *prepared;
      Bytes aggregate = p.vdaf->empty_aggregate_share(p.agg_param);
      for (auto _ : state) {
        p.vdaf->accumulate(aggregate, {}, p.output_share);
        benchmark::ClobberMemory();
      }
    });
  }
}

void register_noise_benchmark(const std::string& label, std::shared_ptr<const Vdaf> vdaf) {
  benchmark::RegisterBenchmark(label.c_str(), [vdaf](benchmark::State& state) {
    const Bytes share = vdaf->empty_aggregate_share({});
    for (auto _ : state) {
      Bytes noised_share = share;
      vdaf->add_noise_to_aggregate_share(noised_share, {}, 1000);
      benchmark::DoNotOptimize(noised_share);
    }
  })->Unit(benchmark::kMicrosecond);
}

// Differential privacy: the noise one aggregator adds to one aggregate share (once per
// collection, not per report), for Janus's PureDpDiscreteLaplace at epsilon 1/10 and 1, and
// its ZCdpDiscreteGaussian on the fixed-point vector.
void register_noise() {
  for (const char* epsilon : {"[[1], [10]]", "[[1], [1]]"}) {
    const nlohmann::json strategy = {{"dp_strategy", "ZCdpDiscreteGaussian"},
                                     {"budget", {{"epsilon", nlohmann::json::parse(epsilon)}}}};
    for (const auto& [bits, length] : std::vector<std::pair<std::string, std::size_t>>{
             {"BitSize16", 10}, {"BitSize16", 1000}, {"BitSize32", 1000}}) {
      const std::string label = "FixedPointL2(" + bits.substr(7) + "," + std::to_string(length) +
                                ")/add_noise(epsilon " + epsilon + ")";
      register_noise_benchmark(
          label, make_prio3({"Prio3FixedPointBoundedL2VecSum",
                             {{"bitsize", bits}, {"length", length}, {"dp_strategy", strategy}}}));
    }
  }
  for (const char* epsilon : {"[[1], [10]]", "[[1], [1]]"}) {
    const nlohmann::json strategy = {{"dp_strategy", "PureDpDiscreteLaplace"},
                                     {"budget", {{"epsilon", nlohmann::json::parse(epsilon)}}}};
    const std::vector<std::pair<std::string, VdafDescription>> noised = {
        {"Histogram(100,10)",
         {"Prio3Histogram", {{"length", 100}, {"chunk_length", 10}, {"dp_strategy", strategy}}}},
        {"Histogram(10000,100)",
         {"Prio3Histogram", {{"length", 10000}, {"chunk_length", 100}, {"dp_strategy", strategy}}}},
        {"SumVec(8,100,10)",
         {"Prio3SumVec",
          {{"bits", 8}, {"length", 100}, {"chunk_length", 10}, {"dp_strategy", strategy}}}},
    };
    for (const auto& [label, description] : noised) {
      register_noise_benchmark(label + "/add_noise(epsilon " + epsilon + ")",
                               make_prio3(description));
    }
  }
}

}  // namespace
}  // namespace janus::prio3

int main(int argc, char** argv) {
  janus::configure_allocator();  // as the janus process does
  benchmark::Initialize(&argc, argv);
  janus::prio3::register_all();
  janus::prio3::register_noise();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
