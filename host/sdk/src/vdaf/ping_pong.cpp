#include "janus/ping_pong.h"

#include <vector>

namespace janus {
namespace {

constexpr std::size_t kLeader = 0;
constexpr std::size_t kHelper = 1;

void require_two_aggregators(const Vdaf& vdaf) {
  if (vdaf.num_shares() != 2) {
    throw PingPongError("the ping-pong topology needs a VDAF with exactly two aggregators");
  }
}

// VDAF-08 ping_pong_transition: combine both prep shares into the prep
// message and take this side's next step.
PingPongTransition transition(const Vdaf& vdaf, ByteSpan agg_param,
                              const std::vector<Bytes>& prep_shares, ByteSpan prep_state) {
  Bytes prep_message = vdaf.prep_shares_to_prep(agg_param, prep_shares);
  VdafPrepNext next = vdaf.prep_next(prep_state, prep_message);
  PingPongTransition result;
  if (next.finished()) {
    result.state.kind = PingPongState::Kind::Finished;
    result.state.output_share = std::move(*next.output_share);
    result.outbound = PingPongMessage::finish(std::move(prep_message));
  } else {
    result.state.kind = PingPongState::Kind::Continued;
    result.state.prep_state = std::move(next.state);
    result.outbound =
        PingPongMessage::continue_with(std::move(prep_message), std::move(next.prep_share));
  }
  return result;
}

PingPongTransition continued(const Vdaf& vdaf, bool is_leader, ByteSpan agg_param,
                             const PingPongState& state, const PingPongMessage& inbound) {
  require_two_aggregators(vdaf);
  vdaf.check_aggregation_parameter(agg_param);
  if (inbound.type == PingPongMessage::Type::Initialize) {
    throw PingPongError("unexpected ping-pong initialize message after initialization");
  }
  if (state.kind != PingPongState::Kind::Continued) {
    throw PingPongError("ping-pong message received after preparation finished");
  }
  vdaf.check_prep_message(inbound.prep_msg);
  VdafPrepNext next = vdaf.prep_next(state.prep_state, inbound.prep_msg);
  if (!next.finished() && inbound.type == PingPongMessage::Type::Continue) {
    vdaf.check_prep_share(inbound.prep_share);
    std::vector<Bytes> prep_shares;
    if (is_leader) {
      prep_shares = {std::move(next.prep_share), inbound.prep_share};
    } else {
      prep_shares = {inbound.prep_share, std::move(next.prep_share)};
    }
    return transition(vdaf, agg_param, prep_shares, next.state);
  }
  if (next.finished() && inbound.type == PingPongMessage::Type::Finish) {
    PingPongTransition result;
    result.state.kind = PingPongState::Kind::Finished;
    result.state.output_share = std::move(*next.output_share);
    return result;
  }
  throw PingPongError(next.finished()
                          ? "peer continued preparation after this side finished"
                          : "peer finished preparation while this side has rounds left");
}

}  // namespace

PingPongTransition ping_pong_leader_initialized(const Vdaf& vdaf, ByteSpan verify_key,
                                                ByteSpan agg_param, ByteSpan nonce,
                                                ByteSpan public_share, ByteSpan input_share) {
  require_two_aggregators(vdaf);
  VdafPrepInit init =
      vdaf.prep_init(verify_key, kLeader, agg_param, nonce, public_share, input_share);
  PingPongTransition result;
  result.state.kind = PingPongState::Kind::Continued;
  result.state.prep_state = std::move(init.state);
  result.outbound = PingPongMessage::initialize(std::move(init.prep_share));
  return result;
}

PingPongTransition ping_pong_helper_initialized(const Vdaf& vdaf, ByteSpan verify_key,
                                                ByteSpan agg_param, ByteSpan nonce,
                                                ByteSpan public_share, ByteSpan input_share,
                                                const PingPongMessage& inbound) {
  require_two_aggregators(vdaf);
  VdafPrepInit init =
      vdaf.prep_init(verify_key, kHelper, agg_param, nonce, public_share, input_share);
  if (inbound.type != PingPongMessage::Type::Initialize) {
    throw PingPongError("the helper's first ping-pong message must be initialize");
  }
  vdaf.check_prep_share(inbound.prep_share);
  const std::vector<Bytes> prep_shares = {inbound.prep_share, std::move(init.prep_share)};
  return transition(vdaf, agg_param, prep_shares, init.state);
}

PingPongTransition ping_pong_leader_continued(const Vdaf& vdaf, ByteSpan agg_param,
                                              const PingPongState& state,
                                              const PingPongMessage& inbound) {
  return continued(vdaf, /*is_leader=*/true, agg_param, state, inbound);
}

PingPongTransition ping_pong_helper_continued(const Vdaf& vdaf, ByteSpan agg_param,
                                              const PingPongState& state,
                                              const PingPongMessage& inbound) {
  return continued(vdaf, /*is_leader=*/false, agg_param, state, inbound);
}

}  // namespace janus
