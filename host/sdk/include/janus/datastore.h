// The datastore: the only way to the database. Every statement runs inside
// Datastore::run_tx(name, body), at REPEATABLE READ unless the caller asks for READ
// COMMITTED; the transaction commits when the body returns and rolls back when it throws.
// Serialization failures and deadlocks are retried (up to `max_transaction_retries`), so a body may
// run more than once and must not have side effects outside the transaction.
//
//   auto task = datastore.run_tx("get_task", [&](janus::Transaction& tx) {
//     return tx.get_aggregator_task(task_id);
//   });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "janus/clock.h"
#include "janus/database_config.h"
#include "janus/datastore/errors.h"
#include "janus/datastore/keys.h"
#include "janus/datastore/records.h"
#include "janus/messages.h"

namespace janus {

namespace pg {
class Connection;
}

class Transaction;

// PostgreSQL LISTEN on one channel over a connection of its own: a worker hears of new
// work (a Transaction::notify committed by another component) at once instead of at its
// next poll. Components still talk only through the database.
class DatabaseListener {
 public:
  virtual ~DatabaseListener() = default;
  // Up to `timeout` for a notification; true if one arrived. Throws DatastoreError when
  // the connection is lost (the caller may listen again).
  virtual bool wait(std::chrono::milliseconds timeout) = 0;
};

// Channels (one per kind of work).
inline constexpr std::string_view kAggregationJobsChannel = "janus_aggregation_jobs";
inline constexpr std::string_view kCollectionJobsChannel = "janus_collection_jobs";

// READ COMMITTED suits transactions that write rows other transactions write at the same
// time (the aggregation writers' batch shards and counters): they lock what they
// read-modify-write, so a concurrent commit makes them wait, not fail and start over.
enum class Isolation { RepeatableRead, ReadCommitted };

// One batch of Transaction::rotate_datastore_key_batch.
struct DatastoreKeyRotationBatch {
  std::uint64_t examined = 0;            // values looked at (rows with the column set)
  std::uint64_t reencrypted = 0;         // of those, re-encrypted under the first key
  std::optional<std::int64_t> last_row;  // the next batch starts after it; none: done
};

// What an aggregation job leaves of its reports' shares (start_aggregation_of_client_reports):
// Prio3's reports are aggregated once and scrubbed; a report whose parameter the collector
// chooses (Poplar1) keeps them for the next parameter, until report_expiry_age.
enum class ReportShares { Scrub, Keep };

// A report a collection job wants aggregated under its aggregation parameter
// (Transaction::lock_client_reports_for_collections).
struct ReportForCollection {
  Bytes aggregation_parameter;
  ReportMetadata report;
};

class Datastore {
 public:
  // Connects, retrying with backoff for `config.connection_pool_timeouts_s` before
  // throwing one DatastoreError that names the (password-redacted) URL. With
  // `config.check_schema_version` it throws SchemaVersionMismatch unless the database's
  // schema version equals supported_schema_version() (janus/datastore/schema.h).
  static std::unique_ptr<Datastore> open(const DatabaseConfig& config, DatastoreKeys keys,
                                         const Clock& clock);
  ~Datastore();
  Datastore(const Datastore&) = delete;
  Datastore& operator=(const Datastore&) = delete;

  template <typename Body>
  auto run_tx(std::string_view name, Body&& body) -> std::invoke_result_t<Body&, Transaction&> {
    return run_tx(name, Isolation::RepeatableRead, std::forward<Body>(body));
  }
  template <typename Body>
  auto run_tx(std::string_view name, Isolation isolation, Body&& body)
      -> std::invoke_result_t<Body&, Transaction&> {
    using Result = std::invoke_result_t<Body&, Transaction&>;
    if constexpr (std::is_void_v<Result>) {
      run_tx_erased(name, isolation, [&](Transaction& tx) { body(tx); });
    } else {
      std::optional<Result> result;
      run_tx_erased(name, isolation, [&](Transaction& tx) { result.emplace(body(tx)); });
      return std::move(*result);
    }
  }

  const Clock& clock() const;
  // LISTENs on `channel` (a kChannel above) on a new connection.
  std::unique_ptr<DatabaseListener> listen(std::string_view channel);
  // For LeaseWorkerFunctions::wait_for_work: listens on `channel` on first use (and again
  // after a lost connection, which throws once). Use from one thread.
  std::function<bool(std::chrono::milliseconds)> work_notifications(std::string_view channel);

  // Transactions retried since this datastore was opened (for metrics and tests).
  std::uint64_t transaction_retries() const;

 private:
  struct Impl;
  explicit Datastore(std::unique_ptr<Impl> impl);
  void run_tx_erased(std::string_view name, Isolation isolation,
                     const std::function<void(Transaction&)>& body);
  std::unique_ptr<Impl> impl_;
};

// The typed operations available inside a transaction. Times ("now") come from the
// datastore's Clock, read once when the transaction starts.
class Transaction {
 public:
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const std::string& name() const { return name_; }
  Time now() const { return now_; }

  // NOTIFY `channel` (a kChannel of DatabaseListener), delivered if and when this
  // transaction commits.
  void notify(std::string_view channel);

  // ---- tasks ----
  // Throws MutationTargetAlreadyExists if the task id exists.
  void put_aggregator_task(const AggregatorTask& task);
  std::optional<AggregatorTask> get_aggregator_task(const TaskId& task_id);
  std::vector<AggregatorTask> get_aggregator_tasks();
  // Task ids in byte order: all of them, or (for paging) at most `limit` after `after`.
  std::vector<TaskId> get_task_ids(const std::optional<TaskId>& after = std::nullopt,
                                   std::optional<std::size_t> limit = std::nullopt);
  // Throws MutationTargetNotFound. Everything belonging to the task goes with it.
  void delete_task(const TaskId& task_id);
  void update_task_expiration(const TaskId& task_id, std::optional<Time> task_expiration);

  // ---- global HPKE keys ----
  void put_global_hpke_keypair(const StoredHpkeKeypair& keypair);  // created PENDING
  std::vector<GlobalHpkeKeypair> get_global_hpke_keypairs();
  std::optional<GlobalHpkeKeypair> get_global_hpke_keypair(std::uint8_t config_id);
  void set_global_hpke_keypair_state(std::uint8_t config_id, HpkeKeyState state);
  void delete_global_hpke_keypair(std::uint8_t config_id);
  // Key rotator: LOCK TABLE global_hpke_keys IN EXCLUSIVE MODE until the transaction ends,
  // so that rotators running at once take turns and each sees the table as the previous one
  // left it. Readers (the aggregators' key caches) are not blocked.
  void lock_global_hpke_keypairs();

  // ---- taskprov peer aggregators ----
  // Throws MutationTargetAlreadyExists if (endpoint, role) exists: as Janus, a peer is
  // replaced by deleting and adding it.
  void put_taskprov_peer_aggregator(const TaskprovPeerAggregator& peer);
  // Looks `endpoint` up by its taskprov::normalize_endpoint form.
  std::optional<TaskprovPeerAggregator> get_taskprov_peer_aggregator(std::string_view endpoint,
                                                                     Role role);
  std::vector<TaskprovPeerAggregator> get_taskprov_peer_aggregators();
  // Throws MutationTargetNotFound.
  void delete_taskprov_peer_aggregator(std::string_view endpoint, Role role);

  // ---- datastore-key rotation (janus_cli rotate-datastore-keys) ----
  // The encrypted columns, as "table.column".
  static const std::vector<std::string>& encrypted_columns();
  // Re-encrypts under the first datastore key up to `limit` values of one encrypted column
  // (one of encrypted_columns()), in the rows after `after_row` in row order, locking them;
  // a value the first key already authenticates is left alone, so a batch done twice (a
  // crash, a second run) changes nothing. Throws DecryptionError for a value no key opens.
  DatastoreKeyRotationBatch rotate_datastore_key_batch(std::string_view column,
                                                       std::int64_t after_row, std::uint64_t limit);

  // ---- client reports ----
  // Inserts a batch of reports (any mix of tasks) in one statement, one round trip.
  // Returns, per report, true if it was inserted and false if (task, report id) was
  // already stored (or appeared earlier in the batch). A report of an unknown task throws
  // MutationTargetNotFound, which rolls the whole transaction back.
  std::vector<bool> put_client_reports(const std::vector<LeaderStoredReport>& reports);
  // One report, one statement: throws MutationTargetAlreadyExists for a duplicate.
  void put_client_report(const LeaderStoredReport& report);
  // nullopt when absent or scrubbed.
  std::optional<LeaderStoredReport> get_client_report(const TaskId& task_id,
                                                      const ReportId& report_id);
  // Helper: records that report ids were seen, without their contents (replay
  // protection), in one statement. Returns the ids recorded now: an id missing from the
  // answer was recorded before (a replay).
  std::set<ReportId> put_scrubbed_reports(const TaskId& task_id,
                                          const std::vector<ReportMetadata>& reports);
  // Job creator: locks up to `limit` unaggregated reports of a task, oldest first, skipping
  // rows another transaction holds, and returns their ids and times (not their shares).
  // Reports not passed to start_aggregation_of_client_reports go back at commit.
  std::vector<ReportMetadata> lock_unaggregated_client_reports(const TaskId& task_id,
                                                               std::uint64_t limit);
  // Job creator: the START_LEADER report aggregations of `job_id` (an aggregation job
  // already put), ord = position in `report_ids`, with the reports' shares copied inside
  // the database; then the reports are marked aggregation_started and, with
  // ReportShares::Scrub, scrubbed. Two statements. Throws MutationTargetNotFound (rolling
  // back) if a report is missing or scrubbed, or (Scrub) already started.
  void start_aggregation_of_client_reports(const TaskId& task_id, const AggregationJobId& job_id,
                                           const std::vector<ReportId>& report_ids,
                                           ReportShares shares = ReportShares::Scrub);
  // Job creator, for a VDAF whose collector chooses the aggregation parameter (Poplar1):
  // locks up to `limit` (report, parameter) pairs, oldest first, skipping rows another
  // transaction holds: a stored report inside the interval of a START collection job
  // (time_interval) that no aggregation job under that job's parameter holds yet. A report
  // two such collection jobs want comes once per parameter.
  std::vector<ReportForCollection> lock_client_reports_for_collections(const TaskId& task_id,
                                                                       std::uint64_t limit);
  std::uint64_t count_client_reports_in_interval(const TaskId& task_id, const Interval& interval);
  // Collection driver: whether a report in `interval` has not been claimed by an aggregation
  // job yet (the batch is not ready to collect while one remains).
  bool interval_has_unaggregated_reports(const TaskId& task_id, const Interval& interval);
  // The same for a parameter the collector chose: whether a report in `interval` has no
  // report aggregation under `aggregation_parameter` yet.
  bool interval_has_reports_unaggregated_under(const TaskId& task_id, const Interval& interval,
                                               ByteSpan aggregation_parameter);

  // ---- aggregation jobs ----
  void put_aggregation_job(const AggregationJob& job);
  std::optional<AggregationJob> get_aggregation_job(const TaskId& task_id,
                                                    const AggregationJobId& job_id);
  std::vector<AggregationJob> get_aggregation_jobs_for_task(const TaskId& task_id);
  // Throws MutationTargetNotFound.
  void update_aggregation_job(const AggregationJob& job);
  // Leases up to `limit` IN_PROGRESS jobs whose lease has expired (never-leased jobs
  // included) and whose reports have not expired, each until now + lease_duration.
  std::vector<Lease<AcquiredAggregationJob>> acquire_incomplete_aggregation_jobs(
      Duration lease_duration, std::uint64_t limit);
  // Gives the job back for immediate re-acquisition; throws MutationTargetNotFound unless
  // the lease token still matches.
  void release_aggregation_job(const Lease<AcquiredAggregationJob>& lease);
  // Marks the job ABANDONED (never leased again) and releases the lease.
  void abandon_aggregation_job(const Lease<AcquiredAggregationJob>& lease);

  // ---- report aggregations ----
  // Inserts a job's report aggregations in one statement.
  void put_report_aggregations(const std::vector<ReportAggregation>& report_aggregations);
  std::vector<ReportAggregation> get_report_aggregations_for_job(const TaskId& task_id,
                                                                 const AggregationJobId& job_id);
  // Updates state and state data of existing rows (matched by job and ord), in one
  // statement; throws MutationTargetNotFound (rolling back) if any row is missing.
  void update_report_aggregations(const std::vector<ReportAggregation>& report_aggregations);
  // Locks the stored rows of these reports (FOR UPDATE, in id order) until the transaction
  // ends. A helper deciding whether a report seen before may be aggregated again (Poplar1's
  // next level) takes it first: two concurrent jobs holding one report then decide one after
  // the other, so that the second sees the first's parameter (at READ COMMITTED, in the
  // statements after the lock) instead of both preparing the report at one level.
  void lock_client_reports(const TaskId& task_id, const std::vector<ReportId>& report_ids);
  // Replays and the validity of aggregation parameters (VDAF-08 is_valid), one statement:
  // for each of `report_ids` that aggregation jobs other than `excluding_job_id` hold, the
  // parameters of those jobs. A report absent from the answer was never aggregated.
  std::map<ReportId, std::vector<Bytes>> get_aggregation_parameters_of_reports(
      const TaskId& task_id, const std::vector<ReportId>& report_ids,
      const std::optional<AggregationJobId>& excluding_job_id);

  // ---- batch aggregations ----
  void put_batch_aggregation(const BatchAggregation& batch_aggregation);
  void update_batch_aggregation(const BatchAggregation& batch_aggregation);
  std::optional<BatchAggregation> get_batch_aggregation(const TaskId& task_id,
                                                        const BatchIdentifier& batch_identifier,
                                                        ByteSpan aggregation_parameter,
                                                        std::uint64_t ord);
  // Aggregation writers: one shard of the batch, locked until the transaction ends, for a
  // read-modify-write. An existing shard no other transaction holds is preferred (so that
  // concurrent writers take different shards without waiting); when every one is held
  // or none exists yet, a random shard below `shard_count` is created if missing and
  // waited for. Run it at READ COMMITTED (at REPEATABLE READ a concurrent commit to the
  // shard is a serialization failure).
  BatchAggregation lock_batch_aggregation_shard(const TaskId& task_id,
                                                const BatchIdentifier& batch_identifier,
                                                ByteSpan aggregation_parameter,
                                                std::uint64_t shard_count);
  // Every shard of one batch.
  std::vector<BatchAggregation> get_batch_aggregations_for_batch(
      const TaskId& task_id, const BatchIdentifier& batch_identifier,
      ByteSpan aggregation_parameter);
  // time_interval: every shard of every batch inside `interval`.
  std::vector<BatchAggregation> get_batch_aggregations_in_interval(const TaskId& task_id,
                                                                   const Interval& interval,
                                                                   ByteSpan aggregation_parameter);

  // Collection: marks shards 0 … shard_count-1 of each batch COLLECTED in one statement,
  // writing empty COLLECTED shards where none exist yet, so that no aggregation job adds
  // to the batches any more.
  void mark_batch_aggregations_collected(const TaskId& task_id,
                                         const std::vector<BatchIdentifier>& batches,
                                         ByteSpan aggregation_parameter, std::uint64_t shard_count);

  // Whether the batch is COLLECTED or SCRUBBED: under any aggregation parameter (uploads
  // into it are rejected, IntervalCollected), or under `aggregation_parameter` alone (the
  // job driver's test, since a batch collected under one parameter may still be aggregated
  // under another: Poplar1's next level). New report aggregations into a batch collected
  // under their own parameter fail with BatchCollected.
  bool is_batch_collected(const TaskId& task_id, const BatchIdentifier& batch_identifier,
                          std::optional<ByteSpan> aggregation_parameter = std::nullopt);
  // DAP-09 §4.5.1.4, the last check of an input share: a report of a batch that was
  // collected before may be aggregated only if it was included in every previous collection
  // of the batch, so that two collections cannot tell a collector about the few reports in
  // one and not the other. Of `reports` (each with the batch it falls in), those whose batch
  // was collected under a parameter other than `aggregation_parameter` without the report's
  // output share (no FINISHED report aggregation of it under that parameter). Only a VDAF
  // with an aggregation parameter (Poplar1) collects a batch more than once.
  std::set<ReportId> reports_left_out_of_collections(
      const TaskId& task_id, const std::vector<std::pair<ReportId, BatchIdentifier>>& reports,
      ByteSpan aggregation_parameter);

  // ---- garbage collection (report_expiry_age) ----
  // Janus 0.7's rules, with threshold = now - report_expiry_age. Each deletes at most
  // `limit` things of one task and returns how many went, so that the collector works in
  // bounded transactions.
  // Up to `limit` client reports with client_timestamp < threshold.
  std::uint64_t delete_expired_client_reports(const TaskId& task_id, Time threshold,
                                              std::uint64_t limit);
  // Up to `limit` aggregation jobs (in any state) whose client timestamp interval ends
  // before threshold, with their report aggregations; returns the jobs deleted.
  std::uint64_t delete_expired_aggregation_jobs(const TaskId& task_id, Time threshold,
                                                std::uint64_t limit);
  // Up to `limit` batches — (batch identifier, aggregation parameter) — every shard of
  // which ends before threshold (its batch interval for time_interval, its reports' times
  // for fixed_size), with their outstanding batch, collection jobs and aggregate share
  // jobs; with any batch, also the collection and aggregate share jobs whose interval
  // starts before threshold (they could no longer be computed). Returns the batches.
  std::uint64_t delete_expired_collection_artifacts(const TaskId& task_id, Time threshold,
                                                    std::uint64_t limit);

  // ---- collection jobs ----
  void put_collection_job(const CollectionJob& job);
  std::optional<CollectionJob> get_collection_job(const TaskId& task_id,
                                                  const CollectionJobId& job_id);
  void update_collection_job(const CollectionJob& job);
  // Collection jobs whose batch is `batch_identifier` (query counting, fixed_size).
  std::vector<CollectionJob> get_collection_jobs_for_batch(const TaskId& task_id,
                                                           const BatchIdentifier& batch_identifier);
  // time_interval: collection jobs whose interval intersects `interval` (overlap checks).
  std::vector<CollectionJob> get_collection_jobs_intersecting_interval(const TaskId& task_id,
                                                                       const Interval& interval);
  // Every collection job of a task (janus_cli list-collection-jobs).
  std::vector<CollectionJob> get_collection_jobs_for_task(const TaskId& task_id);
  std::vector<Lease<AcquiredCollectionJob>> acquire_incomplete_collection_jobs(
      Duration lease_duration, std::uint64_t limit);
  // Without a delay the job is immediately acquirable again; with one (a retry after a
  // failed step) it becomes acquirable at now + delay and step_attempts goes up by one.
  void release_collection_job(const Lease<AcquiredCollectionJob>& lease,
                              std::optional<Duration> reacquire_delay = std::nullopt);

  // ---- aggregate share jobs (helper) ----
  void put_aggregate_share_job(const AggregateShareJob& job);
  std::optional<AggregateShareJob> get_aggregate_share_job(const TaskId& task_id,
                                                           const BatchIdentifier& batch_identifier,
                                                           ByteSpan aggregation_parameter);
  std::vector<AggregateShareJob> get_aggregate_share_jobs_for_batch(
      const TaskId& task_id, const BatchIdentifier& batch_identifier);
  std::vector<AggregateShareJob> get_aggregate_share_jobs_intersecting_interval(
      const TaskId& task_id, const Interval& interval);

  // ---- job leases as stored (janus_cli list-aggregation-jobs, list-collection-jobs) ----
  struct JobLeaseState {
    Time expiry = 0;  // 0: not leased (never, or released)
    std::uint64_t attempts = 0;
  };
  std::vector<std::pair<AggregationJobId, JobLeaseState>> get_aggregation_job_leases_for_task(
      const TaskId& task_id);
  std::vector<std::pair<CollectionJobId, JobLeaseState>> get_collection_job_leases_for_task(
      const TaskId& task_id);

  // ---- outstanding batches (leader, fixed_size) ----
  void put_outstanding_batch(const OutstandingBatch& batch);
  // FILLING batches of a task (and time bucket, when given).
  std::vector<OutstandingBatch> get_filling_outstanding_batches(
      const TaskId& task_id, std::optional<Time> time_bucket_start);
  void mark_outstanding_batch_filled(const TaskId& task_id, const BatchId& batch_id);
  void delete_outstanding_batch(const TaskId& task_id, const BatchId& batch_id);
  // Leader, a `current_batch` collection: takes one outstanding batch (FILLING or FILLED)
  // whose batch aggregations count at least `min_report_count` reports and whose newest
  // report is not past the task's report_expiry_age, and removes it from the outstanding
  // batches, so the job creator puts no more reports into it and no other collection takes
  // it. The oldest such batch first; one another transaction holds is skipped.
  std::optional<BatchId> acquire_filled_outstanding_batch(const TaskId& task_id,
                                                          std::uint64_t min_report_count);

  // ---- counters (sharded by ord) ----
  void increment_task_upload_counter(const TaskId& task_id, std::uint64_t ord,
                                     const TaskUploadCounter& delta);
  TaskUploadCounter get_task_upload_counter(const TaskId& task_id);
  void increment_task_aggregation_counter(const TaskId& task_id, std::uint64_t ord,
                                          std::uint64_t success_delta);
  std::uint64_t get_task_aggregation_counter(const TaskId& task_id);

 private:
  friend class Datastore;
  Transaction(pg::Connection& connection, const Crypter& crypter, std::string name, Time now);
  pg::Connection& connection_;
  const Crypter& crypter_;
  std::string name_;
  Time now_;
};

}  // namespace janus
