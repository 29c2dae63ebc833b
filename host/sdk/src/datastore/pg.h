// A thin RAII layer over libpq, private to the datastore. libpq rather than Poco::Data
// because the datastore needs what Poco 1.11 hides: the SQLSTATE of an error (to classify
// serialization failures and unique violations in one place), empty BYTEA kept distinct from
// NULL, binary parameters and results, prepared statements and array parameters (one round
// trip for a batch of rows). See toolchain-notes.md pitfalls 2–4.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "janus/bytes.h"
#include "janus/datastore.h"

struct pg_conn;
struct pg_result;

namespace janus::pg {

// SQLSTATE codes the datastore reacts to.
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kUndefinedTable = "42P01";

// The one classifier of retryable database errors.
bool is_retryable_sqlstate(std::string_view sqlstate);

// A database error with its SQLSTATE ("" when the connection itself failed).
class PgError : public DatastoreError {
 public:
  PgError(std::string sqlstate, const std::string& message)
      : DatastoreError(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool retryable() const { return is_retryable_sqlstate(sqlstate_); }

 private:
  std::string sqlstate_;
};

// Positional parameters ($1, $2, …), each sent with an explicit type in binary form
// (text for text-like values, whose type the server infers from the statement).
class Params {
 public:
  Params& int8(std::int64_t value);
  Params& int8(std::optional<std::int64_t> value);
  Params& uint8(std::uint64_t value);  // throws DatastoreError above INT64_MAX
  Params& uint8(std::optional<std::uint64_t> value);
  Params& boolean(bool value);
  Params& bytea(ByteSpan value);
  Params& bytea(const Bytes& value) { return bytea(ByteSpan(value)); }
  Params& bytea(const std::optional<Bytes>& value);
  Params& text(std::string_view value);  // also enums and JSONB (type inferred)
  Params& text(const std::string& value) { return text(std::string_view(value)); }
  Params& text(const char* value) { return text(std::string_view(value)); }
  Params& text(const std::optional<std::string>& value);
  Params& bytea_array(const std::vector<ByteSpan>& values);
  Params& bytea_array(const std::vector<std::optional<ByteSpan>>& values);
  Params& int8_array(const std::vector<std::int64_t>& values);
  Params& text_array(const std::vector<std::string>& values);

  std::size_t size() const { return values_.size(); }
  std::string type_signature() const;

 private:
  friend class Connection;
  void push(unsigned type, int format, std::optional<std::string> value);
  std::vector<unsigned> types_;
  std::vector<int> formats_;
  std::vector<std::optional<std::string>> values_;
};

// A query result in binary format.
class Result {
 public:
  explicit Result(pg_result* result);
  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  std::int64_t int8(int row, int column) const;    // accepts int2/int4/int8 columns
  std::uint64_t uint8(int row, int column) const;  // throws on a negative value
  bool boolean(int row, int column) const;
  Bytes bytea(int row, int column) const;
  std::string text(int row, int column) const;  // text, enum, json and jsonb columns
  std::optional<std::int64_t> opt_int8(int row, int column) const;
  std::optional<std::uint64_t> opt_uint8(int row, int column) const;
  std::optional<Bytes> opt_bytea(int row, int column) const;
  std::optional<std::string> opt_text(int row, int column) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  std::uint64_t affected_rows() const;
  std::string command_status() const;

 private:
  std::string_view raw(int row, int column) const;
  std::shared_ptr<pg_result> result_;
};

// libpq connection keywords from a Janus DatabaseConfig: the URL as given
// (postgres://user@host:port/db?sslmode=…), a password from the config or PGPASSWORD
// overriding the URL's, the TLS trust store as sslrootcert.
std::vector<std::pair<std::string, std::string>> connection_keywords(const DatabaseConfig& config);

// The URL with any password replaced by "***", for error messages.
std::string redact_url(std::string_view url);

class Connection {
 public:
  // Throws PgError when the server cannot be reached; `timeout_s` bounds the connect.
  explicit Connection(const std::vector<std::pair<std::string, std::string>>& keywords,
                      std::uint64_t connect_timeout_s = 0);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement with parameters, as a cached prepared statement.
  Result exec(std::string_view sql, const Params& params = Params());
  // One or more statements without parameters (simple query protocol), e.g. a migration
  // or COMMIT. Returns the last statement's command status ("COMMIT", "ROLLBACK", …).
  std::string exec_script(std::string_view sql);
  bool healthy() const;
  // After LISTEN: waits up to `timeout` for a notification (NOTIFY) on this connection;
  // true if one (or more) arrived. Throws PgError when the connection is lost.
  bool wait_for_notification(std::chrono::milliseconds timeout);
  pg_conn* raw() { return conn_; }
  // The SQLSTATE of the last failed statement since the last clear, so that a retryable
  // failure is still recognised when a caller caught and rethrew it as something else.
  const std::string& last_error_sqlstate() const { return last_error_sqlstate_; }
  void clear_last_error() { last_error_sqlstate_.clear(); }

 private:
  [[noreturn]] void throw_error(pg_result* result, std::string_view what);
  pg_conn* conn_ = nullptr;
  std::string last_error_sqlstate_;
  std::unordered_map<std::string, std::string> prepared_;  // sql + types → statement name
};

}  // namespace janus::pg
