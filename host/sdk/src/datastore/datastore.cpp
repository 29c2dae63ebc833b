#include "janus/datastore.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "janus/datastore/schema.h"
#include "janus/metrics.h"
#include "janus/tracing.h"
#include "pg.h"

namespace janus {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A new connection with the session settings every statement runs under.
std::unique_ptr<pg::Connection> open_connection(
    const std::vector<std::pair<std::string, std::string>>& keywords,
    std::uint64_t connect_timeout_s, std::uint64_t statement_timeout_ms) {
  auto connection = std::make_unique<pg::Connection>(keywords, connect_timeout_s);
  connection->exec_script("SET statement_timeout = " + std::to_string(statement_timeout_ms));
  return connection;
}

// Up to max_size connections, made on demand; a caller waits up to `timeout` for one.
class ConnectionPool {
 public:
  ConnectionPool(std::vector<std::pair<std::string, std::string>> keywords, std::size_t max_size,
                 std::chrono::seconds timeout, std::uint64_t statement_timeout_ms)
      : keywords_(std::move(keywords)),
        max_size_(max_size),
        timeout_(timeout),
        statement_timeout_ms_(statement_timeout_ms) {}

  void add_idle(std::unique_ptr<pg::Connection> connection) {
    std::lock_guard lock(mutex_);
    ++open_;
    idle_.push_back(std::move(connection));
  }

  std::unique_ptr<pg::Connection> acquire() {
    {
      std::unique_lock lock(mutex_);
      bool available =
          changed_.wait_for(lock, timeout_, [&] { return !idle_.empty() || open_ < max_size_; });
      if (!available) {
        throw DatastoreError("no database connection free within " +
                             std::to_string(timeout_.count()) + " s (connection_pool_max_size " +
                             std::to_string(max_size_) + ")");
      }
      if (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        return connection;
      }
      ++open_;
    }
    try {
      return open_connection(keywords_, static_cast<std::uint64_t>(timeout_.count()),
                             statement_timeout_ms_);
    } catch (...) {
      std::lock_guard lock(mutex_);
      --open_;
      changed_.notify_one();
      throw;
    }
  }

  void release(std::unique_ptr<pg::Connection> connection) {
    std::lock_guard lock(mutex_);
    if (connection && connection->healthy()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;  // a broken connection is dropped; a new one is made on demand
    }
    changed_.notify_one();
  }

 private:
  std::vector<std::pair<std::string, std::string>> keywords_;
  std::size_t max_size_;
  std::chrono::seconds timeout_;
  std::uint64_t statement_timeout_ms_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<pg::Connection>> idle_;
  std::size_t open_ = 0;
};

class PooledConnection {
 public:
  explicit PooledConnection(ConnectionPool& pool) : pool_(pool), connection_(pool.acquire()) {}
  ~PooledConnection() { pool_.release(std::move(connection_)); }
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;
  pg::Connection& operator*() { return *connection_; }
  pg::Connection* operator->() { return connection_.get(); }

 private:
  ConnectionPool& pool_;
  std::unique_ptr<pg::Connection> connection_;
};

// Startup: retry with exponential backoff until the pool timeout has passed.
std::unique_ptr<pg::Connection> connect_with_backoff(
    const std::vector<std::pair<std::string, std::string>>& keywords,
    const DatabaseConfig& config) {
  auto deadline = SteadyClock::now() + std::chrono::seconds(config.connection_pool_timeouts_s);
  auto delay = std::chrono::milliseconds(100);
  std::uint64_t connect_timeout_s =
      std::clamp<std::uint64_t>(config.connection_pool_timeouts_s, 1, 10);
  while (true) {
    try {
      return open_connection(keywords, connect_timeout_s, config.statement_timeout_ms);
    } catch (const pg::PgError& error) {
      auto now = SteadyClock::now();
      if (now >= deadline) {
        throw DatastoreError("cannot connect to the database at " + pg::redact_url(config.url) +
                             " (tried for " + std::to_string(config.connection_pool_timeouts_s) +
                             " s, database.connection_pool_timeouts_s): " + error.what());
      }
      std::this_thread::sleep_for(std::min<SteadyClock::duration>(delay, deadline - now));
      delay = std::min(delay * 2, std::chrono::milliseconds(5000));
    }
  }
}

void check_schema_version(pg::Connection& connection) {
  std::int64_t expected = supported_schema_version();
  std::optional<std::int64_t> found;
  try {
    auto result = connection.exec("SELECT max(version) FROM schema_migrations");
    found = result.opt_int8(0, 0);
  } catch (const pg::PgError& error) {
    if (error.sqlstate() != pg::kUndefinedTable) throw;
  }
  if (found != expected) {
    throw SchemaVersionMismatch(
        "database schema version " + (found ? std::to_string(*found) : std::string("none")) +
        " differs from this build's schema version " + std::to_string(expected) +
        ": run `janus db migrate`, or set database.check_schema_version: false if the "
        "schema was applied by hand");
  }
}

std::size_t default_pool_size() {
  unsigned cpus = std::thread::hardware_concurrency();
  return std::max(1u, cpus) * 4;
}

}  // namespace

struct Datastore::Impl {
  Impl(const DatabaseConfig& config, DatastoreKeys keys, const Clock& clock)
      : config(config),
        crypter(std::move(keys)),
        clock(clock),
        pool(pg::connection_keywords(config),
             config.connection_pool_max_size > 0 ? config.connection_pool_max_size
                                                 : default_pool_size(),
             std::chrono::seconds(config.connection_pool_timeouts_s), config.statement_timeout_ms) {
  }

  DatabaseConfig config;
  Crypter crypter;
  const Clock& clock;
  ConnectionPool pool;
  std::atomic<std::uint64_t> retries{0};
};

Datastore::Datastore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Datastore::~Datastore() = default;

std::unique_ptr<Datastore> Datastore::open(const DatabaseConfig& config, DatastoreKeys keys,
                                           const Clock& clock) {
  auto impl = std::make_unique<Impl>(config, std::move(keys), clock);
  auto first = connect_with_backoff(pg::connection_keywords(config), config);
  if (config.check_schema_version) check_schema_version(*first);
  impl->pool.add_idle(std::move(first));
  return std::unique_ptr<Datastore>(new Datastore(std::move(impl)));
}

const Clock& Datastore::clock() const { return impl_->clock; }

std::uint64_t Datastore::transaction_retries() const { return impl_->retries.load(); }

namespace {

// Janus's run_tx metrics, by transaction name: outcomes, retries, and the time from the
// first BEGIN to the last COMMIT or ROLLBACK (retries included).
void record_transaction(std::string_view name, bool committed, std::uint64_t retries,
                        SteadyClock::duration elapsed) {
  auto& registry = metrics::registry();
  const std::string tx(name);
  registry
      .counter("janus_database_transactions", "Database transactions run, by name and outcome.",
               {{"tx", tx}, {"outcome", committed ? "committed" : "failed"}})
      .increment();
  if (retries > 0) {
    registry
        .counter("janus_database_transaction_retries",
                 "Database transactions retried after a serialization failure or deadlock.",
                 {{"tx", tx}})
        .increment(static_cast<double>(retries));
  }
  registry
      .histogram("janus_database_transaction_duration",
                 "Seconds a database transaction took, retries included.",
                 metrics::duration_buckets(), {{"tx", tx}})
      .observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace

void Datastore::run_tx_erased(std::string_view name, Isolation isolation,
                              const std::function<void(Transaction&)>& body) {
  const char* begin = isolation == Isolation::ReadCommitted
                          ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                          : "BEGIN ISOLATION LEVEL REPEATABLE READ";
  const auto started = SteadyClock::now();
  // One span per transaction, its retries included, a child of the caller's span.
  tracing::Span span =
      tracing::enabled() ? tracing::Span::start("tx " + std::string(name)) : tracing::Span();
  auto scope = span.activate();
  span.set_attribute("db.system", "postgresql");
  for (std::uint64_t attempt = 0;; ++attempt) {
    span.set_attribute("janus.tx.attempts", static_cast<std::int64_t>(attempt + 1));
    PooledConnection connection(impl_->pool);
    try {
      connection->clear_last_error();
      connection->exec_script(begin);
      Transaction tx(*connection, impl_->crypter, std::string(name), impl_->clock.now());
      body(tx);
      // COMMIT of a transaction that an earlier error aborted answers ROLLBACK (the body
      // caught that error); whether to retry depends on that error's SQLSTATE.
      if (connection->exec_script("COMMIT") != "COMMIT") {
        throw DatastoreError("transaction " + std::string(name) +
                             " was rolled back after a failed statement (SQLSTATE " +
                             connection->last_error_sqlstate() + ")");
      }
      record_transaction(name, true, attempt, SteadyClock::now() - started);
      return;
    } catch (...) {
      // Classified by the SQLSTATE the connection saw, so that a retryable failure counts
      // even when the body rethrew it as another exception.
      bool retryable = pg::is_retryable_sqlstate(connection->last_error_sqlstate());
      try {
        connection->exec_script("ROLLBACK");
      } catch (const DatastoreError&) {
        // The connection is broken; the pool drops it.
      }
      if (!retryable || attempt >= impl_->config.max_transaction_retries) {
        record_transaction(name, false, attempt, SteadyClock::now() - started);
        if (span.recording()) {
          span.set_error(retryable ? "retries exhausted" : "failed, not retryable");
        }
        throw;
      }
    }
    impl_->retries.fetch_add(1);
  }
}

namespace {

class PgListener final : public DatabaseListener {
 public:
  PgListener(std::unique_ptr<pg::Connection> connection, std::string_view channel)
      : connection_(std::move(connection)) {
    connection_->exec_script("LISTEN " + std::string(channel));
  }
  bool wait(std::chrono::milliseconds timeout) override {
    return connection_->wait_for_notification(timeout);
  }

 private:
  std::unique_ptr<pg::Connection> connection_;
};

}  // namespace

std::unique_ptr<DatabaseListener> Datastore::listen(std::string_view channel) {
  if (channel != kAggregationJobsChannel && channel != kCollectionJobsChannel) {
    throw DatastoreError("unknown notification channel " + std::string(channel));
  }
  const DatabaseConfig& config = impl_->config;
  return std::make_unique<PgListener>(
      open_connection(pg::connection_keywords(config),
                      std::clamp<std::uint64_t>(config.connection_pool_timeouts_s, 1, 10),
                      config.statement_timeout_ms),
      channel);
}

std::function<bool(std::chrono::milliseconds)> Datastore::work_notifications(
    std::string_view channel) {
  auto listener = std::make_shared<std::unique_ptr<DatabaseListener>>();
  return [this, listener, channel = std::string(channel)](std::chrono::milliseconds timeout) {
    if (!*listener) *listener = listen(channel);
    try {
      return (*listener)->wait(timeout);
    } catch (...) {
      listener->reset();
      throw;
    }
  };
}

void Transaction::notify(std::string_view channel) {
  if (channel != kAggregationJobsChannel && channel != kCollectionJobsChannel) {
    throw DatastoreError("unknown notification channel " + std::string(channel));
  }
  connection_.exec_script("NOTIFY " + std::string(channel));
}

Transaction::Transaction(pg::Connection& connection, const Crypter& crypter, std::string name,
                         Time now)
    : connection_(connection), crypter_(crypter), name_(std::move(name)), now_(now) {}

}  // namespace janus
