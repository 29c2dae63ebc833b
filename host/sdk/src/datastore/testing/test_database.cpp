#include "janus/testing/test_database.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "janus/datastore/schema.h"
#include "janus/ids.h"

namespace janus::testing {
namespace {

using ConnectionPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;

ConnectionPtr connect(const std::string& url) {
  ConnectionPtr conn(PQconnectdb(url.c_str()), PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("test database: cannot connect to " + url + ": " +
                             (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

std::string run(PGconn* conn, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn, sql.c_str()), PQclear);
  auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("test database: `" + sql + "` failed: " + PQerrorMessage(conn));
  }
  if (status == PGRES_TUPLES_OK && PQntuples(result.get()) > 0 && PQnfields(result.get()) > 0 &&
      !PQgetisnull(result.get(), 0, 0)) {
    return PQgetvalue(result.get(), 0, 0);
  }
  return "";
}

// A migrated template per schema (named by a hash of every migration's SQL), made once per
// server: copying it is much faster than migrating every test database. An advisory lock
// keeps concurrent test processes from building it twice.
std::string migrated_template(PGconn* admin, const std::string& server_url) {
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (const auto& migration : builtin_migrations()) {
    for (char c : migration.name + "\n" + std::string(migration.sql)) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
  }
  std::array<std::uint8_t, 8> digest;
  for (int i = 0; i < 8; ++i) digest[i] = static_cast<std::uint8_t>(hash >> (8 * i));
  std::string name = "janus_test_template_" + hex_encode(digest);
  run(admin, "SELECT pg_advisory_lock(7242)");
  try {
    if (run(admin, "SELECT 1 FROM pg_database WHERE datname = '" + name + "'").empty()) {
      std::string building = name + "_building";
      run(admin, "DROP DATABASE IF EXISTS " + building + " WITH (FORCE)");
      run(admin, "CREATE DATABASE " + building);
      DatabaseConfig config;
      config.url = replace_database_in_url(server_url, building);
      migrate_schema(config);
      run(admin, "ALTER DATABASE " + building + " RENAME TO " + name);
      run(admin, "ALTER DATABASE " + name + " WITH ALLOW_CONNECTIONS false IS_TEMPLATE true");
    }
  } catch (...) {
    run(admin, "SELECT pg_advisory_unlock(7242)");
    throw;
  }
  run(admin, "SELECT pg_advisory_unlock(7242)");
  return name;
}

}  // namespace

std::string replace_database_in_url(const std::string& url, const std::string& database) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) throw std::invalid_argument("not a postgres URL: " + url);
  auto path = url.find('/', scheme + 3);
  auto query = url.find('?', scheme + 3);
  std::string authority = url.substr(0, std::min(path, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return authority + "/" + database + rest;
}

std::string TestDatabase::server_url() {
  const char* url = std::getenv("JANUS_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        "JANUS_TEST_DATABASE_URL is not set: run the tests through scripts/test, or "
        "`export JANUS_TEST_DATABASE_URL=$(scripts/pg start)` first");
  }
  return url;
}

TestDatabase::TestDatabase(bool migrate) {
  std::string server = server_url();
  std::array<std::uint8_t, 8> suffix;
  random_bytes(suffix);
  name_ = "janus_test_" + hex_encode(suffix);
  auto admin = connect(server);
  std::string create = "CREATE DATABASE " + name_;
  if (migrate) create += " TEMPLATE " + migrated_template(admin.get(), server);
  run(admin.get(), create);
  url_ = replace_database_in_url(server, name_);
}

TestDatabase::~TestDatabase() {
  try {
    auto admin = connect(server_url());
    run(admin.get(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // A leftover database on a throw-away test cluster is harmless.
  }
}

DatabaseConfig TestDatabase::config() const {
  DatabaseConfig config;
  config.url = url_;
  config.connection_pool_timeouts_s = 10;
  config.connection_pool_max_size = 8;
  return config;
}

std::unique_ptr<Datastore> TestDatabase::open_datastore(const Clock& clock) const {
  return open_datastore(clock, DatastoreKeys({DatastoreKeys::generate_key()}));
}

std::unique_ptr<Datastore> TestDatabase::open_datastore(const Clock& clock,
                                                        DatastoreKeys keys) const {
  return Datastore::open(config(), std::move(keys), clock);
}

std::string TestDatabase::query(const std::string& sql) const {
  auto conn = connect(url_);
  return run(conn.get(), sql);
}

}  // namespace janus::testing
