// Every official VDAF-08 Prio3 vector for Count, Sum, SumVec and Histogram
// (2-share `_0` and 3-share `_1` files), and the Field64 multiproof SumVec
// ones of VDAF-08 and libprio 0.16, reproduced bit for bit; and the
// fixed-point vector's vectors that this implementation made (testdata/).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "prio3.h"
#include "test_support.h"

namespace janus::prio3 {
namespace {

using testing::Fields;
using testing::reproduce_vector;
using testing::unhex;

class Prio3OfficialVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(Prio3OfficialVectors, ReproducesEveryValue) {
  const std::string file = GetParam();
  const nlohmann::json vector = testing::read_json("vectors/vdaf-08/" + file + ".json");
  Fields top(vector, file);

  VdafDescription description;
  description.name = file.substr(0, file.find('_'));
  for (const char* key : {"bits", "length", "chunk_length"}) {
    if (top.contains(key)) description.parameters[key] = top[key];
  }
  const auto vdaf = make_prio3(description, top["shares"].get<std::size_t>());
  reproduce_vector(*vdaf, top, file);
}

INSTANTIATE_TEST_SUITE_P(Vdaf08, Prio3OfficialVectors,
                         ::testing::Values("Prio3Count_0", "Prio3Count_1", "Prio3Sum_0",
                                           "Prio3Sum_1", "Prio3SumVec_0", "Prio3SumVec_1",
                                           "Prio3Histogram_0", "Prio3Histogram_1"));

// Prio3SumVec over Field64 with XofTurboShake128 and several proofs. Neither
// file records its number of proofs or algorithm ID: libprio 0.16's
// prio3_test.rs builds its Prio3SumVecField64Multiproof with 3 proofs and ID
// 0xFFFFFFFF; VDAF-08's Prio3SumVecWithMultiproof_0 (same private ID) has 4,
// as its share lengths show (leader input share 80 + 4·49 elements + blind).
std::size_t proofs_of(const std::string& file) {
  return file.find("Prio3SumVecWithMultiproof") != std::string::npos ? 4 : 3;
}

class Prio3MultiproofVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(Prio3MultiproofVectors, ReproducesEveryValue) {
  const std::string file = GetParam();
  const nlohmann::json vector = testing::read_json("vectors/vdaf-08/" + file + ".json");
  Fields top(vector, file);
  const auto vdaf = make_prio3_sum_vec_field64_multiproof_turboshake(
      proofs_of(file), top["bits"].get<std::size_t>(), top["length"].get<std::size_t>(),
      top["chunk_length"].get<std::size_t>(), top["shares"].get<std::size_t>(), 0xFFFFFFFF);
  reproduce_vector(*vdaf, top, file);
}

INSTANTIATE_TEST_SUITE_P(Vdaf08, Prio3MultiproofVectors,
                         ::testing::Values("libprio-0.16-extra/Prio3SumVecField64Multiproof_0",
                                           "libprio-0.16-extra/Prio3SumVecField64Multiproof_1",
                                           "Prio3SumVecWithMultiproof_0"));

// Prio3FixedPointBoundedL2VecSum has no official or libprio vectors. These
// files were made by this implementation from libprio 0.16.8's definition
// (testdata/README.md says how far that definition is checked against
// libprio's own values); they pin every byte, so a change that moves one is
// seen. JANUS_WRITE_FIXEDPOINT_VECTORS=<dir> makes the generator test write
// them anew into <dir>.
struct FixedPointVector {
  std::string file;
  std::size_t bits, length, shares;
  std::vector<nlohmann::json> measurements;
};

const std::vector<FixedPointVector>& fixed_point_vectors() {
  using nlohmann::json;
  static const std::vector<FixedPointVector> vectors = {
      // fixedpoint_l2.rs's example and its negation-free mix (prio3.rs tests), BitSize16.
      {"Prio3FixedPointBoundedL2VecSum_0",
       16,
       3,
       2,
       {json::array({0.25, 0.125, 0.0625}), json::array({0.25, -0.125, -0.0625}),
        json::array({-0.5, 0.5, 0.0})}},
      // BitSize32 with 5 entries (the norm gadget's second call is padded) and 3 shares.
      {"Prio3FixedPointBoundedL2VecSum_1",
       32,
       5,
       3,
       {json::array({0.0625, 0.125, 0.25, -0.5, 0.0}),
        json::array({-0.000000000465661287307739257812, 0.5, -0.5, 0.5, 0.25})}},
  };
  return vectors;
}

VdafDescription fixed_point_description(std::size_t bits, std::size_t length) {
  return {kFixedPointBoundedL2VecSum,
          {{"bitsize", bits == 16 ? "BitSize16" : "BitSize32"},
           {"length", length},
           {"dp_strategy", {{"dp_strategy", "NoDifferentialPrivacy"}}}}};
}

Bytes counting_bytes(std::size_t size, std::size_t start) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(start + i);
  return out;
}

// The vector in VDAF-08's JSON layout, from this implementation.
nlohmann::json generate_fixed_point_vector(const FixedPointVector& spec) {
  using nlohmann::json;
  const auto vdaf = make_prio3(fixed_point_description(spec.bits, spec.length), spec.shares);
  const Bytes verify_key = counting_bytes(vdaf->verify_key_size(), 0);
  json top = {{"agg_param", nullptr},
              {"bitsize", spec.bits == 16 ? "BitSize16" : "BitSize32"},
              {"length", spec.length},
              {"shares", spec.shares},
              {"verify_key", hex_encode(verify_key)},
              {"prep", json::array()}};
  std::vector<Bytes> aggregate_shares(spec.shares, vdaf->empty_aggregate_share({}));
  for (std::size_t i = 0; i < spec.measurements.size(); ++i) {
    const Bytes nonce = counting_bytes(vdaf->nonce_size(), i);
    const Bytes rand = counting_bytes(vdaf->rand_size(), i);
    const VdafShards shards = vdaf->shard(spec.measurements[i], nonce, rand);
    json prep = {{"measurement", spec.measurements[i]},
                 {"nonce", hex_encode(nonce)},
                 {"rand", hex_encode(rand)},
                 {"public_share", hex_encode(shards.public_share)},
                 {"input_shares", json::array()},
                 {"prep_shares", json::array({json::array()})},
                 {"out_shares", json::array()}};
    std::vector<VdafPrepInit> inits;
    std::vector<Bytes> prep_shares;
    for (std::size_t j = 0; j < spec.shares; ++j) {
      prep["input_shares"].push_back(hex_encode(shards.input_shares[j]));
      inits.push_back(
          vdaf->prep_init(verify_key, j, {}, nonce, shards.public_share, shards.input_shares[j]));
      prep_shares.push_back(inits.back().prep_share);
      prep["prep_shares"][0].push_back(hex_encode(prep_shares.back()));
    }
    const Bytes message = vdaf->prep_shares_to_prep({}, prep_shares);
    prep["prep_messages"] = json::array({hex_encode(message)});
    for (std::size_t j = 0; j < spec.shares; ++j) {
      const Bytes out = *vdaf->prep_next(inits[j].state, message).output_share;
      json elements = json::array();
      for (std::size_t offset = 0; offset < out.size(); offset += 16) {
        elements.push_back(hex_encode(ByteSpan(out).subspan(offset, 16)));
      }
      prep["out_shares"].push_back(elements);
      vdaf->accumulate(aggregate_shares[j], {}, out);
    }
    top["prep"].push_back(prep);
  }
  top["agg_shares"] = json::array();
  for (const Bytes& share : aggregate_shares) top["agg_shares"].push_back(hex_encode(share));
  top["agg_result"] = vdaf->unshard({}, aggregate_shares, spec.measurements.size());
  return top;
}

std::string fixed_point_vector_path(const std::string& dir, const std::string& file) {
  return dir + "/" + file + ".json";
}

TEST(Prio3FixedPointVectors, ReproducesEveryValue) {
  const std::string dir = std::string(JANUS_SOURCE_DIR) + "/plugins/vdaf/prio3/testdata";
  for (const FixedPointVector& spec : fixed_point_vectors()) {
    const nlohmann::json vector =
        nlohmann::json::parse(testing::read_text(fixed_point_vector_path(dir, spec.file)));
    Fields top(vector, spec.file);
    const auto vdaf = make_prio3(fixed_point_description(top["bitsize"] == "BitSize16" ? 16 : 32,
                                                         top["length"].get<std::size_t>()),
                                 top["shares"].get<std::size_t>());
    reproduce_vector(*vdaf, top, spec.file);
  }
}

// The generator makes the committed files (or, with JANUS_WRITE_FIXEDPOINT_VECTORS=<dir>,
// writes them there).
TEST(Prio3FixedPointVectors, GeneratorMakesTheCommittedFiles) {
  const char* write_dir = std::getenv("JANUS_WRITE_FIXEDPOINT_VECTORS");
  const std::string dir = std::string(JANUS_SOURCE_DIR) + "/plugins/vdaf/prio3/testdata";
  for (const FixedPointVector& spec : fixed_point_vectors()) {
    const nlohmann::json generated = generate_fixed_point_vector(spec);
    if (write_dir != nullptr) {
      std::ofstream out(fixed_point_vector_path(write_dir, spec.file), std::ios::binary);
      out << generated.dump(4) << "\n";
      ASSERT_TRUE(out.good()) << spec.file;
    } else {
      EXPECT_EQ(generated,
                nlohmann::json::parse(testing::read_text(fixed_point_vector_path(dir, spec.file))))
          << spec.file;
    }
  }
}

}  // namespace
}  // namespace janus::prio3
