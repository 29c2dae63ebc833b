#include "job_creator.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <utility>

#include <spdlog/spdlog.h>

#include "janus/aggregation.h"
#include "janus/vdaf.h"
#include "janus/vdaf_registry.h"

namespace janus::job_creator {
namespace {

Time saturating_add(Time a, Duration b) {
  return a > std::numeric_limits<Time>::max() - b ? std::numeric_limits<Time>::max() : a + b;
}

// The jobs a pass created, per batch and aggregation parameter: counted in the batch's
// shards at the end of the pass's transaction (count_aggregation_jobs_created), so that a
// shard the drivers also write is held only while the pass commits; then announced to the
// job drivers.
class CreatedJobs {
 public:
  void add(const BatchIdentifier& batch, const Bytes& aggregation_parameter) {
    // Within a task every batch identifier has one length, so the concatenation is a key.
    Bytes key = encode_batch_identifier(batch);
    key.insert(key.end(), aggregation_parameter.begin(), aggregation_parameter.end());
    Entry& entry = by_batch_[key];
    entry.batch = batch;
    entry.aggregation_parameter = aggregation_parameter;
    ++entry.jobs;
  }
  void count(Transaction& tx, const TaskId& task_id, std::uint64_t shard_count) const {
    for (const auto& [key, entry] : by_batch_) {
      count_aggregation_jobs_created(tx, task_id, entry.batch, entry.aggregation_parameter,
                                     shard_count, entry.jobs);
    }
    // Job drivers waiting for work hear of these jobs when the pass commits.
    if (!by_batch_.empty()) tx.notify(kAggregationJobsChannel);
  }

 private:
  struct Entry {
    BatchIdentifier batch;
    Bytes aggregation_parameter;
    std::uint64_t jobs = 0;
  };
  std::map<Bytes, Entry, BytesLess> by_batch_;
};

// Writes one job of `reports` (all of batch `batch`) under `aggregation_parameter`: the job
// and its START_LEADER report aggregations, which copy the reports' shares inside the
// database (the reports are marked started).
void write_job(Transaction& tx, const AggregatorTask& task, const std::optional<BatchId>& batch_id,
               const BatchIdentifier& batch, const Bytes& aggregation_parameter,
               std::span<const ReportMetadata> reports, ReportShares shares, CreatedJobs& created) {
  AggregationJob job;
  job.task_id = task.task_id;
  job.aggregation_job_id = AggregationJobId::random();
  job.aggregation_parameter = aggregation_parameter;
  job.batch_id = batch_id;
  job.state = AggregationJobState::InProgress;
  job.step = 0;
  std::vector<ReportId> report_ids;
  report_ids.reserve(reports.size());
  for (const ReportMetadata& report : reports) {
    job.client_timestamp_interval = extend_interval(job.client_timestamp_interval, report.time);
    report_ids.push_back(report.id);
  }
  tx.put_aggregation_job(job);
  tx.start_aggregation_of_client_reports(task.task_id, job.aggregation_job_id, report_ids, shares);
  created.add(batch, aggregation_parameter);
}

// Reports that may not be aggregated under `aggregation_parameter` are recorded as a
// FINISHED job of FAILED report aggregations, so that the collection sees them settled; no
// driver steps the job and it does not count as created. `error` says why: report_replayed
// (VDAF-08 is_valid: a Poplar1 level they were prepared at before) or batch_collected (an
// earlier collection of their batch went without them, DAP-09 §4.5.1.4).
void write_rejected_job(Transaction& tx, const AggregatorTask& task,
                        const Bytes& aggregation_parameter, PrepareError error,
                        std::span<const ReportMetadata> reports) {
  AggregationJob job;
  job.task_id = task.task_id;
  job.aggregation_job_id = AggregationJobId::random();
  job.aggregation_parameter = aggregation_parameter;
  job.state = AggregationJobState::Finished;
  job.step = 0;
  std::vector<ReportAggregation> rejected;
  for (const ReportMetadata& report : reports) {
    job.client_timestamp_interval = extend_interval(job.client_timestamp_interval, report.time);
    ReportAggregation ra;
    ra.task_id = task.task_id;
    ra.aggregation_job_id = job.aggregation_job_id;
    ra.report_id = report.id;
    ra.client_timestamp = report.time;
    ra.ord = rejected.size();
    ra.state = ReportAggregationState::Failed;
    ra.error_code = static_cast<std::uint8_t>(error);
    rejected.push_back(std::move(ra));
  }
  tx.put_aggregation_job(job);
  tx.put_report_aggregations(rejected);
}

}  // namespace

JobCreatorConfig parse_job_creator_config(const YAML::Node& section, const std::string& file) {
  ConfigMap map(section, file);
  JobCreatorConfig config;
  config.batch_aggregation_shard_count = read_positive(map, "batch_aggregation_shard_count");
  config.tasks_update_frequency =
      std::chrono::seconds(read_positive(map, "tasks_update_frequency_s"));
  config.aggregation_job_creation_interval =
      std::chrono::seconds(read_positive(map, "aggregation_job_creation_interval_s"));
  config.min_aggregation_job_size = map.required<std::uint64_t>("min_aggregation_job_size");
  config.max_aggregation_job_size = read_positive(map, "max_aggregation_job_size");
  if (config.min_aggregation_job_size > config.max_aggregation_job_size) {
    throw ConfigError(config_location(file, map.node()["min_aggregation_job_size"]) + ": key '" +
                      map.key_path("min_aggregation_job_size") +
                      "': must not exceed max_aggregation_job_size");
  }
  config.aggregation_job_creation_report_window = map.get<std::uint64_t>(
      "aggregation_job_creation_report_window", config.aggregation_job_creation_report_window);
  if (config.aggregation_job_creation_report_window == 0) {
    throw ConfigError(config_location(file, map.node()["aggregation_job_creation_report_window"]) +
                      ": key '" + map.key_path("aggregation_job_creation_report_window") +
                      "': must be greater than 0");
  }
  config.late_report_grace_period =
      map.get<std::uint64_t>("late_report_grace_period_s", config.late_report_grace_period);
  map.finish();
  return config;
}

JobCreator::JobCreator(JobCreatorConfig config, Datastore& datastore, const VdafRegistry& vdafs,
                       std::shared_ptr<spdlog::logger> logger)
    : config_(config), datastore_(datastore), vdafs_(vdafs), logger_(std::move(logger)) {}

std::vector<AggregatorTask> JobCreator::leader_tasks() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!tasks_loaded_at_ || now - *tasks_loaded_at_ >= config_.tasks_update_frequency) {
    auto all = datastore_.run_tx("job_creator_get_tasks",
                                 [](Transaction& tx) { return tx.get_aggregator_tasks(); });
    tasks_.clear();
    for (AggregatorTask& task : all) {
      if (task.role == Role::Leader) tasks_.push_back(std::move(task));
    }
    tasks_loaded_at_ = now;
  }
  return tasks_;
}

std::size_t JobCreator::run_once() {
  std::size_t jobs = 0;
  for (const AggregatorTask& task : leader_tasks()) {
    try {
      jobs += create_jobs_for_task(task);
    } catch (const std::exception& e) {
      // One task's failure must not starve the others; the next pass tries again.
      if (logger_) {
        logger_->error("task {}: aggregation job creation failed: {}", task.task_id.to_base64url(),
                       e.what());
      }
    }
  }
  return jobs;
}

std::size_t JobCreator::create_jobs_for_task(const AggregatorTask& task) {
  // A pass takes at most aggregation_job_creation_report_window reports; while passes
  // find a full window and make jobs of it, another follows at once instead of after the
  // creation interval (bounded, so that a stop request is heard).
  constexpr int kMaxPassesPerRun = 20;
  std::size_t jobs = 0;
  for (int pass = 0; pass < kMaxPassesPerRun; ++pass) {
    const CreationPass result = create_jobs_pass(task);
    jobs += result.jobs;
    if (!result.full_window || result.jobs == 0) break;
  }
  return jobs;
}

JobCreator::CreationPass JobCreator::create_jobs_pass(const AggregatorTask& task) {
  // READ COMMITTED: the job counts go to batch shards the drivers write at the same time.
  const std::shared_ptr<const Vdaf> vdaf = vdafs_.create(task.vdaf);
  if (vdaf->requires_aggregation_parameter()) {
    if (task.query_type.kind == TaskQueryType::Kind::FixedSize) {
      // As in Janus 0.7, whose creator has no such path either.
      throw std::runtime_error(task.vdaf.name +
                               " aggregates per collection, which fixed_size tasks do not support");
    }
    return datastore_.run_tx(
        "aggregation_job_creator_for_collections", Isolation::ReadCommitted,
        [&](Transaction& tx) { return create_collection_jobs(tx, task, *vdaf); });
  }
  if (task.query_type.kind == TaskQueryType::Kind::FixedSize) {
    return datastore_.run_tx("aggregation_job_creator_fixed_size", Isolation::ReadCommitted,
                             [&](Transaction& tx) { return create_fixed_size_jobs(tx, task); });
  }
  const Duration precision = std::max<Duration>(task.time_precision, 1);
  return datastore_.run_tx(
      "aggregation_job_creator", Isolation::ReadCommitted, [&](Transaction& tx) -> CreationPass {
        // Reports left out (too few for a job) are released at commit.
        const std::vector<ReportMetadata> reports = tx.lock_unaggregated_client_reports(
            task.task_id, config_.aggregation_job_creation_report_window);
        // Janus works batch by batch: a job holds reports of one time_interval batch.
        std::map<Time, std::vector<ReportMetadata>> by_batch;
        for (const ReportMetadata& report : reports) {
          by_batch[report.time / precision * precision].push_back(report);
        }
        std::size_t jobs = 0;
        CreatedJobs created;
        for (auto& [batch_start, batch_reports] : by_batch) {
          // A batch still open for late reports waits until it has a job's minimum; once
          // the grace period is over its remainder goes out in a smaller job.
          const bool batch_closed =
              saturating_add(batch_start + precision, config_.late_report_grace_period) <= tx.now();
          for (std::size_t begin = 0; begin < batch_reports.size();
               begin += config_.max_aggregation_job_size) {
            const std::size_t end = std::min<std::size_t>(batch_reports.size(),
                                                          begin + config_.max_aggregation_job_size);
            if (end - begin < std::max<std::uint64_t>(config_.min_aggregation_job_size, 1) &&
                !batch_closed) {
              continue;
            }
            write_job(tx, task, std::nullopt, Interval{batch_start, precision}, {},
                      std::span<const ReportMetadata>(batch_reports).subspan(begin, end - begin),
                      ReportShares::Scrub, created);
            ++jobs;
          }
        }
        created.count(tx, task.task_id, config_.batch_aggregation_shard_count);
        return CreationPass{jobs, reports.size() >= config_.aggregation_job_creation_report_window};
      });
}

// fixed_size: reports fill the task's FILLING outstanding batches (per time bucket when the
// task has a batch_time_window_size) up to max_batch_size (min_batch_size when the task
// has no maximum), then new batches; a full batch is marked FILLED. A job smaller than
// min_aggregation_job_size is only written when it completes its batch.
JobCreator::CreationPass JobCreator::create_fixed_size_jobs(Transaction& tx,
                                                            const AggregatorTask& task) {
  const std::uint64_t batch_limit =
      std::max<std::uint64_t>(task.query_type.max_batch_size.value_or(task.min_batch_size), 1);
  const std::uint64_t min_job = std::max<std::uint64_t>(config_.min_aggregation_job_size, 1);
  // Reports left out are released at commit.
  const std::vector<ReportMetadata> reports = tx.lock_unaggregated_client_reports(
      task.task_id, config_.aggregation_job_creation_report_window);
  if (reports.empty()) return {};
  std::map<std::optional<Time>, std::vector<ReportMetadata>> by_bucket;
  for (const ReportMetadata& report : reports) {
    std::optional<Time> bucket;
    if (task.query_type.batch_time_window_size && *task.query_type.batch_time_window_size > 0) {
      const Duration window = *task.query_type.batch_time_window_size;
      bucket = report.time / window * window;
    }
    by_bucket[bucket].push_back(report);
  }
  // Reports already placed in each FILLING batch (the datastore keeps no size per batch:
  // count the non-failed report aggregations of the task's jobs in those batches).
  std::map<BatchId, std::uint64_t> sizes;
  {
    std::vector<OutstandingBatch> filling = tx.get_filling_outstanding_batches(task.task_id, {});
    for (const OutstandingBatch& batch : filling) sizes[batch.batch_id] = 0;
    if (!filling.empty()) {
      for (const AggregationJob& job : tx.get_aggregation_jobs_for_task(task.task_id)) {
        if (!job.batch_id || !sizes.contains(*job.batch_id)) continue;
        for (const ReportAggregation& ra :
             tx.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id)) {
          if (ra.state != ReportAggregationState::Failed) sizes[*job.batch_id] += 1;
        }
      }
    }
  }
  std::size_t jobs = 0;
  CreatedJobs created;
  for (auto& [bucket, bucket_reports] : by_bucket) {
    std::size_t next = 0;
    // Fills one batch from the bucket's remaining reports; returns false when it stopped
    // because too few reports were left for a job.
    auto fill = [&](const BatchId& batch_id) {
      std::uint64_t& size = sizes[batch_id];
      while (next < bucket_reports.size() && size < batch_limit) {
        const std::uint64_t room = batch_limit - size;
        const std::uint64_t n = std::min<std::uint64_t>(
            {room, config_.max_aggregation_job_size, bucket_reports.size() - next});
        if (n < min_job && n < room) return false;
        write_job(tx, task, batch_id, batch_id, {},
                  std::span<const ReportMetadata>(bucket_reports).subspan(next, n),
                  ReportShares::Scrub, created);
        next += n;
        size += n;
        ++jobs;
      }
      if (size >= batch_limit) tx.mark_outstanding_batch_filled(task.task_id, batch_id);
      return true;
    };
    bool progress = true;
    for (const OutstandingBatch& batch : tx.get_filling_outstanding_batches(task.task_id, bucket)) {
      if (next >= bucket_reports.size() || !progress) break;
      if (batch.time_bucket_start != bucket) continue;
      progress = fill(batch.batch_id);
    }
    while (progress && bucket_reports.size() - next >= std::min(min_job, batch_limit)) {
      OutstandingBatch batch{task.task_id, BatchId::random(), bucket,
                             OutstandingBatchState::Filling};
      tx.put_outstanding_batch(batch);
      progress = fill(batch.batch_id);
    }
  }
  created.count(tx, task.task_id, config_.batch_aggregation_shard_count);
  return CreationPass{jobs, reports.size() >= config_.aggregation_job_creation_report_window};
}

// A VDAF whose collector chooses the aggregation parameter (Poplar1): the reports a START
// collection job wants under its parameter, batch by batch, as soon as it wants them (the
// collector is waiting: no minimum job size, no grace period). A report goes in only if
// the VDAF allows the parameter after those it was aggregated under before, and if it was
// in every earlier collection of its batch.
JobCreator::CreationPass JobCreator::create_collection_jobs(Transaction& tx,
                                                            const AggregatorTask& task,
                                                            const Vdaf& vdaf) {
  const std::vector<ReportForCollection> wanted = tx.lock_client_reports_for_collections(
      task.task_id, config_.aggregation_job_creation_report_window);
  if (wanted.empty()) return {};
  const Duration precision = std::max<Duration>(task.time_precision, 1);
  auto bucket_of = [&](const ReportMetadata& report) {
    return report.time / precision * precision;
  };
  std::vector<ReportId> ids;
  std::map<Bytes, std::vector<std::pair<ReportId, BatchIdentifier>>, BytesLess> by_parameter;
  for (const ReportForCollection& want : wanted) {
    ids.push_back(want.report.id);
    by_parameter[want.aggregation_parameter].emplace_back(
        want.report.id, Interval{bucket_of(want.report), precision});
  }
  std::map<ReportId, std::vector<Bytes>> previous =
      tx.get_aggregation_parameters_of_reports(task.task_id, ids, std::nullopt);
  std::map<Bytes, std::set<ReportId>, BytesLess> left_out;
  for (const auto& [parameter, reports] : by_parameter) {
    left_out[parameter] = tx.reports_left_out_of_collections(task.task_id, reports, parameter);
  }

  // parameter → batch start → reports; and each parameter's rejected reports, by error.
  std::map<Bytes, std::map<Time, std::vector<ReportMetadata>>, BytesLess> accepted;
  std::map<Bytes, std::map<PrepareError, std::vector<ReportMetadata>>, BytesLess> rejected;
  for (const ReportForCollection& want : wanted) {
    std::vector<Bytes>& before = previous[want.report.id];
    if (!vdaf.is_valid_aggregation_parameter(want.aggregation_parameter, before)) {
      rejected[want.aggregation_parameter][PrepareError::ReportReplayed].push_back(want.report);
    } else if (left_out[want.aggregation_parameter].contains(want.report.id)) {
      rejected[want.aggregation_parameter][PrepareError::BatchCollected].push_back(want.report);
    } else {
      accepted[want.aggregation_parameter][bucket_of(want.report)].push_back(want.report);
      // Two collections in one pass must not take a report at one level twice.
      before.push_back(want.aggregation_parameter);
    }
  }
  std::size_t jobs = 0;
  CreatedJobs created;
  for (const auto& [parameter, batches] : accepted) {
    for (const auto& [batch_start, reports] : batches) {
      for (std::size_t begin = 0; begin < reports.size();
           begin += config_.max_aggregation_job_size) {
        const std::size_t end =
            std::min<std::size_t>(reports.size(), begin + config_.max_aggregation_job_size);
        write_job(tx, task, std::nullopt, Interval{batch_start, precision}, parameter,
                  std::span<const ReportMetadata>(reports).subspan(begin, end - begin),
                  ReportShares::Keep, created);
        ++jobs;
      }
    }
  }
  for (const auto& [parameter, by_error] : rejected) {
    for (const auto& [error, reports] : by_error) {
      write_rejected_job(tx, task, parameter, error, reports);
      if (!logger_) continue;
      const char* why =
          error == PrepareError::ReportReplayed
              ? "may not be aggregated again under a collection's aggregation parameter "
                "(report_replayed)"
              : "were left out of an earlier collection of their batch, so may not be in a "
                "later one (batch_collected)";
      logger_->warn("task {}: {} reports {}", task.task_id.to_base64url(), reports.size(), why);
    }
  }
  created.count(tx, task.task_id, config_.batch_aggregation_shard_count);
  return CreationPass{jobs, wanted.size() >= config_.aggregation_job_creation_report_window};
}

}  // namespace janus::job_creator
