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

}  // namespace janus::tx_util
