// The DAP-09 aggregator HTTP API (janus-0.7.md §4): the routes, their validation and
// their answers. The plugin (plugin.cpp) only parses the config and wires this class to
// the host; tests drive it directly with a real datastore.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "aggregator_api.h"
#include "aggregator_config.h"
#include "hpke_config_signer.h"
#include "http_support.h"
#include "janus/aggregation.h"
#include "janus/clock.h"
#include "janus/datastore.h"
#include "janus/http.h"
#include "janus/metrics.h"
#include "janus/problem_types.h"
#include "janus/taskprov.h"
#include "janus/vdaf_registry.h"
#include "report_writer.h"
#include "task_cache.h"

namespace spdlog {
class logger;
}

namespace janus::aggregator {

// Taskprov peers, read from the datastore and kept for the task cache's TTL. A lookup that
// misses the peer, or whose token none of the cached peer's tokens matches, reads them again,
// at most once a second: a peer added (or re-added with new tokens) through janus_cli or the
// aggregator API is found without a restart (Janus reads its peers once, at start).
struct TaskprovPeers {
  std::mutex mutex;
  std::vector<TaskprovPeerAggregator> peers;
  std::optional<std::chrono::steady_clock::time_point> loaded_at;
  static bool accepts(const TaskprovPeerAggregator& peer, const AuthToken& token);
};

class Aggregator {
 public:
  Aggregator(const AggregatorConfig& config, Datastore& datastore, VdafRegistry& vdafs,
             const Clock& clock, std::shared_ptr<spdlog::logger> logger);

  // Adds every route on config.listen_address.
  void register_routes(RouteRegistrar& routes);

  void start() { report_writer_.start(); }
  void stop() {
    if (helper_queue_) helper_queue_->stop();
    report_writer_.stop();
  }

  // Re-reads the global HPKE key pairs (the periodic refresher calls this).
  void refresh_global_hpke_keys() { global_keys_.refresh(datastore_); }

  HttpResponse handle_hpke_config(const HttpRequest& request);
  // Answers once the report is committed (or at once when it is rejected).
  void handle_upload(const HttpRequest& request, HttpResponder respond);

  // Helper side (helper.cpp).
  HttpResponse handle_aggregation_job_init(const HttpRequest& request);
  HttpResponse handle_aggregation_job_continue(const HttpRequest& request);
  HttpResponse handle_aggregation_job_delete(const HttpRequest& request);
  HttpResponse handle_aggregate_share(const HttpRequest& request);

  // Leader collection routes (collection.cpp).
  HttpResponse handle_collection_job_create(const HttpRequest& request);
  HttpResponse handle_collection_job_poll(const HttpRequest& request);
  HttpResponse handle_collection_job_delete(const HttpRequest& request);

  ReportWriteBatcher& report_writer() { return report_writer_; }

 private:
  struct AcceptedReport {
    LeaderStoredReport report;
    std::optional<Duration> batch_time_precision;  // time_interval tasks
  };
  // Validates an upload in Janus's order and decrypts it; throws DapError for a rejection.
  AcceptedReport accept_upload(const HttpRequest& request, const TaskId& task_id);
  // The task's key with that config id, else the global one (Janus's order).
  std::optional<DapHpkeKeyPair> find_hpke_key(const CachedTask& task, HpkeConfigId config_id) const;
  // Counts a rejected upload (without waiting for the counter write); returns its problem.
  DapError reject_upload(const TaskId& task_id, const TaskUploadCounter& counter,
                         DapProblemType type, std::string_view detail);

  // Common to the authenticated routes: a task of ours played in `role`, and the token of the
  // peer that calls it there (Helper: the leader's; Leader: the collector's), and a loaded VDAF.
  // A helper request advertising a taskprov task is authorized by its peer's tokens, and with
  // `may_opt_in` (aggregation job init) an unknown advertised task is opted into first.
  // Throws DapError (unrecognizedTask, unauthorizedRequest, invalidTask, invalidMessage, 500).
  std::shared_ptr<const CachedTask> authorize_request(const HttpRequest& request,
                                                      const TaskId& task_id, Role role,
                                                      bool may_opt_in = false);

  // ---- taskprov (taskprov.cpp) ----
  // The task the request advertises in its dap-taskprov header, when taskprov is enabled and
  // the header is there. Throws DapError: invalidMessage (not a TaskConfig), unrecognizedTask
  // (the path's task id is not its SHA-256).
  std::optional<taskprov::AdvertisedTask> advertised_task(const HttpRequest& request,
                                                          const TaskId& task_id) const;
  // The known peer the advertised config names in `peer_role` (with `token`, one that accepts
  // it if the cache is stale); throws DapError invalidTask when there is none.
  TaskprovPeerAggregator taskprov_peer(const taskprov::AdvertisedTask& advertised, Role peer_role,
                                       const TaskId& task_id,
                                       const std::optional<AuthToken>& token = std::nullopt);
  // Opts into the advertised task as `our_role`, storing it; returns it. Throws DapError
  // invalidTask for a task we must or will not run (expired, unsupported parameters).
  std::shared_ptr<const CachedTask> taskprov_opt_in(const TaskId& task_id,
                                                    const taskprov::AdvertisedTask& advertised,
                                                    const TaskprovPeerAggregator& peer,
                                                    Role our_role);
  // Throws DapError::internal() (logged) when the task's VDAF is not loaded.
  void require_vdaf(const CachedTask& task) const;
  AggregationJobWriterOptions writer_options() const {
    return {config_.batch_aggregation_shard_count, config_.task_counter_shard_count};
  }
  HttpResponse aggregation_job_init(const HttpRequest& request, const TaskId& task_id);
  HttpResponse aggregation_job_continue(const HttpRequest& request, const TaskId& task_id);
  HttpResponse aggregation_job_delete(const HttpRequest& request, const TaskId& task_id);
  HttpResponse aggregate_share(const HttpRequest& request, const TaskId& task_id);
  HttpResponse collection_job_create(const HttpRequest& request, const TaskId& task_id);
  HttpResponse collection_job_poll(const HttpRequest& request, const TaskId& task_id);
  HttpResponse collection_job_delete(const HttpRequest& request, const TaskId& task_id);
  // The {task_id} of the path; throws DapError (invalidMessage) when it is not one.
  static TaskId path_task_id(const HttpRequest& request);
  HttpResponse hpke_config(const HttpRequest& request);
  // The helper's aggregation-job routes, through helper_queue_ when one is configured.
  AsyncHttpHandler through_helper_queue(HttpHandler handler);
  // Runs `handler` for the path's task id, answering a DapError it throws and turning
  // unexpected exceptions into a logged 500.
  HttpResponse with_task_id(const HttpRequest& request, const char* what,
                            const std::function<HttpResponse(const TaskId&)>& handler);

  AggregatorConfig config_;
  Datastore& datastore_;
  VdafRegistry& vdafs_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> logger_;
  TaskCache tasks_;
  GlobalHpkeKeys global_keys_;
  ReportWriteBatcher report_writer_;
  std::optional<HpkeConfigSigner> hpke_config_signer_;
  std::unique_ptr<LifoRequestQueue> helper_queue_;  // when configured
  std::unique_ptr<AggregatorApi> api_;              // when configured
  TaskprovPeers taskprov_peers_;
  // Janus 0.7's upload metrics.
  metrics::Counter upload_decode_failures_, upload_decrypt_failures_;
};

}  // namespace janus::aggregator
