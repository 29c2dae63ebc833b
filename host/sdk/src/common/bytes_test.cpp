#include "janus/bytes.h"

#include <gtest/gtest.h>

namespace janus {
namespace {

TEST(Hex, RoundTrip) {
  Bytes data{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(hex_encode(data), "0001abff");
  EXPECT_EQ(hex_decode("0001ABff"), data);
  EXPECT_EQ(hex_decode("abc"), std::nullopt);
  EXPECT_EQ(hex_decode("zz"), std::nullopt);
}

TEST(Base64Url, Rfc4648Vectors) {
  // RFC 4648 §10 test vectors, without padding.
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(as_bytes(plain)), encoded);
    EXPECT_EQ(base64url_decode(encoded), to_bytes(plain));
  }
}

TEST(Base64Url, UrlAlphabetAndRejections) {
  Bytes data{0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64url_encode(data), "-_-_");
  EXPECT_EQ(base64url_decode("-_-_"), data);
  EXPECT_EQ(base64url_decode("Zg=="), std::nullopt);  // padding
  EXPECT_EQ(base64url_decode("+/+/"), std::nullopt);  // standard alphabet
  EXPECT_EQ(base64url_decode("Z"), std::nullopt);     // impossible length
  EXPECT_EQ(base64url_decode("Zh"), std::nullopt);    // non-zero trailing bits
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  Bytes a{1, 2, 3};
  EXPECT_TRUE(constant_time_equal(a, Bytes{1, 2, 3}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{1, 2, 4}));
  EXPECT_FALSE(constant_time_equal(a, Bytes{1, 2}));
}

}  // namespace
}  // namespace janus
