// Test support (library janus_test_support): a fresh PostgreSQL database per test.
//
//   janus::testing::TestDatabase db;                 // created and migrated
//   janus::MockClock clock(1'700'000'000);
//   auto datastore = db.open_datastore(clock);       // random datastore keys
//   ...                                              // dropped when `db` goes away
//
// The server comes from JANUS_TEST_DATABASE_URL (scripts/test sets it from `scripts/pg
// start`); without it the constructor throws a message saying how to set it.
#pragma once

#include <memory>
#include <string>

#include "janus/clock.h"
#include "janus/database_config.h"
#include "janus/datastore.h"

namespace janus::testing {

class TestDatabase {
 public:
  // Creates an empty database with a random name, or (`migrate`) a copy of a migrated
  // template that is built once per server and schema.
  explicit TestDatabase(bool migrate = true);
  ~TestDatabase();  // drops the database (terminating leftover connections)
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // JANUS_TEST_DATABASE_URL; throws std::runtime_error if unset.
  static std::string server_url();

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // A config for this database: short pool timeouts, schema check on.
  DatabaseConfig config() const;
  // Opens a datastore on this database with `keys` (random when omitted).
  std::unique_ptr<Datastore> open_datastore(const Clock& clock) const;
  std::unique_ptr<Datastore> open_datastore(const Clock& clock, DatastoreKeys keys) const;
  // Runs SQL outside the datastore (test setup and inspection only); returns the first
  // column of the first row as text, or "" when there is none.
  std::string query(const std::string& sql) const;

 private:
  std::string name_;
  std::string url_;
};

// `url` with its database name replaced by `database`.
std::string replace_database_in_url(const std::string& url, const std::string& database);

}  // namespace janus::testing
