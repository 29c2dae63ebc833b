// The byte reader/writer under every DAP-09 / VDAF-08 message: TLS presentation
// language (RFC 8446 §3) with big-endian integers and length-prefixed vectors.
// Pure: no I/O. Decoding never reads past its input; every failure is a
// DecodeError (truncation, a length that overruns its container, an unknown
// enum value, trailing bytes).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "janus/bytes.h"

namespace janus {

// Malformed input. The message says what was wrong, never echoing the input.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value that cannot be represented on the wire (e.g. an opaque longer than
// its length prefix allows). This is a programming error on our side.
class EncodeError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class ByteWriter {
 public:
  ByteWriter() = default;

  void u8(std::uint8_t v) { buffer_.push_back(v); }
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void raw(ByteSpan data) { buffer_.insert(buffer_.end(), data.begin(), data.end()); }

  // opaque x<0..2^8-1>, <0..2^16-1>, <0..2^32-1>: length prefix then bytes.
  void opaque8(ByteSpan data);
  void opaque16(ByteSpan data);
  void opaque32(ByteSpan data);

  // A vector of structures is prefixed with its total byte length, which is
  // only known once its elements are written: open_vector() reserves the
  // prefix (prefix_size 1, 2 or 4 bytes) and close_vector() fills it in.
  struct VectorMark {
    std::size_t prefix_at;
    std::size_t prefix_size;
  };
  VectorMark open_vector(std::size_t prefix_size);
  void close_vector(VectorMark mark);

  // Writes `body(*this)` inside a vector with a `prefix_size`-byte length.
  template <typename Body>
  void vector(std::size_t prefix_size, Body&& body) {
    VectorMark mark = open_vector(prefix_size);
    body(*this);
    close_vector(mark);
  }

  std::size_t size() const { return buffer_.size(); }
  const Bytes& bytes() const& { return buffer_; }
  Bytes take() { return std::move(buffer_); }

 private:
  Bytes buffer_;
};

class ByteReader {
 public:
  explicit ByteReader(ByteSpan input) : input_(input) {}

  std::uint8_t u8();
  std::uint16_t u16();
  std::uint32_t u32();
  std::uint64_t u64();

  // Exactly n bytes (a view into the input).
  ByteSpan raw(std::size_t n);
  template <std::size_t N>
  std::array<std::uint8_t, N> array() {
    ByteSpan view = raw(N);
    std::array<std::uint8_t, N> out;
    for (std::size_t i = 0; i < N; ++i) out[i] = view[i];
    return out;
  }

  // opaque x<min..2^k-1>: a length prefix of 1, 2 or 4 bytes, then the bytes.
  // A length below min_length is a DecodeError.
  Bytes opaque8(std::size_t min_length = 0);
  Bytes opaque16(std::size_t min_length = 0);
  Bytes opaque32(std::size_t min_length = 0);

  // The contents of a length-prefixed vector of structures, as a reader
  // confined to it; this reader moves past the whole vector.
  ByteReader vector16(std::size_t min_length = 0);
  ByteReader vector32(std::size_t min_length = 0);

  std::size_t remaining() const { return input_.size() - offset_; }
  bool empty() const { return remaining() == 0; }
  // Throws DecodeError if any input is left (`what` names the container).
  void expect_end(const char* what) const;

 private:
  ByteSpan take(std::size_t n, const char* what);
  Bytes opaque(std::size_t prefix_size, std::size_t min_length);
  ByteReader vector(std::size_t prefix_size, std::size_t min_length);

  ByteSpan input_;
  std::size_t offset_ = 0;
};

// A wire message: `void encode(ByteWriter&) const` and
// `static T decode(ByteReader&)`.
template <typename T>
concept WireMessage = requires(const T& value, ByteWriter& writer, ByteReader& reader) {
  { value.encode(writer) } -> std::same_as<void>;
  { T::decode(reader) } -> std::same_as<T>;
};

template <WireMessage T>
Bytes encode_message(const T& value) {
  ByteWriter writer;
  value.encode(writer);
  return writer.take();
}

// Decodes exactly one T from `input`; trailing bytes are a DecodeError.
template <WireMessage T>
T decode_message(ByteSpan input) {
  ByteReader reader(input);
  T value = T::decode(reader);
  reader.expect_end("message");
  return value;
}

}  // namespace janus
