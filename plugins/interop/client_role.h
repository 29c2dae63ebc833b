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
