#include "job_driver.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "janus/codec.h"
#include "janus/messages.h"
#include "janus/metrics.h"
#include "janus/ping_pong.h"
#include "janus/vdaf.h"

namespace janus::job_driver {
namespace {

std::uint64_t random_below(std::uint64_t bound) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(rng);
}

Interval span(const Interval& a, Time time) {
  if (a.duration == 0 && a.start == 0) return {time, 1};
  const Time start = std::min(a.start, time);
  const Time end = std::max(a.start + a.duration, time + 1);
  return {start, end - start};
}

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

// A report that failed a preparation step (Janus's janus_step_failures{type}, the same
// series the helper side counts).
void fail(ReportAggregation& ra, PrepareError error) {
  metrics::registry()
      .counter("janus_step_failures", "Reports that failed a preparation step, by reason.",
               {{"type", std::string(prepare_error_name(error))}})
      .increment();
  ra.state = ReportAggregationState::Failed;
  ra.error_code = static_cast<std::uint8_t>(error);
  ra.leader_prep_transition.reset();
}

using OutputShare = std::pair<ReportMetadata, Bytes>;

// Adds output shares (and, when the job is over, one terminated job) to shard `ord` of a
// batch's aggregation. `vdaf` may be null when there are no outputs.
void add_to_batch_aggregation(Transaction& tx, const Vdaf* vdaf, const TaskId& task_id,
                              const BatchIdentifier& identifier, const Bytes& aggregation_parameter,
                              std::uint64_t ord, const std::vector<const OutputShare*>& outputs,
                              bool job_terminated) {
  auto existing = tx.get_batch_aggregation(task_id, identifier, aggregation_parameter, ord);
  BatchAggregation aggregation;
  if (existing) {
    aggregation = std::move(*existing);
  } else {
    aggregation.task_id = task_id;
    aggregation.batch_identifier = identifier;
    aggregation.aggregation_parameter = aggregation_parameter;
    aggregation.ord = ord;
    aggregation.checksum = Bytes(32, 0);
  }
  if (!outputs.empty()) {
    Bytes share = aggregation.aggregate_share ? *aggregation.aggregate_share
                                              : vdaf->empty_aggregate_share(aggregation_parameter);
    ReportIdChecksum checksum{};
    std::copy_n(aggregation.checksum.begin(),
                std::min<std::size_t>(32, aggregation.checksum.size()), checksum.begin());
    for (const OutputShare* output : outputs) {
      vdaf->accumulate(share, output->second);
      update_report_id_checksum(checksum, output->first.id);
      aggregation.report_count += 1;
      aggregation.client_timestamp_interval =
          span(aggregation.client_timestamp_interval, output->first.time);
    }
    aggregation.aggregate_share = std::move(share);
    aggregation.checksum = Bytes(checksum.begin(), checksum.end());
  }
  if (job_terminated) aggregation.aggregation_jobs_terminated += 1;
  if (existing) {
    tx.update_batch_aggregation(aggregation);
  } else {
    tx.put_batch_aggregation(aggregation);
  }
}

// The batch a report of `job` belongs to: the job's batch id (fixed_size), else the
// time_precision interval holding the report's time.
BatchIdentifier batch_of(const AggregatorTask& task, const AggregationJob& job, Time time) {
  if (job.batch_id) return *job.batch_id;
  const Duration precision = std::max<Duration>(task.time_precision, 1);
  return Interval{time / precision * precision, precision};
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
    ConfigMap taskprov = map.section("taskprov_config");
    taskprov.unimplemented("enabled", warn);
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
  LeaseWorkerFunctions functions;
  functions.acquire = [this](std::size_t max) {
    auto leases = datastore_.run_tx("acquire_aggregation_jobs", [&](Transaction& tx) {
      return tx.acquire_incomplete_aggregation_jobs(
          static_cast<Duration>(config_.worker_lease_duration.count()), max);
    });
    std::vector<LeasedJob> jobs;
    for (auto& lease : leases) {
      LeasedJob job;
      job.lease_expiry = lease.expiry;
      job.description = "aggregation job " + lease.leased.aggregation_job_id.to_base64url();
      job.job = std::make_shared<Lease<AcquiredAggregationJob>>(std::move(lease));
      jobs.push_back(std::move(job));
    }
    return jobs;
  };
  functions.step = [this](const LeasedJob& job, const StepContext& context) {
    step(*std::static_pointer_cast<Lease<AcquiredAggregationJob>>(job.job), context);
  };
  // The step releases the lease in the transaction that records its outcome.
  return functions;
}

std::string JobDriver::job_url(const AggregatorTask& task, const AggregationJobId& job_id) const {
  std::string base = task.peer_aggregator_endpoint;
  if (base.empty() || base.back() != '/') base += '/';
  return base + "tasks/" + task.task_id.to_base64url() + "/aggregation_jobs/" +
         job_id.to_base64url();
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
  auto task = datastore_.run_tx("abandon_aggregation_job", [&](Transaction& tx) {
    auto task = tx.get_aggregator_task(acquired.task_id);
    auto job = tx.get_aggregation_job(acquired.task_id, acquired.aggregation_job_id);
    if (task && job && job->state == AggregationJobState::InProgress) {
      // An abandoned job is over too: its batches count it as terminated, so that
      // collection does not wait for it forever.
      std::map<Bytes, BatchIdentifier> batches;
      for (const ReportAggregation& ra :
           tx.get_report_aggregations_for_job(acquired.task_id, acquired.aggregation_job_id)) {
        BatchIdentifier identifier = batch_of(*task, *job, ra.client_timestamp);
        batches.emplace(encode_batch_identifier(identifier), identifier);
      }
      for (const auto& [key, identifier] : batches) {
        add_to_batch_aggregation(tx, nullptr, acquired.task_id, identifier,
                                 job->aggregation_parameter,
                                 random_below(config_.batch_aggregation_shard_count), {}, true);
      }
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
    auto [name, value] = task->aggregator_auth_token->request_header();
    headers.add(name, value);
    send_with_retry(http_, HttpMethod::Delete, job_url(*task, acquired.aggregation_job_id), headers,
                    {}, retry_policy(context), [&] { return context.cancelled(); });
  } catch (const std::exception& e) {
    if (logger_) logger_->warn("DELETE of abandoned aggregation job failed: {}", e.what());
  }
}

void JobDriver::step(const Lease<AcquiredAggregationJob>& lease, const StepContext& context) {
  const AcquiredAggregationJob& acquired = lease.leased;
  const TaskId& task_id = acquired.task_id;
  const AggregationJobId& job_id = acquired.aggregation_job_id;
  // Janus counts acquisitions: the one that exceeds the limit abandons the job.
  if (lease.attempts > config_.maximum_attempts_before_failure) {
    abandon(lease, context);
    return;
  }

  struct Loaded {
    std::optional<AggregatorTask> task;
    std::optional<AggregationJob> job;
    std::vector<ReportAggregation> report_aggregations;
    std::set<Bytes> collected_batches;  // encoded identifiers of collected batches
  };
  Loaded loaded = datastore_.run_tx("step_aggregation_job_read", [&](Transaction& tx) {
    Loaded l;
    l.task = tx.get_aggregator_task(task_id);
    l.job = tx.get_aggregation_job(task_id, job_id);
    if (!l.task || !l.job) return l;
    l.report_aggregations = tx.get_report_aggregations_for_job(task_id, job_id);
    // Reports not yet sent whose batch was collected meanwhile are failed here (as Janus
    // does), not sent to the helper.
    std::set<Bytes> checked;
    for (const ReportAggregation& ra : l.report_aggregations) {
      if (ra.state != ReportAggregationState::StartLeader) continue;
      const BatchIdentifier batch = batch_of(*l.task, *l.job, ra.client_timestamp);
      Bytes key = encode_batch_identifier(batch);
      if (!checked.insert(key).second) continue;
      if (tx.is_batch_collected(task_id, batch)) l.collected_batches.insert(std::move(key));
    }
    return l;
  });
  if (!loaded.task || !loaded.job || loaded.job->state != AggregationJobState::InProgress) {
    // Nothing left to do (task deleted, job finished elsewhere): give the lease back.
    datastore_.run_tx("release_aggregation_job",
                      [&](Transaction& tx) { tx.release_aggregation_job(lease); });
    return;
  }
  const AggregatorTask& task = *loaded.task;
  AggregationJob job = *loaded.job;
  if (!task.aggregator_auth_token) {
    throw StepError("task " + task_id.to_base64url() + " has no aggregator_auth_token");
  }
  std::shared_ptr<const Vdaf> vdaf = vdafs_.create(acquired.vdaf);

  // The reports this step sends, with the leader's state after it.
  struct Pending {
    ReportAggregation* ra;
    PingPongState state;
  };
  std::vector<Pending> pending;
  std::vector<ReportAggregation*> changed;
  const bool init = std::any_of(
      loaded.report_aggregations.begin(), loaded.report_aggregations.end(),
      [](const ReportAggregation& ra) { return ra.state == ReportAggregationState::StartLeader; });
  HttpMethod method = HttpMethod::Put;
  std::string content_type;
  Bytes body;
  if (init) {
    AggregationJobInitReq request;
    request.aggregation_parameter = job.aggregation_parameter;
    request.partial_batch_selector = job.batch_id ? PartialBatchSelector::fixed_size(*job.batch_id)
                                                  : PartialBatchSelector::time_interval();
    for (ReportAggregation& ra : loaded.report_aggregations) {
      if (ra.state != ReportAggregationState::StartLeader) continue;
      changed.push_back(&ra);
      if (loaded.collected_batches.contains(
              encode_batch_identifier(batch_of(task, job, ra.client_timestamp)))) {
        fail(ra, PrepareError::BatchCollected);
        continue;
      }
      try {
        PingPongTransition transition = ping_pong_leader_initialized(
            *vdaf, task.vdaf_verify_key, job.aggregation_parameter, ra.report_id.span(),
            ra.public_share.value_or(Bytes{}), ra.leader_input_share.value_or(Bytes{}));
        PrepareInit prepare_init;
        prepare_init.report_share.metadata = ReportMetadata{ra.report_id, ra.client_timestamp};
        prepare_init.report_share.public_share = ra.public_share.value_or(Bytes{});
        prepare_init.report_share.encrypted_input_share =
            decode_message<HpkeCiphertext>(ra.helper_encrypted_input_share.value_or(Bytes{}));
        prepare_init.message = std::move(*transition.outbound);
        request.prepare_inits.push_back(std::move(prepare_init));
        pending.push_back({&ra, std::move(transition.state)});
      } catch (const std::exception&) {
        // The leader's own share does not prepare (or the stored report is damaged).
        fail(ra, PrepareError::VdafPrepError);
      }
    }
    content_type = std::string(media_type::kAggregationJobInitReq);
    body = encode_message(request);
  } else {
    AggregationJobContinueReq request;
    request.step = static_cast<std::uint16_t>(job.step + 1);
    std::vector<std::pair<ReportAggregation*, PingPongTransition>> waiting;
    for (ReportAggregation& ra : loaded.report_aggregations) {
      if (ra.state != ReportAggregationState::WaitingLeader) continue;
      changed.push_back(&ra);
      try {
        PingPongTransition transition = decode_waiting(ra.leader_prep_transition.value_or(Bytes{}));
        request.prepare_continues.push_back({ra.report_id, *transition.outbound});
        pending.push_back({&ra, std::move(transition.state)});
      } catch (const DecodeError&) {
        fail(ra, PrepareError::VdafPrepError);
      }
    }
    method = HttpMethod::Post;
    content_type = std::string(media_type::kAggregationJobContinueReq);
    body = encode_message(request);
    job.step = request.step;
  }

  std::vector<std::pair<ReportMetadata, Bytes>> outputs;
  if (!pending.empty()) {
    HttpHeaders headers;
    headers.add("Content-Type", content_type);
    auto [auth_name, auth_value] = task.aggregator_auth_token->request_header();
    headers.add(auth_name, auth_value);
    HttpClientResponse response;
    try {
      response = send_with_retry(http_, method, job_url(task, job_id), headers, body,
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
    if (resp.prepare_resps.size() != pending.size()) {
      throw StepError("helper answered " + std::to_string(resp.prepare_resps.size()) +
                      " prepare responses for " + std::to_string(pending.size()) + " reports");
    }
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (resp.prepare_resps[i].report_id != pending[i].ra->report_id) {
        throw StepError("helper's prepare responses are not in the request's order");
      }
    }
    for (std::size_t i = 0; i < pending.size(); ++i) {
      ReportAggregation& ra = *pending[i].ra;
      const PingPongState& state = pending[i].state;
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
            outputs.emplace_back(ReportMetadata{ra.report_id, ra.client_timestamp},
                                 state.output_share);
          } else {
            fail(ra, PrepareError::VdafPrepError);
          }
          break;
        case PrepareResp::State::Continue:
          try {
            if (state.finished()) throw PingPongError("helper continues a finished preparation");
            PingPongTransition transition =
                ping_pong_leader_continued(*vdaf, job.aggregation_parameter, state, prep.message);
            if (transition.outbound) {
              ra.state = ReportAggregationState::WaitingLeader;
              ra.leader_prep_transition = encode_waiting(transition);
            } else if (transition.state.finished()) {
              ra.state = ReportAggregationState::Finished;
              outputs.emplace_back(ReportMetadata{ra.report_id, ra.client_timestamp},
                                   std::move(transition.state.output_share));
            } else {
              fail(ra, PrepareError::VdafPrepError);
            }
          } catch (const VdafError&) {
            fail(ra, PrepareError::VdafPrepError);
          }
          break;
      }
    }
  }

  const bool all_terminal =
      std::all_of(loaded.report_aggregations.begin(), loaded.report_aggregations.end(),
                  [](const ReportAggregation& ra) {
                    return ra.state == ReportAggregationState::Finished ||
                           ra.state == ReportAggregationState::Failed;
                  });
  if (all_terminal) job.state = AggregationJobState::Finished;
  std::vector<ReportAggregation> updates;
  for (ReportAggregation* ra : changed) updates.push_back(*ra);

  // The batches the job's reports belong to: each gets the outputs of its reports, and
  // once the job is over, one more terminated job.
  struct BatchWork {
    BatchIdentifier identifier;
    std::vector<const OutputShare*> outputs;
  };
  std::map<Bytes, BatchWork> batches;
  if (all_terminal) {
    for (const ReportAggregation& ra : loaded.report_aggregations) {
      BatchIdentifier identifier = batch_of(task, job, ra.client_timestamp);
      batches[encode_batch_identifier(identifier)].identifier = identifier;
    }
  }
  for (const auto& output : outputs) {
    BatchIdentifier identifier = batch_of(task, job, output.first.time);
    BatchWork& work = batches[encode_batch_identifier(identifier)];
    work.identifier = identifier;
    work.outputs.push_back(&output);
  }

  datastore_.run_tx("step_aggregation_job_write", [&](Transaction& tx) {
    // The lease must still be ours: a step that outlived it must not write.
    auto current = tx.get_aggregation_job(task_id, job_id);
    if (!current || current->state != AggregationJobState::InProgress) {
      throw StepError("aggregation job changed while it was being stepped");
    }
    tx.update_aggregation_job(job);
    if (!updates.empty()) tx.update_report_aggregations(updates);
    for (auto& [key, work] : batches) {
      add_to_batch_aggregation(tx, vdaf.get(), task_id, work.identifier, job.aggregation_parameter,
                               random_below(config_.batch_aggregation_shard_count), work.outputs,
                               all_terminal);
    }
    if (!outputs.empty()) {
      tx.increment_task_aggregation_counter(task_id, random_below(config_.task_counter_shard_count),
                                            outputs.size());
    }
    tx.release_aggregation_job(lease);
  });
}

}  // namespace janus::job_driver
