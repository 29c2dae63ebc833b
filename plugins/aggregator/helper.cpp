// The helper's routes (janus-0.7.md §4): aggregation jobs (PUT init, POST continue,
// DELETE) and aggregate shares (POST), authenticated with the leader's token.
#include <openssl/sha.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "aggregator.h"
#include "http_support.h"
#include "janus/aggregation.h"
#include "janus/auth.h"
#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "janus/metrics.h"
#include "janus/ping_pong.h"
#include "report_checks.h"

namespace janus::aggregator {
namespace {

Bytes sha256(ByteSpan data) {
  Bytes digest(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), digest.data());
  return digest;
}

QueryType wire_query_type(const AggregatorTask& task) {
  return task.query_type.kind == TaskQueryType::Kind::TimeInterval ? QueryType::TimeInterval
                                                                   : QueryType::FixedSize;
}

// One report of an aggregation job init request, after the checks that need no database.
DapError aggregation_job_deleted(const TaskId& task_id) {
  return DapError::janus(410, kAggregationJobDeletedType, "The aggregation job has been deleted.",
                         task_id);
}

struct PreparedReport {
  ReportMetadata metadata;
  std::optional<PrepareError> error;
  std::optional<PingPongMessage> outbound;
  PingPongState state;
};

HttpResponse aggregation_job_response(const AggregationJobResp& response) {
  return HttpResponse::bytes(200, std::string(media_type::kAggregationJobResp),
                             encode_message(response));
}

// The stored answer of a job (each report aggregation keeps its PrepareResp).
AggregationJobResp stored_response(const std::vector<ReportAggregation>& report_aggregations) {
  AggregationJobResp response;
  for (const ReportAggregation& ra : report_aggregations) {
    if (ra.last_prep_resp) {
      response.prepare_resps.push_back(decode_message<PrepareResp>(*ra.last_prep_resp));
    }
  }
  return response;
}

}  // namespace

HttpResponse Aggregator::handle_aggregation_job_init(const HttpRequest& request) {
  return with_task_id(request, "aggregation job init", [&](const TaskId& task_id) {
    return aggregation_job_init(request, task_id);
  });
}
HttpResponse Aggregator::handle_aggregation_job_continue(const HttpRequest& request) {
  return with_task_id(request, "aggregation job continue", [&](const TaskId& task_id) {
    return aggregation_job_continue(request, task_id);
  });
}
HttpResponse Aggregator::handle_aggregation_job_delete(const HttpRequest& request) {
  return with_task_id(request, "aggregation job delete", [&](const TaskId& task_id) {
    return aggregation_job_delete(request, task_id);
  });
}
HttpResponse Aggregator::handle_aggregate_share(const HttpRequest& request) {
  return with_task_id(request, "aggregate share",
                      [&](const TaskId& task_id) { return aggregate_share(request, task_id); });
}

// ---- PUT /tasks/{task_id}/aggregation_jobs/{aggregation_job_id} ------------------------

HttpResponse Aggregator::aggregation_job_init(const HttpRequest& request, const TaskId& task_id) {
  if (!has_content_type(request, media_type::kAggregationJobInitReq)) {
    throw DapError::bad_request(
        task_id, "expected Content-Type " + std::string(media_type::kAggregationJobInitReq));
  }
  std::shared_ptr<const CachedTask> cached = authorize_request(request, task_id, Role::Helper,
                                                               /*may_opt_in=*/true);
  const AggregatorTask& task = cached->task;
  const Vdaf& vdaf = *cached->vdaf;

  auto job_id =
      AggregationJobId::from_base64url(request.path_param("aggregation_job_id").value_or(""));
  if (!job_id) {
    throw DapError(DapProblemType::InvalidMessage, task_id, "bad aggregation job id");
  }
  AggregationJobInitReq init;
  try {
    init = decode_message<AggregationJobInitReq>(request.body);
    vdaf.check_aggregation_parameter(init.aggregation_parameter);
  } catch (const std::exception& e) {
    throw DapError(DapProblemType::InvalidMessage, task_id, e.what());
  }
  if (init.partial_batch_selector.type != wire_query_type(task)) {
    throw DapError(DapProblemType::InvalidMessage, task_id,
                   "partial batch selector does not match the task's query type");
  }
  {
    std::set<ReportId> ids;
    for (const PrepareInit& prepare_init : init.prepare_inits) {
      if (!ids.insert(prepare_init.report_share.metadata.id).second) {
        throw DapError(DapProblemType::InvalidMessage, task_id,
                       "a report id appears twice in the aggregation job");
      }
    }
  }
  const Bytes request_hash = sha256(request.body);
  const Time now = clock_.now();

  // Everything that needs no database: decryption and preparation.
  std::vector<PreparedReport> prepared;
  for (const PrepareInit& prepare_init : init.prepare_inits) {
    const ReportShare& share = prepare_init.report_share;
    PreparedReport report{share.metadata, std::nullopt, std::nullopt, {}};
    auto fail = [&](PrepareError error) {
      report.error = error;
      prepared.push_back(std::move(report));
    };
    if (share.metadata.time > saturating_add(now, task.tolerable_clock_skew)) {
      fail(PrepareError::ReportTooEarly);
      continue;
    }
    if (task.task_expiration && share.metadata.time > *task.task_expiration) {
      fail(PrepareError::TaskExpired);
      continue;
    }
    try {
      vdaf.check_public_share(share.public_share);
    } catch (const VdafError&) {
      fail(PrepareError::InvalidMessage);
      continue;
    }
    std::optional<DapHpkeKeyPair> key_pair =
        find_hpke_key(*cached, share.encrypted_input_share.config_id);
    if (!key_pair) {
      fail(PrepareError::HpkeUnknownConfigId);
      continue;
    }
    Bytes plaintext;
    try {
      plaintext =
          dap_open(*key_pair, share.encrypted_input_share, dap_input_share_info(Role::Helper),
                   encode_message(InputShareAad{task_id, share.metadata, share.public_share}));
    } catch (const HpkeError&) {
      fail(PrepareError::HpkeDecryptError);
      continue;
    }
    PlaintextInputShare input_share;
    try {
      input_share = decode_message<PlaintextInputShare>(plaintext);
      if (has_duplicate_extension(input_share.extensions)) throw DecodeError("duplicate extension");
      if (!taskprov_extension_as_expected(input_share.extensions,
                                          task.taskprov_task_config.has_value())) {
        throw DecodeError("missing or unexpected taskprov extension");
      }
      vdaf.check_input_share(1, input_share.payload);
    } catch (const std::exception&) {
      fail(PrepareError::InvalidMessage);
      continue;
    }
    try {
      PingPongTransition transition = ping_pong_helper_initialized(
          vdaf, task.vdaf_verify_key, init.aggregation_parameter, share.metadata.id.span(),
          share.public_share, input_share.payload, prepare_init.message);
      report.state = std::move(transition.state);
      report.outbound = std::move(transition.outbound);
      prepared.push_back(std::move(report));
    } catch (const VdafError&) {
      fail(PrepareError::VdafPrepError);
    }
  }

  AggregationJob job;
  job.task_id = task_id;
  job.aggregation_job_id = *job_id;
  job.aggregation_parameter = init.aggregation_parameter;
  if (init.partial_batch_selector.type == QueryType::FixedSize) {
    job.batch_id = init.partial_batch_selector.batch_id;
  }
  for (const PreparedReport& report : prepared) {
    job.client_timestamp_interval =
        extend_interval(job.client_timestamp_interval, report.metadata.time);
  }
  job.step = 0;
  job.last_request_hash = request_hash;

  auto write_job = [&](Transaction& tx) -> AggregationJobResp {
    if (auto existing = tx.get_aggregation_job(task_id, *job_id)) {
      if (existing->state == AggregationJobState::Deleted) throw aggregation_job_deleted(task_id);
      if (existing->last_request_hash != request_hash) {
        throw DapError::plain(409, "an aggregation job with this id exists with other contents\n");
      }
      return stored_response(tx.get_report_aggregations_for_job(task_id, *job_id));
    }
    // Replays, checked for the whole job in two statements. A report in other jobs is
    // aggregated again only under a parameter the VDAF allows after theirs (Poplar1's next
    // level; never for Prio3); any other report must be one this helper has not seen.
    std::vector<ReportId> candidates;
    std::vector<ReportMetadata> first_sightings;
    std::set<ReportId> aggregated_again;
    for (const PreparedReport& report : prepared) {
      if (!report.error) candidates.push_back(report.metadata.id);
    }
    // Where a report may come again (Poplar1), concurrent jobs decide about it in turn, and
    // a batch may have been collected under another parameter: then only reports that were
    // in each of its collections may be aggregated (DAP-09 §4.5.1.4; a batch collected under
    // this job's own parameter is the writer's check).
    std::set<ReportId> left_out;
    if (vdaf.requires_aggregation_parameter()) {
      tx.lock_client_reports(task_id, candidates);
      std::vector<std::pair<ReportId, BatchIdentifier>> batches;
      for (const PreparedReport& report : prepared) {
        if (report.error) continue;
        batches.emplace_back(report.metadata.id, batch_of_report(task, job, report.metadata.time));
      }
      left_out = tx.reports_left_out_of_collections(task_id, batches, init.aggregation_parameter);
    }
    const std::map<ReportId, std::vector<Bytes>> previous =
        tx.get_aggregation_parameters_of_reports(task_id, candidates, *job_id);
    for (const PreparedReport& report : prepared) {
      if (report.error) continue;
      auto it = previous.find(report.metadata.id);
      if (it == previous.end()) {
        first_sightings.push_back(report.metadata);
      } else if (vdaf.is_valid_aggregation_parameter(init.aggregation_parameter, it->second)) {
        aggregated_again.insert(report.metadata.id);
      }
    }
    const std::set<ReportId> recorded = tx.put_scrubbed_reports(task_id, first_sightings);

    AggregationJobWriter writer(task, &vdaf, writer_options());
    for (std::size_t ord = 0; ord < prepared.size(); ++ord) {
      const PreparedReport& report = prepared[ord];
      std::optional<PrepareError> error = report.error;
      if (!error && !recorded.contains(report.metadata.id) &&
          !aggregated_again.contains(report.metadata.id)) {
        error = PrepareError::ReportReplayed;
      }
      if (!error && left_out.contains(report.metadata.id)) error = PrepareError::BatchCollected;
      ReportAggregation ra;
      ra.task_id = task_id;
      ra.aggregation_job_id = *job_id;
      ra.report_id = report.metadata.id;
      ra.client_timestamp = report.metadata.time;
      ra.ord = ord;
      std::optional<Bytes> output;
      if (error) {
        ra.state = ReportAggregationState::Failed;
        ra.error_code = static_cast<std::uint8_t>(*error);
        ra.last_prep_resp = encode_message(PrepareResp::reject(report.metadata.id, *error));
      } else {
        ra.last_prep_resp = encode_message(
            report.outbound ? PrepareResp::continue_with(report.metadata.id, *report.outbound)
                            : PrepareResp::finished(report.metadata.id));
        if (report.state.finished()) {
          ra.state = ReportAggregationState::Finished;
          output = report.state.output_share;
        } else {
          ra.state = ReportAggregationState::WaitingHelper;
          ra.helper_prep_state = report.state.prep_state;
        }
      }
      writer.add(std::move(ra), /*changed=*/true, std::move(output));
    }
    AggregationJob stored_job = job;
    stored_job.state = AggregationJobState::InProgress;
    return stored_response(writer.write(tx, stored_job, /*new_job=*/true).report_aggregations);
  };
  AggregationJobResp response;
  try {
    response = datastore_.run_tx("aggregation_job_init", Isolation::ReadCommitted, write_job);
  } catch (const MutationTargetAlreadyExists&) {
    // A concurrent request created the job first: answer as for a retry of it.
    response = datastore_.run_tx("aggregation_job_init", Isolation::ReadCommitted, write_job);
  }
  for (const PrepareResp& resp : response.prepare_resps) {
    if (resp.state == PrepareResp::State::Reject) count_step_failure(resp.error);
  }
  return aggregation_job_response(response);
}

// ---- POST /tasks/{task_id}/aggregation_jobs/{aggregation_job_id} -----------------------

HttpResponse Aggregator::aggregation_job_continue(const HttpRequest& request,
                                                  const TaskId& task_id) {
  if (!has_content_type(request, media_type::kAggregationJobContinueReq)) {
    throw DapError::bad_request(
        task_id, "expected Content-Type " + std::string(media_type::kAggregationJobContinueReq));
  }
  std::shared_ptr<const CachedTask> cached = authorize_request(request, task_id, Role::Helper);
  const Vdaf& vdaf = *cached->vdaf;
  auto job_id =
      AggregationJobId::from_base64url(request.path_param("aggregation_job_id").value_or(""));
  if (!job_id) {
    throw DapError(DapProblemType::InvalidMessage, task_id, "bad aggregation job id");
  }
  AggregationJobContinueReq req;
  try {
    req = decode_message<AggregationJobContinueReq>(request.body);
  } catch (const DecodeError& e) {
    throw DapError(DapProblemType::InvalidMessage, task_id, e.what());
  }
  if (req.step == 0) {
    throw DapError(DapProblemType::InvalidMessage, task_id, "step 0 is the init step");
  }
  const Bytes request_hash = sha256(request.body);

  AggregationJobResp response =
      datastore_.run_tx("aggregation_job_continue", Isolation::ReadCommitted, [&](Transaction& tx) {
        auto job = tx.get_aggregation_job(task_id, *job_id);
        if (!job) throw DapError(DapProblemType::UnrecognizedAggregationJob, task_id);
        if (job->state == AggregationJobState::Deleted) throw aggregation_job_deleted(task_id);
        std::vector<ReportAggregation> ras = tx.get_report_aggregations_for_job(task_id, *job_id);
        if (req.step == job->step) {
          // A retry of the step already taken: the same request gets the same answer.
          if (job->last_request_hash != request_hash) {
            throw DapError::plain(409, "this step was taken with another request\n");
          }
          return stored_response(ras);
        }
        if (req.step != job->step + 1 || job->state != AggregationJobState::InProgress) {
          throw DapError(DapProblemType::StepMismatch, task_id);
        }
        // The leader continues a subset of the waiting reports, in the job's order.
        std::map<ReportId, std::size_t> waiting;  // index into ras
        for (std::size_t i = 0; i < ras.size(); ++i) {
          if (ras[i].state == ReportAggregationState::WaitingHelper) waiting[ras[i].report_id] = i;
        }
        std::set<ReportId> continued;
        std::vector<std::optional<Bytes>> outputs(ras.size());
        std::vector<bool> changed(ras.size(), false);
        std::size_t last_ord = 0;
        bool first = true;
        for (const PrepareContinue& prepare_continue : req.prepare_continues) {
          auto it = waiting.find(prepare_continue.report_id);
          if (it == waiting.end() || !continued.insert(prepare_continue.report_id).second ||
              (!first && ras[it->second].ord <= last_ord)) {
            throw DapError(DapProblemType::InvalidMessage, task_id,
                           "prepare continues name unknown, repeated or misordered reports");
          }
          first = false;
          const std::size_t index = it->second;
          ReportAggregation& ra = ras[index];
          last_ord = ra.ord;
          changed[index] = true;
          PrepareResp resp;
          try {
            PingPongState state;
            state.prep_state = ra.helper_prep_state.value_or(Bytes{});
            PingPongTransition transition = ping_pong_helper_continued(
                vdaf, job->aggregation_parameter, state, prepare_continue.message);
            resp = transition.outbound
                       ? PrepareResp::continue_with(ra.report_id, *transition.outbound)
                       : PrepareResp::finished(ra.report_id);
            if (transition.state.finished()) {
              ra.state = ReportAggregationState::Finished;
              ra.helper_prep_state.reset();
              outputs[index] = std::move(transition.state.output_share);
            } else {
              ra.helper_prep_state = transition.state.prep_state;
            }
          } catch (const VdafError&) {
            resp = PrepareResp::reject(ra.report_id, PrepareError::VdafPrepError);
            ra.state = ReportAggregationState::Failed;
            ra.error_code = static_cast<std::uint8_t>(PrepareError::VdafPrepError);
            ra.helper_prep_state.reset();
          }
          ra.last_prep_resp = encode_message(resp);
        }
        // Waiting reports the leader left out were dropped by it.
        for (auto& [id, index] : waiting) {
          if (continued.contains(id)) continue;
          ReportAggregation& ra = ras[index];
          ra.state = ReportAggregationState::Failed;
          ra.error_code = static_cast<std::uint8_t>(PrepareError::ReportDropped);
          ra.helper_prep_state.reset();
          ra.last_prep_resp.reset();
          changed[index] = true;
        }
        // A retry of this step is answered from the stored answers (stored_response): only
        // the reports this step continued keep one, not those an earlier step answered.
        for (std::size_t i = 0; i < ras.size(); ++i) {
          if (changed[i] || !ras[i].last_prep_resp) continue;
          ras[i].last_prep_resp.reset();
          changed[i] = true;
        }
        job->step = req.step;
        job->last_request_hash = request_hash;
        AggregationJobWriter writer(cached->task, &vdaf, writer_options());
        for (std::size_t i = 0; i < ras.size(); ++i) {
          writer.add(std::move(ras[i]), changed[i], std::move(outputs[i]));
        }
        // The answer covers the reports this step continued, in the request's order (the
        // job's order), as written.
        AggregationJobWriter::Written written = writer.write(tx, *job, /*new_job=*/false);
        AggregationJobResp ok;
        for (std::size_t i = 0; i < written.report_aggregations.size(); ++i) {
          const ReportAggregation& ra = written.report_aggregations[i];
          if (changed[i] && ra.last_prep_resp) {
            ok.prepare_resps.push_back(decode_message<PrepareResp>(*ra.last_prep_resp));
          }
        }
        return ok;
      });
  return aggregation_job_response(response);
}

// ---- DELETE /tasks/{task_id}/aggregation_jobs/{aggregation_job_id} ---------------------

HttpResponse Aggregator::aggregation_job_delete(const HttpRequest& request, const TaskId& task_id) {
  std::shared_ptr<const CachedTask> cached = authorize_request(request, task_id, Role::Helper);
  auto job_id =
      AggregationJobId::from_base64url(request.path_param("aggregation_job_id").value_or(""));
  if (!job_id) {
    throw DapError(DapProblemType::InvalidMessage, task_id, "bad aggregation job id");
  }
  const bool found = datastore_.run_tx("aggregation_job_delete", [&](Transaction& tx) {
    auto job = tx.get_aggregation_job(task_id, *job_id);
    if (!job) return false;
    if (job->state != AggregationJobState::Deleted) {
      job->state = AggregationJobState::Deleted;
      tx.update_aggregation_job(*job);
    }
    return true;
  });
  if (!found) throw DapError(DapProblemType::UnrecognizedAggregationJob, task_id);
  return HttpResponse::empty(204);
}

// ---- POST /tasks/{task_id}/aggregate_shares --------------------------------------------

HttpResponse Aggregator::aggregate_share(const HttpRequest& request, const TaskId& task_id) {
  if (!has_content_type(request, media_type::kAggregateShareReq)) {
    throw DapError::bad_request(
        task_id, "expected Content-Type " + std::string(media_type::kAggregateShareReq));
  }
  std::shared_ptr<const CachedTask> cached = authorize_request(request, task_id, Role::Helper);
  const AggregatorTask& task = cached->task;
  const Vdaf& vdaf = *cached->vdaf;
  AggregateShareReq req;
  try {
    req = decode_message<AggregateShareReq>(request.body);
    vdaf.check_aggregation_parameter(req.aggregation_parameter);
  } catch (const std::exception& e) {
    throw DapError(DapProblemType::InvalidMessage, task_id, e.what());
  }
  if (req.batch_selector.type != wire_query_type(task)) {
    throw DapError(DapProblemType::InvalidMessage, task_id,
                   "batch selector does not match the task's query type");
  }
  if (!task.collector_hpke_config) {
    if (logger_) logger_->error("task {} has no collector HPKE config", task_id.to_base64url());
    throw DapError::internal();
  }
  const HpkeConfig collector_config = decode_message<HpkeConfig>(*task.collector_hpke_config);
  BatchIdentifier batch;
  if (req.batch_selector.type == QueryType::TimeInterval) {
    const Interval& interval = req.batch_selector.batch_interval;
    const Duration precision = std::max<Duration>(task.time_precision, 1);
    if (interval.duration == 0 || interval.start % precision != 0 ||
        interval.duration % precision != 0) {
      throw DapError(DapProblemType::BatchInvalid, task_id,
                     "batch interval is not a multiple of the time precision");
    }
    batch = interval;
    // As Janus: a batch whose reports the garbage collector may already have deleted (its end
    // plus report_expiry_age is past) gets no aggregate share, replays included, so an old
    // request cannot be answered from what is left.
    if (task.report_expiry_age) {
      const Time end = interval.start + interval.duration;  // both checked against precision
      const Time expiry = end > std::numeric_limits<Time>::max() - *task.report_expiry_age
                              ? std::numeric_limits<Time>::max()
                              : end + *task.report_expiry_age;
      if (clock_.now() > expiry) throw DapError::plain(400, "aggregate share request too late\n");
    }
  } else {
    batch = req.batch_selector.batch_id;
  }

  const Bytes request_checksum(req.checksum.begin(), req.checksum.end());
  const Bytes share = datastore_.run_tx("aggregate_share", [&](Transaction& tx) -> Bytes {
    if (auto existing = tx.get_aggregate_share_job(task_id, batch, req.aggregation_parameter)) {
      if (existing->report_count != req.report_count || existing->checksum != request_checksum) {
        throw DapError(DapProblemType::BatchMismatch, task_id);
      }
      return existing->helper_aggregate_share;
    }
    std::vector<AggregateShareJob> others;
    std::vector<BatchAggregation> aggregations;
    if (const auto* interval = std::get_if<Interval>(&batch)) {
      others = tx.get_aggregate_share_jobs_intersecting_interval(task_id, *interval);
      for (const AggregateShareJob& other : others) {
        if (std::get<Interval>(other.batch_identifier) != *interval) {
          throw DapError(DapProblemType::BatchOverlap, task_id);
        }
      }
      aggregations =
          tx.get_batch_aggregations_in_interval(task_id, *interval, req.aggregation_parameter);
    } else {
      others = tx.get_aggregate_share_jobs_for_batch(task_id, batch);
      aggregations = tx.get_batch_aggregations_for_batch(task_id, batch, req.aggregation_parameter);
    }
    if (others.size() >= task.max_batch_query_count) {
      throw DapError(DapProblemType::BatchQueriedTooManyTimes, task_id);
    }
    MergedBatchAggregation merged =
        merge_batch_aggregations(vdaf, req.aggregation_parameter, aggregations);
    if (merged.report_count < task.min_batch_size ||
        (task.query_type.max_batch_size && merged.report_count > *task.query_type.max_batch_size)) {
      throw DapError(DapProblemType::InvalidBatchSize, task_id);
    }
    if (merged.report_count != req.report_count || merged.checksum != req.checksum) {
      throw DapError(DapProblemType::BatchMismatch, task_id);
    }
    for (BatchAggregation aggregation : aggregations) {
      aggregation.state = BatchAggregationState::Collected;
      tx.update_batch_aggregation(aggregation);
    }
    // Noised once: the stored share (with its noise) answers every repeat of this request.
    vdaf.add_noise_to_aggregate_share(merged.aggregate_share, req.aggregation_parameter,
                                      merged.report_count);
    tx.put_aggregate_share_job(AggregateShareJob{
        task_id, batch, req.aggregation_parameter, merged.aggregate_share, merged.report_count,
        Bytes(merged.checksum.begin(), merged.checksum.end())});
    return merged.aggregate_share;
  });
  const Bytes aad =
      encode_message(AggregateShareAad{task_id, req.aggregation_parameter, req.batch_selector});
  AggregateShare response{
      dap_seal(collector_config, dap_aggregate_share_info(Role::Helper), aad, share)};
  return HttpResponse::bytes(200, std::string(media_type::kAggregateShare),
                             encode_message(response));
}

}  // namespace janus::aggregator
