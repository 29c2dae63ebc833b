#include "janus/messages.h"

#include <utility>

namespace janus {

// ---- VDAF ping-pong -------------------------------------------------------

PingPongMessage PingPongMessage::initialize(Bytes prep_share) {
  return {Type::Initialize, {}, std::move(prep_share)};
}

PingPongMessage PingPongMessage::continue_with(Bytes prep_msg, Bytes prep_share) {
  return {Type::Continue, std::move(prep_msg), std::move(prep_share)};
}

PingPongMessage PingPongMessage::finish(Bytes prep_msg) {
  return {Type::Finish, std::move(prep_msg), {}};
}

void PingPongMessage::encode(ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(type));
  switch (type) {
    case Type::Initialize:
      writer.opaque32(prep_share);
      break;
    case Type::Continue:
      writer.opaque32(prep_msg);
      writer.opaque32(prep_share);
      break;
    case Type::Finish:
      writer.opaque32(prep_msg);
      break;
    default:
      throw EncodeError("invalid PingPongMessage type");
  }
}

PingPongMessage PingPongMessage::decode(ByteReader& reader) {
  const std::uint8_t type = reader.u8();
  switch (type) {
    case static_cast<std::uint8_t>(Type::Initialize):
      return initialize(reader.opaque32());
    case static_cast<std::uint8_t>(Type::Continue): {
      Bytes prep_msg = reader.opaque32();
      return continue_with(std::move(prep_msg), reader.opaque32());
    }
    case static_cast<std::uint8_t>(Type::Finish):
      return finish(reader.opaque32());
    default:
      throw DecodeError("unknown ping-pong message type");
  }
}

}  // namespace janus
