#include "pg.h"

#include <poll.h>

#include <cerrno>

#include <libpq-fe.h>

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>
#include <limits>

namespace janus::pg {
namespace {

// Type OIDs (pg_type.dat); stable across PostgreSQL versions.
constexpr unsigned kBoolOid = 16;
constexpr unsigned kByteaOid = 17;
constexpr unsigned kInt8Oid = 20;
constexpr unsigned kInt2Oid = 21;
constexpr unsigned kInt4Oid = 23;
constexpr unsigned kJsonbOid = 3802;
constexpr unsigned kByteaArrayOid = 1001;
constexpr unsigned kInt8ArrayOid = 1016;
constexpr unsigned kTextOid = 25;
constexpr unsigned kTextArrayOid = 1009;

void append_be32(std::string& out, std::uint32_t value) {
  std::uint32_t be = htonl(value);
  out.append(reinterpret_cast<const char*>(&be), 4);
}

void append_be64(std::string& out, std::uint64_t value) {
  append_be32(out, static_cast<std::uint32_t>(value >> 32));
  append_be32(out, static_cast<std::uint32_t>(value));
}

std::uint64_t read_be(std::string_view data) {
  std::uint64_t value = 0;
  for (unsigned char c : data) value = (value << 8) | c;
  return value;
}

// PostgreSQL's binary array format: ndim, has-null flag, element type, then per dimension
// its length and lower bound, then each element as a length-prefixed value (-1: NULL).
template <typename Elements, typename Write>
std::string encode_array(unsigned element_oid, const Elements& elements, bool has_null,
                         Write write_element) {
  std::string out;
  append_be32(out, elements.empty() ? 0 : 1);
  append_be32(out, has_null ? 1 : 0);
  append_be32(out, element_oid);
  if (!elements.empty()) {
    append_be32(out, static_cast<std::uint32_t>(elements.size()));
    append_be32(out, 1);
  }
  for (const auto& element : elements) write_element(out, element);
  return out;
}

std::string error_message(PGconn* conn, PGresult* result) {
  std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
  if (message.empty() && conn != nullptr) message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace

bool is_retryable_sqlstate(std::string_view sqlstate) {
  return sqlstate == kSerializationFailure || sqlstate == kDeadlockDetected;
}

// ---- Params ----

void Params::push(unsigned type, int format, std::optional<std::string> value) {
  types_.push_back(type);
  formats_.push_back(format);
  values_.push_back(std::move(value));
}

Params& Params::int8(std::int64_t value) {
  std::string out;
  append_be64(out, static_cast<std::uint64_t>(value));
  push(kInt8Oid, 1, std::move(out));
  return *this;
}

Params& Params::int8(std::optional<std::int64_t> value) {
  if (value) return int8(*value);
  push(kInt8Oid, 1, std::nullopt);
  return *this;
}

Params& Params::uint8(std::uint64_t value) {
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw DatastoreError("value " + std::to_string(value) + " does not fit a BIGINT column");
  }
  return int8(static_cast<std::int64_t>(value));
}

Params& Params::uint8(std::optional<std::uint64_t> value) {
  if (value) return uint8(*value);
  push(kInt8Oid, 1, std::nullopt);
  return *this;
}

Params& Params::boolean(bool value) {
  push(kBoolOid, 1, std::string(1, value ? '\1' : '\0'));
  return *this;
}

Params& Params::bytea(ByteSpan value) {
  push(kByteaOid, 1, std::string(reinterpret_cast<const char*>(value.data()), value.size()));
  return *this;
}

Params& Params::bytea(const std::optional<Bytes>& value) {
  if (value) return bytea(ByteSpan(*value));
  push(kByteaOid, 1, std::nullopt);
  return *this;
}

Params& Params::text(std::string_view value) {
  push(0, 0, std::string(value));
  return *this;
}

Params& Params::text(const std::optional<std::string>& value) {
  if (value) return text(std::string_view(*value));
  push(0, 0, std::nullopt);
  return *this;
}

Params& Params::bytea_array(const std::vector<ByteSpan>& values) {
  push(kByteaArrayOid, 1,
       encode_array(kByteaOid, values, false, [](std::string& out, ByteSpan element) {
         append_be32(out, static_cast<std::uint32_t>(element.size()));
         out.append(reinterpret_cast<const char*>(element.data()), element.size());
       }));
  return *this;
}

Params& Params::bytea_array(const std::vector<std::optional<ByteSpan>>& values) {
  bool has_null = false;
  for (const auto& value : values) has_null = has_null || !value;
  push(kByteaArrayOid, 1,
       encode_array(kByteaOid, values, has_null,
                    [](std::string& out, const std::optional<ByteSpan>& element) {
                      if (!element) {
                        append_be32(out, 0xFFFFFFFFu);
                        return;
                      }
                      append_be32(out, static_cast<std::uint32_t>(element->size()));
                      out.append(reinterpret_cast<const char*>(element->data()), element->size());
                    }));
  return *this;
}

Params& Params::int8_array(const std::vector<std::int64_t>& values) {
  push(kInt8ArrayOid, 1,
       encode_array(kInt8Oid, values, false, [](std::string& out, std::int64_t element) {
         append_be32(out, 8);
         append_be64(out, static_cast<std::uint64_t>(element));
       }));
  return *this;
}

Params& Params::text_array(const std::vector<std::string>& values) {
  push(kTextArrayOid, 1,
       encode_array(kTextOid, values, false, [](std::string& out, const std::string& element) {
         append_be32(out, static_cast<std::uint32_t>(element.size()));
         out.append(element);
       }));
  return *this;
}

std::string Params::type_signature() const {
  std::string signature;
  for (unsigned type : types_) signature += std::to_string(type) + ",";
  return signature;
}

// ---- Result ----

Result::Result(pg_result* result) : result_(result, PQclear) {}

int Result::rows() const { return PQntuples(result_.get()); }
int Result::columns() const { return PQnfields(result_.get()); }

bool Result::is_null(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string_view Result::raw(int row, int column) const {
  if (row < 0 || row >= rows() || column < 0 || column >= columns()) {
    throw DatastoreError("result has no row " + std::to_string(row) + " column " +
                         std::to_string(column));
  }
  if (is_null(row, column)) {
    throw DatastoreError(std::string("unexpected NULL in column ") +
                         PQfname(result_.get(), column));
  }
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t Result::int8(int row, int column) const {
  std::string_view data = raw(row, column);
  unsigned type = PQftype(result_.get(), column);
  std::size_t expected = type == kInt8Oid ? 8 : type == kInt4Oid ? 4 : type == kInt2Oid ? 2 : 0;
  if (expected == 0 || data.size() != expected) {
    throw DatastoreError(std::string("column ") + PQfname(result_.get(), column) +
                         " is not an integer");
  }
  std::uint64_t value = read_be(data);
  // Sign-extend the narrower types.
  unsigned shift = 64 - 8 * static_cast<unsigned>(expected);
  return static_cast<std::int64_t>(value << shift) >> shift;
}

std::uint64_t Result::uint8(int row, int column) const {
  std::int64_t value = int8(row, column);
  if (value < 0) {
    throw DatastoreError(std::string("column ") + PQfname(result_.get(), column) +
                         " holds a negative value");
  }
  return static_cast<std::uint64_t>(value);
}

bool Result::boolean(int row, int column) const {
  std::string_view data = raw(row, column);
  if (PQftype(result_.get(), column) != kBoolOid || data.size() != 1) {
    throw DatastoreError(std::string("column ") + PQfname(result_.get(), column) +
                         " is not a boolean");
  }
  return data[0] != 0;
}

Bytes Result::bytea(int row, int column) const {
  std::string_view data = raw(row, column);
  return Bytes(data.begin(), data.end());
}

std::string Result::text(int row, int column) const {
  std::string_view data = raw(row, column);
  // Binary JSONB is a version byte (1) followed by the text.
  if (PQftype(result_.get(), column) == kJsonbOid) {
    if (data.empty() || data[0] != 1) throw DatastoreError("unsupported JSONB format version");
    data.remove_prefix(1);
  }
  return std::string(data);
}

std::optional<std::int64_t> Result::opt_int8(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return int8(row, column);
}

std::optional<std::uint64_t> Result::opt_uint8(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return uint8(row, column);
}

std::optional<Bytes> Result::opt_bytea(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return bytea(row, column);
}

std::optional<std::string> Result::opt_text(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return text(row, column);
}

std::uint64_t Result::affected_rows() const {
  const char* tuples = PQcmdTuples(result_.get());
  return tuples[0] == '\0' ? 0 : std::strtoull(tuples, nullptr, 10);
}

std::string Result::command_status() const { return PQcmdStatus(result_.get()); }

// ---- connection settings ----

std::vector<std::pair<std::string, std::string>> connection_keywords(const DatabaseConfig& config) {
  if (config.url.empty()) throw DatastoreError("database.url is empty");
  // libpq expands a postgres:// URL given as dbname; later keywords override its fields.
  std::vector<std::pair<std::string, std::string>> keywords{
      {"dbname", config.url},
      {"fallback_application_name", "janus"},
      // A server that vanished (host down, network cut) is noticed within about a minute
      // instead of a blocked call waiting for the kernel's two-hour default.
      {"keepalives", "1"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
  };
  std::optional<std::string> password = config.password;
  if (!password) {
    if (const char* env = std::getenv("PGPASSWORD"); env != nullptr) password = env;
  }
  if (password) keywords.emplace_back("password", *password);
  if (config.tls_trust_store_path)
    keywords.emplace_back("sslrootcert", *config.tls_trust_store_path);
  return keywords;
}

std::string redact_url(std::string_view url) {
  std::string text(url);
  auto scheme = text.find("://");
  if (scheme == std::string::npos) return text;
  auto at = text.find('@', scheme + 3);
  auto slash = text.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return text;
  auto colon = text.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at) text.replace(colon + 1, at - colon - 1, "***");
  return text;
}

// ---- Connection ----

Connection::Connection(const std::vector<std::pair<std::string, std::string>>& keywords,
                       std::uint64_t connect_timeout_s) {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  std::string timeout = std::to_string(connect_timeout_s);
  for (const auto& [key, value] : keywords) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  if (connect_timeout_s > 0) {
    keys.push_back("connect_timeout");
    values.push_back(timeout.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn_ == nullptr) throw PgError("", "out of memory while connecting to PostgreSQL");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = error_message(conn_, nullptr);
    PQfinish(conn_);
    conn_ = nullptr;
    throw PgError("", message);
  }
  PQsetErrorVerbosity(conn_, PQERRORS_DEFAULT);
  // Keep server NOTICEs (e.g. "relation already exists, skipping") out of stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::healthy() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK &&
         PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool Connection::wait_for_notification(std::chrono::milliseconds timeout) {
  auto take = [&] {
    bool any = false;
    while (PGnotify* notification = PQnotifies(conn_)) {
      PQfreemem(notification);
      any = true;
    }
    return any;
  };
  if (take()) return true;
  pollfd descriptor{PQsocket(conn_), POLLIN, 0};
  if (descriptor.fd < 0) throw PgError("", "the notification connection is closed");
  const int ready = ::poll(&descriptor, 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) throw PgError("", "waiting for notifications failed");
  if (ready > 0 && PQconsumeInput(conn_) == 0) {
    throw PgError("", "the notification connection failed: " + error_message(conn_, nullptr));
  }
  return take();
}

void Connection::throw_error(pg_result* result, std::string_view what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = error_message(conn_, result);
  std::string sqlstate = state != nullptr ? state : "";
  last_error_sqlstate_ = sqlstate;
  if (result != nullptr) PQclear(result);
  throw PgError(sqlstate, std::string(what) + ": " + message);
}

Result Connection::exec(std::string_view sql, const Params& params) {
  std::string key = params.type_signature();
  key += '|';
  key += sql;
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = "janus_" + std::to_string(prepared_.size());
    PGresult* prepared = PQprepare(conn_, name.c_str(), std::string(sql).c_str(),
                                   static_cast<int>(params.size()), params.types_.data());
    if (prepared == nullptr || PQresultStatus(prepared) != PGRES_COMMAND_OK) {
      throw_error(prepared, "preparing a statement failed");
    }
    PQclear(prepared);
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  std::vector<const char*> values;
  std::vector<int> lengths;
  values.reserve(params.size());
  lengths.reserve(params.size());
  for (const auto& value : params.values_) {
    values.push_back(value ? value->data() : nullptr);
    lengths.push_back(value ? static_cast<int>(value->size()) : 0);
  }
  PGresult* result = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                    values.data(), lengths.data(), params.formats_.data(),
                                    /*resultFormat=*/1);
  ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw_error(result, "statement failed");
  }
  return Result(result);
}

std::string Connection::exec_script(std::string_view sql) {
  PGresult* result = PQexec(conn_, std::string(sql).c_str());
  ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
    throw_error(result, "SQL failed");
  }
  std::string command_status = PQcmdStatus(result);
  PQclear(result);
  return command_status;
}

}  // namespace janus::pg
