#include "collection_driver.h"

#include <janus/aggregation.h>
#include <janus/codec.h>
#include <janus/hpke.h>
#include <janus/messages.h>
#include <janus/tracing.h>
#include <janus/vdaf.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace janus::collection_driver {
namespace {

// What the first transaction of a step decided.
struct Plan {
  enum class Kind { Gone, NotReady, TooSmall, Ready } kind = Kind::Gone;
  AggregatorTask task;
  CollectionJob job;
  Bytes leader_share;
  std::uint64_t report_count = 0;
  ReportIdChecksum checksum{};
  Interval client_timestamp_interval;
};

Time interval_end(const Interval& interval) { return interval.start + interval.duration; }

// The smallest time_precision-aligned interval holding `interval`.
Interval aligned(const Interval& interval, Duration precision) {
  const Time start = interval.start / precision * precision;
  const Time end = (interval_end(interval) + precision - 1) / precision * precision;
  return Interval{start, end - start};
}

// Every batch identifier whose shards make up the collection job's batch: the
// time_precision-aligned intervals inside the query interval, or the batch id.
std::vector<BatchIdentifier> batches_of(const AggregatorTask& task, const CollectionJob& job) {
  const auto* interval = std::get_if<Interval>(&job.batch_identifier);
  if (!interval) return {job.batch_identifier};
  const Duration precision = std::max<Duration>(task.time_precision, 1);
  std::vector<BatchIdentifier> batches;
  for (Time t = interval->start; t < interval_end(*interval); t += precision) {
    batches.push_back(Interval{t, precision});
  }
  return batches;
}

BatchSelector selector_of(const CollectionJob& job) {
  if (const auto* interval = std::get_if<Interval>(&job.batch_identifier)) {
    return BatchSelector::time_interval(*interval);
  }
  return BatchSelector::fixed_size(std::get<BatchId>(job.batch_identifier));
}

std::string describe(const Lease<AcquiredCollectionJob>& lease) {
  return "collection job " + lease.leased.collection_job_id.to_base64url() + " of task " +
         lease.leased.task_id.to_base64url();
}

}  // namespace

CollectionDriver::CollectionDriver(CollectionDriverConfig config, Datastore& datastore,
                                   const VdafRegistry& vdafs,
                                   std::shared_ptr<spdlog::logger> logger)
    : config_(config),
      datastore_(datastore),
      vdafs_(vdafs),
      logger_(std::move(logger)),
      http_(config.http_client_options()) {
  retry_policy_ = config_.retry_policy();
}

LeaseWorkerOptions CollectionDriver::options(const std::string& name) const {
  return config_.lease_worker_options(name);
}

LeaseWorkerFunctions CollectionDriver::functions() {
  // The leader's collection route announces new jobs (NOTIFY).
  return config_.lease_worker_functions<AcquiredCollectionJob>(
      datastore_, "acquire_collection_jobs", &Transaction::acquire_incomplete_collection_jobs,
      describe, [this](const auto& lease, const StepContext& context) { step(lease, context); },
      kCollectionJobsChannel);
}

std::chrono::seconds CollectionDriver::retry_delay(std::uint64_t step_attempts) const {
  const double min = static_cast<double>(config_.min_collection_job_retry_delay.count());
  const double max = static_cast<double>(config_.max_collection_job_retry_delay.count());
  const double delay = min * std::pow(config_.collection_job_retry_delay_exponential_factor,
                                      static_cast<double>(step_attempts));
  return std::chrono::seconds(static_cast<std::int64_t>(std::min(delay, max)));
}

void CollectionDriver::abandon(const Lease<AcquiredCollectionJob>& lease, const std::string& why) {
  if (logger_) logger_->error("{}: abandoned: {}", describe(lease), why);
  datastore_.run_tx("abandon_collection_job", [&](Transaction& tx) {
    if (auto job = tx.get_collection_job(lease.leased.task_id, lease.leased.collection_job_id)) {
      if (job->state == CollectionJobState::Start) {
        job->state = CollectionJobState::Abandoned;
        tx.update_collection_job(*job);
      }
    }
    tx.release_collection_job(lease);
  });
}

void CollectionDriver::step(const Lease<AcquiredCollectionJob>& lease, const StepContext& context) {
  const AcquiredCollectionJob& acquired = lease.leased;
  if (tracing::enabled()) {
    tracing::set_current_attribute("task_id", acquired.task_id.to_base64url());
    tracing::set_current_attribute("collection_job_id", acquired.collection_job_id.to_base64url());
    tracing::set_current_attribute("janus.lease.attempts",
                                   static_cast<std::int64_t>(lease.attempts));
  }
  if (lease.attempts > config_.maximum_attempts_before_failure) {
    abandon(lease, "leased " + std::to_string(lease.attempts) + " times without finishing");
    return;
  }
  std::shared_ptr<const Vdaf> vdaf;
  try {
    vdaf = vdafs_.create(acquired.vdaf);
  } catch (const std::exception& e) {
    // A missing VDAF plugin is a deployment error: keep the job for a fixed host.
    throw std::runtime_error(describe(lease) + ": VDAF unavailable: " + e.what());
  }

  Plan plan = datastore_.run_tx("step_collection_job", [&](Transaction& tx) -> Plan {
    Plan plan;
    auto task = tx.get_aggregator_task(acquired.task_id);
    auto job = tx.get_collection_job(acquired.task_id, acquired.collection_job_id);
    if (!task || !job || job->state != CollectionJobState::Start) return plan;
    plan.task = std::move(*task);
    plan.job = std::move(*job);
    const Bytes& parameter = plan.job.aggregation_parameter;
    std::vector<BatchAggregation> shards;
    if (const auto* interval = std::get_if<Interval>(&plan.job.batch_identifier)) {
      shards = tx.get_batch_aggregations_in_interval(acquired.task_id, *interval, parameter);
      // Not ready while a report of the interval waits for a job: for Prio3 one not yet
      // claimed by any, for a parameter the collector chose (Poplar1) one without a report
      // aggregation under it (the job creator makes those jobs for this collection job).
      const bool waiting =
          vdaf->requires_aggregation_parameter()
              ? tx.interval_has_reports_unaggregated_under(acquired.task_id, *interval, parameter)
              : tx.interval_has_unaggregated_reports(acquired.task_id, *interval);
      if (waiting) {
        plan.kind = Plan::Kind::NotReady;
        return plan;
      }
    } else {
      shards = tx.get_batch_aggregations_for_batch(acquired.task_id, plan.job.batch_identifier,
                                                   parameter);
    }
    // Summed over the shards, as Janus merges them: the job creator and the job driver each
    // count on a shard of their own choosing, so one shard's two counters need not agree.
    MergedBatchAggregation merged = merge_batch_aggregations(*vdaf, parameter, shards);
    if (merged.aggregation_jobs_created != merged.aggregation_jobs_terminated) {
      plan.kind = Plan::Kind::NotReady;
      return plan;
    }
    // The leader's own differential-privacy noise (the helper adds its own to its share).
    vdaf->add_noise_to_aggregate_share(merged.aggregate_share, parameter, merged.report_count);
    plan.leader_share = std::move(merged.aggregate_share);
    plan.report_count = merged.report_count;
    plan.checksum = merged.checksum;
    if (merged.client_timestamp_interval) {
      plan.client_timestamp_interval = aligned(*merged.client_timestamp_interval,
                                               std::max<Duration>(plan.task.time_precision, 1));
    }
    if (plan.report_count < plan.task.min_batch_size) {
      plan.kind = Plan::Kind::TooSmall;
      return plan;
    }
    // COLLECTED on every shard, the empty ones too, so that no aggregation job adds to the
    // batch any more (its reports then fail with BatchCollected).
    tx.mark_batch_aggregations_collected(acquired.task_id, batches_of(plan.task, plan.job),
                                         parameter, config_.batch_aggregation_shard_count);
    plan.kind = Plan::Kind::Ready;
    return plan;
  });

  switch (plan.kind) {
    case Plan::Kind::Gone:
      // Deleted (or finished by another driver) meanwhile: nothing left to do.
      datastore_.run_tx("release_collection_job",
                        [&](Transaction& tx) { tx.release_collection_job(lease); });
      return;
    case Plan::Kind::NotReady: {
      const auto delay = retry_delay(acquired.step_attempts);
      if (logger_) {
        logger_->debug("{}: batch still aggregating, retrying in {} s", describe(lease),
                       delay.count());
      }
      datastore_.run_tx("release_collection_job", [&](Transaction& tx) {
        tx.release_collection_job(lease, static_cast<Duration>(delay.count()));
      });
      return;
    }
    case Plan::Kind::TooSmall:
      abandon(lease, "the batch holds " + std::to_string(plan.report_count) +
                         " reports, fewer than min_batch_size " +
                         std::to_string(plan.task.min_batch_size));
      return;
    case Plan::Kind::Ready:
      break;
  }

  if (!plan.task.aggregator_auth_token) {
    abandon(lease, "the task has no aggregator_auth_token to send to the helper");
    return;
  }
  AggregateShareReq request;
  request.batch_selector = selector_of(plan.job);
  request.aggregation_parameter = plan.job.aggregation_parameter;
  request.report_count = plan.report_count;
  request.checksum = plan.checksum;
  HttpHeaders headers;
  headers.add("Content-Type", std::string(media_type::kAggregateShareReq));
  for (const auto& [name, value] : plan.task.peer_request_headers()) headers.add(name, value);
  const std::string url = plan.task.peer_task_url("aggregate_shares");
  HttpClientResponse response;
  try {
    response = send_with_retry(http_, HttpMethod::Post, url, headers, encode_message(request),
                               retry_policy_, [&] { return context.cancelled(); });
  } catch (const HttpClientError& e) {
    if (!e.retryable()) {
      abandon(lease, "POST " + url + ": " + e.what());
      return;
    }
    // Left leased: the lease runs out and the job is retried, abandoned after
    // maximum_attempts_before_failure acquisitions.
    throw std::runtime_error(describe(lease) + ": POST " + url + ": " + e.what());
  }
  if (is_retryable_status(response.status)) {
    throw std::runtime_error(describe(lease) + ": POST " + url + ": helper answered " +
                             std::to_string(response.status));
  }
  const std::string body_text(
      response.body.begin(),
      response.body.begin() + std::min<std::size_t>(response.body.size(), 500));
  if (response.status != 200) {
    abandon(lease, "POST " + url + ": helper answered " + std::to_string(response.status) + " " +
                       body_text);
    return;
  }
  AggregateShare helper_share;
  try {
    helper_share = decode_message<AggregateShare>(response.body);
  } catch (const std::exception& e) {
    abandon(lease, "POST " + url + ": undecodable AggregateShare: " + e.what());
    return;
  }

  datastore_.run_tx("finish_collection_job", [&](Transaction& tx) {
    auto job = tx.get_collection_job(acquired.task_id, acquired.collection_job_id);
    if (job && job->state == CollectionJobState::Start) {
      job->state = CollectionJobState::Finished;
      job->report_count = plan.report_count;
      job->client_timestamp_interval = plan.client_timestamp_interval;
      job->helper_aggregate_share = encode_message(helper_share.encrypted_aggregate_share);
      job->leader_aggregate_share = plan.leader_share;
      tx.update_collection_job(*job);
    }
    tx.release_collection_job(lease);
  });
  if (logger_) {
    logger_->info("{}: finished ({} reports)", describe(lease), plan.report_count);
  }
}

}  // namespace janus::collection_driver
