// Byte strings and their text encodings, shared by every SDK area.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace janus {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

inline ByteSpan as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Lower-case hex; hex_decode accepts either case and returns nullopt on an odd
// length or a non-hex character.
std::string hex_encode(ByteSpan data);
std::optional<Bytes> hex_decode(std::string_view text);

// Unpadded base64url (RFC 4648 §5), as DAP uses in paths and Janus in YAML.
// base64url_decode rejects padding, characters outside the alphabet and
// non-canonical trailing bits, returning nullopt.
std::string base64url_encode(ByteSpan data);
std::optional<Bytes> base64url_decode(std::string_view text);

// Constant-time equality (for secrets such as token hashes).
bool constant_time_equal(ByteSpan a, ByteSpan b);

// Lexicographic byte order for ordered containers of Bytes, compared byte by byte:
// std::less<Bytes> goes through a memcmp whose length g++ 12 -O3 cannot bound, and warns
// (-Wstringop-overread) wherever a std::map<Bytes> or std::set<Bytes> is used.
struct BytesLess {
  bool operator()(const Bytes& a, const Bytes& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](std::uint8_t x, std::uint8_t y) { return x < y; });
  }
};

}  // namespace janus
