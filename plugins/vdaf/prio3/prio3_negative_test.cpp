// Invalid reports and malformed bytes are rejected with VDAF errors, never a crash.
#include <gtest/gtest.h>

#include <random>

#include "prio3.h"
#include "test_support.h"

namespace janus::prio3 {
namespace {

const Bytes kVerifyKey(16, 0x42);
const Bytes kNonce(16, 0x07);
const Bytes kNoAggParam;

VdafDescription describe(const std::string& name,
                         nlohmann::json parameters = nlohmann::json::object()) {
  return VdafDescription{name, std::move(parameters)};
}

struct Case {
  VdafDescription description;
  nlohmann::json measurement;
};

std::vector<Case> valid_cases() {
  return {
      {describe("Prio3Count"), 1},
      {describe("Prio3Sum", {{"bits", 8}}), 200},
      {describe("Prio3SumVec", {{"bits", 2}, {"length", 5}, {"chunk_length", 3}}), {0, 1, 2, 3, 1}},
      {describe("Prio3Histogram", {{"length", 7}, {"chunk_length", 3}}), 4},
  };
}

// Runs preparation for both aggregators; throws what the VDAF throws.
std::vector<Bytes> prepare(const Vdaf& vdaf, const VdafShards& shards) {
  std::vector<Bytes> states, prep_shares;
  for (std::size_t j = 0; j < 2; ++j) {
    VdafPrepInit init = vdaf.prep_init(kVerifyKey, j, kNoAggParam, kNonce, shards.public_share,
                                       shards.input_shares[j]);
    states.push_back(init.state);
    prep_shares.push_back(init.prep_share);
  }
  const Bytes message = vdaf.prep_shares_to_prep(kNoAggParam, prep_shares);
  std::vector<Bytes> out;
  for (const Bytes& state : states) out.push_back(*vdaf.prep_next(state, message).output_share);
  return out;
}

TEST(Prio3Negative, ValidReportsRoundTrip) {
  for (const Case& c : valid_cases()) {
    const auto vdaf = make_prio3(c.description);
    const std::vector<Bytes> out = prepare(*vdaf, vdaf->shard(c.measurement, kNonce));
    nlohmann::json expected = c.measurement;
    if (c.description.name == "Prio3Histogram") {
      expected = nlohmann::json::array({0, 0, 0, 0, 1, 0, 0});
    }
    EXPECT_EQ(vdaf->unshard(kNoAggParam, out, 1), expected) << c.description.name;
  }
}

// Adds 1 to the field element at `index` of the leader's input share.
Bytes tamper_leader_element(const Vdaf& vdaf, Bytes share, std::size_t index) {
  const std::size_t size = vdaf.algorithm_id() == 0 ? 8 : 16;
  std::uint8_t* element = share.data() + index * size;
  element[0] = static_cast<std::uint8_t>(element[0] == 0 ? 1 : element[0] - 1);
  vdaf.check_input_share(0, share);  // still a well-formed share
  return share;
}

TEST(Prio3Negative, TamperedMeasurementShareFailsPreparation) {
  for (const Case& c : valid_cases()) {
    const auto vdaf = make_prio3(c.description);
    VdafShards shards = vdaf->shard(c.measurement, kNonce);
    shards.input_shares[0] = tamper_leader_element(*vdaf, shards.input_shares[0], 0);
    EXPECT_THROW(prepare(*vdaf, shards), VdafPrepError) << c.description.name;
  }
}

TEST(Prio3Negative, TamperedProofShareFailsPreparation) {
  for (const Case& c : valid_cases()) {
    const auto vdaf = make_prio3(c.description);
    VdafShards shards = vdaf->shard(c.measurement, kNonce);
    // The leader share is meas ‖ proof ‖ [blind]; tamper with every proof element in turn.
    const std::size_t element_size = vdaf->algorithm_id() == 0 ? 8 : 16;
    const std::size_t blind = shards.public_share.empty() ? 0 : 16;
    const std::size_t elements = (shards.input_shares[0].size() - blind) / element_size;
    const std::size_t meas_len = c.description.name == "Prio3Count"    ? 1
                                 : c.description.name == "Prio3Sum"    ? 8
                                 : c.description.name == "Prio3SumVec" ? 10
                                                                       : 7;
    for (std::size_t index = meas_len; index < elements; ++index) {
      VdafShards tampered = shards;
      tampered.input_shares[0] = tamper_leader_element(*vdaf, shards.input_shares[0], index);
      EXPECT_THROW(prepare(*vdaf, tampered), VdafPrepError) << c.description.name << " " << index;
    }
  }
}

TEST(Prio3Negative, TamperedHelperSeedFailsPreparation) {
  for (const Case& c : valid_cases()) {
    const auto vdaf = make_prio3(c.description);
    VdafShards shards = vdaf->shard(c.measurement, kNonce);
    shards.input_shares[1][20] ^= 1;  // proof-share seed
    EXPECT_THROW(prepare(*vdaf, shards), VdafPrepError) << c.description.name;
  }
}

TEST(Prio3Negative, MeasurementOutOfRangeIsRefused) {
  const auto count = make_prio3(describe("Prio3Count"));
  EXPECT_THROW(count->shard(2, kNonce), VdafInputError);
  EXPECT_THROW(count->shard(-1, kNonce), VdafInputError);
  EXPECT_THROW(count->shard("1", kNonce), VdafInputError);
  const auto sum = make_prio3(describe("Prio3Sum", {{"bits", 8}}));
  EXPECT_THROW(sum->shard(256, kNonce), VdafInputError);
  EXPECT_THROW(sum->shard(1.5, kNonce), VdafInputError);
  EXPECT_NO_THROW(sum->shard(255, kNonce));
  const auto sumvec =
      make_prio3(describe("Prio3SumVec", {{"bits", 2}, {"length", 3}, {"chunk_length", 2}}));
  EXPECT_THROW(sumvec->shard(nlohmann::json({1, 2}), kNonce), VdafInputError);
  EXPECT_THROW(sumvec->shard(nlohmann::json({1, 2, 4}), kNonce), VdafInputError);
  EXPECT_THROW(sumvec->shard(3, kNonce), VdafInputError);
  const auto histogram =
      make_prio3(describe("Prio3Histogram", {{"length", 4}, {"chunk_length", 2}}));
  EXPECT_THROW(histogram->shard(4, kNonce), VdafInputError);
  EXPECT_NO_THROW(histogram->shard(3, kNonce));
}

TEST(Prio3Negative, WrongLengthsAreDecodeErrors) {
  for (const Case& c : valid_cases()) {
    const auto vdaf = make_prio3(c.description);
    const VdafShards shards = vdaf->shard(c.measurement, kNonce);
    for (std::size_t j = 0; j < 2; ++j) {
      Bytes longer = shards.input_shares[j];
      longer.push_back(0);
      Bytes shorter(shards.input_shares[j].begin(), shards.input_shares[j].end() - 1);
      EXPECT_THROW(vdaf->check_input_share(j, longer), VdafDecodeError);
      EXPECT_THROW(vdaf->prep_init(kVerifyKey, j, kNoAggParam, kNonce, shards.public_share, longer),
                   VdafDecodeError);
      EXPECT_THROW(
          vdaf->prep_init(kVerifyKey, j, kNoAggParam, kNonce, shards.public_share, shorter),
          VdafDecodeError);
    }
    Bytes public_share = shards.public_share;
    public_share.push_back(1);
    EXPECT_THROW(vdaf->check_public_share(public_share), VdafDecodeError);
    EXPECT_THROW(
        vdaf->prep_init(kVerifyKey, 0, kNoAggParam, kNonce, public_share, shards.input_shares[0]),
        VdafDecodeError);
    EXPECT_THROW(vdaf->check_aggregation_parameter(Bytes{1}), VdafDecodeError);

    const VdafPrepInit leader = vdaf->prep_init(kVerifyKey, 0, kNoAggParam, kNonce,
                                                shards.public_share, shards.input_shares[0]);
    const VdafPrepInit helper = vdaf->prep_init(kVerifyKey, 1, kNoAggParam, kNonce,
                                                shards.public_share, shards.input_shares[1]);
    Bytes short_prep_share(leader.prep_share.begin(), leader.prep_share.end() - 1);
    EXPECT_THROW(vdaf->check_prep_share(short_prep_share), VdafDecodeError);
    EXPECT_THROW(vdaf->prep_shares_to_prep(kNoAggParam,
                                           std::vector<Bytes>{short_prep_share, helper.prep_share}),
                 VdafDecodeError);
    // A verifier element >= p.
    Bytes out_of_range = leader.prep_share;
    std::fill(out_of_range.begin(),
              out_of_range.begin() + (c.description.name == "Prio3Count" ? 8 : 16), 0xff);
    EXPECT_THROW(vdaf->check_prep_share(out_of_range), VdafDecodeError);
    EXPECT_THROW(
        vdaf->prep_shares_to_prep(kNoAggParam, std::vector<Bytes>{out_of_range, helper.prep_share}),
        VdafDecodeError);

    const Bytes message = vdaf->prep_shares_to_prep(
        kNoAggParam, std::vector<Bytes>{leader.prep_share, helper.prep_share});
    Bytes long_message = message;
    long_message.push_back(0);
    EXPECT_THROW(vdaf->prep_next(leader.state, long_message), VdafDecodeError);

    const Bytes out = *vdaf->prep_next(leader.state, message).output_share;
    Bytes aggregate = vdaf->empty_aggregate_share(kNoAggParam);
    Bytes long_out = out;
    long_out.push_back(0);
    EXPECT_THROW(vdaf->accumulate(aggregate, {}, long_out), VdafDecodeError);
    EXPECT_THROW(vdaf->check_output_share(long_out), VdafDecodeError);
    EXPECT_THROW(vdaf->check_aggregate_share(Bytes(3, 0)), VdafDecodeError);
    Bytes bad_element = out;
    std::fill(bad_element.begin(),
              bad_element.begin() + (c.description.name == "Prio3Count" ? 8 : 16), 0xff);
    EXPECT_THROW(vdaf->accumulate(aggregate, {}, bad_element), VdafDecodeError);
  }
}

TEST(Prio3Negative, PrepMessageDisagreeingWithJointRandomnessFails) {
  for (const Case& c : valid_cases()) {
    if (c.description.name == "Prio3Count") continue;  // no joint randomness
    const auto vdaf = make_prio3(c.description);
    const VdafShards shards = vdaf->shard(c.measurement, kNonce);
    const VdafPrepInit leader = vdaf->prep_init(kVerifyKey, 0, kNoAggParam, kNonce,
                                                shards.public_share, shards.input_shares[0]);
    const VdafPrepInit helper = vdaf->prep_init(kVerifyKey, 1, kNoAggParam, kNonce,
                                                shards.public_share, shards.input_shares[1]);
    Bytes message = vdaf->prep_shares_to_prep(
        kNoAggParam, std::vector<Bytes>{leader.prep_share, helper.prep_share});
    message[3] ^= 0x10;
    EXPECT_THROW(vdaf->prep_next(leader.state, message), VdafPrepError) << c.description.name;
    EXPECT_THROW(vdaf->prep_next(helper.state, message), VdafPrepError) << c.description.name;
  }
}

TEST(Prio3Negative, ClientLyingInPublicShareIsCaught) {
  for (const Case& c : valid_cases()) {
    if (c.description.name == "Prio3Count") continue;
    const auto vdaf = make_prio3(c.description);
    VdafShards shards = vdaf->shard(c.measurement, kNonce);
    shards.public_share[20] ^= 1;  // the helper's joint randomness part
    EXPECT_THROW(prepare(*vdaf, shards), VdafPrepError) << c.description.name;
  }
}

TEST(Prio3Negative, InvalidDescriptionsAreRejected) {
  EXPECT_THROW(make_prio3(describe("Prio3Count", {{"bits", 1}})), std::invalid_argument);
  EXPECT_THROW(make_prio3(describe("Prio3Sum")), std::invalid_argument);
  EXPECT_THROW(make_prio3(describe("Prio3Sum", {{"bits", 0}})), std::invalid_argument);
  EXPECT_THROW(make_prio3(describe("Prio3Sum", {{"bits", 200}})), std::invalid_argument);
  EXPECT_THROW(make_prio3(describe("Prio3Sum", {{"bits", -3}})), std::invalid_argument);
  EXPECT_THROW(make_prio3(describe("Prio3Histogram", {{"length", 4}})), std::invalid_argument);
  EXPECT_THROW(make_prio3(describe("Prio3Histogram",
                                   {{"length", 4},
                                    {"chunk_length", 2},
                                    {"dp_strategy", {{"dp_strategy", "PureDpDiscreteLaplace"}}}})),
               std::invalid_argument);
  EXPECT_NO_THROW(make_prio3(
      describe("Prio3Histogram", {{"length", "4"},
                                  {"chunk_length", 2},
                                  {"dp_strategy", {{"dp_strategy", "NoDifferentialPrivacy"}}}})));
  EXPECT_THROW(make_prio3(describe("Prio3Nope")), std::invalid_argument);
  EXPECT_THROW(
      make_prio3(describe("Prio3Histogram", {{"length", 4294967295ULL}, {"chunk_length", 2}})),
      std::invalid_argument);
  EXPECT_THROW(make_prio3(describe("Prio3SumVec",
                                   {{"bits", 64}, {"length", 100000000}, {"chunk_length", 2}})),
               std::invalid_argument);
  const auto sum = make_prio3(describe("Prio3Sum", {{"bits", 8}}));
  EXPECT_EQ(sum->algorithm_id(), 1u);
  EXPECT_EQ(sum->verify_key_size(), 16u);
  EXPECT_EQ(sum->description().name, "Prio3Sum");
}

}  // namespace
}  // namespace janus::prio3

namespace janus::prio3 {
namespace {

// bits = 1 takes the identity-truncation path (output share = measurement share).
TEST(Prio3SumVec, OneBitElementsRoundTrip) {
  const auto vdaf =
      make_prio3(describe("Prio3SumVec", {{"bits", 1}, {"length", 7}, {"chunk_length", 3}}));
  const nlohmann::json measurement = {1, 0, 1, 1, 0, 0, 1};
  const std::vector<Bytes> out = prepare(*vdaf, vdaf->shard(measurement, kNonce));
  EXPECT_EQ(vdaf->unshard(kNoAggParam, out, 1), measurement);
}

}  // namespace
}  // namespace janus::prio3

namespace janus::prio3 {
namespace {

// Random bytes in every untrusted position: each call either succeeds or
// throws a VdafError (never a crash, never another exception type).
TEST(Prio3Negative, RandomBytesNeverCrash) {
  for (const Case& c : valid_cases()) {
    const auto vdaf = make_prio3(c.description);
    testing::prepare_with_random_bytes(*vdaf, vdaf->shard(c.measurement, kNonce), kVerifyKey,
                                       kNonce, 300, 7);
  }
}

}  // namespace
}  // namespace janus::prio3
