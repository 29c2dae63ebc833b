// The interop test API of the client role: /internal/test/ready and /internal/test/upload,
// which fetches both aggregators' HPKE configs, shards the measurement with the task's
// VDAF, seals the input shares and PUTs the report to the leader.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "interop_api.h"
#include "janus/http_client.h"
#include "janus/messages.h"
#include "janus/vdaf.h"

namespace janus::interop {

// One report: `measurement` (already in the VDAF's JSON form) sharded with a fresh report
// id as nonce, each input share sealed to its aggregator's config with the DAP-09 info and
// AAD. `time` is used as given.
Report make_report(const TaskId& task_id, const Vdaf& vdaf, const nlohmann::json& measurement,
                   Time time, const HpkeConfig& leader, const HpkeConfig& helper);

// The first config of an aggregator's HpkeConfigList whose suite we implement, fetched from
// {endpoint}hpke_config?task_id=…. Throws std::runtime_error naming the endpoint.
HpkeConfig fetch_hpke_config(const HttpClient& client, const std::string& endpoint,
                             const TaskId& task_id);

class InteropClient {
 public:
  InteropClient(InteropConfig config, const VdafRegistry& vdafs)
      : config_(std::move(config)), vdafs_(vdafs) {}

  void register_routes(RouteRegistrar& routes) const;
  nlohmann::json upload(const nlohmann::json& request) const;

 private:
  InteropConfig config_;
  const VdafRegistry& vdafs_;
};

}  // namespace janus::interop
