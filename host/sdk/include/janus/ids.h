// DAP identifiers and time types shared by the codec, the datastore and the
// components (DAP-09 §4: TaskID, ReportID, AggregationJobID, CollectionJobID,
// BatchID; Time, Duration, Interval).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "janus/bytes.h"

namespace janus {

// Fills `out` with cryptographically secure random bytes (OpenSSL RAND_bytes);
// throws std::runtime_error if the generator fails.
void random_bytes(std::span<std::uint8_t> out);

// A fixed-length opaque identifier. Tag keeps the different id kinds apart.
template <std::size_t N, typename Tag>
struct FixedId {
  static constexpr std::size_t kSize = N;
  std::array<std::uint8_t, N> bytes{};

  ByteSpan span() const { return {bytes.data(), bytes.size()}; }
  std::string to_base64url() const { return base64url_encode(span()); }

  // nullopt unless `data` is exactly N bytes.
  static std::optional<FixedId> from_bytes(ByteSpan data) {
    if (data.size() != N) return std::nullopt;
    FixedId id;
    std::memcpy(id.bytes.data(), data.data(), N);
    return id;
  }
  // nullopt unless `text` is unpadded base64url of exactly N bytes.
  static std::optional<FixedId> from_base64url(std::string_view text) {
    auto decoded = base64url_decode(text);
    if (!decoded) return std::nullopt;
    return from_bytes(*decoded);
  }
  static FixedId random() {
    FixedId id;
    random_bytes(id.bytes);
    return id;
  }

  friend auto operator<=>(const FixedId&, const FixedId&) = default;
  friend bool operator==(const FixedId&, const FixedId&) = default;
};

using TaskId = FixedId<32, struct TaskIdTag>;
using ReportId = FixedId<16, struct ReportIdTag>;
using AggregationJobId = FixedId<16, struct AggregationJobIdTag>;
using CollectionJobId = FixedId<16, struct CollectionJobIdTag>;
using BatchId = FixedId<32, struct BatchIdTag>;

// DAP Time and Duration: seconds (u64 on the wire).
using Time = std::uint64_t;
using Duration = std::uint64_t;

struct Interval {
  Time start = 0;
  Duration duration = 0;
  friend bool operator==(const Interval&, const Interval&) = default;
};

// DAP-09 §4.1 Role (wire values).
enum class Role : std::uint8_t { Collector = 0, Client = 1, Leader = 2, Helper = 3 };

}  // namespace janus

template <std::size_t N, typename Tag>
struct std::hash<janus::FixedId<N, Tag>> {
  std::size_t operator()(const janus::FixedId<N, Tag>& id) const noexcept {
    std::size_t h;
    static_assert(N >= sizeof(h));
    std::memcpy(&h, id.bytes.data(), sizeof(h));  // ids are random: a prefix is a good hash
    return h;
  }
};
