// The interop test API of the aggregator role (leader or helper): /internal/test/ready,
// /internal/test/endpoint_for_task and /internal/test/add_task, which provisions the task
// in the datastore the `aggregator` plugin beside it serves.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "interop_api.h"
#include "janus/datastore.h"
#include "janus/vdaf_registry.h"

namespace janus::interop {

// The task an add_task request describes, as Janus 0.7's interop aggregator builds it:
// DAP-Auth-Token tokens, a fresh X25519/HKDF-SHA256/AES-128-GCM HPKE keypair, a tolerable
// clock skew of 1 s. Throws BadRequest for a malformed request and std::invalid_argument
// for one we cannot serve (an unknown VDAF, a verify key of the wrong size, …).
AggregatorTask task_from_add_task(const nlohmann::json& request, const VdafRegistry& vdafs);

class InteropAggregator {
 public:
  InteropAggregator(InteropConfig config, Datastore& datastore, const VdafRegistry& vdafs)
      : config_(std::move(config)), datastore_(datastore), vdafs_(vdafs) {}

  void register_routes(RouteRegistrar& routes) const;

  nlohmann::json endpoint_for_task(const nlohmann::json& request) const;
  // Writes the task (replacing one with the same id).
  nlohmann::json add_task(const nlohmann::json& request) const;

 private:
  InteropConfig config_;
  Datastore& datastore_;
  const VdafRegistry& vdafs_;
};

}  // namespace janus::interop
