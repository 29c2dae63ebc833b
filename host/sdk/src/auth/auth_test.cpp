#include "janus/auth.h"

#include <gtest/gtest.h>

#include "janus/bytes.h"

namespace janus {
namespace {

TEST(AuthToken, TypeNamesMatchTasksYaml) {
  EXPECT_EQ(parse_auth_token_type("Bearer"), AuthTokenType::Bearer);
  EXPECT_EQ(parse_auth_token_type("DapAuth"), AuthTokenType::DapAuth);
  EXPECT_EQ(parse_auth_token_type("bearer"), std::nullopt);
  EXPECT_EQ(auth_token_type_name(AuthTokenType::DapAuth), "DapAuth");
}

TEST(AuthToken, BearerTokensMustBeB64Tokens) {
  EXPECT_TRUE(AuthToken::create(AuthTokenType::Bearer, "abc-._~+/XYZ09=="));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::Bearer, ""));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::Bearer, "=abc"));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::Bearer, "ab=c"));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::Bearer, "a b"));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::Bearer, "a\nb"));
}

TEST(AuthToken, DapAuthTokensArePrintableAscii) {
  EXPECT_TRUE(AuthToken::create(AuthTokenType::DapAuth,
                                "YWdncmVnYXRvci0yMzUyNDJmOTk0MDZjNGZkMjhiODIwYzMyZWFiMGY2OA"));
  EXPECT_TRUE(AuthToken::create(AuthTokenType::DapAuth, "a token!"));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::DapAuth, ""));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::DapAuth, " padded"));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::DapAuth, "line\r\nbreak"));
  EXPECT_FALSE(AuthToken::create(AuthTokenType::DapAuth, "caf\xc3\xa9"));
}

TEST(AuthToken, RequestHeaders) {
  auto bearer = AuthToken::create(AuthTokenType::Bearer, "tok");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->request_header(),
            (std::pair<std::string, std::string>{"Authorization", "Bearer tok"}));
  auto dap = AuthToken::create(AuthTokenType::DapAuth, "tok");
  ASSERT_TRUE(dap);
  EXPECT_EQ(dap->request_header(), (std::pair<std::string, std::string>{"DAP-Auth-Token", "tok"}));
}

TEST(AuthToken, HashIsSha256OfTheTokenString) {
  // SHA-256("abc") (FIPS 180-2 example), base64url without padding.
  auto token = AuthToken::create(AuthTokenType::Bearer, "abc");
  ASSERT_TRUE(token);
  EXPECT_EQ(hex_encode(token->hash().digest()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(token->hash().to_base64url(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  auto parsed = AuthTokenHash::from_base64url(AuthTokenType::Bearer,
                                              "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, token->hash());
  EXPECT_FALSE(AuthTokenHash::from_base64url(AuthTokenType::Bearer,
                                             "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa"));
  EXPECT_FALSE(AuthTokenHash::from_base64url(AuthTokenType::Bearer, "not base64"));
}

TEST(AuthTokenHash, ValidatesOnlyTheSameTokenOfTheSameType) {
  const AuthToken token = AuthToken::generate(AuthTokenType::Bearer);
  const AuthTokenHash stored = token.hash();
  EXPECT_TRUE(stored.validate(token));
  EXPECT_FALSE(stored.validate(AuthToken::generate(AuthTokenType::Bearer)));
  // Same value presented in the other header type: refused (Janus accepts
  // only the configured type).
  auto as_dap = AuthToken::create(AuthTokenType::DapAuth, token.value());
  ASSERT_TRUE(as_dap);
  EXPECT_FALSE(stored.validate(*as_dap));
  // One character off.
  std::string off = token.value();
  off.back() = off.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(stored.validate(*AuthToken::create(AuthTokenType::Bearer, off)));
}

TEST(ExtractAuthToken, BearerWinsThenDapAuthToken) {
  auto both = extract_auth_token("Bearer abc", "def");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->type(), AuthTokenType::Bearer);
  EXPECT_EQ(both->value(), "abc");
  auto lower = extract_auth_token("bearer abc", std::nullopt);
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->value(), "abc");
  auto dap = extract_auth_token(std::nullopt, "def");
  ASSERT_TRUE(dap);
  EXPECT_EQ(dap->type(), AuthTokenType::DapAuth);
  EXPECT_EQ(dap->value(), "def");
  // A non-Bearer Authorization header falls back to DAP-Auth-Token.
  auto basic = extract_auth_token("Basic dXNlcjpwYXNz", "def");
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->type(), AuthTokenType::DapAuth);
  EXPECT_FALSE(extract_auth_token("Basic dXNlcjpwYXNz", std::nullopt));
  EXPECT_FALSE(extract_auth_token(std::nullopt, std::nullopt));
  EXPECT_FALSE(extract_auth_token("Bearer ", std::nullopt));
  EXPECT_FALSE(extract_auth_token("Bearer a b", std::nullopt));
  EXPECT_FALSE(extract_auth_token(std::nullopt, ""));
}

}  // namespace
}  // namespace janus
