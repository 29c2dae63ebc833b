#include "janus/aggregation.h"

#include <algorithm>
#include <map>
#include <random>

#include "janus/metrics.h"

namespace janus {
namespace {

bool terminal(ReportAggregationState state) {
  return state == ReportAggregationState::Finished || state == ReportAggregationState::Failed;
}

ReportIdChecksum checksum_of(const Bytes& stored) {
  ReportIdChecksum checksum{};
  std::copy_n(stored.begin(), std::min<std::size_t>(checksum.size(), stored.size()),
              checksum.begin());
  return checksum;
}

// What one write adds to one batch.
struct BatchChange {
  BatchIdentifier identifier;
  std::vector<std::size_t> finished;  // entries whose output shares it gets
};

}  // namespace

BatchIdentifier batch_of_report(const AggregatorTask& task, const AggregationJob& job, Time time) {
  if (job.batch_id) return *job.batch_id;
  const Duration precision = std::max<Duration>(task.time_precision, 1);
  return Interval{time / precision * precision, precision};
}

Interval extend_interval(const Interval& interval, Time time) {
  if (interval.duration == 0 && interval.start == 0) return {time, 1};
  const Time start = std::min(interval.start, time);
  const Time end = std::max(interval.start + interval.duration, time + 1);
  return {start, end - start};
}

std::uint64_t random_shard(std::uint64_t shard_count) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_int_distribution<std::uint64_t>(
      0, std::max<std::uint64_t>(shard_count, 1) - 1)(rng);
}

void count_step_failure(PrepareError error) {
  metrics::registry()
      .counter("janus_step_failures", "Reports that failed a preparation step, by reason.",
               {{"type", std::string(prepare_error_name(error))}})
      .increment();
}

MergedBatchAggregation merge_batch_aggregations(const Vdaf& vdaf, ByteSpan aggregation_parameter,
                                                const std::vector<BatchAggregation>& shards) {
  MergedBatchAggregation merged;
  merged.aggregate_share = vdaf.empty_aggregate_share(aggregation_parameter);
  for (const BatchAggregation& shard : shards) {
    if (shard.aggregate_share)
      vdaf.merge(merged.aggregate_share, aggregation_parameter, *shard.aggregate_share);
    merged.report_count += shard.report_count;
    combine_report_id_checksums(merged.checksum, checksum_of(shard.checksum));
    merged.aggregation_jobs_created += shard.aggregation_jobs_created;
    merged.aggregation_jobs_terminated += shard.aggregation_jobs_terminated;
    if (shard.report_count == 0) continue;
    const Interval& interval = shard.client_timestamp_interval;
    if (!merged.client_timestamp_interval) {
      merged.client_timestamp_interval = interval;
    } else {
      Interval& sum = *merged.client_timestamp_interval;
      const Time start = std::min(sum.start, interval.start);
      const Time end = std::max(sum.start + sum.duration, interval.start + interval.duration);
      sum = Interval{start, end - start};
    }
  }
  return merged;
}

void count_aggregation_jobs_created(Transaction& tx, const TaskId& task_id,
                                    const BatchIdentifier& batch, ByteSpan aggregation_parameter,
                                    std::uint64_t shard_count, std::uint64_t jobs) {
  if (jobs == 0) return;
  BatchAggregation aggregation =
      tx.lock_batch_aggregation_shard(task_id, batch, aggregation_parameter, shard_count);
  aggregation.aggregation_jobs_created += jobs;
  tx.update_batch_aggregation(aggregation);
}

AggregationJobWriter::AggregationJobWriter(const AggregatorTask& task, const Vdaf* vdaf,
                                           AggregationJobWriterOptions options)
    : task_(task), vdaf_(vdaf), options_(options) {}

void AggregationJobWriter::add(ReportAggregation report_aggregation, bool changed,
                               std::optional<Bytes> output_share) {
  if (output_share && report_aggregation.state != ReportAggregationState::Finished) {
    throw std::logic_error("an output share belongs to a FINISHED report aggregation");
  }
  if (output_share && !vdaf_) throw std::logic_error("output shares need the task's VDAF");
  entries_.push_back({std::move(report_aggregation), changed, std::move(output_share)});
}

AggregationJobWriter::Written AggregationJobWriter::write(Transaction& tx,
                                                          const AggregationJob& job,
                                                          bool new_job) const {
  Written written;
  written.job = job;
  written.report_aggregations.reserve(entries_.size());
  for (const Entry& entry : entries_)
    written.report_aggregations.push_back(entry.report_aggregation);

  // A job whose reports are all over is over (a report failed below for BatchCollected
  // stays over, so this does not change).
  if (written.job.state == AggregationJobState::InProgress &&
      std::all_of(written.report_aggregations.begin(), written.report_aggregations.end(),
                  [](const ReportAggregation& ra) { return terminal(ra.state); })) {
    written.job.state = AggregationJobState::Finished;
  }
  // The job was new or IN_PROGRESS (see the header): leaving that state terminates it.
  const bool terminated_now = written.job.state != AggregationJobState::InProgress;

  std::vector<std::size_t> changed;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].changed) changed.push_back(i);
  }
  auto changed_rows = [&](const std::vector<std::size_t>& indexes) {
    std::vector<ReportAggregation> rows;
    rows.reserve(indexes.size());
    for (std::size_t i : indexes) rows.push_back(written.report_aggregations[i]);
    return rows;
  };
  if (new_job) {
    tx.put_aggregation_job(written.job);
    if (!changed.empty()) tx.put_report_aggregations(changed_rows(changed));
  } else {
    tx.update_aggregation_job(written.job);
    if (!changed.empty()) tx.update_report_aggregations(changed_rows(changed));
  }

  // The batches the job's reports fall in, and the outputs each gets now.
  std::map<Bytes, BatchChange, BytesLess> batches;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const ReportAggregation& ra = written.report_aggregations[i];
    BatchIdentifier identifier = batch_of_report(task_, job, ra.client_timestamp);
    BatchChange& change = batches[encode_batch_identifier(identifier)];
    change.identifier = std::move(identifier);
    if (entries_[i].output_share) change.finished.push_back(i);
  }
  // Batch shards last, so that a shard is held only for the end of the transaction.
  std::vector<std::size_t> failed_late;
  for (auto& [key, change] : batches) {
    if (!new_job && !terminated_now && change.finished.empty()) continue;
    BatchAggregation aggregation =
        tx.lock_batch_aggregation_shard(task_.task_id, change.identifier, job.aggregation_parameter,
                                        options_.batch_aggregation_shard_count);
    if (!change.finished.empty() && aggregation.state != BatchAggregationState::Aggregating) {
      // Collected meanwhile: these outputs would be lost to the collection, so the
      // reports fail instead (a helper's stored answer becomes that rejection).
      for (std::size_t i : change.finished) {
        ReportAggregation& ra = written.report_aggregations[i];
        ra.state = ReportAggregationState::Failed;
        ra.error_code = static_cast<std::uint8_t>(PrepareError::BatchCollected);
        if (ra.last_prep_resp) {
          ra.last_prep_resp =
              encode_message(PrepareResp::reject(ra.report_id, PrepareError::BatchCollected));
        }
        failed_late.push_back(i);
      }
    } else if (!change.finished.empty()) {
      Bytes share = aggregation.aggregate_share
                        ? std::move(*aggregation.aggregate_share)
                        : vdaf_->empty_aggregate_share(job.aggregation_parameter);
      ReportIdChecksum checksum = checksum_of(aggregation.checksum);
      for (std::size_t i : change.finished) {
        const ReportAggregation& ra = written.report_aggregations[i];
        vdaf_->accumulate(share, job.aggregation_parameter, *entries_[i].output_share);
        update_report_id_checksum(checksum, ra.report_id);
        aggregation.report_count += 1;
        aggregation.client_timestamp_interval =
            extend_interval(aggregation.client_timestamp_interval, ra.client_timestamp);
      }
      aggregation.aggregate_share = std::move(share);
      aggregation.checksum = Bytes(checksum.begin(), checksum.end());
      written.outputs += change.finished.size();
    }
    if (new_job) aggregation.aggregation_jobs_created += 1;
    if (terminated_now) aggregation.aggregation_jobs_terminated += 1;
    tx.update_batch_aggregation(aggregation);
  }
  if (!failed_late.empty()) tx.update_report_aggregations(changed_rows(failed_late));
  if (written.outputs > 0) {
    tx.increment_task_aggregation_counter(
        task_.task_id, random_shard(options_.task_counter_shard_count), written.outputs);
  }
  return written;
}

}  // namespace janus
