#include "janus/datastore/schema.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "janus/datastore/errors.h"
#include "migrations_data.h"
#include "pg.h"

namespace janus {
namespace {

// Any constant works; it only has to be the same for every migrator.
constexpr std::int64_t kMigrationLockKey = 0x6a616e7573646221;  // "janusdb!"

std::vector<Migration> parse_migrations() {
  std::vector<Migration> migrations;
  for (const auto& embedded : migrations_data::all()) {
    std::string_view name = embedded.name;
    std::size_t digits = 0;
    while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') ++digits;
    if (digits == 0 || digits >= name.size() || name[digits] != '_') {
      throw std::logic_error("migration " + std::string(name) + " is not named NNNN_name.up.sql");
    }
    std::int64_t version = std::stoll(std::string(name.substr(0, digits)));
    if (!migrations.empty() && version <= migrations.back().version) {
      throw std::logic_error("migration versions are not strictly increasing at " +
                             std::string(name));
    }
    migrations.push_back(Migration{version, std::string(name), embedded.sql});
  }
  if (migrations.empty()) throw std::logic_error("this build has no migrations");
  return migrations;
}

Bytes sha256(std::string_view text) {
  Bytes digest(32);
  unsigned length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw DatastoreError("SHA-256 failed");
  }
  return digest;
}

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " checksum BYTEA NOT NULL,"  // SHA-256 of the migration's SQL
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";

struct AppliedMigration {
  std::string name;
  Bytes checksum;
};

std::map<std::int64_t, AppliedMigration> applied_migrations(pg::Connection& connection) {
  std::map<std::int64_t, AppliedMigration> applied;
  try {
    auto result = connection.exec("SELECT version, name, checksum FROM schema_migrations");
    for (int row = 0; row < result.rows(); ++row) {
      applied[result.int8(row, 0)] = {result.text(row, 1), result.bytea(row, 2)};
    }
  } catch (const pg::PgError& error) {
    if (error.sqlstate() != pg::kUndefinedTable) throw;
  }
  return applied;
}

std::unique_ptr<pg::Connection> connect(const DatabaseConfig& config) {
  try {
    return std::make_unique<pg::Connection>(
        pg::connection_keywords(config),
        std::clamp<std::uint64_t>(config.connection_pool_timeouts_s, 1, 10));
  } catch (const pg::PgError& error) {
    throw DatastoreError("cannot connect to the database at " + pg::redact_url(config.url) + ": " +
                         error.what());
  }
}

// Versions in the database that this build does not know: an older build must not touch
// a newer schema.
void refuse_unknown_versions(const std::map<std::int64_t, AppliedMigration>& applied) {
  for (const auto& [version, migration] : applied) {
    bool known = std::any_of(builtin_migrations().begin(), builtin_migrations().end(),
                             [&](const Migration& m) { return m.version == version; });
    if (!known) {
      throw SchemaVersionMismatch("the database has migration " + std::to_string(version) + " (" +
                                  migration.name + "), which this build does not know (it " +
                                  "supports up to version " +
                                  std::to_string(supported_schema_version()) + ")");
    }
  }
}

}  // namespace

std::span<const Migration> builtin_migrations() {
  static const std::vector<Migration> migrations = parse_migrations();
  return migrations;
}

std::int64_t supported_schema_version() { return builtin_migrations().back().version; }

SchemaStatus schema_status(const DatabaseConfig& config) {
  auto connection = connect(config);
  auto applied = applied_migrations(*connection);
  SchemaStatus status;
  for (const auto& [version, migration] : applied) status.applied.push_back(version);
  if (!applied.empty()) status.current_version = applied.rbegin()->first;
  for (const auto& migration : builtin_migrations()) {
    if (!applied.contains(migration.version)) status.pending.push_back(migration.version);
  }
  return status;
}

std::vector<std::int64_t> migrate_schema(const DatabaseConfig& config) {
  auto connection = connect(config);
  connection->exec("SELECT pg_advisory_lock($1)", pg::Params().int8(kMigrationLockKey));
  std::vector<std::int64_t> done;
  try {
    connection->exec_script(kCreateMigrationsTable);
    auto applied = applied_migrations(*connection);
    refuse_unknown_versions(applied);
    for (const auto& migration : builtin_migrations()) {
      auto it = applied.find(migration.version);
      if (it != applied.end()) {
        if (it->second.checksum != sha256(migration.sql)) {
          throw DatastoreError("migration " + migration.name +
                               " was applied with different SQL than this build's");
        }
        continue;
      }
      try {
        connection->exec_script("BEGIN");
        connection->exec_script(migration.sql);
        connection->exec(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            pg::Params().int8(migration.version).text(migration.name).bytea(sha256(migration.sql)));
        connection->exec_script("COMMIT");
      } catch (const DatastoreError& error) {
        try {
          connection->exec_script("ROLLBACK");
        } catch (const DatastoreError&) {
        }
        throw DatastoreError("migration " + migration.name + " failed: " + error.what());
      }
      done.push_back(migration.version);
    }
  } catch (...) {
    try {
      connection->exec("SELECT pg_advisory_unlock($1)", pg::Params().int8(kMigrationLockKey));
    } catch (const DatastoreError&) {
    }
    throw;
  }
  connection->exec("SELECT pg_advisory_unlock($1)", pg::Params().int8(kMigrationLockKey));
  return done;
}

int run_database_command(std::span<const std::string> args, const DatabaseConfig& config,
                         std::ostream& out, std::ostream& err) {
  constexpr const char* kUsage =
      "usage: janus db migrate   apply pending schema migrations\n"
      "       janus db status    show applied and pending migrations\n";
  if (args.size() != 1 || (args[0] != "migrate" && args[0] != "status")) {
    err << kUsage;
    return 2;
  }
  try {
    if (args[0] == "migrate") {
      auto applied = migrate_schema(config);
      for (std::int64_t version : applied) {
        auto it = std::find_if(builtin_migrations().begin(), builtin_migrations().end(),
                               [&](const Migration& m) { return m.version == version; });
        out << "applied " << it->name << "\n";
      }
      out << "schema version " << supported_schema_version()
          << (applied.empty() ? " (already up to date)\n" : "\n");
      return 0;
    }
    auto status = schema_status(config);
    out << "database schema version: "
        << (status.current_version ? std::to_string(*status.current_version) : "none") << "\n";
    out << "this build's schema version: " << supported_schema_version() << "\n";
    for (const auto& migration : builtin_migrations()) {
      bool pending = std::find(status.pending.begin(), status.pending.end(), migration.version) !=
                     status.pending.end();
      out << (pending ? "pending  " : "applied  ") << migration.name << "\n";
    }
    return 0;
  } catch (const std::exception& error) {
    err << "janus db " << args[0] << ": " << error.what() << "\n";
    return 1;
  }
}

}  // namespace janus
