#include "janus/codec.h"

#include <limits>
#include <string>

namespace janus {
namespace {

std::uint64_t max_for_prefix(std::size_t prefix_size) {
  switch (prefix_size) {
    case 1:
      return std::numeric_limits<std::uint8_t>::max();
    case 2:
      return std::numeric_limits<std::uint16_t>::max();
    case 4:
      return std::numeric_limits<std::uint32_t>::max();
    default:
      throw EncodeError("length prefix must be 1, 2 or 4 bytes");
  }
}

}  // namespace

void ByteWriter::u16(std::uint16_t v) {
  buffer_.push_back(static_cast<std::uint8_t>(v >> 8));
  buffer_.push_back(static_cast<std::uint8_t>(v));
}

void ByteWriter::u32(std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    buffer_.push_back(static_cast<std::uint8_t>(v >> shift));
}

void ByteWriter::u64(std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    buffer_.push_back(static_cast<std::uint8_t>(v >> shift));
}

void ByteWriter::opaque8(ByteSpan data) {
  if (data.size() > max_for_prefix(1)) throw EncodeError("opaque too long for a 1-byte length");
  u8(static_cast<std::uint8_t>(data.size()));
  raw(data);
}

void ByteWriter::opaque16(ByteSpan data) {
  if (data.size() > max_for_prefix(2)) throw EncodeError("opaque too long for a 2-byte length");
  u16(static_cast<std::uint16_t>(data.size()));
  raw(data);
}

void ByteWriter::opaque32(ByteSpan data) {
  if (data.size() > max_for_prefix(4)) throw EncodeError("opaque too long for a 4-byte length");
  u32(static_cast<std::uint32_t>(data.size()));
  raw(data);
}

ByteWriter::VectorMark ByteWriter::open_vector(std::size_t prefix_size) {
  max_for_prefix(prefix_size);  // validates prefix_size
  VectorMark mark{buffer_.size(), prefix_size};
  buffer_.resize(buffer_.size() + prefix_size, 0);
  return mark;
}

void ByteWriter::close_vector(VectorMark mark) {
  const std::uint64_t length = buffer_.size() - mark.prefix_at - mark.prefix_size;
  if (length > max_for_prefix(mark.prefix_size))
    throw EncodeError("vector too long for its length prefix");
  for (std::size_t i = 0; i < mark.prefix_size; ++i) {
    const std::size_t shift = 8 * (mark.prefix_size - 1 - i);
    buffer_[mark.prefix_at + i] = static_cast<std::uint8_t>(length >> shift);
  }
}

ByteSpan ByteReader::take(std::size_t n, const char* what) {
  if (n > remaining()) throw DecodeError(std::string("truncated input reading ") + what);
  ByteSpan view = input_.subspan(offset_, n);
  offset_ += n;
  return view;
}

std::uint8_t ByteReader::u8() { return take(1, "u8")[0]; }

std::uint16_t ByteReader::u16() {
  ByteSpan b = take(2, "u16");
  return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}

std::uint32_t ByteReader::u32() {
  ByteSpan b = take(4, "u32");
  std::uint32_t v = 0;
  for (std::uint8_t byte : b) v = (v << 8) | byte;
  return v;
}

std::uint64_t ByteReader::u64() {
  ByteSpan b = take(8, "u64");
  std::uint64_t v = 0;
  for (std::uint8_t byte : b) v = (v << 8) | byte;
  return v;
}

ByteSpan ByteReader::raw(std::size_t n) { return take(n, "fixed-size field"); }

Bytes ByteReader::opaque(std::size_t prefix_size, std::size_t min_length) {
  ByteReader contents = vector(prefix_size, min_length);
  ByteSpan view = contents.take(contents.remaining(), "opaque");
  return Bytes(view.begin(), view.end());
}

ByteReader ByteReader::vector(std::size_t prefix_size, std::size_t min_length) {
  std::uint64_t length = 0;
  switch (prefix_size) {
    case 1:
      length = u8();
      break;
    case 2:
      length = u16();
      break;
    case 4:
      length = u32();
      break;
    default:
      throw EncodeError("length prefix must be 1, 2 or 4 bytes");
  }
  if (length < min_length) throw DecodeError("vector shorter than its minimum length");
  if (length > remaining()) throw DecodeError("length prefix overruns its container");
  return ByteReader(take(static_cast<std::size_t>(length), "vector"));
}

Bytes ByteReader::opaque8(std::size_t min_length) { return opaque(1, min_length); }
Bytes ByteReader::opaque16(std::size_t min_length) { return opaque(2, min_length); }
Bytes ByteReader::opaque32(std::size_t min_length) { return opaque(4, min_length); }
ByteReader ByteReader::vector16(std::size_t min_length) { return vector(2, min_length); }
ByteReader ByteReader::vector32(std::size_t min_length) { return vector(4, min_length); }

void ByteReader::expect_end(const char* what) const {
  if (!empty()) throw DecodeError(std::string("trailing bytes after ") + what);
}

}  // namespace janus
