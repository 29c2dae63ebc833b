// The leader's collection routes (janus-0.7.md §4): the collector creates a collection job
// (PUT), polls it (POST) until the collection job driver has finished it, and may delete it.
// Authenticated with the collector's token (the task's collector_auth_token_hash).
#include <algorithm>

#include <spdlog/spdlog.h>

#include "aggregator.h"
#include "http_support.h"
#include "janus/auth.h"
#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "report_checks.h"

namespace janus::aggregator {
namespace {

inline constexpr std::string_view kCollectionJobAbandonedType =
    "https://docs.divviup.org/references/janus-errors#collection-job-abandoned";

std::optional<CollectionJobId> collection_job_id_of(const HttpRequest& request) {
  return CollectionJobId::from_base64url(request.path_param("collection_job_id").value_or(""));
}

}  // namespace

HttpResponse Aggregator::handle_collection_job_create(const HttpRequest& request) {
  return with_task_id(request, "collection job create", [&](const TaskId& task_id) {
    return collection_job_create(request, task_id);
  });
}
HttpResponse Aggregator::handle_collection_job_poll(const HttpRequest& request) {
  return with_task_id(request, "collection job poll",
                      [&](const TaskId& task_id) { return collection_job_poll(request, task_id); });
}
HttpResponse Aggregator::handle_collection_job_delete(const HttpRequest& request) {
  return with_task_id(request, "collection job delete", [&](const TaskId& task_id) {
    return collection_job_delete(request, task_id);
  });
}

// ---- PUT /tasks/{task_id}/collection_jobs/{collection_job_id} --------------------------

HttpResponse Aggregator::collection_job_create(const HttpRequest& request, const TaskId& task_id) {
  if (!has_content_type(request, media_type::kCollectReq)) {
    throw DapError::bad_request(task_id,
                                "expected Content-Type " + std::string(media_type::kCollectReq));
  }
  std::shared_ptr<const CachedTask> cached = authorize_request(request, task_id, Role::Leader);
  const AggregatorTask& task = cached->task;
  auto job_id = collection_job_id_of(request);
  if (!job_id) {
    throw DapError(DapProblemType::InvalidMessage, task_id, "bad collection job id");
  }
  CollectionReq req;
  try {
    req = decode_message<CollectionReq>(request.body);
    cached->vdaf->check_aggregation_parameter(req.aggregation_parameter);
  } catch (const std::exception& e) {
    throw DapError(DapProblemType::InvalidMessage, task_id, e.what());
  }
  const bool time_interval = task.query_type.kind == TaskQueryType::Kind::TimeInterval;
  if (req.query.type != (time_interval ? QueryType::TimeInterval : QueryType::FixedSize)) {
    throw DapError(DapProblemType::InvalidMessage, task_id, "query type does not match the task's");
  }
  // A current_batch query names no batch: one is taken in the transaction below.
  std::optional<BatchIdentifier> requested_batch;
  if (time_interval) {
    const Interval& interval = req.query.batch_interval;
    const Duration precision = std::max<Duration>(task.time_precision, 1);
    if (interval.duration == 0 || interval.start % precision != 0 ||
        interval.duration % precision != 0) {
      throw DapError(DapProblemType::BatchInvalid, task_id,
                     "batch interval is not a multiple of the time precision");
    }
    requested_batch = interval;
  } else if (req.query.fixed_size_query.type == FixedSizeQuery::Type::ByBatchId) {
    requested_batch = req.query.fixed_size_query.batch_id;
  }

  const Bytes query = encode_message(req.query);
  datastore_.run_tx("collection_job_create", [&](Transaction& tx) {
    if (auto existing = tx.get_collection_job(task_id, *job_id)) {
      // A retry of the same request is fine; other contents under this id are not.
      if (existing->query != query ||
          existing->aggregation_parameter != req.aggregation_parameter) {
        throw DapError::plain(409, "a collection job with this id exists with other contents\n");
      }
      return;
    }
    BatchIdentifier batch;
    if (requested_batch) {
      batch = *requested_batch;
    } else if (auto taken = tx.acquire_filled_outstanding_batch(task_id, task.min_batch_size)) {
      batch = *taken;
    } else {
      throw DapError(DapProblemType::BatchInvalid, task_id, "no batch ready for collection");
    }
    std::vector<CollectionJob> others;
    if (const auto* interval = std::get_if<Interval>(&batch)) {
      others = tx.get_collection_jobs_intersecting_interval(task_id, *interval);
      for (const CollectionJob& other : others) {
        if (std::get<Interval>(other.batch_identifier) != *interval) {
          throw DapError(DapProblemType::BatchOverlap, task_id);
        }
      }
    } else {
      others = tx.get_collection_jobs_for_batch(task_id, batch);
    }
    // Each distinct aggregation parameter is one query of the batch.
    std::vector<Bytes> parameters;
    for (const CollectionJob& other : others) {
      if (std::find(parameters.begin(), parameters.end(), other.aggregation_parameter) ==
          parameters.end()) {
        parameters.push_back(other.aggregation_parameter);
      }
    }
    const bool new_parameter = std::find(parameters.begin(), parameters.end(),
                                         req.aggregation_parameter) == parameters.end();
    if (new_parameter && parameters.size() >= task.max_batch_query_count) {
      throw DapError(DapProblemType::BatchQueriedTooManyTimes, task_id);
    }
    CollectionJob job;
    job.task_id = task_id;
    job.collection_job_id = *job_id;
    job.query = query;
    job.aggregation_parameter = req.aggregation_parameter;
    job.batch_identifier = batch;
    job.state = CollectionJobState::Start;
    tx.put_collection_job(job);
    tx.notify(kCollectionJobsChannel);  // collection drivers hear of it at commit
  });
  return HttpResponse::empty(201);
}

// ---- POST /tasks/{task_id}/collection_jobs/{collection_job_id} -------------------------

HttpResponse Aggregator::collection_job_poll(const HttpRequest& request, const TaskId& task_id) {
  std::shared_ptr<const CachedTask> cached = authorize_request(request, task_id, Role::Leader);
  const AggregatorTask& task = cached->task;
  auto job_id = collection_job_id_of(request);
  if (!job_id) {
    throw DapError(DapProblemType::InvalidMessage, task_id, "bad collection job id");
  }
  auto job = datastore_.run_tx("collection_job_poll", [&](Transaction& tx) {
    return tx.get_collection_job(task_id, *job_id);
  });
  if (!job) return HttpResponse::empty(404);
  switch (job->state) {
    case CollectionJobState::Start: {
      HttpResponse pending = HttpResponse::empty(202);
      pending.headers.set("Retry-After", "60");
      return pending;
    }
    case CollectionJobState::Deleted:
      return HttpResponse::empty(204);
    case CollectionJobState::Abandoned:
      throw DapError::janus(500, kCollectionJobAbandonedType,
                            "The collection job has been abandoned.", task_id);
    case CollectionJobState::Finished:
      break;
  }
  if (!task.collector_hpke_config || !job->leader_aggregate_share || !job->helper_aggregate_share ||
      !job->report_count || !job->client_timestamp_interval) {
    if (logger_) {
      logger_->error("collection job {} of task {} is finished but incomplete",
                     job_id->to_base64url(), task_id.to_base64url());
    }
    throw DapError::internal();
  }
  Collection collection;
  BatchSelector selector;
  if (const auto* interval = std::get_if<Interval>(&job->batch_identifier)) {
    collection.partial_batch_selector = PartialBatchSelector::time_interval();
    selector = BatchSelector::time_interval(*interval);
  } else {
    const BatchId& batch_id = std::get<BatchId>(job->batch_identifier);
    collection.partial_batch_selector = PartialBatchSelector::fixed_size(batch_id);
    selector = BatchSelector::fixed_size(batch_id);
  }
  collection.report_count = *job->report_count;
  collection.interval = *job->client_timestamp_interval;
  const HpkeConfig collector = decode_message<HpkeConfig>(*task.collector_hpke_config);
  collection.leader_encrypted_aggregate_share =
      dap_seal(collector, dap_aggregate_share_info(Role::Leader),
               encode_message(AggregateShareAad{task_id, job->aggregation_parameter, selector}),
               *job->leader_aggregate_share);
  collection.helper_encrypted_aggregate_share =
      decode_message<HpkeCiphertext>(*job->helper_aggregate_share);
  return HttpResponse::bytes(200, std::string(media_type::kCollection), encode_message(collection));
}

// ---- DELETE /tasks/{task_id}/collection_jobs/{collection_job_id} -----------------------

HttpResponse Aggregator::collection_job_delete(const HttpRequest& request, const TaskId& task_id) {
  std::shared_ptr<const CachedTask> cached = authorize_request(request, task_id, Role::Leader);
  auto job_id = collection_job_id_of(request);
  if (!job_id) {
    throw DapError(DapProblemType::InvalidMessage, task_id, "bad collection job id");
  }
  const bool found = datastore_.run_tx("collection_job_delete", [&](Transaction& tx) {
    auto job = tx.get_collection_job(task_id, *job_id);
    if (!job) return false;
    if (job->state != CollectionJobState::Deleted) {
      job->state = CollectionJobState::Deleted;
      tx.update_collection_job(*job);
    }
    return true;
  });
  return HttpResponse::empty(found ? 204 : 404);
}

}  // namespace janus::aggregator
