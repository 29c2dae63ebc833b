// Schema migrations (db/NNNN_name.up.sql, built into the SDK) and the version check.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "janus/database_config.h"

namespace janus {

struct Migration {
  std::int64_t version;  // NNNN
  std::string name;      // the file name without the .up.sql suffix
  std::string_view sql;
};

// Every migration of this build, in order.
std::span<const Migration> builtin_migrations();
// The schema version this build runs against: the last migration's version.
std::int64_t supported_schema_version();

struct SchemaStatus {
  std::optional<std::int64_t> current_version;  // nullopt: no migration recorded
  std::vector<std::int64_t> applied;
  std::vector<std::int64_t> pending;
};

// Connects once (no startup retry) and reports applied and pending migrations.
SchemaStatus schema_status(const DatabaseConfig& config);
// Applies pending migrations in order, each in its own transaction together with its row
// in schema_migrations; an advisory lock keeps concurrent migrators apart. Returns the
// versions applied. Throws DatastoreError (naming the migration) on failure.
std::vector<std::int64_t> migrate_schema(const DatabaseConfig& config);

// `janus db <subcommand>`: "migrate" applies pending migrations, "status" prints the
// applied and pending ones. Returns the process exit code (0 ok, 1 failure, 2 usage).
int run_database_command(std::span<const std::string> args, const DatabaseConfig& config,
                         std::ostream& out, std::ostream& err);

}  // namespace janus
