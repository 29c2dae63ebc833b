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

}  // namespace
}  // namespace janus::prio3
