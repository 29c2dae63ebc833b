#include "job_driver.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "janus/aggregation.h"
#include "janus/codec.h"
#include "janus/messages.h"
#include "janus/ping_pong.h"
#include "janus/tracing.h"
#include "janus/vdaf.h"

namespace janus::job_driver {
namespace {

// A step failure worth retrying on a later lease (the runner logs it; the lease expires).
class StepError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The leader's ping-pong state between steps of a multi-round VDAF, kept in
// leader_prep_transition: the state and the message the next continue request carries.
Bytes encode_waiting(const PingPongTransition& transition) {
  ByteWriter writer;
  writer.u8(transition.state.finished() ? 1 : 0);
  writer.opaque32(transition.state.finished() ? transition.state.output_share
                                              : transition.state.prep_state);
  transition.outbound->encode(writer);
  return writer.take();
}

PingPongTransition decode_waiting(ByteSpan data) {
  ByteReader reader(data);
  PingPongTransition transition;
  const bool finished = reader.u8() == 1;
  Bytes state = reader.opaque32();
  transition.state.kind = finished ? PingPongState::Kind::Finished : PingPongState::Kind::Continued;
  (finished ? transition.state.output_share : transition.state.prep_state) = std::move(state);
  transition.outbound = PingPongMessage::decode(reader);
  reader.expect_end("leader prep transition");
  return transition;
}

// A report that failed a preparation step.
void fail(ReportAggregation& ra, PrepareError error) {
  count_step_failure(error);
  ra.state = ReportAggregationState::Failed;
  ra.error_code = static_cast<std::uint8_t>(error);
  ra.leader_prep_transition.reset();
}

}  // namespace

AggregationJobDriverConfig parse_job_driver_config(const YAML::Node& section,
                                                   const std::string& file,
                                                   const ConfigWarningSink& warn) {
  ConfigMap map(section, file);
  AggregationJobDriverConfig config;
  read_job_driver_config(map, config);
  config.batch_aggregation_shard_count = read_positive(map, "batch_aggregation_shard_count");
  config.task_counter_shard_count = read_positive(map, "task_counter_shard_count", 32);
  if (map.has("taskprov_config")) {
    // Accepted as Janus does; the driver needs nothing from it: a taskprov task's requests
    // carry its dap-taskprov header because the task says so (AggregatorTask).
    ConfigMap taskprov = map.section("taskprov_config");
    taskprov.get<bool>("enabled", false);
    taskprov.get<bool>("ignore_unknown_differential_privacy_mechanism", false);
    taskprov.finish();
  }
  map.finish();
  return config;
}

JobDriver::JobDriver(AggregationJobDriverConfig config, Datastore& datastore,
                     const VdafRegistry& vdafs, std::shared_ptr<spdlog::logger> logger,
                     std::function<void(std::chrono::milliseconds)> retry_sleep)
    : config_(config),
      datastore_(datastore),
      vdafs_(vdafs),
      logger_(std::move(logger)),
      retry_sleep_(std::move(retry_sleep)),
      http_(config.http_client_options()) {}

LeaseWorkerOptions JobDriver::worker_options(const std::string& name) const {
  return config_.lease_worker_options(name);
}

LeaseWorkerFunctions JobDriver::worker_functions() {
  // New jobs are announced by the job creator (NOTIFY); between those, the discovery
  // interval still bounds the wait (expired leases, other creators).
  return config_.lease_worker_functions<AcquiredAggregationJob>(
      datastore_, "acquire_aggregation_jobs", &Transaction::acquire_incomplete_aggregation_jobs,
      [](const Lease<AcquiredAggregationJob>& lease) {
        return "aggregation job " + lease.leased.aggregation_job_id.to_base64url();
      },
      [this](const auto& lease, const StepContext& context) { step(lease, context); },
      kAggregationJobsChannel);
}

std::string JobDriver::job_url(const AggregatorTask& task, const AggregationJobId& job_id) const {
  return task.peer_task_url("aggregation_jobs/" + job_id.to_base64url());
}

RetryPolicy JobDriver::retry_policy(const StepContext& context) const {
  RetryPolicy policy = config_.retry_policy();
  // Retries must end before the lease does.
  policy.max_elapsed = std::min(config_.retry_max_elapsed_time, context.remaining());
  policy.sleep = retry_sleep_;
  return policy;
}

void JobDriver::abandon(const Lease<AcquiredAggregationJob>& lease, const StepContext& context) {
  const AcquiredAggregationJob& acquired = lease.leased;
  auto task =
      datastore_.run_tx("abandon_aggregation_job", Isolation::ReadCommitted, [&](Transaction& tx) {
        auto task = tx.get_aggregator_task(acquired.task_id);
        auto job = tx.get_aggregation_job(acquired.task_id, acquired.aggregation_job_id);
        if (task && job && job->state == AggregationJobState::InProgress) {
          // An abandoned job is over too: its batches count it as terminated, so that
          // collection does not wait for it forever.
          AggregationJobWriter writer(*task, nullptr, writer_options());
          for (ReportAggregation& ra :
               tx.get_report_aggregations_for_job(acquired.task_id, acquired.aggregation_job_id)) {
            writer.add(std::move(ra), /*changed=*/false);
          }
          job->state = AggregationJobState::Abandoned;
          writer.write(tx, *job, /*new_job=*/false);
        }
        tx.abandon_aggregation_job(lease);
        return task;
      });
  if (logger_) {
    logger_->error("aggregation job {} of task {} abandoned after {} attempts",
                   acquired.aggregation_job_id.to_base64url(), acquired.task_id.to_base64url(),
                   lease.attempts - 1);
  }
  if (!task || !task->aggregator_auth_token) return;
  // Tell the helper it may forget the job; its answer does not change ours.
  try {
    HttpHeaders headers;
    for (const auto& [name, value] : task->peer_request_headers()) headers.add(name, value);
    send_with_retry(http_, HttpMethod::Delete, job_url(*task, acquired.aggregation_job_id), headers,
                    {}, retry_policy(context), [&] { return context.cancelled(); });
  } catch (const std::exception& e) {
    if (logger_) logger_->warn("DELETE of abandoned aggregation job failed: {}", e.what());
  }
}

AggregationJobWriterOptions JobDriver::writer_options() const {
  return {config_.batch_aggregation_shard_count, config_.task_counter_shard_count};
}

// ---- one step: load, request, response, write ----------------------------------------

// What the step reads first.
struct JobDriver::Loaded {
  std::optional<AggregatorTask> task;
  std::optional<AggregationJob> job;
  std::vector<ReportAggregation> report_aggregations;
  std::set<Bytes, BytesLess> collected_batches;  // encoded identifiers of collected batches
  std::set<ReportId> left_out;  // reports an earlier collection of their batch went without
};

// The request of one step and the reports it carries.
struct JobDriver::Request {
  HttpMethod method = HttpMethod::Put;
  std::string content_type;
  Bytes body;
  struct Pending {
    std::size_t index;  // into Loaded::report_aggregations
    PingPongState state;
  };
  std::vector<Pending> pending;
  std::vector<bool> changed;  // per report aggregation: this step writes it
};

JobDriver::Loaded JobDriver::load(const AcquiredAggregationJob& acquired, const Vdaf& vdaf) {
  return datastore_.run_tx("step_aggregation_job_read", [&](Transaction& tx) {
    Loaded l;
    l.task = tx.get_aggregator_task(acquired.task_id);
    l.job = tx.get_aggregation_job(acquired.task_id, acquired.aggregation_job_id);
    if (!l.task || !l.job) return l;
    l.report_aggregations =
        tx.get_report_aggregations_for_job(acquired.task_id, acquired.aggregation_job_id);
    // Reports not yet sent whose batch was collected meanwhile (under this job's parameter:
    // Poplar1's next level may aggregate a collected batch again) are failed here (as Janus
    // does), not sent to the helper.
    std::set<Bytes, BytesLess> checked;
    for (const ReportAggregation& ra : l.report_aggregations) {
      if (ra.state != ReportAggregationState::StartLeader) continue;
      const BatchIdentifier batch = batch_of_report(*l.task, *l.job, ra.client_timestamp);
      Bytes key = encode_batch_identifier(batch);
      if (!checked.insert(key).second) continue;
      if (tx.is_batch_collected(acquired.task_id, batch, ByteSpan(l.job->aggregation_parameter)))
        l.collected_batches.insert(std::move(key));
    }
    // And, where a batch is collected under several parameters (Poplar1's levels), reports
    // that an earlier collection of their batch went without, if it completed after the job
    // creator made this job (DAP-09 §4.5.1.4; the helper checks too, but its batch counts
    // as collected only once this leader has asked for its aggregate share).
    if (vdaf.requires_aggregation_parameter()) {
      std::vector<std::pair<ReportId, BatchIdentifier>> unsent;
      for (const ReportAggregation& ra : l.report_aggregations) {
        if (ra.state != ReportAggregationState::StartLeader) continue;
        unsent.emplace_back(ra.report_id, batch_of_report(*l.task, *l.job, ra.client_timestamp));
      }
      l.left_out = tx.reports_left_out_of_collections(acquired.task_id, unsent,
                                                      l.job->aggregation_parameter);
    }
    return l;
  });
}

// The init request (reports in START_LEADER) or the continue request (WAITING_LEADER);
// reports that cannot be sent fail here. Advances job.step for a continue.
JobDriver::Request JobDriver::build_request(const AggregatorTask& task, AggregationJob& job,
                                            const Vdaf& vdaf, Loaded& loaded) {
  Request request;
  std::vector<ReportAggregation>& ras = loaded.report_aggregations;
  request.changed.assign(ras.size(), false);
  const bool init = std::any_of(ras.begin(), ras.end(), [](const ReportAggregation& ra) {
    return ra.state == ReportAggregationState::StartLeader;
  });
  if (init) {
    AggregationJobInitReq init_req;
    init_req.aggregation_parameter = job.aggregation_parameter;
    init_req.partial_batch_selector = job.batch_id ? PartialBatchSelector::fixed_size(*job.batch_id)
                                                   : PartialBatchSelector::time_interval();
    for (std::size_t i = 0; i < ras.size(); ++i) {
      ReportAggregation& ra = ras[i];
      if (ra.state != ReportAggregationState::StartLeader) continue;
      request.changed[i] = true;
      if (loaded.collected_batches.contains(
              encode_batch_identifier(batch_of_report(task, job, ra.client_timestamp))) ||
          loaded.left_out.contains(ra.report_id)) {
        fail(ra, PrepareError::BatchCollected);
        continue;
      }
      try {
        PingPongTransition transition = ping_pong_leader_initialized(
            vdaf, task.vdaf_verify_key, job.aggregation_parameter, ra.report_id.span(),
            ra.public_share.value_or(Bytes{}), ra.leader_input_share.value_or(Bytes{}));
        PrepareInit prepare_init;
        prepare_init.report_share.metadata = ReportMetadata{ra.report_id, ra.client_timestamp};
        prepare_init.report_share.public_share = ra.public_share.value_or(Bytes{});
        prepare_init.report_share.encrypted_input_share =
            decode_message<HpkeCiphertext>(ra.helper_encrypted_input_share.value_or(Bytes{}));
        prepare_init.message = std::move(*transition.outbound);
        init_req.prepare_inits.push_back(std::move(prepare_init));
        request.pending.push_back({i, std::move(transition.state)});
      } catch (const std::exception&) {
        // The leader's own share does not prepare (or the stored report is damaged).
        fail(ra, PrepareError::VdafPrepError);
      }
    }
    request.content_type = std::string(media_type::kAggregationJobInitReq);
    request.body = encode_message(init_req);
    return request;
  }
  AggregationJobContinueReq continue_req;
  continue_req.step = static_cast<std::uint16_t>(job.step + 1);
  for (std::size_t i = 0; i < ras.size(); ++i) {
    ReportAggregation& ra = ras[i];
    if (ra.state != ReportAggregationState::WaitingLeader) continue;
    request.changed[i] = true;
    try {
      PingPongTransition transition = decode_waiting(ra.leader_prep_transition.value_or(Bytes{}));
      continue_req.prepare_continues.push_back({ra.report_id, *transition.outbound});
      request.pending.push_back({i, std::move(transition.state)});
    } catch (const DecodeError&) {
      fail(ra, PrepareError::VdafPrepError);
    }
  }
  request.method = HttpMethod::Post;
  request.content_type = std::string(media_type::kAggregationJobContinueReq);
  request.body = encode_message(continue_req);
  job.step = continue_req.step;
  return request;
}

AggregationJobResp JobDriver::send(const AggregatorTask& task, const AggregationJobId& job_id,
                                   const Request& request, const StepContext& context) {
  HttpHeaders headers;
  headers.add("Content-Type", request.content_type);
  for (const auto& [name, value] : task.peer_request_headers()) headers.add(name, value);
  HttpClientResponse response;
  try {
    response = send_with_retry(http_, request.method, job_url(task, job_id), headers, request.body,
                               retry_policy(context), [&] { return context.cancelled(); });
  } catch (const HttpClientError& e) {
    throw StepError(std::string("request to the helper failed: ") + e.what());
  }
  if (response.status < 200 || response.status >= 300) {
    throw StepError(
        "helper answered " + std::to_string(response.status) + ": " +
        std::string(response.body.begin(),
                    response.body.begin() + std::min<std::size_t>(response.body.size(), 300)));
  }
  AggregationJobResp resp;
  try {
    resp = decode_message<AggregationJobResp>(response.body);
  } catch (const DecodeError& e) {
    throw StepError(std::string("helper's AggregationJobResp does not decode: ") + e.what());
  }
  // DAP-09: one PrepareResp per report sent, in the same order.
  if (resp.prepare_resps.size() != request.pending.size()) {
    throw StepError("helper answered " + std::to_string(resp.prepare_resps.size()) +
                    " prepare responses for " + std::to_string(request.pending.size()) +
                    " reports");
  }
  return resp;
}

// Applies the helper's answers to the reports sent; returns the output share of each
// report aggregation that finished (indexed like Loaded::report_aggregations).
std::vector<std::optional<Bytes>> JobDriver::apply_response(const AggregationJob& job,
                                                            const Vdaf& vdaf, Request& request,
                                                            const AggregationJobResp& resp,
                                                            Loaded& loaded) {
  std::vector<ReportAggregation>& ras = loaded.report_aggregations;
  for (std::size_t i = 0; i < request.pending.size(); ++i) {
    if (resp.prepare_resps[i].report_id != ras[request.pending[i].index].report_id) {
      throw StepError("helper's prepare responses are not in the request's order");
    }
  }
  std::vector<std::optional<Bytes>> outputs(ras.size());
  for (std::size_t i = 0; i < request.pending.size(); ++i) {
    const std::size_t index = request.pending[i].index;
    ReportAggregation& ra = ras[index];
    PingPongState& state = request.pending[i].state;
    const PrepareResp& prep = resp.prepare_resps[i];
    ra.public_share.reset();
    ra.leader_extensions.reset();
    ra.leader_input_share.reset();
    ra.helper_encrypted_input_share.reset();
    ra.leader_prep_transition.reset();
    switch (prep.state) {
      case PrepareResp::State::Reject:
        fail(ra, prep.error);
        break;
      case PrepareResp::State::Finished:
        // The helper is done; so must the leader be.
        if (state.finished()) {
          ra.state = ReportAggregationState::Finished;
          outputs[index] = std::move(state.output_share);
        } else {
          fail(ra, PrepareError::VdafPrepError);
        }
        break;
      case PrepareResp::State::Continue:
        try {
          if (state.finished()) throw PingPongError("helper continues a finished preparation");
          PingPongTransition transition =
              ping_pong_leader_continued(vdaf, job.aggregation_parameter, state, prep.message);
          if (transition.outbound) {
            ra.state = ReportAggregationState::WaitingLeader;
            ra.leader_prep_transition = encode_waiting(transition);
          } else if (transition.state.finished()) {
            ra.state = ReportAggregationState::Finished;
            outputs[index] = std::move(transition.state.output_share);
          } else {
            fail(ra, PrepareError::VdafPrepError);
          }
        } catch (const VdafError&) {
          fail(ra, PrepareError::VdafPrepError);
        }
        break;
    }
  }
  return outputs;
}

void JobDriver::step(const Lease<AcquiredAggregationJob>& lease, const StepContext& context) {
  const AcquiredAggregationJob& acquired = lease.leased;
  if (tracing::enabled()) {
    tracing::set_current_attribute("task_id", acquired.task_id.to_base64url());
    tracing::set_current_attribute("aggregation_job_id",
                                   acquired.aggregation_job_id.to_base64url());
    tracing::set_current_attribute("janus.lease.attempts",
                                   static_cast<std::int64_t>(lease.attempts));
  }
  // Janus counts acquisitions: the one that exceeds the limit abandons the job.
  if (lease.attempts > config_.maximum_attempts_before_failure) {
    abandon(lease, context);
    return;
  }
  std::shared_ptr<const Vdaf> vdaf = vdafs_.create(acquired.vdaf);
  Loaded loaded = load(acquired, *vdaf);
  if (!loaded.task || !loaded.job || loaded.job->state != AggregationJobState::InProgress) {
    // Nothing left to do (task deleted, job finished elsewhere): give the lease back.
    datastore_.run_tx("release_aggregation_job",
                      [&](Transaction& tx) { tx.release_aggregation_job(lease); });
    return;
  }
  const AggregatorTask& task = *loaded.task;
  AggregationJob job = *loaded.job;
  if (!task.aggregator_auth_token) {
    throw StepError("task " + acquired.task_id.to_base64url() + " has no aggregator_auth_token");
  }

  Request request = build_request(task, job, *vdaf, loaded);
  std::vector<std::optional<Bytes>> outputs(loaded.report_aggregations.size());
  if (!request.pending.empty()) {
    const AggregationJobResp resp = send(task, acquired.aggregation_job_id, request, context);
    outputs = apply_response(job, *vdaf, request, resp, loaded);
  }

  AggregationJobWriter writer(task, vdaf.get(), writer_options());
  for (std::size_t i = 0; i < loaded.report_aggregations.size(); ++i) {
    writer.add(loaded.report_aggregations[i], request.changed[i], std::move(outputs[i]));
  }
  datastore_.run_tx("step_aggregation_job_write", Isolation::ReadCommitted, [&](Transaction& tx) {
    // The lease must still be ours: a step that outlived it must not write.
    auto current = tx.get_aggregation_job(acquired.task_id, acquired.aggregation_job_id);
    if (!current || current->state != AggregationJobState::InProgress) {
      throw StepError("aggregation job changed while it was being stepped");
    }
    writer.write(tx, job, /*new_job=*/false);
    tx.release_aggregation_job(lease);
  });
}

}  // namespace janus::job_driver
