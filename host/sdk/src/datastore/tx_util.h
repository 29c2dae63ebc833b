// Helpers shared by the Transaction method files (transaction_*.cpp).
#pragma once

#include <string>

#include "db_enums.h"
#include "janus/datastore.h"
#include "pg.h"

namespace janus::tx_util {

[[noreturn]] inline void throw_task_not_found(const TaskId& task_id) {
  throw MutationTargetNotFound("no task " + task_id.to_base64url());
}

inline bool task_exists(pg::Connection& connection, const TaskId& task_id) {
  return connection
             .exec("SELECT 1 FROM tasks WHERE task_id = $1", pg::Params().bytea(task_id.span()))
             .rows() > 0;
}

// An `INSERT … SELECT … FROM tasks WHERE task_id = $1 ON CONFLICT DO NOTHING`
// that wrote no row: either the task does not exist or the row already does.
[[noreturn]] inline void throw_insert_conflict(pg::Connection& connection, const TaskId& task_id,
                                               const std::string& existing_row) {
  if (!task_exists(connection, task_id)) throw_task_not_found(task_id);
  throw MutationTargetAlreadyExists(existing_row);
}

// NULL (a column never written) reads as empty.
inline Bytes value_or_empty(const std::optional<Bytes>& value) { return value ? *value : Bytes(); }

template <typename Id>
Id id_from(const pg::Result& result, int row, int column, const char* what) {
  auto id = Id::from_bytes(result.bytea(row, column));
  if (!id) throw DatastoreError(std::string("malformed ") + what + " in the database");
  return *id;
}

inline Interval interval_from_bounds(std::uint64_t start, std::uint64_t end) {
  if (end < start) throw DatastoreError("stored interval ends before it starts");
  return Interval{start, end - start};
}

inline std::uint64_t interval_end(const Interval& interval) {
  if (interval.start > UINT64_MAX - interval.duration) {
    throw DatastoreError("interval end overflows");
  }
  return interval.start + interval.duration;
}

// The [start, end) bounds stored beside a time_interval batch identifier (NULL for
// fixed_size).
inline void bind_batch_interval(pg::Params& params, const BatchIdentifier& identifier) {
  if (const auto* interval = std::get_if<Interval>(&identifier)) {
    params.uint8(interval->start).uint8(interval_end(*interval));
  } else {
    params.uint8(std::optional<std::uint64_t>()).uint8(std::optional<std::uint64_t>());
  }
}

// ---- taskprov peers: the associated data of their encrypted columns, as Janus binds it ----
inline constexpr std::string_view kPeerTable = "taskprov_peer_aggregator";
inline constexpr std::string_view kAggregatorTokensTable = "taskprov_aggregator_auth_tokens";
inline constexpr std::string_view kCollectorTokensTable = "taskprov_collector_auth_tokens";

inline Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

// A peer token row: endpoint ‖ DAP role byte ‖ be64(ord).
inline Bytes taskprov_token_row(std::string_view endpoint, Role role, std::int64_t ord) {
  Bytes row = text_bytes(endpoint);
  row.push_back(static_cast<std::uint8_t>(role));
  for (int shift = 56; shift >= 0; shift -= 8) {
    row.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(ord) >> shift));
  }
  return row;
}

}  // namespace janus::tx_util
