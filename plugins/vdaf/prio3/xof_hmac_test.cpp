// XofHmacSha256Aes128 against libprio 0.16's vector (testdata/, see its README).
#include <gtest/gtest.h>

#include "field.h"
#include "test_support.h"
#include "xof_hmac.h"

namespace janus::prio3 {
namespace {

using testing::Fields;
using testing::unhex;

nlohmann::json read_testdata(const std::string& name) {
  return nlohmann::json::parse(
      testing::read_text(std::string(JANUS_SOURCE_DIR) + "/plugins/vdaf/prio3/testdata/" + name));
}

TEST(XofHmacSha256Aes128, LibprioVector) {
  const nlohmann::json vector = read_testdata("XofHmacSha256Aes128.json");
  Fields fields(vector, "XofHmacSha256Aes128.json");
  const Bytes seed = unhex(fields["seed"]);
  const Bytes dst = unhex(fields["dst"]);
  const Bytes binder = unhex(fields["binder"]);
  ASSERT_EQ(seed.size(), XofHmacSha256Aes128::kSeedLength);
  const auto derived = derive_seed<XofHmacSha256Aes128>(seed, dst, binder);
  EXPECT_EQ(hex_encode(derived), fields["derived_seed"].get<std::string>());
  const std::size_t length = fields["length"].get<std::size_t>();
  const auto vec = expand_into_vec<Field128, XofHmacSha256Aes128>(seed, dst, binder, length);
  Bytes encoded(length * Field128::kEncodedSize);
  for (std::size_t i = 0; i < length; ++i) vec[i].encode(&encoded[i * Field128::kEncodedSize]);
  EXPECT_EQ(hex_encode(encoded), fields["expanded_vec_field128"].get<std::string>());

  // The binder given piecewise, and the stream read in odd pieces across the
  // XOF's internal buffer, give the same bytes.
  XofHmacSha256Aes128 whole(seed, dst, binder);
  Bytes expected(3000);
  whole.next(expected.data(), expected.size());
  XofHmacSha256Aes128 pieces(seed, dst);
  pieces.absorb_binder(ByteSpan(binder).subspan(0, 5));
  pieces.absorb_binder(ByteSpan(binder).subspan(5));
  Bytes got(expected.size());
  std::size_t offset = 0;
  for (std::size_t step = 1; offset < got.size(); step = step * 3 % 1000 + 1) {
    const std::size_t n = std::min(step, got.size() - offset);
    pieces.next(got.data() + offset, n);
    offset += n;
  }
  EXPECT_EQ(got, expected);
  EXPECT_THROW(pieces.absorb_binder(binder), std::logic_error);
}

TEST(XofHmacSha256Aes128, RejectsWrongSeedLength) {
  const Bytes dst = {1, 2, 3};
  EXPECT_THROW(XofHmacSha256Aes128(Bytes(16, 0), dst), std::invalid_argument);
  EXPECT_THROW(XofHmacSha256Aes128(Bytes(33, 0), dst), std::invalid_argument);
  EXPECT_THROW(XofHmacSha256Aes128(Bytes(32, 0), Bytes(256, 0)), std::invalid_argument);
}

}  // namespace
}  // namespace janus::prio3
