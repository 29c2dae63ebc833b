// The ping-pong topology of VDAF-08 §5.8: how a leader and a helper drive any
// VDAF (one round or many) by exchanging PingPongMessage. Written once here
// against the byte-level janus::Vdaf interface, so it works for every VDAF a
// plugin registers.
//
// VDAF-08's `Rejected` state is an exception: VdafDecodeError / VdafPrepError
// from the VDAF, or PingPongError when the peer's message does not fit the
// state (e.g. a finish while this side still has rounds to run).
#pragma once

#include <optional>

#include "janus/bytes.h"
#include "janus/messages.h"
#include "janus/vdaf.h"

namespace janus {

class PingPongError : public VdafError {
 public:
  using VdafError::VdafError;
};

// Continued: waiting for the peer's next message, holding `prep_state`.
// Finished: `output_share` is ready to aggregate.
struct PingPongState {
  enum class Kind { Continued, Finished };

  Kind kind = Kind::Continued;
  Bytes prep_state;    // Continued only
  Bytes output_share;  // Finished only

  bool finished() const { return kind == Kind::Finished; }
};

// A transition's result: the new state and, unless preparation ended with
// nothing more to say, the message to send to the peer.
struct PingPongTransition {
  PingPongState state;
  std::optional<PingPongMessage> outbound;
};

// Leader, first step: prep_init, then send `initialize(prep_share)`.
PingPongTransition ping_pong_leader_initialized(const Vdaf& vdaf, ByteSpan verify_key,
                                                ByteSpan agg_param, ByteSpan nonce,
                                                ByteSpan public_share, ByteSpan input_share);

// Helper, first step: prep_init, combine with the leader's `initialize`
// message, and answer with `continue` or `finish`.
PingPongTransition ping_pong_helper_initialized(const Vdaf& vdaf, ByteSpan verify_key,
                                                ByteSpan agg_param, ByteSpan nonce,
                                                ByteSpan public_share, ByteSpan input_share,
                                                const PingPongMessage& inbound);

// Either side, later steps: process the peer's `continue` or `finish`.
PingPongTransition ping_pong_leader_continued(const Vdaf& vdaf, ByteSpan agg_param,
                                              const PingPongState& state,
                                              const PingPongMessage& inbound);
PingPongTransition ping_pong_helper_continued(const Vdaf& vdaf, ByteSpan agg_param,
                                              const PingPongState& state,
                                              const PingPongMessage& inbound);

}  // namespace janus
