#include "janus/auth.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "janus/bytes.h"
#include "janus/ids.h"

namespace janus {
namespace {

bool is_b64token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// RFC 6750 §2.1 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view value) {
  std::size_t i = 0;
  while (i < value.size() && is_b64token_char(value[i])) ++i;
  if (i == 0) return false;
  while (i < value.size() && value[i] == '=') ++i;
  return i == value.size();
}

bool is_dap_auth_token(std::string_view value) {
  if (value.empty() || value.front() == ' ' || value.back() == ' ') return false;
  for (char c : value)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

AuthTokenHash::Digest sha256(std::string_view data) {
  AuthTokenHash::Digest digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size())
    throw std::runtime_error("SHA-256 failed");
  return digest;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view auth_token_type_name(AuthTokenType type) {
  return type == AuthTokenType::Bearer ? "Bearer" : "DapAuth";
}

std::optional<AuthTokenType> parse_auth_token_type(std::string_view name) {
  if (name == "Bearer") return AuthTokenType::Bearer;
  if (name == "DapAuth") return AuthTokenType::DapAuth;
  return std::nullopt;
}

std::optional<AuthToken> AuthToken::create(AuthTokenType type, std::string value) {
  const bool valid = type == AuthTokenType::Bearer ? is_b64token(value) : is_dap_auth_token(value);
  if (!valid) return std::nullopt;
  return AuthToken(type, std::move(value));
}

AuthToken AuthToken::generate(AuthTokenType type) {
  std::array<std::uint8_t, 16> secret{};
  random_bytes(secret);
  return AuthToken(type, base64url_encode(secret));
}

std::pair<std::string, std::string> AuthToken::request_header() const {
  if (type_ == AuthTokenType::Bearer)
    return {std::string(kAuthorizationHeader), "Bearer " + value_};
  return {std::string(kDapAuthTokenHeader), value_};
}

AuthTokenHash AuthToken::hash() const { return AuthTokenHash(type_, sha256(value_)); }

bool operator==(const AuthToken& a, const AuthToken& b) {
  return a.type_ == b.type_ && constant_time_equal(as_bytes(a.value_), as_bytes(b.value_));
}

std::optional<AuthTokenHash> AuthTokenHash::from_base64url(AuthTokenType type,
                                                           std::string_view hash) {
  auto bytes = base64url_decode(hash);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Digest digest{};
  std::copy(bytes->begin(), bytes->end(), digest.begin());
  return AuthTokenHash(type, digest);
}

std::string AuthTokenHash::to_base64url() const { return base64url_encode(digest_); }

bool AuthTokenHash::validate(const AuthToken& presented) const {
  const Digest presented_digest = sha256(presented.value());
  // Hash first, compare in constant time; the type is not secret.
  const bool same_digest = constant_time_equal(presented_digest, digest_);
  return same_digest && presented.type() == type_;
}

std::optional<AuthToken> extract_auth_token(std::optional<std::string_view> authorization,
                                            std::optional<std::string_view> dap_auth_token) {
  if (authorization) {
    // "Bearer" SP b64token; the scheme name is case-insensitive (RFC 7235 §2.1).
    const std::string_view value = *authorization;
    constexpr std::string_view kScheme = "Bearer ";
    if (value.size() > kScheme.size() && iequals(value.substr(0, kScheme.size()), kScheme))
      return AuthToken::create(AuthTokenType::Bearer, std::string(value.substr(kScheme.size())));
    if (!dap_auth_token) return std::nullopt;
  }
  if (dap_auth_token)
    return AuthToken::create(AuthTokenType::DapAuth, std::string(*dap_auth_token));
  return std::nullopt;
}

}  // namespace janus
