#include "job_creator.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include <spdlog/spdlog.h>

namespace janus::job_creator {
namespace {

std::uint64_t positive(ConfigMap& map, const std::string& key) {
  const auto value = map.required<std::uint64_t>(key);
  if (value == 0) {
    throw ConfigError(config_location(map.file(), map.node()[key]) + ": key '" + map.key_path(key) +
                      "': must be greater than 0");
  }
  return value;
}

std::uint64_t random_below(std::uint64_t bound) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(rng);
}

Time saturating_add(Time a, Duration b) {
  return a > std::numeric_limits<Time>::max() - b ? std::numeric_limits<Time>::max() : a + b;
}

Interval span(const Interval& a, Time time) {
  if (a.duration == 0 && a.start == 0) return {time, 1};
  const Time start = std::min(a.start, time);
  const Time end = std::max(a.start + a.duration, time + 1);
  return {start, end - start};
}

// Counts one more job created in the batch, on a random shard (as the helper and driver
// spread their writes).
void count_job_created(Transaction& tx, const TaskId& task_id, const BatchIdentifier& batch,
                       std::uint64_t shard_count) {
  const std::uint64_t ord = random_below(shard_count);
  if (auto existing = tx.get_batch_aggregation(task_id, batch, {}, ord)) {
    existing->aggregation_jobs_created += 1;
    tx.update_batch_aggregation(*existing);
    return;
  }
  BatchAggregation aggregation;
  aggregation.task_id = task_id;
  aggregation.batch_identifier = batch;
  aggregation.ord = ord;
  aggregation.checksum = Bytes(32, 0);
  aggregation.aggregation_jobs_created = 1;
  tx.put_batch_aggregation(aggregation);
}

// Writes one job of `reports` (StartLeader report aggregations), scrubs the reports and
// counts the job in its batch.
void write_job(Transaction& tx, const TaskId& task_id, const std::optional<BatchId>& batch_id,
               const BatchIdentifier& batch, const std::vector<const LeaderStoredReport*>& reports,
               std::uint64_t shard_count) {
  AggregationJob job;
  job.task_id = task_id;
  job.aggregation_job_id = AggregationJobId::random();
  job.batch_id = batch_id;
  job.state = AggregationJobState::InProgress;
  job.step = 0;
  std::vector<ReportAggregation> report_aggregations;
  for (const LeaderStoredReport* report : reports) {
    job.client_timestamp_interval = span(job.client_timestamp_interval, report->client_timestamp);
    ReportAggregation ra;
    ra.task_id = task_id;
    ra.aggregation_job_id = job.aggregation_job_id;
    ra.report_id = report->report_id;
    ra.client_timestamp = report->client_timestamp;
    ra.ord = report_aggregations.size();
    ra.state = ReportAggregationState::StartLeader;
    ra.public_share = report->public_share;
    ra.leader_extensions = report->extensions;
    ra.leader_input_share = report->leader_input_share;
    ra.helper_encrypted_input_share = report->helper_encrypted_input_share;
    report_aggregations.push_back(std::move(ra));
  }
  tx.put_aggregation_job(job);
  tx.put_report_aggregations(report_aggregations);
  for (const LeaderStoredReport* report : reports)
    tx.scrub_client_report(task_id, report->report_id);
  count_job_created(tx, task_id, batch, shard_count);
}

}  // namespace

JobCreatorConfig parse_job_creator_config(const YAML::Node& section, const std::string& file) {
  ConfigMap map(section, file);
  JobCreatorConfig config;
  config.batch_aggregation_shard_count = positive(map, "batch_aggregation_shard_count");
  config.tasks_update_frequency = std::chrono::seconds(positive(map, "tasks_update_frequency_s"));
  config.aggregation_job_creation_interval =
      std::chrono::seconds(positive(map, "aggregation_job_creation_interval_s"));
  config.min_aggregation_job_size = map.required<std::uint64_t>("min_aggregation_job_size");
  config.max_aggregation_job_size = positive(map, "max_aggregation_job_size");
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

JobCreator::JobCreator(JobCreatorConfig config, Datastore& datastore,
                       std::shared_ptr<spdlog::logger> logger)
    : config_(config), datastore_(datastore), logger_(std::move(logger)) {}

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
  if (task.query_type.kind == TaskQueryType::Kind::FixedSize) {
    return datastore_.run_tx("aggregation_job_creator_fixed_size",
                             [&](Transaction& tx) { return create_fixed_size_jobs(tx, task); });
  }
  const Duration precision = std::max<Duration>(task.time_precision, 1);
  return datastore_.run_tx("aggregation_job_creator", [&](Transaction& tx) -> std::size_t {
    std::vector<LeaderStoredReport> reports = tx.claim_unaggregated_client_reports(
        task.task_id, config_.aggregation_job_creation_report_window);
    // Janus works batch by batch: a job holds reports of one time_interval batch.
    std::map<Time, std::vector<const LeaderStoredReport*>> by_batch;
    for (const LeaderStoredReport& report : reports) {
      by_batch[report.client_timestamp / precision * precision].push_back(&report);
    }
    std::vector<ReportId> unused;
    std::size_t jobs = 0;
    for (auto& [batch_start, batch_reports] : by_batch) {
      const Interval batch{batch_start, precision};
      // A batch still open for late reports waits until it has a job's minimum; once
      // the grace period is over its remainder goes out in a smaller job.
      const bool batch_closed =
          saturating_add(batch_start + precision, config_.late_report_grace_period) <= tx.now();
      for (std::size_t begin = 0; begin < batch_reports.size();
           begin += config_.max_aggregation_job_size) {
        const std::size_t end =
            std::min<std::size_t>(batch_reports.size(), begin + config_.max_aggregation_job_size);
        if (end - begin < std::max<std::uint64_t>(config_.min_aggregation_job_size, 1) &&
            !batch_closed) {
          for (std::size_t i = begin; i < end; ++i) unused.push_back(batch_reports[i]->report_id);
          continue;
        }
        write_job(tx, task.task_id, std::nullopt, batch,
                  std::vector<const LeaderStoredReport*>(
                      batch_reports.begin() + static_cast<std::ptrdiff_t>(begin),
                      batch_reports.begin() + static_cast<std::ptrdiff_t>(end)),
                  config_.batch_aggregation_shard_count);
        ++jobs;
      }
    }
    if (!unused.empty()) tx.mark_reports_unaggregated(task.task_id, unused);
    return jobs;
  });
}

// fixed_size: reports fill the task's FILLING outstanding batches (per time bucket when the
// task has a batch_time_window_size) up to max_batch_size (min_batch_size when the task
// has no maximum), then new batches; a full batch is marked FILLED. A job smaller than
// min_aggregation_job_size is only written when it completes its batch.
std::size_t JobCreator::create_fixed_size_jobs(Transaction& tx, const AggregatorTask& task) {
  const std::uint64_t batch_limit =
      std::max<std::uint64_t>(task.query_type.max_batch_size.value_or(task.min_batch_size), 1);
  const std::uint64_t min_job = std::max<std::uint64_t>(config_.min_aggregation_job_size, 1);
  std::vector<LeaderStoredReport> reports = tx.claim_unaggregated_client_reports(
      task.task_id, config_.aggregation_job_creation_report_window);
  if (reports.empty()) return 0;
  std::map<std::optional<Time>, std::vector<const LeaderStoredReport*>> by_bucket;
  for (const LeaderStoredReport& report : reports) {
    std::optional<Time> bucket;
    if (task.query_type.batch_time_window_size && *task.query_type.batch_time_window_size > 0) {
      const Duration window = *task.query_type.batch_time_window_size;
      bucket = report.client_timestamp / window * window;
    }
    by_bucket[bucket].push_back(&report);
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
  std::vector<ReportId> unused;
  std::size_t jobs = 0;
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
        std::vector<const LeaderStoredReport*> job_reports(
            bucket_reports.begin() + static_cast<std::ptrdiff_t>(next),
            bucket_reports.begin() + static_cast<std::ptrdiff_t>(next + n));
        write_job(tx, task.task_id, batch_id, batch_id, job_reports,
                  config_.batch_aggregation_shard_count);
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
    for (; next < bucket_reports.size(); ++next) unused.push_back(bucket_reports[next]->report_id);
  }
  if (!unused.empty()) tx.mark_reports_unaggregated(task.task_id, unused);
  return jobs;
}

}  // namespace janus::job_creator
