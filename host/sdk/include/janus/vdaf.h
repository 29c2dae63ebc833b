// The VDAF interface (VDAF-08 §5) as the host and components see it: every
// message is bytes in its wire encoding, so a component never knows which VDAF
// it drives and a third-party plugin can add one. Instances are immutable and
// safe to share between threads.
//
// Error model (every failure is an exception, never a crash):
//   VdafDecodeError — bytes that are not a valid encoding of the expected
//                     message (wrong length, element out of range, trailing
//                     data); DAP maps it to invalid_message / vdaf_prep_error.
//   VdafPrepError   — preparation rejected the report (proof check failed,
//                     joint randomness disagrees, …): DAP's vdaf_prep_error.
//   VdafInputError  — shard() cannot encode the measurement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "janus/bytes.h"
#include "janus/vdaf_registry.h"

namespace janus {

class VdafError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class VdafDecodeError : public VdafError {
 public:
  using VdafError::VdafError;
};
class VdafPrepError : public VdafError {
 public:
  using VdafError::VdafError;
};
class VdafInputError : public VdafError {
 public:
  using VdafError::VdafError;
};

// A client's report split for the aggregators: input_shares[agg_id].
struct VdafShards {
  Bytes public_share;
  std::vector<Bytes> input_shares;
};

// prep_init's result: the aggregator's private state and the share it sends.
struct VdafPrepInit {
  Bytes state;
  Bytes prep_share;
};

// prep_next's result: either an output share (preparation finished) or the
// next state and prep share (another round follows).
struct VdafPrepNext {
  std::optional<Bytes> output_share;
  Bytes state;
  Bytes prep_share;

  bool finished() const { return output_share.has_value(); }
};

class Vdaf {
 public:
  virtual ~Vdaf() = default;

  // The description this instance was built from (name + parameters).
  virtual const VdafDescription& description() const = 0;
  virtual std::uint32_t algorithm_id() const = 0;
  virtual std::size_t verify_key_size() const = 0;
  virtual std::size_t nonce_size() const = 0;
  // Bytes of randomness shard() consumes.
  virtual std::size_t rand_size() const = 0;
  virtual std::size_t rounds() const = 0;
  // Number of aggregators (input shares); 2 for DAP.
  virtual std::size_t num_shares() const = 0;

  // Splits a measurement (JSON: a bool/integer, an integer, an array of
  // integers, … as the VDAF defines) into a public share and input shares.
  // Throws VdafInputError if the measurement is invalid.
  virtual VdafShards shard(const nlohmann::json& measurement, ByteSpan nonce,
                           ByteSpan rand) const = 0;
  // The same with fresh randomness from the system's CSPRNG.
  VdafShards shard(const nlohmann::json& measurement, ByteSpan nonce) const;

  // True if the collector chooses the aggregation parameter (Poplar1's candidate
  // prefixes): the leader then aggregates reports only once a collection job names
  // a parameter, and may aggregate a report again under another parameter that
  // is_valid_aggregation_parameter allows. False (Prio3): the parameter is empty
  // and reports are aggregated as they arrive, once.
  virtual bool requires_aggregation_parameter() const { return false; }

  // Throws VdafDecodeError if `agg_param` is not a valid aggregation parameter.
  virtual void check_aggregation_parameter(ByteSpan agg_param) const = 0;
  // The encoded aggregation parameter from the JSON a collector writes (Poplar1:
  // {"level": L, "prefixes": [...]}), for tools such as `janus_cli collect`. Throws
  // VdafInputError if it is not one. The default is for a VDAF whose parameter is empty:
  // null gives the empty parameter, anything else is refused.
  virtual Bytes aggregation_parameter_from_json(const nlohmann::json& parameter) const;
  // VDAF-08 is_valid: may a report be aggregated with `agg_param` after it
  // was aggregated with each of `previous`?
  virtual bool is_valid_aggregation_parameter(ByteSpan agg_param,
                                              std::span<const Bytes> previous) const = 0;

  virtual VdafPrepInit prep_init(ByteSpan verify_key, std::size_t agg_id, ByteSpan agg_param,
                                 ByteSpan nonce, ByteSpan public_share,
                                 ByteSpan input_share) const = 0;
  // prep_shares[agg_id], one per aggregator.
  virtual Bytes prep_shares_to_prep(ByteSpan agg_param,
                                    std::span<const Bytes> prep_shares) const = 0;
  virtual VdafPrepNext prep_next(ByteSpan state, ByteSpan prep_message) const = 0;

  // Aggregation: an aggregate share starts empty (all zero), accumulates
  // output shares and merges other aggregate shares, in place. The shares'
  // shape may depend on the aggregation parameter (Poplar1: one element per
  // candidate prefix, in a field chosen by the level), so every step gets it.
  virtual Bytes empty_aggregate_share(ByteSpan agg_param) const = 0;
  virtual void accumulate(Bytes& aggregate_share, ByteSpan agg_param,
                          ByteSpan output_share) const = 0;
  virtual void merge(Bytes& aggregate_share, ByteSpan agg_param,
                     ByteSpan other_aggregate_share) const = 0;
  // Differential privacy: each aggregator adds noise to the aggregate share it hands over
  // (Janus 0.7's add_noise_to_agg_share, before it is encrypted and stored), as the VDAF's
  // configured strategy says. `report_count` is the number of measurements in it. The default,
  // a VDAF without a strategy, adds nothing.
  virtual void add_noise_to_aggregate_share(Bytes& aggregate_share, ByteSpan agg_param,
                                            std::uint64_t report_count) const {}
  // The collector's result from every aggregator's aggregate share.
  virtual nlohmann::json unshard(ByteSpan agg_param, std::span<const Bytes> aggregate_shares,
                                 std::uint64_t num_measurements) const = 0;

  // Strict decoding of each message type; each throws VdafDecodeError.
  virtual void check_public_share(ByteSpan public_share) const = 0;
  virtual void check_input_share(std::size_t agg_id, ByteSpan input_share) const = 0;
  virtual void check_prep_share(ByteSpan prep_share) const = 0;
  virtual void check_prep_message(ByteSpan prep_message) const = 0;
  virtual void check_output_share(ByteSpan output_share) const = 0;
  virtual void check_aggregate_share(ByteSpan aggregate_share) const = 0;
};

}  // namespace janus
