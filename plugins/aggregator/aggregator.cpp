#include "aggregator.h"

#include <algorithm>
#include <limits>
#include <set>

#include <spdlog/spdlog.h>

#include "http_support.h"
#include "janus/auth.h"
#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "report_checks.h"

namespace janus::aggregator {
namespace {

// The leader stores its plaintext extensions in their wire form, Extension<0..2^16-1>.
Bytes encode_extensions(const std::vector<Extension>& extensions) {
  ByteWriter writer;
  writer.vector(2, [&](ByteWriter& w) {
    for (const Extension& extension : extensions) extension.encode(w);
  });
  return writer.take();
}

}  // namespace

Aggregator::Aggregator(const AggregatorConfig& config, Datastore& datastore, VdafRegistry& vdafs,
                       const Clock& clock, std::shared_ptr<spdlog::logger> logger)
    : config_(config),
      datastore_(datastore),
      vdafs_(vdafs),
      clock_(clock),
      logger_(logger),
      tasks_(datastore, vdafs, config.task_cache_ttl, config.task_cache_capacity, logger),
      global_keys_(logger),
      report_writer_(datastore,
                     ReportWriterOptions{
                         .max_batch_size = config.max_upload_batch_size,
                         .max_batch_write_delay = config.max_upload_batch_write_delay,
                         .counter_shard_count = config.task_counter_shard_count,
                         .writers = config.max_concurrent_upload_writes,
                     },
                     logger),
      upload_decode_failures_(metrics::registry().counter(
          "janus_upload_decode_failures", "Uploaded reports whose shares could not be decoded.")),
      upload_decrypt_failures_(
          metrics::registry().counter("janus_upload_decrypt_failures",
                                      "Uploaded reports whose leader share did not decrypt.")) {
  // A bad key is a startup error, not a first-request one.
  if (config.hpke_config_signing_key) {
    hpke_config_signer_ = HpkeConfigSigner::from_pem(*config.hpke_config_signing_key);
  }
  if (config.helper_aggregation_request_queue) {
    helper_queue_ = std::make_unique<LifoRequestQueue>(*config.helper_aggregation_request_queue);
  }
  if (config.aggregator_api) {
    api_ = std::make_unique<AggregatorApi>(*config.aggregator_api, datastore, vdafs, logger);
  }
}

void Aggregator::register_routes(RouteRegistrar& routes) {
  const std::string& address = config_.listen_address;
  if (api_) api_->register_routes(routes, address);
  routes.add_route(address, HttpMethod::Get, "/hpke_config",
                   [this](const HttpRequest& request) { return handle_hpke_config(request); });
  routes.add_route(address, HttpMethod::Options, "/hpke_config", [](const HttpRequest& request) {
    return cors_preflight_response(request, "GET");
  });
  // An upload to a cached task neither blocks nor computes for long (an HPKE open; its
  // write is queued): it runs on the event loop. Anything else (a task to read from the
  // database, a taskprov opt-in) goes to the handler pool. The margin keeps the entry from
  // expiring between this check and the handler's own lookup.
  routes.add_async_route(
      address, HttpMethod::Put, "/tasks/{task_id}/reports",
      [this](const HttpRequest& request, HttpResponder respond) {
        handle_upload(request, std::move(respond));
      },
      RouteOptions{.run_on_event_loop = [this](const HttpRequest& request) {
        std::optional<std::string> id = request.path_param("task_id");
        std::optional<TaskId> task_id = id ? TaskId::from_base64url(*id) : std::nullopt;
        return task_id && tasks_.cached(*task_id, std::chrono::seconds(1));
      }});
  routes.add_route(
      address, HttpMethod::Options, "/tasks/{task_id}/reports",
      [](const HttpRequest& request) { return cors_preflight_response(request, "PUT"); });
  const char* job = "/tasks/{task_id}/aggregation_jobs/{aggregation_job_id}";
  routes.add_async_route(address, HttpMethod::Put, job,
                         through_helper_queue([this](const HttpRequest& request) {
                           return handle_aggregation_job_init(request);
                         }));
  routes.add_async_route(address, HttpMethod::Post, job,
                         through_helper_queue([this](const HttpRequest& request) {
                           return handle_aggregation_job_continue(request);
                         }));
  routes.add_route(address, HttpMethod::Delete, job, [this](const HttpRequest& request) {
    return handle_aggregation_job_delete(request);
  });
  const char* collection_job = "/tasks/{task_id}/collection_jobs/{collection_job_id}";
  routes.add_route(address, HttpMethod::Put, collection_job, [this](const HttpRequest& request) {
    return handle_collection_job_create(request);
  });
  routes.add_route(address, HttpMethod::Post, collection_job, [this](const HttpRequest& request) {
    return handle_collection_job_poll(request);
  });
  routes.add_route(address, HttpMethod::Delete, collection_job, [this](const HttpRequest& request) {
    return handle_collection_job_delete(request);
  });
  routes.add_route(address, HttpMethod::Post, "/tasks/{task_id}/aggregate_shares",
                   [this](const HttpRequest& request) { return handle_aggregate_share(request); });
}

HttpResponse Aggregator::with_task_id(const HttpRequest& request, const char* what,
                                      const std::function<HttpResponse(const TaskId&)>& handler) {
  std::optional<TaskId> task_id;
  try {
    task_id = path_task_id(request);
    return handler(*task_id);
  } catch (const DapError& error) {
    return error.to_response();
  } catch (const std::exception& e) {
    if (logger_) {
      logger_->error("{} for task {} failed: {}", what,
                     task_id ? task_id->to_base64url() : std::string("?"), e.what());
    }
    return DapError::internal().to_response();
  }
}

TaskId Aggregator::path_task_id(const HttpRequest& request) {
  auto task_id = TaskId::from_base64url(request.path_param("task_id").value_or(""));
  if (!task_id) {
    throw DapError(DapProblemType::InvalidMessage, std::nullopt,
                   "the task id in the path is not an unpadded base64url task id");
  }
  return *task_id;
}

// ---- helper_aggregation_request_queue -----------------------------------------------------

namespace {

// Janus 0.7's answers for a refused queued request (its TooManyRequests / RequestTimeout).
HttpResponse queue_rejection_response(QueueRejection why) {
  if (why == QueueRejection::Stopped) return DapError::plain(503, "shutting down\n").to_response();
  HttpResponse response =
      why == QueueRejection::Full
          ? DapError::janus(429,
                            "https://docs.divviup.org/references/janus-errors#too-many-requests",
                            "The server is currently overloaded.", std::nullopt)
                .to_response()
          : DapError::janus(429, "https://docs.divviup.org/references/janus-errors#request-timeout",
                            "Request timed out waiting in queue.", std::nullopt)
                .to_response();
  response.headers.set("Retry-After", "30");
  return response;
}

}  // namespace

AsyncHttpHandler Aggregator::through_helper_queue(HttpHandler handler) {
  if (!helper_queue_) return make_async_handler(std::move(handler));
  return [this, handler = std::move(handler)](const HttpRequest& request, HttpResponder respond) {
    // The request outlives this call while it waits.
    auto waiting = std::make_shared<const HttpRequest>(request);
    helper_queue_->submit(
        [this, handler, waiting, respond] {
          try {
            respond(handler(*waiting));
          } catch (const std::exception& e) {
            if (logger_) logger_->error("queued helper request failed: {}", e.what());
            respond(DapError::internal().to_response());
          }
        },
        [respond](QueueRejection why) { respond(queue_rejection_response(why)); });
  };
}

// ---- GET /hpke_config ------------------------------------------------------------------

std::shared_ptr<const CachedTask> Aggregator::authorize_request(const HttpRequest& request,
                                                                const TaskId& task_id, Role role,
                                                                bool may_opt_in) {
  auto authorization = request.headers.get(std::string(kAuthorizationHeader));
  auto dap_auth_token = request.headers.get(std::string(kDapAuthTokenHeader));
  std::optional<AuthToken> token = extract_auth_token(
      authorization ? std::optional<std::string_view>(*authorization) : std::nullopt,
      dap_auth_token ? std::optional<std::string_view>(*dap_auth_token) : std::nullopt);

  std::optional<taskprov::AdvertisedTask> advertised;
  if (role == Role::Helper) advertised = advertised_task(request, task_id);
  std::shared_ptr<const CachedTask> task = tasks_.get(task_id);
  if (advertised && (!task || task->task.taskprov_task_config)) {
    // Janus 0.7: the leader of a taskprov task proves itself with one of the peer's tokens.
    TaskprovPeerAggregator peer = taskprov_peer(*advertised, Role::Leader, task_id, token);
    if (!token || !TaskprovPeers::accepts(peer, *token)) {
      throw DapError(DapProblemType::UnauthorizedRequest, task_id);
    }
    if (!task && may_opt_in) task = taskprov_opt_in(task_id, *advertised, peer, Role::Helper);
    if (!task || task->task.role != role) {
      throw DapError(DapProblemType::UnrecognizedTask, task_id);
    }
  } else {
    if (!task || task->task.role != role) {
      throw DapError(DapProblemType::UnrecognizedTask, task_id);
    }
    const auto& expected = role == Role::Helper ? task->task.aggregator_auth_token_hash
                                                : task->task.collector_auth_token_hash;
    if (!token || !expected || !expected->validate(*token)) {
      throw DapError(DapProblemType::UnauthorizedRequest, task_id);
    }
  }
  require_vdaf(*task);
  return task;
}

void Aggregator::require_vdaf(const CachedTask& task) const {
  if (task.vdaf) return;
  if (logger_) {
    logger_->error("task {}: VDAF unavailable ({}); is its VDAF plugin loaded?",
                   task.task.task_id.to_base64url(), task.vdaf_error);
  }
  throw DapError::internal();
}

HttpResponse Aggregator::handle_hpke_config(const HttpRequest& request) {
  HttpResponse response;
  try {
    response = hpke_config(request);
  } catch (const DapError& error) {
    response = error.to_response();
  } catch (const std::exception& e) {
    if (logger_) logger_->error("hpke_config failed: {}", e.what());
    response = DapError::internal().to_response();
  }
  add_cors_headers(request, response);
  return response;
}

HttpResponse Aggregator::hpke_config(const HttpRequest& request) {
  std::optional<TaskId> task_id;
  if (auto text = request.query_param("task_id")) {
    task_id = TaskId::from_base64url(*text);
    if (!task_id) {
      throw DapError(DapProblemType::InvalidMessage, std::nullopt,
                     "task_id is not an unpadded base64url task id");
    }
  }
  HpkeConfigList list;
  // Taskprov §3.4: advertised tasks have no keys of their own, so clients get the global ones.
  if (task_id && !config_.require_global_hpke_keys && !config_.taskprov.enabled) {
    std::shared_ptr<const CachedTask> task = tasks_.get(*task_id);
    if (!task) throw DapError(DapProblemType::UnrecognizedTask, task_id);
    // Advertise only the newest key (the largest config id); all of them still decrypt.
    if (!task->hpke_keys.empty()) list.configs.push_back(task->hpke_keys.rbegin()->second.config);
  }
  if (list.configs.empty()) {
    list.configs = global_keys_.active_configs();
    if (list.configs.empty()) {
      if (!task_id) throw DapError(DapProblemType::MissingTaskId, std::nullopt);
      if (logger_) {
        logger_->error(
            "hpke_config: task {} has no usable HPKE key and there is no active global key",
            task_id->to_base64url());
      }
      throw DapError::internal();
    }
  }
  Bytes encoded = encode_message(list);
  std::optional<std::string> signature;
  if (hpke_config_signer_) signature = base64url_encode(hpke_config_signer_->sign(encoded));
  HttpResponse ok =
      HttpResponse::bytes(200, std::string(media_type::kHpkeConfigList), std::move(encoded));
  ok.headers.set("Cache-Control", "max-age=86400");
  if (signature) ok.headers.set(std::string(kHpkeConfigSignatureHeader), *signature);
  return ok;
}

// ---- PUT /tasks/{task_id}/reports ------------------------------------------------------

void Aggregator::handle_upload(const HttpRequest& request, HttpResponder respond) {
  // The request is gone once the writer answers: keep what the answer needs.
  auto answer = [respond, origin = request.headers.get("Origin")](HttpResponse response) {
    add_cors_headers(origin, response);
    respond(std::move(response));
  };
  std::optional<TaskId> task_id;
  try {
    task_id = path_task_id(request);
    AcceptedReport accepted = accept_upload(request, *task_id);
    // Answered once the report's transaction has committed: a 200 means stored.
    report_writer_.write_report(
        std::move(accepted.report), accepted.batch_time_precision,
        [this, answer, task_id = *task_id](std::optional<WriteOutcome> outcome) {
          if (!outcome) return answer(DapError::internal().to_response());
          if (*outcome == WriteOutcome::IntervalCollected) {
            return answer(DapError(DapProblemType::ReportRejected, task_id,
                                   "Report falls into a batch that has already been collected.")
                              .to_response());
          }
          answer(HttpResponse::empty(200));
        });
  } catch (const DapError& error) {
    answer(error.to_response());
  } catch (const std::exception& e) {
    if (logger_) {
      logger_->error("upload for task {} failed: {}",
                     task_id ? task_id->to_base64url() : std::string("?"), e.what());
    }
    answer(DapError::internal().to_response());
  }
}

std::optional<DapHpkeKeyPair> Aggregator::find_hpke_key(const CachedTask& task,
                                                        HpkeConfigId config_id) const {
  if (auto it = task.hpke_keys.find(config_id); it != task.hpke_keys.end()) return it->second;
  return global_keys_.find(config_id);
}

DapError Aggregator::reject_upload(const TaskId& task_id, const TaskUploadCounter& counter,
                                   DapProblemType type, std::string_view detail) {
  // Counted in the counters' own transaction; the client does not wait for it.
  report_writer_.record_rejection(task_id, counter);
  return DapError(type, task_id, std::string(detail));
}

Aggregator::AcceptedReport Aggregator::accept_upload(const HttpRequest& request,
                                                     const TaskId& task_id) {
  // Janus's order: the media type, the task, then the body.
  if (!has_content_type(request, media_type::kReport)) {
    throw DapError::bad_request(task_id,
                                "expected Content-Type " + std::string(media_type::kReport));
  }
  std::shared_ptr<const CachedTask> task = tasks_.get(task_id);
  if (!task) {
    // Taskprov §5.1: a client may advertise a task we have not seen yet.
    if (auto advertised = advertised_task(request, task_id)) {
      task = taskprov_opt_in(task_id, *advertised,
                             taskprov_peer(*advertised, Role::Helper, task_id), Role::Leader);
    }
  }
  if (!task || task->task.role != Role::Leader) {
    throw DapError(DapProblemType::UnrecognizedTask, task_id);
  }
  Report report;
  try {
    report = decode_message<Report>(request.body);
  } catch (const DecodeError& e) {
    throw DapError(DapProblemType::InvalidMessage, task_id, e.what());
  }

  const AggregatorTask& t = task->task;
  const Time now = clock_.now();
  const Time report_time = report.metadata.time;

  if (report_time > saturating_add(now, t.tolerable_clock_skew)) {
    throw reject_upload(task_id, {.report_too_early = 1}, DapProblemType::ReportTooEarly,
                        "Report timestamp is too far in the future.");
  }
  if (t.task_expiration && report_time > *t.task_expiration) {
    throw reject_upload(task_id, {.task_expired = 1}, DapProblemType::ReportRejected,
                        "Task has expired.");
  }
  if (t.report_expiry_age && now > saturating_add(report_time, *t.report_expiry_age)) {
    throw reject_upload(task_id, {.report_expired = 1}, DapProblemType::ReportRejected,
                        "Report timestamp is too old.");
  }
  require_vdaf(*task);
  try {
    task->vdaf->check_public_share(report.public_share);
  } catch (const VdafError&) {
    upload_decode_failures_.increment();
    throw reject_upload(task_id, {.report_decode_failure = 1}, DapProblemType::ReportRejected,
                        "Public share could not be decoded.");
  }

  const HpkeCiphertext& ciphertext = report.leader_encrypted_input_share;
  std::optional<DapHpkeKeyPair> key_pair = find_hpke_key(*task, ciphertext.config_id);
  if (!key_pair) {
    throw reject_upload(
        task_id, {.report_outdated_key = 1}, DapProblemType::OutdatedConfig,
        "HPKE config id " + std::to_string(ciphertext.config_id) + " is not known.");
  }

  const Bytes aad = encode_message(InputShareAad{task_id, report.metadata, report.public_share});
  Bytes plaintext;
  try {
    plaintext = dap_open(*key_pair, ciphertext, dap_input_share_info(Role::Leader), aad);
  } catch (const HpkeError&) {
    upload_decrypt_failures_.increment();
    throw reject_upload(task_id, {.report_decrypt_failure = 1}, DapProblemType::ReportRejected,
                        "Leader input share could not be decrypted.");
  }
  PlaintextInputShare input_share;
  try {
    input_share = decode_message<PlaintextInputShare>(plaintext);
    if (has_duplicate_extension(input_share.extensions)) {
      throw DecodeError("duplicate extension type");
    }
    task->vdaf->check_input_share(0, input_share.payload);
  } catch (const std::exception&) {
    upload_decode_failures_.increment();
    throw reject_upload(task_id, {.report_decode_failure = 1}, DapProblemType::ReportRejected,
                        "Leader input share could not be decoded.");
  }
  if (t.taskprov_task_config && !taskprov_extension_as_expected(input_share.extensions, true)) {
    upload_decode_failures_.increment();
    throw reject_upload(task_id, {.report_decode_failure = 1}, DapProblemType::InvalidMessage,
                        "A taskprov report's share must carry the empty taskprov extension.");
  }

  AcceptedReport accepted{
      .report =
          LeaderStoredReport{
              .task_id = task_id,
              .report_id = report.metadata.id,
              .client_timestamp = report_time,
              .extensions = encode_extensions(input_share.extensions),
              .public_share = std::move(report.public_share),
              .leader_input_share = std::move(input_share.payload),
              .helper_encrypted_input_share = encode_message(report.helper_encrypted_input_share),
          },
      .batch_time_precision = std::nullopt,
  };
  if (t.query_type.kind == TaskQueryType::Kind::TimeInterval) {
    accepted.batch_time_precision = t.time_precision;
  }
  return accepted;
}

}  // namespace janus::aggregator
