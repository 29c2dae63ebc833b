#include <gtest/gtest.h>

#include <regex>

#include "field.h"
#include "test_support.h"
#include "turboshake.h"
#include "xof.h"

namespace janus::prio3 {
namespace {

using testing::Fields;
using testing::unhex;

Bytes ptn(std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i % 251);
  return out;
}

Bytes strip_hex(const std::string& text) {
  std::string compact;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) compact += c;
  }
  return unhex(compact);
}

Bytes turboshake128(ByteSpan message, std::uint8_t domain, std::size_t length) {
  TurboShake128 sponge;
  sponge.absorb(message);
  sponge.finish(domain);
  Bytes out(length);
  sponge.squeeze(out.data(), out.size());
  return out;
}

// Every TurboSHAKE128 vector of RFC 9861 (read from the document's source).
TEST(TurboShake128, RfcVectors) {
  const std::string doc =
      testing::read_text(testing::shared_path("specs/kangarootwelve-turboshake.xml"));
  const std::regex entry(
      R"(TurboSHAKE128\(M=(`00`\^0|ptn\(17\*\*(\d) bytes\)|`([0-9A-F ]+)`), D=`([0-9A-F]{2})`, (\d+)\)(, last (\d+) bytes)?:\s*`([0-9A-F\s]+)`)");
  std::size_t count = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), entry); it != std::sregex_iterator();
       ++it) {
    const std::smatch& m = *it;
    Bytes message;
    if (m[2].matched) {
      std::size_t n = 1;
      for (int i = 0; i < std::stoi(m[2]); ++i) n *= 17;
      message = ptn(n);
    } else if (m[3].matched) {
      message = strip_hex(m[3]);
    }
    const auto domain = static_cast<std::uint8_t>(std::stoi(m[4], nullptr, 16));
    const std::size_t length = std::stoul(m[5]);
    const Bytes expected = strip_hex(m[8]);
    Bytes output = turboshake128(message, domain, length);
    if (m[6].matched) output.erase(output.begin(), output.end() - std::stoul(m[7]));
    EXPECT_EQ(hex_encode(output), hex_encode(expected)) << m[0];
    // Absorbing in odd pieces and squeezing byte by byte gives the same stream.
    TurboShake128 pieces;
    for (std::size_t offset = 0; offset < message.size(); offset += 97) {
      pieces.absorb(
          ByteSpan(message).subspan(offset, std::min<std::size_t>(97, message.size() - offset)));
    }
    pieces.finish(domain);
    Bytes stream(length);
    for (std::size_t i = 0; i < length; ++i) pieces.squeeze(&stream[i], 1);
    if (m[6].matched) stream.erase(stream.begin(), stream.end() - std::stoul(m[7]));
    EXPECT_EQ(stream, output);
    ++count;
  }
  EXPECT_EQ(count, 16u) << "the RFC has 16 TurboSHAKE128 vectors";
}

TEST(XofTurboShake128, OfficialVector) {
  const nlohmann::json vector = testing::read_json("vectors/vdaf-08/XofTurboShake128.json");
  Fields fields(vector, "XofTurboShake128.json");
  const Bytes seed = unhex(fields["seed"]);
  const Bytes dst = unhex(fields["dst"]);
  const Bytes binder = unhex(fields["binder"]);
  const Seed derived = derive_seed(seed, dst, binder);
  EXPECT_EQ(hex_encode(derived), fields["derived_seed"].get<std::string>());
  const std::size_t length = fields["length"].get<std::size_t>();
  const auto vec = expand_into_vec<Field128>(seed, dst, binder, length);
  Bytes encoded(length * Field128::kEncodedSize);
  for (std::size_t i = 0; i < length; ++i) vec[i].encode(&encoded[i * Field128::kEncodedSize]);
  EXPECT_EQ(hex_encode(encoded), fields["expanded_vec_field128"].get<std::string>());
}

// The batched permutation must agree with the scalar one for every batch size.
TEST(KeccakP1600, FourAtOnceMatchesOneAtATime) {
  for (std::size_t count = 1; count <= 4; ++count) {
    std::array<std::array<std::uint64_t, 25>, 4> batched{}, single{};
    for (std::size_t k = 0; k < 4; ++k) {
      for (std::size_t i = 0; i < 25; ++i) {
        batched[k][i] = single[k][i] = 0x9e3779b97f4a7c15ULL * (i + 1) + k;
      }
    }
    std::array<std::uint64_t, 25>* states[4] = {&batched[0], &batched[1], &batched[2], &batched[3]};
    for (int round = 0; round < 3; ++round) {
      keccak_p1600_12_x4(states, count);
      for (std::size_t k = 0; k < count; ++k) keccak_p1600_12(single[k]);
    }
    EXPECT_EQ(batched, single) << count;
  }
}

// next_vec_feeding gives what next_vec gives, and its feeds hash exactly the
// bytes pushed into them, for lengths around block boundaries.
TEST(XofTurboShake128, FeedingMatchesSeparateExpansionAndHash) {
  const Bytes seed = ptn(16), dst = ptn(8), prefix = ptn(42);
  for (std::size_t count : {1, 10, 11, 21, 100, 1000}) {
    const auto expected = XofTurboShake128(seed, dst, prefix).next_vec<Field128>(count);
    Bytes encoded(count * Field128::kEncodedSize);
    for (std::size_t i = 0; i < count; ++i) {
      expected[i].encode(&encoded[i * Field128::kEncodedSize]);
    }
    XofTurboShake128 plain_hash(seed, dst, prefix);
    plain_hash.absorb_binder(encoded);
    const Seed expected_seed = plain_hash.next_seed();

    XofTurboShake128 source(seed, dst, prefix), hash(seed, dst, prefix);
    XofFeed feed(hash);
    XofFeed* feeds[1] = {&feed};
    std::vector<Field128> got;
    next_vec_feeding<Field128>(
        source, count, feeds,
        [&](const Field128* values, const std::uint8_t* bytes, std::size_t n) {
          got.insert(got.end(), values, values + n);
          feed.push(bytes, n * Field128::kEncodedSize);
        });
    feed.finish();
    EXPECT_TRUE(got == expected) << count;
    EXPECT_EQ(hash.next_seed(), expected_seed) << count;
  }
}

}  // namespace
}  // namespace janus::prio3
