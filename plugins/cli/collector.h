// The DAP-09 collector's protocol steps, shared by `janus_cli collect` and the interop
// test collector (plugins/interop): create a collection job on the leader, poll it once,
// and open and unshard a finished job's aggregate shares.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "janus/bytes.h"
#include "janus/hpke.h"
#include "janus/http.h"
#include "janus/http_client.h"
#include "janus/ids.h"
#include "janus/messages.h"
#include "janus/vdaf.h"

namespace janus::cli {

// What a collector knows of a task.
struct CollectorTask {
  TaskId task_id;
  std::string leader;  // the leader's DAP endpoint, ending with '/'
  HttpHeaders auth;    // "Authorization: Bearer …" or "DAP-Auth-Token: …"
  DapHpkeKeyPair hpke_key;
  std::shared_ptr<const Vdaf> vdaf;
};

// One collection job: its id, query and aggregation parameter.
struct CollectionJob {
  CollectionJobId id;
  Query query;
  Bytes aggregation_parameter;
};

struct CollectionResult {
  std::uint64_t report_count = 0;
  Interval interval;
  std::optional<BatchId> batch_id;  // fixed_size queries
  nlohmann::json aggregate;         // the VDAF's unsharded result
};

// Appends '/' when missing (Janus joins DAP paths onto endpoints).
std::string with_trailing_slash(std::string url);

// PUT {leader}tasks/{task}/collection_jobs/{id}. Throws std::runtime_error (with the
// leader's answer) unless the job was created.
void start_collection(const HttpClient& client, const CollectorTask& task,
                      const CollectionJob& job);

// One POST to the job: nullopt while the leader answers 202 (pending), the opened and
// unsharded result once it answers 200. Throws std::runtime_error on any other answer.
std::optional<CollectionResult> poll_collection(const HttpClient& client, const CollectorTask& task,
                                                const CollectionJob& job);

}  // namespace janus::cli
