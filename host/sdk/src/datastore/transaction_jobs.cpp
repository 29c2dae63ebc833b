// Transaction methods: aggregation jobs, report aggregations, collection jobs and their
// leases.
#include "tx_util.h"

namespace janus {

using namespace tx_util;
using db_enums::to_db;

namespace {

constexpr std::string_view kAggregationJobColumns =
    "aggregation_param, batch_id, client_timestamp_start, client_timestamp_end, state, step, "
    "last_request_hash";

AggregationJob read_aggregation_job(const TaskId& task_id, const AggregationJobId& job_id,
                                    const pg::Result& r, int row) {
  AggregationJob job;
  job.task_id = task_id;
  job.aggregation_job_id = job_id;
  job.aggregation_parameter = r.bytea(row, 0);
  if (!r.is_null(row, 1)) job.batch_id = id_from<BatchId>(r, row, 1, "batch id");
  job.client_timestamp_interval = interval_from_bounds(r.uint8(row, 2), r.uint8(row, 3));
  job.state = db_enums::aggregation_job_state_from_db(r.text(row, 4));
  job.step = static_cast<std::uint16_t>(r.int8(row, 5));
  job.last_request_hash = r.opt_bytea(row, 6);
  return job;
}

constexpr std::string_view kReportAggregationColumns =
    "ord, client_report_id, client_timestamp, last_prep_resp, state, public_share, "
    "leader_extensions, leader_input_share, helper_encrypted_input_share, "
    "leader_prep_transition, helper_prep_state, error_code";

constexpr std::string_view kCollectionJobColumns =
    "collection_job_id, query, aggregation_param, batch_identifier, state, report_count, "
    "client_timestamp_start, client_timestamp_end, helper_aggregate_share, "
    "leader_aggregate_share";

CollectionJob read_collection_job(const TaskId& task_id, const pg::Result& r, int row) {
  CollectionJob job;
  job.task_id = task_id;
  job.collection_job_id = id_from<CollectionJobId>(r, row, 0, "collection job id");
  job.query = r.bytea(row, 1);
  job.aggregation_parameter = r.bytea(row, 2);
  job.batch_identifier = db_enums::decode_batch_identifier(r.bytea(row, 3));
  job.state = db_enums::collection_job_state_from_db(r.text(row, 4));
  job.report_count = r.opt_uint8(row, 5);
  if (!r.is_null(row, 6)) {
    job.client_timestamp_interval = interval_from_bounds(r.uint8(row, 6), r.uint8(row, 7));
  }
  job.helper_aggregate_share = r.opt_bytea(row, 8);
  job.leader_aggregate_share = r.opt_bytea(row, 9);
  return job;
}

// Report aggregations as parallel arrays ($1…$14), so that a job's rows are written by one
// statement: task id, job id, ord, report id, timestamp, last_prep_resp, state, public
// share, extensions, leader share, helper share, prep transition, prep state, error code
// (-1: none).
pg::Params report_aggregation_arrays(const std::vector<ReportAggregation>& report_aggregations) {
  std::vector<ByteSpan> task_ids, job_ids, report_ids;
  std::vector<std::int64_t> ords, timestamps, error_codes;
  std::vector<std::optional<ByteSpan>> last_prep_resps, public_shares, extensions, leader_shares,
      helper_shares, transitions, prep_states;
  std::vector<std::string> states;
  auto opt = [](const std::optional<Bytes>& value) -> std::optional<ByteSpan> {
    if (!value) return std::nullopt;
    return ByteSpan(*value);
  };
  for (const auto& ra : report_aggregations) {
    task_ids.push_back(ra.task_id.span());
    job_ids.push_back(ra.aggregation_job_id.span());
    report_ids.push_back(ra.report_id.span());
    if (ra.ord > static_cast<std::uint64_t>(INT64_MAX) ||
        ra.client_timestamp > static_cast<std::uint64_t>(INT64_MAX)) {
      throw DatastoreError("report aggregation ord or timestamp out of range");
    }
    ords.push_back(static_cast<std::int64_t>(ra.ord));
    timestamps.push_back(static_cast<std::int64_t>(ra.client_timestamp));
    last_prep_resps.push_back(opt(ra.last_prep_resp));
    states.emplace_back(to_db(ra.state));
    public_shares.push_back(opt(ra.public_share));
    extensions.push_back(opt(ra.leader_extensions));
    leader_shares.push_back(opt(ra.leader_input_share));
    helper_shares.push_back(opt(ra.helper_encrypted_input_share));
    transitions.push_back(opt(ra.leader_prep_transition));
    prep_states.push_back(opt(ra.helper_prep_state));
    error_codes.push_back(ra.error_code ? *ra.error_code : -1);
  }
  pg::Params params;
  params.bytea_array(task_ids)
      .bytea_array(job_ids)
      .int8_array(ords)
      .bytea_array(report_ids)
      .int8_array(timestamps)
      .bytea_array(last_prep_resps)
      .text_array(states)
      .bytea_array(public_shares)
      .bytea_array(extensions)
      .bytea_array(leader_shares)
      .bytea_array(helper_shares)
      .bytea_array(transitions)
      .bytea_array(prep_states)
      .int8_array(error_codes);
  return params;
}

constexpr std::string_view kReportAggregationArrays =
    "unnest($1::BYTEA[], $2::BYTEA[], $3::BIGINT[], $4::BYTEA[], $5::BIGINT[], "
    "  $6::BYTEA[], $7::TEXT[], $8::BYTEA[], $9::BYTEA[], $10::BYTEA[], $11::BYTEA[], "
    "  $12::BYTEA[], $13::BYTEA[], $14::BIGINT[]) AS r(task_id, job_id, ord, report_id, "
    "  client_timestamp, last_prep_resp, state, public_share, leader_extensions, "
    "  leader_input_share, helper_encrypted_input_share, leader_prep_transition, "
    "  helper_prep_state, error_code) "
    "JOIN tasks ON tasks.task_id = r.task_id "
    "JOIN aggregation_jobs ON aggregation_jobs.task_id = tasks.id "
    "  AND aggregation_jobs.aggregation_job_id = r.job_id ";

template <typename Acquired>
Lease<Acquired> lease_from(Acquired acquired, const pg::Result& r, int row, int first_column) {
  Lease<Acquired> lease;
  lease.leased = std::move(acquired);
  lease.token = r.bytea(row, first_column);
  lease.expiry = r.uint8(row, first_column + 1);
  lease.attempts = r.uint8(row, first_column + 2);
  return lease;
}

TaskQueryType query_type_from(const pg::Result& r, int row, int column) {
  try {
    return TaskQueryType::from_json(nlohmann::json::parse(r.text(row, column)));
  } catch (const std::invalid_argument& error) {
    throw DatastoreError(error.what());
  } catch (const nlohmann::json::exception& error) {
    throw DatastoreError(error.what());
  }
}

VdafDescription vdaf_from(const pg::Result& r, int row, int column) {
  try {
    return vdaf_from_json(nlohmann::json::parse(r.text(row, column)));
  } catch (const std::invalid_argument& error) {
    throw DatastoreError(error.what());
  } catch (const nlohmann::json::exception& error) {
    throw DatastoreError(error.what());
  }
}

}  // namespace

// ---- aggregation jobs ----

void Transaction::put_aggregation_job(const AggregationJob& job) {
  auto r = connection_.exec(
      "INSERT INTO aggregation_jobs (task_id, aggregation_job_id, aggregation_param, batch_id, "
      "client_timestamp_start, client_timestamp_end, state, step, last_request_hash, "
      "updated_by) SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM tasks "
      "WHERE task_id = $1 ON CONFLICT (task_id, aggregation_job_id) DO NOTHING",
      pg::Params()
          .bytea(job.task_id.span())
          .bytea(job.aggregation_job_id.span())
          .bytea(job.aggregation_parameter)
          .bytea(job.batch_id ? std::optional<Bytes>(
                                    Bytes(job.batch_id->bytes.begin(), job.batch_id->bytes.end()))
                              : std::nullopt)
          .uint8(job.client_timestamp_interval.start)
          .uint8(interval_end(job.client_timestamp_interval))
          .text(to_db(job.state))
          .int8(job.step)
          .bytea(job.last_request_hash)
          .text(name_));
  if (r.affected_rows() == 0)
    throw_insert_conflict(
        connection_, job.task_id,
        "aggregation job " + job.aggregation_job_id.to_base64url() + " already exists");
}

std::optional<AggregationJob> Transaction::get_aggregation_job(const TaskId& task_id,
                                                               const AggregationJobId& job_id) {
  auto r = connection_.exec(
      "SELECT " + std::string(kAggregationJobColumns) +
          " FROM aggregation_jobs WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND aggregation_job_id = $2",
      pg::Params().bytea(task_id.span()).bytea(job_id.span()));
  if (r.rows() == 0) return std::nullopt;
  return read_aggregation_job(task_id, job_id, r, 0);
}

std::vector<AggregationJob> Transaction::get_aggregation_jobs_for_task(const TaskId& task_id) {
  auto r =
      connection_.exec("SELECT " + std::string(kAggregationJobColumns) +
                           ", aggregation_job_id FROM aggregation_jobs "
                           "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) ORDER BY id",
                       pg::Params().bytea(task_id.span()));
  std::vector<AggregationJob> jobs;
  for (int row = 0; row < r.rows(); ++row) {
    jobs.push_back(read_aggregation_job(
        task_id, id_from<AggregationJobId>(r, row, 7, "aggregation job id"), r, row));
  }
  return jobs;
}

void Transaction::update_aggregation_job(const AggregationJob& job) {
  auto r = connection_.exec(
      "UPDATE aggregation_jobs SET state = $3, step = $4, last_request_hash = $5, "
      "updated_at = now(), updated_by = $6 "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND aggregation_job_id = $2",
      pg::Params()
          .bytea(job.task_id.span())
          .bytea(job.aggregation_job_id.span())
          .text(to_db(job.state))
          .int8(job.step)
          .bytea(job.last_request_hash)
          .text(name_));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("no aggregation job " + job.aggregation_job_id.to_base64url());
  }
}

std::vector<Lease<AcquiredAggregationJob>> Transaction::acquire_incomplete_aggregation_jobs(
    Duration lease_duration, std::uint64_t limit) {
  // Candidates are locked with SKIP LOCKED, so concurrent acquirers split the work instead
  // of waiting on each other; the token is 16 random bytes from gen_random_uuid() (core
  // PostgreSQL, no pgcrypto needed).
  auto r = connection_.exec(
      "WITH candidates AS ("
      "  SELECT aggregation_jobs.id FROM aggregation_jobs "
      "  JOIN tasks ON tasks.id = aggregation_jobs.task_id "
      "  WHERE aggregation_jobs.state = 'IN_PROGRESS' AND aggregation_jobs.lease_expiry <= $1 "
      "  AND (tasks.report_expiry_age IS NULL "
      "       OR aggregation_jobs.client_timestamp_end >= $1 - tasks.report_expiry_age) "
      "  ORDER BY aggregation_jobs.lease_expiry, aggregation_jobs.id "
      "  FOR UPDATE OF aggregation_jobs SKIP LOCKED LIMIT $3) "
      "UPDATE aggregation_jobs SET lease_expiry = $2, "
      "  lease_token = uuid_send(gen_random_uuid()), lease_attempts = lease_attempts + 1, "
      "  updated_at = now(), updated_by = $4 "
      "FROM candidates, tasks WHERE aggregation_jobs.id = candidates.id "
      "  AND tasks.id = aggregation_jobs.task_id "
      "RETURNING tasks.task_id, aggregation_jobs.aggregation_job_id, tasks.query_type, "
      "  tasks.vdaf, aggregation_jobs.lease_token, aggregation_jobs.lease_expiry, "
      "  aggregation_jobs.lease_attempts",
      pg::Params().uint8(now_).uint8(now_ + lease_duration).uint8(limit).text(name_));
  std::vector<Lease<AcquiredAggregationJob>> leases;
  for (int row = 0; row < r.rows(); ++row) {
    AcquiredAggregationJob acquired{id_from<TaskId>(r, row, 0, "task id"),
                                    id_from<AggregationJobId>(r, row, 1, "aggregation job id"),
                                    query_type_from(r, row, 2), vdaf_from(r, row, 3)};
    leases.push_back(lease_from(std::move(acquired), r, row, 4));
  }
  return leases;
}

void Transaction::release_aggregation_job(const Lease<AcquiredAggregationJob>& lease) {
  auto r = connection_.exec(
      "UPDATE aggregation_jobs SET lease_expiry = 0, lease_token = NULL, lease_attempts = 0, "
      "updated_at = now(), updated_by = $4 "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND aggregation_job_id = $2 "
      "AND lease_token = $3 AND lease_expiry = $5",
      pg::Params()
          .bytea(lease.leased.task_id.span())
          .bytea(lease.leased.aggregation_job_id.span())
          .bytea(lease.token)
          .text(name_)
          .uint8(lease.expiry));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("the lease on aggregation job " +
                                 lease.leased.aggregation_job_id.to_base64url() +
                                 " is no longer held");
  }
}

void Transaction::abandon_aggregation_job(const Lease<AcquiredAggregationJob>& lease) {
  auto r = connection_.exec(
      "UPDATE aggregation_jobs SET state = 'ABANDONED', lease_expiry = 0, lease_token = NULL, "
      "lease_attempts = 0, updated_at = now(), updated_by = $4 "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND aggregation_job_id = $2 "
      "AND lease_token = $3",
      pg::Params()
          .bytea(lease.leased.task_id.span())
          .bytea(lease.leased.aggregation_job_id.span())
          .bytea(lease.token)
          .text(name_));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("the lease on aggregation job " +
                                 lease.leased.aggregation_job_id.to_base64url() +
                                 " is no longer held");
  }
}

// ---- report aggregations ----

void Transaction::put_report_aggregations(
    const std::vector<ReportAggregation>& report_aggregations) {
  if (report_aggregations.empty()) return;
  pg::Params params = report_aggregation_arrays(report_aggregations);
  params.text(name_);
  auto r = connection_.exec(
      "INSERT INTO report_aggregations (task_id, aggregation_job_id, ord, client_report_id, "
      "client_timestamp, last_prep_resp, state, public_share, leader_extensions, "
      "leader_input_share, helper_encrypted_input_share, leader_prep_transition, "
      "helper_prep_state, error_code, updated_by) "
      "SELECT tasks.id, aggregation_jobs.id, r.ord, r.report_id, r.client_timestamp, "
      "  r.last_prep_resp, r.state::report_aggregation_state, r.public_share, "
      "  r.leader_extensions, r.leader_input_share, r.helper_encrypted_input_share, "
      "  r.leader_prep_transition, r.helper_prep_state, NULLIF(r.error_code, -1), $15 FROM " +
          std::string(kReportAggregationArrays) +
          "ON CONFLICT (aggregation_job_id, ord) DO NOTHING",
      params);
  if (r.affected_rows() != report_aggregations.size()) {
    throw MutationTargetAlreadyExists(
        "put_report_aggregations: " +
        std::to_string(report_aggregations.size() - r.affected_rows()) +
        " rows already existed or belong to no stored aggregation job");
  }
}

std::vector<ReportAggregation> Transaction::get_report_aggregations_for_job(
    const TaskId& task_id, const AggregationJobId& job_id) {
  auto r = connection_.exec(
      "SELECT " + std::string(kReportAggregationColumns) +
          " FROM report_aggregations WHERE aggregation_job_id = (SELECT aggregation_jobs.id "
          "FROM aggregation_jobs JOIN tasks ON tasks.id = aggregation_jobs.task_id "
          "WHERE tasks.task_id = $1 AND aggregation_jobs.aggregation_job_id = $2) ORDER BY ord",
      pg::Params().bytea(task_id.span()).bytea(job_id.span()));
  std::vector<ReportAggregation> result;
  for (int row = 0; row < r.rows(); ++row) {
    ReportAggregation ra;
    ra.task_id = task_id;
    ra.aggregation_job_id = job_id;
    ra.ord = r.uint8(row, 0);
    ra.report_id = id_from<ReportId>(r, row, 1, "report id");
    ra.client_timestamp = r.uint8(row, 2);
    ra.last_prep_resp = r.opt_bytea(row, 3);
    ra.state = db_enums::report_aggregation_state_from_db(r.text(row, 4));
    ra.public_share = r.opt_bytea(row, 5);
    ra.leader_extensions = r.opt_bytea(row, 6);
    ra.leader_input_share = r.opt_bytea(row, 7);
    ra.helper_encrypted_input_share = r.opt_bytea(row, 8);
    ra.leader_prep_transition = r.opt_bytea(row, 9);
    ra.helper_prep_state = r.opt_bytea(row, 10);
    if (auto code = r.opt_int8(row, 11)) ra.error_code = static_cast<std::uint8_t>(*code);
    result.push_back(std::move(ra));
  }
  return result;
}

void Transaction::update_report_aggregations(
    const std::vector<ReportAggregation>& report_aggregations) {
  if (report_aggregations.empty()) return;
  pg::Params params = report_aggregation_arrays(report_aggregations);
  params.text(name_);
  auto r = connection_.exec(
      "UPDATE report_aggregations SET last_prep_resp = r.last_prep_resp, "
      "  state = r.state::report_aggregation_state, public_share = r.public_share, "
      "  leader_extensions = r.leader_extensions, leader_input_share = r.leader_input_share, "
      "  helper_encrypted_input_share = r.helper_encrypted_input_share, "
      "  leader_prep_transition = r.leader_prep_transition, "
      "  helper_prep_state = r.helper_prep_state, error_code = NULLIF(r.error_code, -1), "
      "  updated_at = now(), updated_by = $15 FROM " +
          std::string(kReportAggregationArrays) +
          "WHERE report_aggregations.aggregation_job_id = aggregation_jobs.id "
          "AND report_aggregations.ord = r.ord",
      params);
  if (r.affected_rows() != report_aggregations.size()) {
    throw MutationTargetNotFound("update_report_aggregations: " +
                                 std::to_string(report_aggregations.size() - r.affected_rows()) +
                                 " report aggregations are not stored (or were given twice)");
  }
}

void Transaction::lock_client_reports(const TaskId& task_id,
                                      const std::vector<ReportId>& report_ids) {
  if (report_ids.empty()) return;
  std::vector<ByteSpan> ids;
  for (const ReportId& id : report_ids) ids.push_back(id.span());
  // In id order, so that two transactions locking overlapping sets cannot deadlock.
  connection_.exec(
      "SELECT 1 FROM client_reports WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND report_id = ANY($2) ORDER BY report_id FOR UPDATE",
      pg::Params().bytea(task_id.span()).bytea_array(ids));
}

std::map<ReportId, std::vector<Bytes>> Transaction::get_aggregation_parameters_of_reports(
    const TaskId& task_id, const std::vector<ReportId>& report_ids,
    const std::optional<AggregationJobId>& excluding_job_id) {
  std::map<ReportId, std::vector<Bytes>> found;
  if (report_ids.empty()) return found;
  std::vector<ByteSpan> ids;
  for (const ReportId& id : report_ids) ids.push_back(id.span());
  // A job id is 16 bytes: the empty string excludes nothing.
  const Bytes excluded =
      excluding_job_id ? Bytes(excluding_job_id->span().begin(), excluding_job_id->span().end())
                       : Bytes();
  auto r = connection_.exec(
      "SELECT DISTINCT report_aggregations.client_report_id, aggregation_jobs.aggregation_param "
      "FROM report_aggregations "
      "JOIN aggregation_jobs ON aggregation_jobs.id = report_aggregations.aggregation_job_id "
      "WHERE report_aggregations.task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND report_aggregations.client_report_id = ANY($2) "
      "AND aggregation_jobs.aggregation_job_id <> $3",
      pg::Params().bytea(task_id.span()).bytea_array(ids).bytea(excluded));
  for (int row = 0; row < r.rows(); ++row) {
    found[id_from<ReportId>(r, row, 0, "report id")].push_back(r.bytea(row, 1));
  }
  return found;
}

// ---- collection jobs ----

void Transaction::put_collection_job(const CollectionJob& job) {
  pg::Params params;
  params.bytea(job.task_id.span())
      .bytea(job.collection_job_id.span())
      .bytea(job.query)
      .bytea(job.aggregation_parameter)
      .bytea(encode_batch_identifier(job.batch_identifier));
  bind_batch_interval(params, job.batch_identifier);
  params.text(to_db(job.state))
      .uint8(job.report_count)
      .uint8(job.client_timestamp_interval
                 ? std::optional<std::uint64_t>(job.client_timestamp_interval->start)
                 : std::nullopt)
      .uint8(job.client_timestamp_interval
                 ? std::optional<std::uint64_t>(interval_end(*job.client_timestamp_interval))
                 : std::nullopt)
      .bytea(job.helper_aggregate_share)
      .bytea(job.leader_aggregate_share)
      .text(name_);
  auto r = connection_.exec(
      "INSERT INTO collection_jobs (task_id, collection_job_id, query, aggregation_param, "
      "batch_identifier, batch_interval_start, batch_interval_end, state, report_count, "
      "client_timestamp_start, client_timestamp_end, helper_aggregate_share, "
      "leader_aggregate_share, updated_by) "
      "SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM tasks "
      "WHERE task_id = $1 ON CONFLICT (task_id, collection_job_id) DO NOTHING",
      params);
  if (r.affected_rows() == 0)
    throw_insert_conflict(
        connection_, job.task_id,
        "collection job " + job.collection_job_id.to_base64url() + " already exists");
}

std::optional<CollectionJob> Transaction::get_collection_job(const TaskId& task_id,
                                                             const CollectionJobId& job_id) {
  auto r = connection_.exec(
      "SELECT " + std::string(kCollectionJobColumns) +
          " FROM collection_jobs WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND collection_job_id = $2",
      pg::Params().bytea(task_id.span()).bytea(job_id.span()));
  if (r.rows() == 0) return std::nullopt;
  return read_collection_job(task_id, r, 0);
}

void Transaction::update_collection_job(const CollectionJob& job) {
  auto r = connection_.exec(
      "UPDATE collection_jobs SET state = $3, report_count = $4, client_timestamp_start = $5, "
      "client_timestamp_end = $6, helper_aggregate_share = $7, leader_aggregate_share = $8, "
      "updated_at = now(), updated_by = $9 "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND collection_job_id = $2",
      pg::Params()
          .bytea(job.task_id.span())
          .bytea(job.collection_job_id.span())
          .text(to_db(job.state))
          .uint8(job.report_count)
          .uint8(job.client_timestamp_interval
                     ? std::optional<std::uint64_t>(job.client_timestamp_interval->start)
                     : std::nullopt)
          .uint8(job.client_timestamp_interval
                     ? std::optional<std::uint64_t>(interval_end(*job.client_timestamp_interval))
                     : std::nullopt)
          .bytea(job.helper_aggregate_share)
          .bytea(job.leader_aggregate_share)
          .text(name_));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("no collection job " + job.collection_job_id.to_base64url());
  }
}

std::vector<CollectionJob> Transaction::get_collection_jobs_for_batch(
    const TaskId& task_id, const BatchIdentifier& batch_identifier) {
  auto r = connection_.exec(
      "SELECT " + std::string(kCollectionJobColumns) +
          " FROM collection_jobs WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_identifier = $2 ORDER BY id",
      pg::Params().bytea(task_id.span()).bytea(encode_batch_identifier(batch_identifier)));
  std::vector<CollectionJob> jobs;
  for (int row = 0; row < r.rows(); ++row) jobs.push_back(read_collection_job(task_id, r, row));
  return jobs;
}

std::vector<CollectionJob> Transaction::get_collection_jobs_intersecting_interval(
    const TaskId& task_id, const Interval& interval) {
  auto r = connection_.exec(
      "SELECT " + std::string(kCollectionJobColumns) +
          " FROM collection_jobs WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND batch_interval_start < $3 AND batch_interval_end > $2 ORDER BY id",
      pg::Params().bytea(task_id.span()).uint8(interval.start).uint8(interval_end(interval)));
  std::vector<CollectionJob> jobs;
  for (int row = 0; row < r.rows(); ++row) jobs.push_back(read_collection_job(task_id, r, row));
  return jobs;
}

std::vector<CollectionJob> Transaction::get_collection_jobs_for_task(const TaskId& task_id) {
  auto r = connection_.exec(
      "SELECT " + std::string(kCollectionJobColumns) +
          " FROM collection_jobs WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "ORDER BY id",
      pg::Params().bytea(task_id.span()));
  std::vector<CollectionJob> jobs;
  for (int row = 0; row < r.rows(); ++row) jobs.push_back(read_collection_job(task_id, r, row));
  return jobs;
}

std::vector<std::pair<AggregationJobId, Transaction::JobLeaseState>>
Transaction::get_aggregation_job_leases_for_task(const TaskId& task_id) {
  auto r = connection_.exec(
      "SELECT aggregation_job_id, lease_expiry, lease_attempts FROM aggregation_jobs "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) ORDER BY id",
      pg::Params().bytea(task_id.span()));
  std::vector<std::pair<AggregationJobId, JobLeaseState>> leases;
  for (int row = 0; row < r.rows(); ++row) {
    leases.emplace_back(id_from<AggregationJobId>(r, row, 0, "aggregation job id"),
                        JobLeaseState{r.uint8(row, 1), r.uint8(row, 2)});
  }
  return leases;
}

std::vector<std::pair<CollectionJobId, Transaction::JobLeaseState>>
Transaction::get_collection_job_leases_for_task(const TaskId& task_id) {
  auto r = connection_.exec(
      "SELECT collection_job_id, lease_expiry, lease_attempts FROM collection_jobs "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) ORDER BY id",
      pg::Params().bytea(task_id.span()));
  std::vector<std::pair<CollectionJobId, JobLeaseState>> leases;
  for (int row = 0; row < r.rows(); ++row) {
    leases.emplace_back(id_from<CollectionJobId>(r, row, 0, "collection job id"),
                        JobLeaseState{r.uint8(row, 1), r.uint8(row, 2)});
  }
  return leases;
}

std::vector<Lease<AcquiredCollectionJob>> Transaction::acquire_incomplete_collection_jobs(
    Duration lease_duration, std::uint64_t limit) {
  auto r = connection_.exec(
      "WITH candidates AS ("
      "  SELECT collection_jobs.id FROM collection_jobs "
      "  WHERE collection_jobs.state = 'START' AND collection_jobs.lease_expiry <= $1 "
      "  ORDER BY collection_jobs.lease_expiry, collection_jobs.id "
      "  FOR UPDATE SKIP LOCKED LIMIT $3) "
      "UPDATE collection_jobs SET lease_expiry = $2, "
      "  lease_token = uuid_send(gen_random_uuid()), lease_attempts = lease_attempts + 1, "
      "  updated_at = now(), updated_by = $4 "
      "FROM candidates, tasks WHERE collection_jobs.id = candidates.id "
      "  AND tasks.id = collection_jobs.task_id "
      "RETURNING tasks.task_id, collection_jobs.collection_job_id, tasks.query_type, "
      "  tasks.vdaf, collection_jobs.step_attempts, collection_jobs.lease_token, "
      "  collection_jobs.lease_expiry, collection_jobs.lease_attempts",
      pg::Params().uint8(now_).uint8(now_ + lease_duration).uint8(limit).text(name_));
  std::vector<Lease<AcquiredCollectionJob>> leases;
  for (int row = 0; row < r.rows(); ++row) {
    AcquiredCollectionJob acquired{id_from<TaskId>(r, row, 0, "task id"),
                                   id_from<CollectionJobId>(r, row, 1, "collection job id"),
                                   query_type_from(r, row, 2), vdaf_from(r, row, 3),
                                   r.uint8(row, 4)};
    leases.push_back(lease_from(std::move(acquired), r, row, 5));
  }
  return leases;
}

void Transaction::release_collection_job(const Lease<AcquiredCollectionJob>& lease,
                                         std::optional<Duration> reacquire_delay) {
  auto r = connection_.exec(
      "UPDATE collection_jobs SET lease_expiry = $4, lease_token = NULL, lease_attempts = 0, "
      "step_attempts = step_attempts + $5, updated_at = now(), updated_by = $6 "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND collection_job_id = $2 "
      "AND lease_token = $3 AND lease_expiry = $7",
      pg::Params()
          .bytea(lease.leased.task_id.span())
          .bytea(lease.leased.collection_job_id.span())
          .bytea(lease.token)
          .uint8(reacquire_delay ? now_ + *reacquire_delay : 0)
          .int8(reacquire_delay ? 1 : 0)
          .text(name_)
          .uint8(lease.expiry));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("the lease on collection job " +
                                 lease.leased.collection_job_id.to_base64url() +
                                 " is no longer held");
  }
}

}  // namespace janus
