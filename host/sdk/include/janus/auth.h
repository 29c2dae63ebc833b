// DAP request authentication tokens as Janus 0.7 uses them (DAP-09 §3.1;
// draft-dcook-ppm-dap-interop-test-design): `Authorization: Bearer <token>` or
// `DAP-Auth-Token: <token>`. The token travels verbatim; the receiving side
// stores only base64url(SHA-256(token)) and compares hashes in constant time.
// Pure: no I/O, no HTTP library; callers pass header values in.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace janus {

// tasks.yaml `type:` values "Bearer" and "DapAuth".
enum class AuthTokenType { Bearer, DapAuth };

std::string_view auth_token_type_name(AuthTokenType type);  // "Bearer" / "DapAuth"
std::optional<AuthTokenType> parse_auth_token_type(std::string_view name);

inline constexpr std::string_view kAuthorizationHeader = "Authorization";
inline constexpr std::string_view kDapAuthTokenHeader = "DAP-Auth-Token";

class AuthTokenHash;

class AuthToken {
 public:
  // nullopt unless `value` is a valid token of that type: Bearer tokens match
  // RFC 6750's b64token `^[-A-Za-z0-9._~+/]+=*$` (as Janus checks); DAP-Auth-Token
  // values are non-empty printable ASCII without surrounding spaces.
  static std::optional<AuthToken> create(AuthTokenType type, std::string value);
  // A fresh random token (16 random bytes, unpadded base64url: valid for both types).
  static AuthToken generate(AuthTokenType type);

  AuthTokenType type() const { return type_; }
  // The secret itself: keep it out of logs.
  const std::string& value() const { return value_; }

  // The header a sender attaches: ("Authorization", "Bearer <token>") or
  // ("DAP-Auth-Token", "<token>").
  std::pair<std::string, std::string> request_header() const;

  AuthTokenHash hash() const;

  friend bool operator==(const AuthToken& a, const AuthToken& b);

 private:
  AuthToken(AuthTokenType type, std::string value) : type_(type), value_(std::move(value)) {}
  AuthTokenType type_;
  std::string value_;
};

// What a receiver stores: the token type and SHA-256 of the token string.
class AuthTokenHash {
 public:
  using Digest = std::array<std::uint8_t, 32>;

  AuthTokenHash(AuthTokenType type, const Digest& digest) : type_(type), digest_(digest) {}
  // From tasks.yaml: `hash` is unpadded base64url of the 32-byte digest.
  static std::optional<AuthTokenHash> from_base64url(AuthTokenType type, std::string_view hash);

  AuthTokenType type() const { return type_; }
  const Digest& digest() const { return digest_; }
  std::string to_base64url() const;

  // True if `presented` has this hash's type and its SHA-256 equals the stored
  // digest; the comparison takes the same time wherever the digests differ.
  bool validate(const AuthToken& presented) const;

  friend bool operator==(const AuthTokenHash&, const AuthTokenHash&) = default;

 private:
  AuthTokenType type_;
  Digest digest_;
};

// Reads the token a request presents, as Janus does: an `Authorization`
// header with the Bearer scheme wins; otherwise `DAP-Auth-Token`. Pass each
// header's value, or nullopt if absent. nullopt if neither is present or the
// one that is present is malformed (the caller answers unauthorizedRequest).
std::optional<AuthToken> extract_auth_token(std::optional<std::string_view> authorization,
                                            std::optional<std::string_view> dap_auth_token);

}  // namespace janus
