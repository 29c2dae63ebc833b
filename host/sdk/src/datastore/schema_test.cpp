#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "janus/datastore.h"
#include "janus/datastore/schema.h"
#include "janus/testing/test_database.h"
#include "pg.h"
#include "test_util.h"

namespace janus {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::filesystem::path> migration_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(JANUS_SOURCE_DIR "/db")) {
    if (entry.path().string().ends_with(".up.sql")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(SchemaTest, BuiltinMigrationsAreTheFilesOfDbInOrder) {
  auto files = migration_files();
  auto migrations = builtin_migrations();
  ASSERT_EQ(files.size(), migrations.size());
  ASSERT_FALSE(files.empty());
  for (std::size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(migrations[i].name + ".up.sql", files[i].filename().string());
    EXPECT_EQ(migrations[i].sql, read_file(files[i]));
    if (i > 0) {
      EXPECT_GT(migrations[i].version, migrations[i - 1].version);
    }
  }
  EXPECT_EQ(supported_schema_version(), migrations.back().version);
}

TEST(SchemaTest, MigrateAppliesPendingMigrationsOnceAndStatusReportsThem) {
  testing::TestDatabase db(/*migrate=*/false);
  auto before = schema_status(db.config());
  EXPECT_FALSE(before.current_version.has_value());
  EXPECT_EQ(before.pending.size(), builtin_migrations().size());

  std::ostringstream out, err;
  std::vector<std::string> status_args{"status"};
  ASSERT_EQ(run_database_command(status_args, db.config(), out, err), 0) << err.str();
  EXPECT_NE(out.str().find("database schema version: none"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("pending  " + builtin_migrations().front().name), std::string::npos);

  out.str("");
  std::vector<std::string> migrate_args{"migrate"};
  ASSERT_EQ(run_database_command(migrate_args, db.config(), out, err), 0) << err.str();
  for (const auto& migration : builtin_migrations()) {
    EXPECT_NE(out.str().find("applied " + migration.name), std::string::npos) << out.str();
  }
  auto after = schema_status(db.config());
  EXPECT_EQ(after.current_version, supported_schema_version());
  EXPECT_TRUE(after.pending.empty());

  // Idempotent: nothing left to apply.
  out.str("");
  ASSERT_EQ(run_database_command(migrate_args, db.config(), out, err), 0) << err.str();
  EXPECT_NE(out.str().find("already up to date"), std::string::npos) << out.str();
  EXPECT_EQ(db.query("SELECT count(*) FROM schema_migrations"),
            std::to_string(builtin_migrations().size()));
}

TEST(SchemaTest, DatabaseCommandRejectsUnknownSubcommands) {
  DatabaseConfig config;
  std::ostringstream out, err;
  std::vector<std::string> args{"drop-everything"};
  EXPECT_EQ(run_database_command(args, config, out, err), 2);
  EXPECT_NE(err.str().find("usage"), std::string::npos);
}

TEST(SchemaTest, StartupRefusesAnUnmigratedDatabaseNamingBothVersions) {
  testing::TestDatabase db(/*migrate=*/false);
  MockClock clock(0);
  try {
    db.open_datastore(clock);
    FAIL() << "opened a database without a schema";
  } catch (const SchemaVersionMismatch& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("database schema version none"), std::string::npos) << message;
    EXPECT_NE(message.find("schema version " + std::to_string(supported_schema_version())),
              std::string::npos)
        << message;
  }
}

TEST(SchemaTest, StartupRefusesAnOlderOrNewerSchema) {
  testing::TestDatabase db;
  MockClock clock(0);
  db.query("DELETE FROM schema_migrations WHERE version = " +
           std::to_string(supported_schema_version()));
  EXPECT_THROW(db.open_datastore(clock), SchemaVersionMismatch);
  db.query(
      "INSERT INTO schema_migrations (version, name, checksum) VALUES (99999, "
      "'99999_from_the_future', '\\x00')");
  try {
    db.open_datastore(clock);
    FAIL() << "opened a newer schema";
  } catch (const SchemaVersionMismatch& error) {
    EXPECT_NE(std::string(error.what()).find("99999"), std::string::npos) << error.what();
  }
  // Nor does an older build migrate a newer schema.
  EXPECT_THROW(migrate_schema(db.config()), SchemaVersionMismatch);
}

// janus-DEPLOYING.md: concatenate the .up.sql files in order, apply them with psql, and
// start with check_schema_version: false.
TEST(SchemaTest, ConcatenatedSchemaWorksWithTheVersionCheckOff) {
  testing::TestDatabase db(/*migrate=*/false);
  std::string schema;
  for (const auto& file : migration_files()) schema += read_file(file) + "\n";
  db.query(schema);
  MockClock clock(1'700'000'000);
  EXPECT_THROW(db.open_datastore(clock), SchemaVersionMismatch);
  DatabaseConfig config = db.config();
  config.check_schema_version = false;
  auto datastore = Datastore::open(config, DatastoreKeys({DatastoreKeys::generate_key()}), clock);
  auto task = datastore_test::leader_task();
  datastore->run_tx("put", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  EXPECT_EQ(datastore->run_tx(
                "get", [&](Transaction& tx) { return tx.get_aggregator_task(task.task_id); }),
            task);
}

TEST(SchemaTest, ConnectionIsRetriedForTheTimeoutThenFailsWithOneClearError) {
  DatabaseConfig config;
  // A loopback port nothing listens on (port 1 is privileged and unused here).
  config.url = "postgres://janus:hunter2@127.0.0.1:1/janus?sslmode=disable";
  config.connection_pool_timeouts_s = 2;
  MockClock clock(0);
  auto start = std::chrono::steady_clock::now();
  try {
    Datastore::open(config, DatastoreKeys({DatastoreKeys::generate_key()}), clock);
    FAIL() << "connected to a closed port";
  } catch (const DatastoreError& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("cannot connect to the database at postgres://janus:***@127.0.0.1:1/"),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
    EXPECT_NE(message.find("tried for 2 s"), std::string::npos) << message;
  }
  // It kept trying for the configured time (not a timing benchmark: a lower bound only).
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1900));
}

TEST(SchemaTest, PasswordFromConfigOrEnvironmentOverridesTheUrl) {
  DatabaseConfig config;
  config.url = "postgres://janus:in-url@db.example:5432/janus?sslmode=require";
  auto find = [](const auto& keywords, const std::string& key) -> std::optional<std::string> {
    std::optional<std::string> value;
    for (const auto& [k, v] : keywords) {
      if (k == key) value = v;  // libpq: a later keyword overrides the URL's field
    }
    return value;
  };
  ::unsetenv("PGPASSWORD");
  EXPECT_EQ(find(pg::connection_keywords(config), "password"), std::nullopt);
  EXPECT_EQ(find(pg::connection_keywords(config), "dbname"), config.url);
  ::setenv("PGPASSWORD", "from-env", 1);
  EXPECT_EQ(find(pg::connection_keywords(config), "password"), "from-env");
  config.password = "from-flag";
  EXPECT_EQ(find(pg::connection_keywords(config), "password"), "from-flag");
  ::unsetenv("PGPASSWORD");
  EXPECT_EQ(pg::redact_url(config.url),
            "postgres://janus:***@db.example:5432/janus?sslmode=require");
  EXPECT_EQ(pg::redact_url("postgres://janus@db/x"), "postgres://janus@db/x");
}

TEST(SchemaTest, UrlPasswordOverrideIsUsedByTheServer) {
  // The private cluster trusts loopback connections and ignores passwords, so check the
  // password libpq actually connected with.
  testing::TestDatabase db;
  DatabaseConfig config = db.config();
  config.password = "override";
  pg::Connection connection(pg::connection_keywords(config), 5);
  EXPECT_STREQ(PQpass(connection.raw()), "override");
}

}  // namespace
}  // namespace janus
