// The interop test API of the collector role: /internal/test/ready, /internal/test/add_task
// (a fresh HPKE keypair per task, returned as the task's collector_hpke_config),
// /internal/test/collection_start and /internal/test/collection_poll, with the collector
// protocol steps `janus_cli collect` uses (plugins/cli/collector.h). Tasks and jobs live in
// memory, as in Janus's interop collector.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "collector.h"
#include "interop_api.h"
#include "janus/vdaf_registry.h"

namespace janus::interop {

class InteropCollector {
 public:
  InteropCollector(InteropConfig config, const VdafRegistry& vdafs)
      : config_(std::move(config)), vdafs_(vdafs) {}

  void register_routes(RouteRegistrar& routes);

  nlohmann::json add_task(const nlohmann::json& request);
  // The handle is the collection job's id (base64url).
  nlohmann::json collection_start(const nlohmann::json& request);
  nlohmann::json collection_poll(const nlohmann::json& request);

 private:
  struct Job {
    TaskId task_id;
    cli::CollectionJob job;
  };
  InteropConfig config_;
  const VdafRegistry& vdafs_;
  std::mutex mutex_;
  std::map<TaskId, cli::CollectorTask> tasks_;
  std::map<std::string, Job> jobs_;
};

}  // namespace janus::interop
