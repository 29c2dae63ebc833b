// Transaction methods: client reports (the upload path and the job creator's claims).
#include <algorithm>
#include <map>
#include <set>

#include "tx_util.h"

namespace janus {

using namespace tx_util;

namespace {

constexpr std::string_view kReportColumns =
    "report_id, client_timestamp, extensions, public_share, leader_input_share, "
    "helper_encrypted_input_share";

LeaderStoredReport read_report(const TaskId& task_id, const pg::Result& r, int row) {
  LeaderStoredReport report;
  report.task_id = task_id;
  report.report_id = id_from<ReportId>(r, row, 0, "report id");
  report.client_timestamp = r.uint8(row, 1);
  report.extensions = value_or_empty(r.opt_bytea(row, 2));
  report.public_share = value_or_empty(r.opt_bytea(row, 3));
  report.leader_input_share = value_or_empty(r.opt_bytea(row, 4));
  report.helper_encrypted_input_share = value_or_empty(r.opt_bytea(row, 5));
  return report;
}

}  // namespace

std::vector<bool> Transaction::put_client_reports(const std::vector<LeaderStoredReport>& reports) {
  if (reports.empty()) return {};
  std::vector<ByteSpan> task_ids, report_ids, extensions, public_shares, leader_shares,
      helper_shares;
  std::vector<std::int64_t> timestamps;
  for (const auto& report : reports) {
    task_ids.push_back(report.task_id.span());
    report_ids.push_back(report.report_id.span());
    timestamps.push_back(static_cast<std::int64_t>(report.client_timestamp));
    extensions.push_back(report.extensions);
    public_shares.push_back(report.public_share);
    leader_shares.push_back(report.leader_input_share);
    helper_shares.push_back(report.helper_encrypted_input_share);
    if (report.client_timestamp > static_cast<std::uint64_t>(INT64_MAX)) {
      throw DatastoreError("report timestamp out of range");
    }
  }
  // One statement: unnest the columns, insert what is new, and say per input row whether
  // its task exists and whether it was inserted.
  auto r = connection_.exec(
      "WITH input AS ("
      "  SELECT * FROM unnest($1::BYTEA[], $2::BYTEA[], $3::BIGINT[], $4::BYTEA[], "
      "    $5::BYTEA[], $6::BYTEA[], $7::BYTEA[]) WITH ORDINALITY AS r(task_id, report_id, "
      "    client_timestamp, extensions, public_share, leader_input_share, "
      "    helper_encrypted_input_share, n)), "
      "known AS (SELECT input.*, tasks.id AS task_row FROM input "
      "  LEFT JOIN tasks ON tasks.task_id = input.task_id), "
      "inserted AS ("
      "  INSERT INTO client_reports (task_id, report_id, client_timestamp, extensions, "
      "    public_share, leader_input_share, helper_encrypted_input_share, updated_by) "
      "  SELECT task_row, report_id, client_timestamp, extensions, public_share, "
      "    leader_input_share, helper_encrypted_input_share, $8 FROM known "
      "  WHERE task_row IS NOT NULL ORDER BY n "
      "  ON CONFLICT (task_id, report_id) DO NOTHING RETURNING task_id, report_id) "
      "SELECT known.n, known.task_row IS NOT NULL, inserted.report_id IS NOT NULL FROM known "
      "LEFT JOIN inserted ON inserted.task_id = known.task_row "
      "  AND inserted.report_id = known.report_id ORDER BY known.n",
      pg::Params()
          .bytea_array(task_ids)
          .bytea_array(report_ids)
          .int8_array(timestamps)
          .bytea_array(extensions)
          .bytea_array(public_shares)
          .bytea_array(leader_shares)
          .bytea_array(helper_shares)
          .text(name_));
  if (r.rows() != static_cast<int>(reports.size())) {
    throw DatastoreError("put_client_reports: unexpected result size");
  }
  std::vector<bool> inserted(reports.size());
  std::set<std::pair<TaskId, ReportId>> seen;
  for (int row = 0; row < r.rows(); ++row) {
    std::size_t index = static_cast<std::size_t>(r.int8(row, 0) - 1);
    const auto& report = reports.at(index);
    if (!r.boolean(row, 1)) throw_task_not_found(report.task_id);
    // A report repeated within the batch was inserted once, by its first occurrence.
    bool first = seen.emplace(report.task_id, report.report_id).second;
    inserted[index] = r.boolean(row, 2) && first;
  }
  return inserted;
}

void Transaction::put_client_report(const LeaderStoredReport& report) {
  auto r = connection_.exec(
      "INSERT INTO client_reports (task_id, report_id, client_timestamp, extensions, "
      "public_share, leader_input_share, helper_encrypted_input_share, updated_by) "
      "SELECT id, $2, $3, $4, $5, $6, $7, $8 FROM tasks WHERE task_id = $1 "
      "ON CONFLICT (task_id, report_id) DO NOTHING",
      pg::Params()
          .bytea(report.task_id.span())
          .bytea(report.report_id.span())
          .uint8(report.client_timestamp)
          .bytea(report.extensions)
          .bytea(report.public_share)
          .bytea(report.leader_input_share)
          .bytea(report.helper_encrypted_input_share)
          .text(name_));
  if (r.affected_rows() == 0)
    throw_insert_conflict(connection_, report.task_id,
                          "report " + report.report_id.to_base64url() + " already stored");
}

std::optional<LeaderStoredReport> Transaction::get_client_report(const TaskId& task_id,
                                                                 const ReportId& report_id) {
  auto r = connection_.exec(
      "SELECT " + std::string(kReportColumns) +
          " FROM client_reports WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "AND report_id = $2 AND leader_input_share IS NOT NULL",
      pg::Params().bytea(task_id.span()).bytea(report_id.span()));
  if (r.rows() == 0) return std::nullopt;
  return read_report(task_id, r, 0);
}

std::set<ReportId> Transaction::put_scrubbed_reports(const TaskId& task_id,
                                                     const std::vector<ReportMetadata>& reports) {
  std::set<ReportId> recorded;
  if (reports.empty()) return recorded;
  std::vector<ByteSpan> ids;
  std::vector<std::int64_t> timestamps;
  for (const ReportMetadata& report : reports) {
    if (report.time > static_cast<std::uint64_t>(INT64_MAX)) {
      throw DatastoreError("report timestamp out of range");
    }
    ids.push_back(report.id.span());
    timestamps.push_back(static_cast<std::int64_t>(report.time));
  }
  auto r = connection_.exec(
      "INSERT INTO client_reports (task_id, report_id, client_timestamp, aggregation_started, "
      "updated_by) SELECT tasks.id, r.report_id, r.client_timestamp, TRUE, $4 "
      "FROM tasks, unnest($2::BYTEA[], $3::BIGINT[]) AS r(report_id, client_timestamp) "
      "WHERE tasks.task_id = $1 ON CONFLICT (task_id, report_id) DO NOTHING RETURNING report_id",
      pg::Params().bytea(task_id.span()).bytea_array(ids).int8_array(timestamps).text(name_));
  for (int row = 0; row < r.rows(); ++row) {
    recorded.insert(id_from<ReportId>(r, row, 0, "report id"));
  }
  if (recorded.empty() && !task_exists(connection_, task_id)) throw_task_not_found(task_id);
  return recorded;
}

std::vector<ReportMetadata> Transaction::lock_unaggregated_client_reports(const TaskId& task_id,
                                                                          std::uint64_t limit) {
  auto r = connection_.exec(
      "SELECT report_id, client_timestamp FROM client_reports "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND aggregation_started = FALSE ORDER BY client_timestamp LIMIT $2 "
      "FOR UPDATE SKIP LOCKED",
      pg::Params().bytea(task_id.span()).uint8(limit));
  std::vector<ReportMetadata> reports;
  reports.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    reports.push_back({id_from<ReportId>(r, row, 0, "report id"), r.uint8(row, 1)});
  }
  return reports;
}

void Transaction::start_aggregation_of_client_reports(const TaskId& task_id,
                                                      const AggregationJobId& job_id,
                                                      const std::vector<ReportId>& report_ids,
                                                      ReportShares shares) {
  if (report_ids.empty()) return;
  const bool scrub = shares == ReportShares::Scrub;
  std::vector<ByteSpan> ids;
  for (const ReportId& id : report_ids) ids.push_back(id.span());
  pg::Params params;
  params.bytea(task_id.span()).bytea(job_id.span()).bytea_array(ids).text(name_);
  // The shares move from the report to its report aggregation without leaving the server.
  // A report that keeps its shares may already be in other jobs (other parameters).
  auto inserted = connection_.exec(
      std::string(
          "INSERT INTO report_aggregations (task_id, aggregation_job_id, ord, client_report_id, "
          "client_timestamp, state, public_share, leader_extensions, leader_input_share, "
          "helper_encrypted_input_share, updated_by) "
          "SELECT c.task_id, j.id, r.ord - 1, c.report_id, c.client_timestamp, 'START_LEADER', "
          "  c.public_share, c.extensions, c.leader_input_share, c.helper_encrypted_input_share, "
          "  $4 "
          "FROM unnest($3::BYTEA[]) WITH ORDINALITY AS r(report_id, ord) "
          "JOIN client_reports c ON c.report_id = r.report_id "
          "  AND c.task_id = (SELECT id FROM tasks WHERE task_id = $1) "
          "JOIN aggregation_jobs j ON j.task_id = c.task_id AND j.aggregation_job_id = $2 "
          "WHERE c.leader_input_share IS NOT NULL") +
          (scrub ? " AND c.aggregation_started = FALSE" : ""),
      params);
  // aggregation_started keeps kept reports out of the once-only path too
  // (lock_unaggregated_client_reports and its readiness test).
  auto started = connection_.exec(
      std::string("UPDATE client_reports SET aggregation_started = TRUE, ") +
          (scrub ? "extensions = NULL, public_share = NULL, leader_input_share = NULL, "
                   "helper_encrypted_input_share = NULL, "
                 : "") +
          "updated_at = now(), updated_by = $3 "
          "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) AND report_id = ANY($2) "
          "AND aggregation_started = FALSE",
      pg::Params().bytea(task_id.span()).bytea_array(ids).text(name_));
  if (inserted.affected_rows() != report_ids.size() ||
      (scrub && started.affected_rows() != report_ids.size())) {
    throw MutationTargetNotFound(
        "start_aggregation_of_client_reports: " +
        std::to_string(report_ids.size() - inserted.affected_rows()) + " reports are not stored " +
        (scrub ? "unaggregated" : "with their shares") + " (or were given twice)");
  }
}

std::vector<ReportForCollection> Transaction::lock_client_reports_for_collections(
    const TaskId& task_id, std::uint64_t limit) {
  // FOR UPDATE does not combine with DISTINCT: two collection jobs with the same interval and
  // parameter give a pair twice, and the pairs are made unique here.
  auto r = connection_.exec(
      "SELECT cj.aggregation_param, c.report_id, c.client_timestamp "
      "FROM collection_jobs cj JOIN client_reports c ON c.task_id = cj.task_id "
      "  AND c.client_timestamp >= cj.batch_interval_start "
      "  AND c.client_timestamp < cj.batch_interval_end "
      "WHERE cj.task_id = (SELECT id FROM tasks WHERE task_id = $1) AND cj.state = 'START' "
      "AND c.leader_input_share IS NOT NULL "
      "AND NOT EXISTS (SELECT 1 FROM report_aggregations ra "
      "  JOIN aggregation_jobs j ON j.id = ra.aggregation_job_id "
      "  WHERE ra.task_id = c.task_id AND ra.client_report_id = c.report_id "
      "  AND j.aggregation_param = cj.aggregation_param) "
      "ORDER BY c.client_timestamp, c.report_id LIMIT $2 FOR UPDATE OF c SKIP LOCKED",
      pg::Params().bytea(task_id.span()).uint8(limit));
  std::vector<ReportForCollection> reports;
  std::map<Bytes, std::set<ReportId>, BytesLess> seen;  // parameter → reports
  for (int row = 0; row < r.rows(); ++row) {
    ReportForCollection report{r.bytea(row, 0),
                               {id_from<ReportId>(r, row, 1, "report id"), r.uint8(row, 2)}};
    if (seen[report.aggregation_parameter].insert(report.report.id).second) {
      reports.push_back(std::move(report));
    }
  }
  return reports;
}

std::uint64_t Transaction::count_client_reports_in_interval(const TaskId& task_id,
                                                            const Interval& interval) {
  auto r = connection_.exec(
      "SELECT count(*) FROM client_reports "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND client_timestamp >= $2 AND client_timestamp < $3",
      pg::Params().bytea(task_id.span()).uint8(interval.start).uint8(interval_end(interval)));
  return r.uint8(0, 0);
}

bool Transaction::interval_has_unaggregated_reports(const TaskId& task_id,
                                                    const Interval& interval) {
  auto r = connection_.exec(
      "SELECT EXISTS(SELECT 1 FROM client_reports "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND client_timestamp >= $2 AND client_timestamp < $3 AND aggregation_started = FALSE)",
      pg::Params().bytea(task_id.span()).uint8(interval.start).uint8(interval_end(interval)));
  return r.boolean(0, 0);
}

bool Transaction::interval_has_reports_unaggregated_under(const TaskId& task_id,
                                                          const Interval& interval,
                                                          ByteSpan aggregation_parameter) {
  auto r = connection_.exec(
      "SELECT EXISTS(SELECT 1 FROM client_reports c "
      "WHERE c.task_id = (SELECT id FROM tasks WHERE task_id = $1) "
      "AND c.client_timestamp >= $2 AND c.client_timestamp < $3 "
      "AND NOT EXISTS (SELECT 1 FROM report_aggregations ra "
      "  JOIN aggregation_jobs j ON j.id = ra.aggregation_job_id "
      "  WHERE ra.task_id = c.task_id AND ra.client_report_id = c.report_id "
      "  AND j.aggregation_param = $4))",
      pg::Params()
          .bytea(task_id.span())
          .uint8(interval.start)
          .uint8(interval_end(interval))
          .bytea(aggregation_parameter));
  return r.boolean(0, 0);
}

}  // namespace janus
