// Transaction methods: batch aggregations (sharded), aggregate share jobs, outstanding
// batches.
#include "janus/aggregation.h"
#include "tx_util.h"

namespace janus {

using namespace tx_util;
using db_enums::to_db;

namespace {

constexpr std::string_view kBatchAggregationColumns =
    "batch_identifier, aggregation_param, ord, state, aggregate_share, report_count, checksum, "
    "client_timestamp_start, client_timestamp_end, aggregation_jobs_created, "
    "aggregation_jobs_terminated";

BatchIdentifier read_batch_identifier(const pg::Result& r, int row, int column) {
  return db_enums::decode_batch_identifier(r.bytea(row, column));
}

BatchAggregation read_batch_aggregation(const TaskId& task_id, const pg::Result& r, int row) {
  BatchAggregation ba;
  ba.task_id = task_id;
  ba.batch_identifier = read_batch_identifier(r, row, 0);
  ba.aggregation_parameter = r.bytea(row, 1);
  ba.ord = r.uint8(row, 2);
  ba.state = db_enums::batch_aggregation_state_from_db(r.text(row, 3));
  ba.aggregate_share = r.opt_bytea(row, 4);
  ba.report_count = r.uint8(row, 5);
  ba.checksum = r.bytea(row, 6);
  ba.client_timestamp_interval = interval_from_bounds(r.uint8(row, 7), r.uint8(row, 8));
  ba.aggregation_jobs_created = r.uint8(row, 9);
  ba.aggregation_jobs_terminated = r.uint8(row, 10);
  return ba;
}

std::vector<BatchAggregation> read_batch_aggregations(const TaskId& task_id, const pg::Result& r) {
  std::vector<BatchAggregation> result;
  for (int row = 0; row < r.rows(); ++row)
    result.push_back(read_batch_aggregation(task_id, r, row));
  return result;
}

constexpr std::string_view kAggregateShareJobColumns =
    "batch_identifier, aggregation_param, helper_aggregate_share, report_count, checksum";

AggregateShareJob read_aggregate_share_job(const TaskId& task_id, const pg::Result& r, int row) {
  return AggregateShareJob{task_id,         read_batch_identifier(r, row, 0),
                           r.bytea(row, 1), r.bytea(row, 2),
                           r.uint8(row, 3), r.bytea(row, 4)};
}

}  // namespace

// ---- batch aggregations ----

void Transaction::put_batch_aggregation(const BatchAggregation& ba) {
  pg::Params params;
  params.bytea(ba.task_id.span()).bytea(encode_batch_identifier(ba.batch_identifier));
  bind_batch_interval(params, ba.batch_identifier);
  params.bytea(ba.aggregation_parameter)
      .uint8(ba.ord)
      .text(to_db(ba.state))
      .bytea(ba.aggregate_share)
      .uint8(ba.report_count)
      .bytea(ba.checksum)
      .uint8(ba.client_timestamp_interval.start)
      .uint8(interval_end(ba.client_timestamp_interval))
      .uint8(ba.aggregation_jobs_created)
      .uint8(ba.aggregation_jobs_terminated)
      .text(name_);
  auto r = connection_.exec(
      "INSERT INTO batch_aggregations (task_id, batch_identifier, batch_interval_start, "
      "batch_interval_end, aggregation_param, ord, state, aggregate_share, report_count, "
      "checksum, client_timestamp_start, client_timestamp_end, aggregation_jobs_created, "
      "aggregation_jobs_terminated, updated_by) "
      "SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 FROM tasks "
      "WHERE task_id = $1 "
      "ON CONFLICT (task_id, batch_identifier, aggregation_param, ord) DO NOTHING",
      params);
  if (r.affected_rows() == 0)
    throw_insert_conflict(connection_, ba.task_id,
                          "batch aggregation shard " + std::to_string(ba.ord) + " already exists");
}

void Transaction::update_batch_aggregation(const BatchAggregation& ba) {
  auto r = connection_.exec(
      "UPDATE batch_aggregations SET state = $5, aggregate_share = $6, report_count = $7, "
      "checksum = $8, client_timestamp_start = $9, client_timestamp_end = $10, "
      "aggregation_jobs_created = $11, aggregation_jobs_terminated = $12, "
      "updated_at = now(), updated_by = $13 "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND batch_identifier = $2 "
      "AND aggregation_param = $3 AND ord = $4",
      pg::Params()
          .bytea(ba.task_id.span())
          .bytea(encode_batch_identifier(ba.batch_identifier))
          .bytea(ba.aggregation_parameter)
          .uint8(ba.ord)
          .text(to_db(ba.state))
          .bytea(ba.aggregate_share)
          .uint8(ba.report_count)
          .bytea(ba.checksum)
          .uint8(ba.client_timestamp_interval.start)
          .uint8(interval_end(ba.client_timestamp_interval))
          .uint8(ba.aggregation_jobs_created)
          .uint8(ba.aggregation_jobs_terminated)
          .text(name_));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("no batch aggregation shard " + std::to_string(ba.ord));
  }
}

std::optional<BatchAggregation> Transaction::get_batch_aggregation(
    const TaskId& task_id, const BatchIdentifier& batch_identifier, ByteSpan aggregation_parameter,
    std::uint64_t ord) {
  auto r = connection_.exec(
      "SELECT " + std::string(kBatchAggregationColumns) +
          " FROM batch_aggregations WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_identifier = $2 AND aggregation_param = $3 AND ord = $4",
      pg::Params()
          .bytea(task_id.span())
          .bytea(encode_batch_identifier(batch_identifier))
          .bytea(aggregation_parameter)
          .uint8(ord));
  if (r.rows() == 0) return std::nullopt;
  return read_batch_aggregation(task_id, r, 0);
}

BatchAggregation Transaction::lock_batch_aggregation_shard(const TaskId& task_id,
                                                           const BatchIdentifier& batch_identifier,
                                                           ByteSpan aggregation_parameter,
                                                           std::uint64_t shard_count) {
  if (shard_count == 0) throw DatastoreError("lock_batch_aggregation_shard: no shards");
  const Bytes identifier = encode_batch_identifier(batch_identifier);
  // A free existing shard, in random order so that writers spread over the shards.
  auto free = connection_.exec(
      "SELECT " + std::string(kBatchAggregationColumns) +
          " FROM batch_aggregations WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_identifier = $2 AND aggregation_param = $3 AND ord < $4 "
          "ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED",
      pg::Params()
          .bytea(task_id.span())
          .bytea(identifier)
          .bytea(aggregation_parameter)
          .uint8(shard_count));
  if (free.rows() > 0) return read_batch_aggregation(task_id, free, 0);
  // Every shard is held (or none exists yet): make sure a random one exists, then wait
  // for it.
  BatchAggregation empty;
  empty.task_id = task_id;
  empty.batch_identifier = batch_identifier;
  empty.aggregation_parameter = Bytes(aggregation_parameter.begin(), aggregation_parameter.end());
  empty.ord = random_shard(shard_count);
  empty.checksum = Bytes(32, 0);
  pg::Params params;
  params.bytea(task_id.span()).bytea(identifier);
  bind_batch_interval(params, batch_identifier);
  params.bytea(aggregation_parameter).uint8(empty.ord).text(name_);
  connection_.exec(
      "INSERT INTO batch_aggregations (task_id, batch_identifier, batch_interval_start, "
      "batch_interval_end, aggregation_param, ord, state, report_count, checksum, "
      "client_timestamp_start, client_timestamp_end, aggregation_jobs_created, "
      "aggregation_jobs_terminated, updated_by) "
      "SELECT id, $2, $3, $4, $5, $6, 'AGGREGATING', 0, decode(repeat('00', 32), 'hex'), 0, 0, "
      "0, 0, $7 FROM tasks WHERE task_id = $1 "
      "ON CONFLICT (task_id, batch_identifier, aggregation_param, ord) DO NOTHING",
      params);
  auto locked = connection_.exec(
      "SELECT " + std::string(kBatchAggregationColumns) +
          " FROM batch_aggregations WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_identifier = $2 AND aggregation_param = $3 AND ord = $4 FOR UPDATE",
      pg::Params()
          .bytea(task_id.span())
          .bytea(identifier)
          .bytea(aggregation_parameter)
          .uint8(empty.ord));
  if (locked.rows() == 0) throw_task_not_found(task_id);
  return read_batch_aggregation(task_id, locked, 0);
}

std::vector<BatchAggregation> Transaction::get_batch_aggregations_for_batch(
    const TaskId& task_id, const BatchIdentifier& batch_identifier,
    ByteSpan aggregation_parameter) {
  auto r = connection_.exec(
      "SELECT " + std::string(kBatchAggregationColumns) +
          " FROM batch_aggregations WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_identifier = $2 AND aggregation_param = $3 ORDER BY ord",
      pg::Params()
          .bytea(task_id.span())
          .bytea(encode_batch_identifier(batch_identifier))
          .bytea(aggregation_parameter));
  return read_batch_aggregations(task_id, r);
}

std::vector<BatchAggregation> Transaction::get_batch_aggregations_in_interval(
    const TaskId& task_id, const Interval& interval, ByteSpan aggregation_parameter) {
  auto r = connection_.exec(
      "SELECT " + std::string(kBatchAggregationColumns) +
          " FROM batch_aggregations WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_interval_start >= $2 AND batch_interval_end <= $3 "
          "AND aggregation_param = $4 ORDER BY batch_interval_start, ord",
      pg::Params()
          .bytea(task_id.span())
          .uint8(interval.start)
          .uint8(interval_end(interval))
          .bytea(aggregation_parameter));
  return read_batch_aggregations(task_id, r);
}

void Transaction::mark_batch_aggregations_collected(const TaskId& task_id,
                                                    const std::vector<BatchIdentifier>& batches,
                                                    ByteSpan aggregation_parameter,
                                                    std::uint64_t shard_count) {
  if (batches.empty() || shard_count == 0) return;
  std::vector<Bytes> encoded;
  std::vector<std::int64_t> starts, ends;  // -1: fixed_size (NULL)
  for (const BatchIdentifier& batch : batches) {
    encoded.push_back(encode_batch_identifier(batch));
    if (const auto* interval = std::get_if<Interval>(&batch)) {
      const std::uint64_t end = interval_end(*interval);
      if (end > static_cast<std::uint64_t>(INT64_MAX)) {
        throw DatastoreError("batch interval out of range");
      }
      starts.push_back(static_cast<std::int64_t>(interval->start));
      ends.push_back(static_cast<std::int64_t>(end));
    } else {
      starts.push_back(-1);
      ends.push_back(-1);
    }
  }
  std::vector<ByteSpan> identifiers(encoded.begin(), encoded.end());
  connection_.exec(
      "INSERT INTO batch_aggregations (task_id, batch_identifier, batch_interval_start, "
      "batch_interval_end, aggregation_param, ord, state, report_count, checksum, "
      "client_timestamp_start, client_timestamp_end, aggregation_jobs_created, "
      "aggregation_jobs_terminated, updated_by) "
      "SELECT tasks.id, b.identifier, NULLIF(b.interval_start, -1), NULLIF(b.interval_end, -1), "
      "  $5, shard.ord, 'COLLECTED', 0, decode(repeat('00', 32), 'hex'), 0, 0, 0, 0, $7 "
      "FROM tasks, unnest($2::BYTEA[], $3::BIGINT[], $4::BIGINT[]) "
      "  AS b(identifier, interval_start, interval_end), "
      "  generate_series(0, $6::BIGINT - 1) AS shard(ord) "
      "WHERE tasks.task_id = $1 "
      "ON CONFLICT (task_id, batch_identifier, aggregation_param, ord) DO UPDATE "
      "SET state = 'COLLECTED', updated_at = now(), updated_by = EXCLUDED.updated_by "
      "WHERE batch_aggregations.state = 'AGGREGATING'",
      pg::Params()
          .bytea(task_id.span())
          .bytea_array(identifiers)
          .int8_array(starts)
          .int8_array(ends)
          .bytea(aggregation_parameter)
          .uint8(shard_count)
          .text(name_));
}

// ---- aggregate share jobs ----

void Transaction::put_aggregate_share_job(const AggregateShareJob& job) {
  pg::Params params;
  params.bytea(job.task_id.span()).bytea(encode_batch_identifier(job.batch_identifier));
  bind_batch_interval(params, job.batch_identifier);
  params.bytea(job.aggregation_parameter)
      .bytea(job.helper_aggregate_share)
      .uint8(job.report_count)
      .bytea(job.checksum)
      .text(name_);
  auto r = connection_.exec(
      "INSERT INTO aggregate_share_jobs (task_id, batch_identifier, batch_interval_start, "
      "batch_interval_end, aggregation_param, helper_aggregate_share, report_count, checksum, "
      "updated_by) SELECT id, $2, $3, $4, $5, $6, $7, $8, $9 FROM tasks WHERE task_id = $1 "
      "ON CONFLICT (task_id, batch_identifier, aggregation_param) DO NOTHING",
      params);
  if (r.affected_rows() == 0)
    throw_insert_conflict(connection_, job.task_id, "aggregate share job already exists");
}

std::optional<AggregateShareJob> Transaction::get_aggregate_share_job(
    const TaskId& task_id, const BatchIdentifier& batch_identifier,
    ByteSpan aggregation_parameter) {
  auto r = connection_.exec(
      "SELECT " + std::string(kAggregateShareJobColumns) +
          " FROM aggregate_share_jobs WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_identifier = $2 AND aggregation_param = $3",
      pg::Params()
          .bytea(task_id.span())
          .bytea(encode_batch_identifier(batch_identifier))
          .bytea(aggregation_parameter));
  if (r.rows() == 0) return std::nullopt;
  return read_aggregate_share_job(task_id, r, 0);
}

std::vector<AggregateShareJob> Transaction::get_aggregate_share_jobs_for_batch(
    const TaskId& task_id, const BatchIdentifier& batch_identifier) {
  auto r = connection_.exec(
      "SELECT " + std::string(kAggregateShareJobColumns) +
          " FROM aggregate_share_jobs WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_identifier = $2 ORDER BY id",
      pg::Params().bytea(task_id.span()).bytea(encode_batch_identifier(batch_identifier)));
  std::vector<AggregateShareJob> jobs;
  for (int row = 0; row < r.rows(); ++row)
    jobs.push_back(read_aggregate_share_job(task_id, r, row));
  return jobs;
}

std::vector<AggregateShareJob> Transaction::get_aggregate_share_jobs_intersecting_interval(
    const TaskId& task_id, const Interval& interval) {
  auto r = connection_.exec(
      "SELECT " + std::string(kAggregateShareJobColumns) +
          " FROM aggregate_share_jobs WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_interval_start < $3 AND batch_interval_end > $2 ORDER BY id",
      pg::Params().bytea(task_id.span()).uint8(interval.start).uint8(interval_end(interval)));
  std::vector<AggregateShareJob> jobs;
  for (int row = 0; row < r.rows(); ++row)
    jobs.push_back(read_aggregate_share_job(task_id, r, row));
  return jobs;
}

// ---- outstanding batches ----

void Transaction::put_outstanding_batch(const OutstandingBatch& batch) {
  auto r = connection_.exec(
      "INSERT INTO outstanding_batches (task_id, batch_id, time_bucket_start, state, "
      "updated_by) SELECT id, $2, $3, $4, $5 FROM tasks WHERE task_id = $1 "
      "ON CONFLICT (task_id, batch_id) DO NOTHING",
      pg::Params()
          .bytea(batch.task_id.span())
          .bytea(batch.batch_id.span())
          .uint8(batch.time_bucket_start)
          .text(to_db(batch.state))
          .text(name_));
  if (r.affected_rows() == 0)
    throw_insert_conflict(connection_, batch.task_id,
                          "outstanding batch " + batch.batch_id.to_base64url() + " already exists");
}

std::vector<OutstandingBatch> Transaction::get_filling_outstanding_batches(
    const TaskId& task_id, std::optional<Time> time_bucket_start) {
  auto r = connection_.exec(
      "SELECT batch_id, time_bucket_start FROM outstanding_batches "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND state = 'FILLING' "
      "AND ($2::BIGINT IS NULL OR time_bucket_start = $2) ORDER BY id",
      pg::Params().bytea(task_id.span()).uint8(time_bucket_start));
  std::vector<OutstandingBatch> batches;
  for (int row = 0; row < r.rows(); ++row) {
    batches.push_back(OutstandingBatch{task_id, id_from<BatchId>(r, row, 0, "batch id"),
                                       r.opt_uint8(row, 1), OutstandingBatchState::Filling});
  }
  return batches;
}

void Transaction::mark_outstanding_batch_filled(const TaskId& task_id, const BatchId& batch_id) {
  auto r = connection_.exec(
      "UPDATE outstanding_batches SET state = 'FILLED', updated_at = now(), updated_by = $3 "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND batch_id = $2",
      pg::Params().bytea(task_id.span()).bytea(batch_id.span()).text(name_));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("no outstanding batch " + batch_id.to_base64url());
  }
}

void Transaction::delete_outstanding_batch(const TaskId& task_id, const BatchId& batch_id) {
  auto r = connection_.exec(
      "DELETE FROM outstanding_batches WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND batch_id = $2",
      pg::Params().bytea(task_id.span()).bytea(batch_id.span()));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("no outstanding batch " + batch_id.to_base64url());
  }
}

std::optional<BatchId> Transaction::acquire_filled_outstanding_batch(
    const TaskId& task_id, std::uint64_t min_report_count) {
  // A fixed_size batch identifier is stored as the batch id's 32 bytes, in both tables.
  auto r = connection_.exec(
      "WITH task AS (SELECT id, report_expiry_age FROM tasks WHERE task_id = $1), "
      "counted AS ("
      "  SELECT b.batch_identifier, SUM(b.report_count) AS report_count "
      "  FROM batch_aggregations b JOIN task ON b.task_id = task.id "
      "  GROUP BY b.batch_identifier, task.report_expiry_age "
      "  HAVING task.report_expiry_age IS NULL "
      "      OR MAX(b.client_timestamp_end) >= $3 - task.report_expiry_age), "
      "chosen AS ("
      "  SELECT o.id FROM outstanding_batches o JOIN task ON o.task_id = task.id "
      "  JOIN counted ON counted.batch_identifier = o.batch_id "
      "  WHERE counted.report_count >= $2 "
      "  ORDER BY o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED) "
      "DELETE FROM outstanding_batches WHERE id IN (SELECT id FROM chosen) RETURNING batch_id",
      pg::Params().bytea(task_id.span()).uint8(min_report_count).uint8(now_));
  if (r.rows() == 0) return std::nullopt;
  return id_from<BatchId>(r, 0, 0, "batch id");
}
}  // namespace janus

namespace janus {

bool Transaction::is_batch_collected(const TaskId& task_id, const BatchIdentifier& batch_identifier,
                                     std::optional<ByteSpan> aggregation_parameter) {
  pg::Params params;
  params.bytea(task_id.span()).bytea(encode_batch_identifier(batch_identifier));
  if (aggregation_parameter) {
    params.bytea(*aggregation_parameter);
  } else {
    params.bytea(std::optional<Bytes>());
  }
  auto r = connection_.exec(
      "SELECT 1 FROM batch_aggregations WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND batch_identifier = $2 AND ($3::BYTEA IS NULL OR aggregation_param = $3) "
      "AND state IN ('COLLECTED', 'SCRUBBED') LIMIT 1",
      params);
  return r.rows() > 0;
}

std::set<ReportId> Transaction::reports_left_out_of_collections(
    const TaskId& task_id, const std::vector<std::pair<ReportId, BatchIdentifier>>& reports,
    ByteSpan aggregation_parameter) {
  std::set<ReportId> left_out;
  if (reports.empty()) return left_out;
  std::vector<Bytes> batches;
  batches.reserve(reports.size());
  for (const auto& report : reports) batches.push_back(encode_batch_identifier(report.second));
  std::vector<ByteSpan> ids, batch_spans;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    ids.push_back(reports[i].first.span());
    batch_spans.push_back(batches[i]);
  }
  auto r = connection_.exec(
      "SELECT DISTINCT wanted.report_id "
      "FROM unnest($2::BYTEA[], $3::BYTEA[]) AS wanted (report_id, batch_identifier) "
      "JOIN batch_aggregations "
      "ON batch_aggregations.task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND batch_aggregations.batch_identifier = wanted.batch_identifier "
      "AND batch_aggregations.aggregation_param <> $4 "
      "AND batch_aggregations.state IN ('COLLECTED', 'SCRUBBED') "
      "WHERE NOT EXISTS (SELECT 1 FROM report_aggregations "
      "  JOIN aggregation_jobs ON aggregation_jobs.id = report_aggregations.aggregation_job_id "
      "  WHERE report_aggregations.task_id = batch_aggregations.task_id "
      "  AND report_aggregations.client_report_id = wanted.report_id "
      "  AND aggregation_jobs.aggregation_param = batch_aggregations.aggregation_param "
      "  AND report_aggregations.state = 'FINISHED')",
      pg::Params()
          .bytea(task_id.span())
          .bytea_array(ids)
          .bytea_array(batch_spans)
          .bytea(aggregation_parameter));
  for (int row = 0; row < r.rows(); ++row)
    left_out.insert(id_from<ReportId>(r, row, 0, "report id"));
  return left_out;
}

// ---- garbage collection ----

std::uint64_t Transaction::delete_expired_client_reports(const TaskId& task_id, Time threshold,
                                                         std::uint64_t limit) {
  return connection_
      .exec(
          "DELETE FROM client_reports WHERE id IN (SELECT id FROM client_reports "
          "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND client_timestamp < $2 "
          "LIMIT $3)",
          pg::Params().bytea(task_id.span()).uint8(threshold).uint8(limit))
      .affected_rows();
}

std::uint64_t Transaction::delete_expired_aggregation_jobs(const TaskId& task_id, Time threshold,
                                                           std::uint64_t limit) {
  // The report aggregations go explicitly (not only by the foreign key's cascade), as in
  // Janus, so that the statement does not depend on how the schema ties them.
  return connection_
      .exec(
          "WITH jobs AS (SELECT id FROM aggregation_jobs "
          "  WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "  AND client_timestamp_end < $2 LIMIT $3), "
          "deleted_report_aggregations AS (DELETE FROM report_aggregations "
          "  WHERE aggregation_job_id IN (SELECT id FROM jobs)) "
          "DELETE FROM aggregation_jobs WHERE id IN (SELECT id FROM jobs)",
          pg::Params().bytea(task_id.span()).uint8(threshold).uint8(limit))
      .affected_rows();
}

std::uint64_t Transaction::delete_expired_collection_artifacts(const TaskId& task_id,
                                                               Time threshold,
                                                               std::uint64_t limit) {
  // Janus 0.7's statement: a batch (identifier and aggregation parameter) goes once every
  // one of its shards ends before the threshold (candidates first, so that the index on
  // the batches' times narrows the scan). Collection and aggregate share jobs go with
  // their batch, and time_interval ones as soon as their interval starts before the
  // threshold: part of what they aggregate is gone, so they could not be computed again.
  auto r = connection_.exec(
      "WITH task AS (SELECT id FROM tasks WHERE task_id = $1), "
      "candidates AS (SELECT DISTINCT batch_identifier, aggregation_param "
      "  FROM batch_aggregations WHERE task_id = (SELECT id FROM task) "
      "  AND COALESCE(batch_interval_end, client_timestamp_end) < $2), "
      "batches AS (SELECT ba.batch_identifier, ba.aggregation_param "
      "  FROM batch_aggregations AS ba JOIN candidates AS c "
      "  ON ba.batch_identifier = c.batch_identifier AND ba.aggregation_param = "
      "c.aggregation_param "
      "  WHERE ba.task_id = (SELECT id FROM task) "
      "  GROUP BY ba.batch_identifier, ba.aggregation_param "
      "  HAVING MAX(COALESCE(ba.batch_interval_end, ba.client_timestamp_end)) < $2 LIMIT $3), "
      "deleted_outstanding AS (DELETE FROM outstanding_batches "
      "  WHERE task_id = (SELECT id FROM task) "
      "  AND batch_id IN (SELECT batch_identifier FROM batches)), "
      "deleted_collections AS (DELETE FROM collection_jobs AS cj USING batches AS b "
      "  WHERE cj.task_id = (SELECT id FROM task) AND (cj.batch_interval_start < $2 "
      "  OR (cj.batch_identifier = b.batch_identifier "
      "      AND cj.aggregation_param = b.aggregation_param))), "
      "deleted_shares AS (DELETE FROM aggregate_share_jobs AS asj USING batches AS b "
      "  WHERE asj.task_id = (SELECT id FROM task) AND (asj.batch_interval_start < $2 "
      "  OR (asj.batch_identifier = b.batch_identifier "
      "      AND asj.aggregation_param = b.aggregation_param))), "
      "deleted_batches AS (DELETE FROM batch_aggregations AS ba USING batches AS b "
      "  WHERE ba.task_id = (SELECT id FROM task) AND ba.batch_identifier = b.batch_identifier "
      "  AND ba.aggregation_param = b.aggregation_param) "
      "SELECT count(*) FROM batches",
      pg::Params().bytea(task_id.span()).uint8(threshold).uint8(limit));
  return r.uint8(0, 0);
}

}  // namespace janus
