// Every DAP-09 message (draft-ietf-ppm-dap-09 §4) and the VDAF-08 ping-pong
// Message (draft-irtf-cfrg-vdaf-08 §5.8), with exact encode/decode.
// Each type has `void encode(ByteWriter&) const` and
// `static T decode(ByteReader&)`; use encode_message / decode_message
// (janus/codec.h) for a whole buffer. Pure: no I/O.
#pragma once

#include <cstdint>

#include "janus/bytes.h"
#include "janus/codec.h"
#include "janus/ids.h"

namespace janus {

// VDAF-08 §5.8: the ping-pong topology's Message.
//   enum { initialize(0), continue(1), finish(2), (255) } MessageType;
//   initialize: opaque prep_share<0..2^32-1>;
//   continue:   opaque prep_msg<0..2^32-1>; opaque prep_share<0..2^32-1>;
//   finish:     opaque prep_msg<0..2^32-1>;
struct PingPongMessage {
  enum class Type : std::uint8_t { Initialize = 0, Continue = 1, Finish = 2 };

  Type type = Type::Initialize;
  Bytes prep_msg;    // Continue and Finish only (empty otherwise)
  Bytes prep_share;  // Initialize and Continue only (empty otherwise)

  static PingPongMessage initialize(Bytes prep_share);
  static PingPongMessage continue_with(Bytes prep_msg, Bytes prep_share);
  static PingPongMessage finish(Bytes prep_msg);

  void encode(ByteWriter& writer) const;
  static PingPongMessage decode(ByteReader& reader);
  friend bool operator==(const PingPongMessage&, const PingPongMessage&) = default;
};

}  // namespace janus
