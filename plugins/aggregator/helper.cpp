// The helper's routes (janus-0.7.md §4): aggregation jobs (PUT init, POST continue,
// DELETE) and aggregate shares (POST), authenticated with the leader's token.
#include <openssl/sha.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "aggregator.h"
#include "http_support.h"
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

std::uint64_t random_below(std::uint64_t bound) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(rng);
}

// The smallest interval holding both (an empty interval is replaced).
Interval span(const Interval& a, const Interval& b) {
  if (a.duration == 0 && a.start == 0) return b;
  const Time start = std::min(a.start, b.start);
  const Time end = std::max(a.start + a.duration, b.start + b.duration);
  return {start, end - start};
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

// The batch a report of `job` belongs to: the job's batch id (fixed_size), else the
// time_precision-aligned interval holding the report's time.
BatchIdentifier batch_of(const AggregatorTask& task, const AggregationJob& job, Time time) {
  if (job.batch_id) return *job.batch_id;
  const Duration precision = std::max<Duration>(task.time_precision, 1);
  return Interval{time / precision * precision, precision};
}

// Adds finished reports' output shares to their batch's aggregation (one random shard).
void accumulate_into_batches(Transaction& tx, const Vdaf& vdaf, const AggregatorTask& task,
                             const AggregationJob& job, std::uint64_t shard_count,
                             const std::vector<std::pair<ReportMetadata, Bytes>>& outputs,
                             bool job_finished) {
  struct Batch {
    BatchIdentifier identifier;
    std::vector<const std::pair<ReportMetadata, Bytes>*> outputs;
  };
  std::map<Bytes, Batch> batches;
  for (const auto& output : outputs) {
    const BatchIdentifier identifier = batch_of(task, job, output.first.time);
    Batch& batch = batches[encode_batch_identifier(identifier)];
    batch.identifier = identifier;
    batch.outputs.push_back(&output);
  }
  for (auto& [key, batch] : batches) {
    const std::uint64_t ord = random_below(shard_count);
    auto existing =
        tx.get_batch_aggregation(task.task_id, batch.identifier, job.aggregation_parameter, ord);
    BatchAggregation aggregation;
    if (existing) {
      aggregation = std::move(*existing);
    } else {
      aggregation.task_id = task.task_id;
      aggregation.batch_identifier = batch.identifier;
      aggregation.aggregation_parameter = job.aggregation_parameter;
      aggregation.ord = ord;
      aggregation.checksum = Bytes(32, 0);
    }
    Bytes share = aggregation.aggregate_share
                      ? *aggregation.aggregate_share
                      : vdaf.empty_aggregate_share(job.aggregation_parameter);
    ReportIdChecksum checksum{};
    std::copy_n(aggregation.checksum.begin(),
                std::min<std::size_t>(32, aggregation.checksum.size()), checksum.begin());
    for (const auto* output : batch.outputs) {
      vdaf.accumulate(share, output->second);
      update_report_id_checksum(checksum, output->first.id);
      aggregation.report_count += 1;
      aggregation.client_timestamp_interval =
          span(aggregation.client_timestamp_interval, Interval{output->first.time, 1});
    }
    aggregation.aggregate_share = std::move(share);
    aggregation.checksum = Bytes(checksum.begin(), checksum.end());
    aggregation.aggregation_jobs_created += 1;
    if (job_finished) aggregation.aggregation_jobs_terminated += 1;
    if (existing) {
      tx.update_batch_aggregation(aggregation);
    } else {
      tx.put_batch_aggregation(aggregation);
    }
  }
}

// Janus's janus_step_failures{type}: reports the helper could not aggregate, by reason.
void count_step_failure(PrepareError error) {
  metrics::registry()
      .counter("janus_step_failures", "Reports that failed a preparation step, by reason.",
               {{"type", std::string(prepare_error_name(error))}})
      .increment();
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
  std::shared_ptr<const CachedTask> cached = authorize_request(request, task_id, Role::Helper);
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
        span(job.client_timestamp_interval, Interval{report.metadata.time, 1});
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
    std::vector<ReportAggregation> report_aggregations;
    std::vector<std::pair<ReportMetadata, Bytes>> outputs;
    AggregationJobResp response;
    bool all_terminal = true;
    std::uint64_t successes = 0;
    for (std::size_t ord = 0; ord < prepared.size(); ++ord) {
      const PreparedReport& report = prepared[ord];
      std::optional<PrepareError> error = report.error;
      if (!error) {
        const BatchIdentifier batch = batch_of(task, job, report.metadata.time);
        if (tx.check_other_report_aggregation_exists(task_id, report.metadata.id, *job_id)) {
          error = PrepareError::ReportReplayed;
        } else if (tx.is_batch_collected(task_id, batch)) {
          error = PrepareError::BatchCollected;
        } else if (!tx.put_scrubbed_report(task_id, report.metadata.id, report.metadata.time)) {
          error = PrepareError::ReportReplayed;
        }
      }
      ReportAggregation ra;
      ra.task_id = task_id;
      ra.aggregation_job_id = *job_id;
      ra.report_id = report.metadata.id;
      ra.client_timestamp = report.metadata.time;
      ra.ord = ord;
      PrepareResp resp;
      if (error) {
        resp = PrepareResp::reject(report.metadata.id, *error);
        ra.state = ReportAggregationState::Failed;
        ra.error_code = static_cast<std::uint8_t>(*error);
      } else {
        resp = report.outbound ? PrepareResp::continue_with(report.metadata.id, *report.outbound)
                               : PrepareResp::finished(report.metadata.id);
        if (report.state.finished()) {
          ra.state = ReportAggregationState::Finished;
          outputs.emplace_back(report.metadata, report.state.output_share);
          ++successes;
        } else {
          ra.state = ReportAggregationState::WaitingHelper;
          ra.helper_prep_state = report.state.prep_state;
          all_terminal = false;
        }
      }
      ra.last_prep_resp = encode_message(resp);
      response.prepare_resps.push_back(std::move(resp));
      report_aggregations.push_back(std::move(ra));
    }
    AggregationJob stored_job = job;
    stored_job.state =
        all_terminal ? AggregationJobState::Finished : AggregationJobState::InProgress;
    tx.put_aggregation_job(stored_job);
    if (!report_aggregations.empty()) tx.put_report_aggregations(report_aggregations);
    if (!outputs.empty()) {
      accumulate_into_batches(tx, vdaf, task, stored_job, config_.batch_aggregation_shard_count,
                              outputs, all_terminal);
    }
    if (successes > 0) {
      tx.increment_task_aggregation_counter(task_id, random_below(config_.task_counter_shard_count),
                                            successes);
    }
    return response;
  };
  AggregationJobResp response;
  try {
    response = datastore_.run_tx("aggregation_job_init", write_job);
  } catch (const MutationTargetAlreadyExists&) {
    // A concurrent request created the job first: answer as for a retry of it.
    response = datastore_.run_tx("aggregation_job_init", write_job);
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

  AggregationJobResp response = datastore_.run_tx("aggregation_job_continue", [&](Transaction& tx) {
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
    std::map<ReportId, ReportAggregation*> waiting;
    for (ReportAggregation& ra : ras) {
      if (ra.state == ReportAggregationState::WaitingHelper) waiting[ra.report_id] = &ra;
    }
    std::set<ReportId> continued;
    std::vector<ReportAggregation> updates;
    std::vector<std::pair<ReportMetadata, Bytes>> outputs;
    std::uint64_t successes = 0;
    std::size_t last_ord = 0;
    bool first = true;
    for (const PrepareContinue& prepare_continue : req.prepare_continues) {
      auto it = waiting.find(prepare_continue.report_id);
      if (it == waiting.end() || !continued.insert(prepare_continue.report_id).second ||
          (!first && it->second->ord <= last_ord)) {
        throw DapError(DapProblemType::InvalidMessage, task_id,
                       "prepare continues name unknown, repeated or misordered reports");
      }
      first = false;
      last_ord = it->second->ord;
      ReportAggregation& ra = *it->second;
      PrepareResp resp;
      try {
        PingPongState state;
        state.prep_state = ra.helper_prep_state.value_or(Bytes{});
        PingPongTransition transition = ping_pong_helper_continued(vdaf, job->aggregation_parameter,
                                                                   state, prepare_continue.message);
        resp = transition.outbound ? PrepareResp::continue_with(ra.report_id, *transition.outbound)
                                   : PrepareResp::finished(ra.report_id);
        if (transition.state.finished()) {
          ra.state = ReportAggregationState::Finished;
          ra.helper_prep_state.reset();
          outputs.emplace_back(ReportMetadata{ra.report_id, ra.client_timestamp},
                               transition.state.output_share);
          ++successes;
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
      updates.push_back(ra);
    }
    // Waiting reports the leader left out were dropped by it.
    for (auto& [id, ra] : waiting) {
      if (continued.contains(id)) continue;
      ra->state = ReportAggregationState::Failed;
      ra->error_code = static_cast<std::uint8_t>(PrepareError::ReportDropped);
      ra->helper_prep_state.reset();
      ra->last_prep_resp.reset();
      updates.push_back(*ra);
    }
    bool all_terminal = std::all_of(ras.begin(), ras.end(), [](const ReportAggregation& ra) {
      return ra.state == ReportAggregationState::Finished ||
             ra.state == ReportAggregationState::Failed;
    });
    job->step = req.step;
    job->last_request_hash = request_hash;
    if (all_terminal) job->state = AggregationJobState::Finished;
    tx.update_aggregation_job(*job);
    if (!updates.empty()) tx.update_report_aggregations(updates);
    if (!outputs.empty()) {
      accumulate_into_batches(tx, vdaf, cached->task, *job, config_.batch_aggregation_shard_count,
                              outputs, all_terminal);
    }
    if (successes > 0) {
      tx.increment_task_aggregation_counter(task_id, random_below(config_.task_counter_shard_count),
                                            successes);
    }
    AggregationJobResp ok;
    for (const ReportAggregation& ra : updates) {
      if (ra.last_prep_resp) {
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
    Bytes share = vdaf.empty_aggregate_share(req.aggregation_parameter);
    std::uint64_t report_count = 0;
    ReportIdChecksum checksum{};
    for (const BatchAggregation& aggregation : aggregations) {
      if (aggregation.aggregate_share) vdaf.merge(share, *aggregation.aggregate_share);
      report_count += aggregation.report_count;
      ReportIdChecksum part{};
      std::copy_n(aggregation.checksum.begin(),
                  std::min<std::size_t>(32, aggregation.checksum.size()), part.begin());
      combine_report_id_checksums(checksum, part);
    }
    if (report_count < task.min_batch_size ||
        (task.query_type.max_batch_size && report_count > *task.query_type.max_batch_size)) {
      throw DapError(DapProblemType::InvalidBatchSize, task_id);
    }
    if (report_count != req.report_count || checksum != req.checksum) {
      throw DapError(DapProblemType::BatchMismatch, task_id);
    }
    for (BatchAggregation aggregation : aggregations) {
      aggregation.state = BatchAggregationState::Collected;
      tx.update_batch_aggregation(aggregation);
    }
    tx.put_aggregate_share_job(AggregateShareJob{task_id, batch, req.aggregation_parameter, share,
                                                 report_count,
                                                 Bytes(checksum.begin(), checksum.end())});
    return share;
  });
  const Bytes aad =
      encode_message(AggregateShareAad{task_id, req.aggregation_parameter, req.batch_selector});
  AggregateShare response{
      dap_seal(collector_config, dap_aggregate_share_info(Role::Helper), aad, share)};
  return HttpResponse::bytes(200, std::string(media_type::kAggregateShare),
                             encode_message(response));
}

}  // namespace janus::aggregator
