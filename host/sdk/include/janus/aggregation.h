// What the leader's and the helper's aggregation have in common: which batch a report
// belongs to, the one writer of aggregation jobs (job, report aggregations, sharded batch
// aggregations, counters — as Janus's aggregation_job_writer), and the merge of a batch's
// shards that collection reads.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "janus/datastore.h"
#include "janus/messages.h"
#include "janus/vdaf.h"

namespace janus {

// The batch a report of `job` belongs to: the job's batch id (fixed_size), else the
// time_precision-aligned interval holding the report's time.
BatchIdentifier batch_of_report(const AggregatorTask& task, const AggregationJob& job, Time time);

// The smallest interval holding `interval` and `time` (an empty interval is replaced).
Interval extend_interval(const Interval& interval, Time time);

// A uniformly random shard in [0, shard_count): writers spread over shards so that
// concurrent transactions rarely update the same row.
std::uint64_t random_shard(std::uint64_t shard_count);

// Janus's janus_step_failures{type}: reports that failed a preparation step, by reason.
void count_step_failure(PrepareError error);

// A batch's shards summed, as collection reads them.
struct MergedBatchAggregation {
  Bytes aggregate_share;
  std::uint64_t report_count = 0;
  ReportIdChecksum checksum{};
  // The union of the shards' client timestamp intervals (shards holding no report skipped).
  std::optional<Interval> client_timestamp_interval;
  std::uint64_t aggregation_jobs_created = 0;
  std::uint64_t aggregation_jobs_terminated = 0;
};
MergedBatchAggregation merge_batch_aggregations(const Vdaf& vdaf, ByteSpan aggregation_parameter,
                                                const std::vector<BatchAggregation>& shards);

// Counts `jobs` more aggregation jobs created in a batch, on one locked shard (as the
// writer counts one new job). The job creator counts a pass's jobs per batch at the end of
// its transaction, so that it holds a shard only while it commits. READ COMMITTED.
void count_aggregation_jobs_created(Transaction& tx, const TaskId& task_id,
                                    const BatchIdentifier& batch, ByteSpan aggregation_parameter,
                                    std::uint64_t shard_count, std::uint64_t jobs);

struct AggregationJobWriterOptions {
  std::uint64_t batch_aggregation_shard_count = 32;
  std::uint64_t task_counter_shard_count = 32;
};

// Writes one aggregation job and what it changes, for the job creator, the leader's job
// driver and the helper alike:
//   - the job (inserted when new, else updated) and its report aggregations (one
//     statement each way);
//   - a report aggregation that finishes in this write into a batch already collected
//     fails with BatchCollected instead (its output would be lost to the collection; a
//     helper's stored answer becomes that rejection);
//   - an IN_PROGRESS job whose report aggregations are all FINISHED or FAILED becomes
//     FINISHED;
//   - each batch the job's reports fall in counts the job as created when it is new and
//     as terminated when it stops being IN_PROGRESS, and gets the output shares of its
//     reports that finished in this write, on one shard per batch per write, locked
//     (Transaction::lock_batch_aggregation_shard): run the write at READ COMMITTED;
//   - the task's aggregation counter counts those outputs.
// Add every report aggregation of the job, then write inside a transaction. `write` does
// not change the writer, so a retried transaction can call it again.
class AggregationJobWriter {
 public:
  // `vdaf` may be null when no output share is ever added.
  AggregationJobWriter(const AggregatorTask& task, const Vdaf* vdaf,
                       AggregationJobWriterOptions options);

  // `changed`: this write stores the report aggregation (inserted with a new job, else
  // updated); unchanged ones only place the job in its batches. `output_share`: the report
  // finished in this write with this output (its state must be FINISHED).
  void add(ReportAggregation report_aggregation, bool changed = true,
           std::optional<Bytes> output_share = std::nullopt);

  struct Written {
    AggregationJob job;
    // Every report aggregation added, in order, as written.
    std::vector<ReportAggregation> report_aggregations;
    std::uint64_t outputs = 0;  // output shares accumulated
  };
  // `new_job`: insert the job (an existing id throws MutationTargetAlreadyExists) instead
  // of updating it; an updated job must have been IN_PROGRESS until now (callers check),
  // and `job` is its new state (e.g. ABANDONED, or IN_PROGRESS with a new step).
  Written write(Transaction& tx, const AggregationJob& job, bool new_job) const;

 private:
  struct Entry {
    ReportAggregation report_aggregation;
    bool changed;
    std::optional<Bytes> output_share;
  };
  const AggregatorTask& task_;
  const Vdaf* vdaf_;
  AggregationJobWriterOptions options_;
  std::vector<Entry> entries_;
};

}  // namespace janus
