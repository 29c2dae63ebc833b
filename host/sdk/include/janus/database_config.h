// The `database` section and related common keys of a Janus 0.7 config
// (janus-0.7.md §3.1). The runtime parses YAML into it; the datastore consumes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace janus {

struct DatabaseConfig {
  // postgres://user[:password]@host:port/db?sslmode=…
  std::string url;
  // From --database-password / PGPASSWORD; overrides a password in the URL.
  std::optional<std::string> password;
  std::uint32_t connection_pool_max_size = 0;  // 0: CPUs × 4, as Janus
  std::uint64_t connection_pool_timeouts_s = 60;
  bool check_schema_version = true;
  std::optional<std::string> tls_trust_store_path;
  // Our addition: every statement is cancelled after this long (PostgreSQL's
  // statement_timeout; 0: none), so that a stuck query cannot hold a job's lease past its
  // deadline. Connections also send TCP keepalives, so a dead server is noticed.
  std::uint64_t statement_timeout_ms = 30'000;
  // Top-level `max_transaction_retries` in Janus's config.
  std::uint64_t max_transaction_retries = 1000;
};

}  // namespace janus
