#include "janus/codec.h"

#include <gtest/gtest.h>

namespace janus {
namespace {

Bytes from_hex(std::string_view text) {
  auto bytes = hex_decode(text);
  if (!bytes) throw std::invalid_argument("bad hex in test");
  return *bytes;
}

TEST(ByteWriter, IntegersAreBigEndian) {
  ByteWriter w;
  w.u8(0x01);
  w.u16(0x0203);
  w.u32(0x04050607);
  w.u64(0x08090a0b0c0d0e0fULL);
  EXPECT_EQ(hex_encode(w.bytes()), "0102030405060708090a0b0c0d0e0f");
}

TEST(ByteWriter, OpaquesCarryTheirLength) {
  ByteWriter w;
  w.opaque8(as_bytes("a"));
  w.opaque16(as_bytes("bc"));
  w.opaque32(as_bytes(""));
  EXPECT_EQ(hex_encode(w.bytes()),
            "0161"
            "00026263"
            "00000000");
}

TEST(ByteWriter, OpaqueTooLongForItsPrefixIsAnEncodeError) {
  ByteWriter w;
  Bytes big(256, 0);
  EXPECT_THROW(w.opaque8(big), EncodeError);
  Bytes bigger(65536, 0);
  EXPECT_THROW(w.opaque16(bigger), EncodeError);
}

TEST(ByteWriter, VectorLengthIsItsByteLength) {
  ByteWriter w;
  w.vector(2, [](ByteWriter& inner) {
    inner.u32(1);
    inner.u8(2);
  });
  w.vector(4, [](ByteWriter&) {});
  EXPECT_EQ(hex_encode(w.bytes()),
            "0005"
            "0000000102"
            "00000000");
}

TEST(ByteReader, ReadsWhatTheWriterWrote) {
  Bytes data = from_hex("0102030405060708090a0b0c0d0e0f");
  ByteReader r(data);
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16(), 0x0203);
  EXPECT_EQ(r.u32(), 0x04050607u);
  EXPECT_EQ(r.u64(), 0x08090a0b0c0d0e0fULL);
  EXPECT_TRUE(r.empty());
  EXPECT_NO_THROW(r.expect_end("test"));
}

TEST(ByteReader, TruncatedIntegersFail) {
  Bytes data = from_hex("010203");
  ByteReader r(data);
  EXPECT_THROW(r.u32(), DecodeError);
  ByteReader r2(data);
  EXPECT_THROW(r2.u64(), DecodeError);
  ByteReader empty({});
  EXPECT_THROW(empty.u8(), DecodeError);
}

TEST(ByteReader, LengthOverrunningTheInputFails) {
  Bytes data = from_hex("0003aabb");
  ByteReader r(data);
  EXPECT_THROW(r.opaque16(), DecodeError);
  Bytes huge = from_hex("ffffffff00");
  ByteReader r2(huge);
  EXPECT_THROW(r2.opaque32(), DecodeError);
}

TEST(ByteReader, LengthBelowMinimumFails) {
  Bytes data = from_hex("0000");
  ByteReader r(data);
  EXPECT_THROW(r.opaque16(1), DecodeError);
  ByteReader r2(data);
  EXPECT_EQ(r2.opaque16(0), Bytes{});
}

TEST(ByteReader, NestedVectorIsConfinedToItsLength) {
  // A vector of 3 bytes whose content tries to read a u32 must fail even
  // though the outer buffer holds more bytes.
  Bytes data = from_hex(
      "0003010203"
      "04050607");
  ByteReader r(data);
  ByteReader inner = r.vector16();
  EXPECT_THROW(inner.u32(), DecodeError);
  EXPECT_EQ(r.u32(), 0x04050607u);
}

TEST(ByteReader, TrailingBytesAreReported) {
  Bytes data = from_hex("0102");
  ByteReader r(data);
  r.u8();
  EXPECT_THROW(r.expect_end("test"), DecodeError);
}

TEST(ByteReader, FixedArray) {
  Bytes data = from_hex("aabbcc");
  ByteReader r(data);
  auto arr = r.array<2>();
  EXPECT_EQ(arr[0], 0xaa);
  EXPECT_EQ(arr[1], 0xbb);
  EXPECT_THROW(r.array<2>(), DecodeError);
}

}  // namespace
}  // namespace janus
