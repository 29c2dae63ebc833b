#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <latch>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "janus/datastore.h"
#include "janus/testing/test_database.h"
#include "test_util.h"

namespace janus {
namespace {

using namespace datastore_test;

class TransactionTest : public ::testing::Test {
 protected:
  template <typename Body>
  auto tx(Body&& body) {
    return datastore_->run_tx("test", std::forward<Body>(body));
  }
  AggregatorTask put_task(AggregatorTask task = leader_task()) {
    tx([&](Transaction& t) { t.put_aggregator_task(task); });
    return task;
  }

  testing::TestDatabase db_;
  MockClock clock_{1'700'000'000};
  std::unique_ptr<Datastore> datastore_ = db_.open_datastore(clock_);
};

// ---- run_tx ----

TEST_F(TransactionTest, CommitsOnReturnAndRollsBackOnException) {
  AggregatorTask kept = leader_task();
  AggregatorTask dropped = leader_task();
  tx([&](Transaction& t) { t.put_aggregator_task(kept); });
  EXPECT_THROW(tx([&](Transaction& t) {
                 t.put_aggregator_task(dropped);
                 throw std::runtime_error("body failed");
               }),
               std::runtime_error);
  EXPECT_TRUE(tx([&](Transaction& t) { return t.get_aggregator_task(kept.task_id); }).has_value());
  EXPECT_FALSE(
      tx([&](Transaction& t) { return t.get_aggregator_task(dropped.task_id); }).has_value());
  EXPECT_EQ(db_.query("SELECT updated_by FROM tasks"), "test");
}

// Task ids come in byte order; with a bound and a limit, one page after the bound.
TEST_F(TransactionTest, TaskIdsPageInByteOrder) {
  std::vector<TaskId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(put_task().task_id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_task_ids(); }), ids);
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_task_ids(std::nullopt, 2); }),
            std::vector<TaskId>(ids.begin(), ids.begin() + 2));
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_task_ids(ids[1], 2); }),
            std::vector<TaskId>(ids.begin() + 2, ids.begin() + 4));
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_task_ids(ids[3]); }),
            std::vector<TaskId>(ids.begin() + 4, ids.end()));
  EXPECT_TRUE(tx([&](Transaction& t) { return t.get_task_ids(ids[4], 10); }).empty());
}

// REPEATABLE READ: a row committed by another session after the transaction's first read
// is invisible to the rest of the transaction (READ COMMITTED would see it).
TEST_F(TransactionTest, RunsAtRepeatableRead) {
  AggregatorTask task = put_task();
  AggregatorTask later = leader_task();
  std::size_t before = 0, after = 0;
  tx([&](Transaction& t) {
    before = t.get_task_ids().size();
    db_.open_datastore(clock_)->run_tx("other",
                                       [&](Transaction& o) { o.put_aggregator_task(later); });
    after = t.get_task_ids().size();
  });
  EXPECT_EQ(before, 1u);
  EXPECT_EQ(after, 1u);
}

// A real serialization failure: the body reads a row (taking its snapshot), another
// session updates and commits the row, then the body updates it → SQLSTATE 40001. The
// datastore retries the body, which then succeeds.
TEST_F(TransactionTest, RetriesARealSerializationFailure) {
  AggregatorTask task = put_task();
  auto other = db_.open_datastore(clock_);
  int attempts = 0;
  datastore_->run_tx("conflicting", [&](Transaction& t) {
    ++attempts;
    ASSERT_TRUE(t.get_aggregator_task(task.task_id).has_value());
    if (attempts == 1) {
      other->run_tx("interloper",
                    [&](Transaction& o) { o.update_task_expiration(task.task_id, 5); });
    }
    t.update_task_expiration(task.task_id, 10);
  });
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(datastore_->transaction_retries(), 1u);
  EXPECT_EQ(
      tx([&](Transaction& t) { return t.get_aggregator_task(task.task_id); })->task_expiration,
      10u);
}

TEST_F(TransactionTest, RetriesEvenWhenTheBodySwallowedTheSerializationFailure) {
  AggregatorTask task = put_task();
  auto other = db_.open_datastore(clock_);
  int attempts = 0;
  datastore_->run_tx("swallowing", [&](Transaction& t) {
    ++attempts;
    t.get_aggregator_task(task.task_id);
    if (attempts == 1) {
      other->run_tx("interloper",
                    [&](Transaction& o) { o.update_task_expiration(task.task_id, 5); });
    }
    try {
      t.update_task_expiration(task.task_id, 10);
    } catch (const DatastoreError&) {
      // A careless body; COMMIT then answers ROLLBACK and the datastore retries anyway.
    }
  });
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(
      tx([&](Transaction& t) { return t.get_aggregator_task(task.task_id); })->task_expiration,
      10u);
}

// A real deadlock: two transactions lock two rows in opposite orders. PostgreSQL aborts one
// with SQLSTATE 40P01; the datastore retries it and both complete.
TEST_F(TransactionTest, RetriesARealDeadlock) {
  AggregatorTask first = put_task();
  AggregatorTask second = put_task();
  auto other = db_.open_datastore(clock_);
  std::latch both_hold_one_lock(2);
  std::atomic<int> attempts{0};
  auto lock_in_order = [&](Datastore& datastore, const TaskId& a, const TaskId& b, Time value) {
    bool first_attempt = true;
    datastore.run_tx("deadlocking", [&](Transaction& t) {
      ++attempts;
      t.update_task_expiration(a, value);
      if (first_attempt) {
        first_attempt = false;
        both_hold_one_lock.arrive_and_wait();
      }
      t.update_task_expiration(b, value);
    });
  };
  auto worker = std::async(std::launch::async,
                           [&] { lock_in_order(*other, second.task_id, first.task_id, 2); });
  lock_in_order(*datastore_, first.task_id, second.task_id, 1);
  worker.get();
  EXPECT_GE(attempts.load(), 3);  // two first attempts and at least one retry
  EXPECT_GE(datastore_->transaction_retries() + other->transaction_retries(), 1u);
  // Whichever committed last wrote both rows: they agree.
  auto a = tx([&](Transaction& t) { return t.get_aggregator_task(first.task_id); });
  auto b = tx([&](Transaction& t) { return t.get_aggregator_task(second.task_id); });
  EXPECT_EQ(a->task_expiration, b->task_expiration);
}

TEST_F(TransactionTest, GivesUpAfterMaxTransactionRetries) {
  DatabaseConfig config = db_.config();
  config.max_transaction_retries = 2;
  auto datastore = Datastore::open(config, DatastoreKeys({DatastoreKeys::generate_key()}), clock_);
  AggregatorTask task = leader_task();
  datastore->run_tx("put", [&](Transaction& t) { t.put_aggregator_task(task); });
  auto other = db_.open_datastore(clock_);
  int attempts = 0;
  EXPECT_THROW(datastore->run_tx("always-conflicting",
                                 [&](Transaction& t) {
                                   ++attempts;
                                   t.get_task_ids();
                                   other->run_tx("interloper", [&](Transaction& o) {
                                     o.update_task_expiration(task.task_id, attempts);
                                   });
                                   t.update_task_expiration(task.task_id, 10);
                                 }),
               DatastoreError);
  EXPECT_EQ(attempts, 3);  // the first try and two retries
}

TEST_F(TransactionTest, ANonRetryableErrorIsNotRetried) {
  int attempts = 0;
  EXPECT_THROW(tx([&](Transaction& t) {
                 ++attempts;
                 t.delete_task(TaskId::random());
               }),
               MutationTargetNotFound);
  EXPECT_EQ(attempts, 1);
}

// connection_pool_max_size bounds the connections; a caller waits up to
// connection_pool_timeouts_s for a free one, then gets a clear error.
TEST_F(TransactionTest, PoolSizeBoundsConcurrentTransactions) {
  DatabaseConfig config = db_.config();
  config.connection_pool_max_size = 1;
  config.connection_pool_timeouts_s = 1;
  auto datastore = Datastore::open(config, DatastoreKeys({DatastoreKeys::generate_key()}), clock_);
  datastore->run_tx("holder", [&](Transaction&) {
    try {
      std::async(std::launch::async, [&] {
        datastore->run_tx("waiter", [](Transaction& t) { t.get_task_ids(); });
      }).get();
      ADD_FAILURE() << "a second connection was handed out";
    } catch (const DatastoreError& error) {
      EXPECT_NE(std::string(error.what()).find("no database connection free within 1 s"),
                std::string::npos)
          << error.what();
    }
  });
  // Released again: the next transaction gets the connection.
  EXPECT_TRUE(datastore->run_tx("after", [](Transaction& t) { return t.get_task_ids(); }).empty());
}

// statement_timeout_ms bounds every statement: one waiting on a row lock that another
// transaction holds is cancelled (and not retried) while that transaction still runs.
TEST_F(TransactionTest, StatementTimeoutCancelsAStatementThatWaits) {
  AggregatorTask task = put_task();
  DatabaseConfig config = db_.config();
  config.statement_timeout_ms = 200;
  auto bounded = Datastore::open(config, DatastoreKeys({DatastoreKeys::generate_key()}), clock_);
  datastore_->run_tx("holder", [&](Transaction& t) {
    t.update_task_expiration(task.task_id, 1'800'000'000);  // row lock until commit
    auto waiter = std::async(std::launch::async, [&] {
      try {
        bounded->run_tx("waiter", [&](Transaction& w) {
          w.update_task_expiration(task.task_id, 1'900'000'000);
        });
        return std::string("committed");
      } catch (const DatastoreError& error) {
        return std::string("failed: ") + error.what();
      }
    });
    // Without the timeout the waiter would wait for this commit, which comes only after
    // the 20 s below.
    ASSERT_EQ(waiter.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    const std::string outcome = waiter.get();
    EXPECT_EQ(outcome.rfind("failed: ", 0), 0u) << outcome;
    EXPECT_NE(outcome.find("statement timeout"), std::string::npos) << outcome;
  });
  EXPECT_EQ(bounded->transaction_retries(), 0u);
}

// LISTEN/NOTIFY: a notification reaches a listener when (and only if) the notifying
// transaction commits.
TEST_F(TransactionTest, NotificationsArriveWhenTheTransactionCommits) {
  auto listener = datastore_->listen(kAggregationJobsChannel);
  EXPECT_FALSE(listener->wait(std::chrono::milliseconds(20)));
  EXPECT_THROW(tx([&](Transaction& t) {
                 t.notify(kAggregationJobsChannel);
                 throw std::runtime_error("rolled back");
               }),
               std::runtime_error);
  EXPECT_FALSE(listener->wait(std::chrono::milliseconds(50)));
  tx([&](Transaction& t) { t.notify(kAggregationJobsChannel); });
  EXPECT_TRUE(listener->wait(std::chrono::seconds(20)));
  EXPECT_FALSE(listener->wait(std::chrono::milliseconds(20)));    // taken
  tx([&](Transaction& t) { t.notify(kCollectionJobsChannel); });  // another channel
  EXPECT_FALSE(listener->wait(std::chrono::milliseconds(50)));
  EXPECT_THROW(datastore_->listen("janus; DROP TABLE tasks"), DatastoreError);
  EXPECT_THROW(tx([&](Transaction& t) { t.notify("other"); }), DatastoreError);
}

// ---- tasks ----

TEST_F(TransactionTest, TaskRoundTripsWithEveryField) {
  AggregatorTask leader = put_task();
  AggregatorTask helper = leader_task(TaskQueryType{TaskQueryType::Kind::FixedSize, 100, 3600});
  helper.role = Role::Helper;
  helper.vdaf = VdafDescription{"Prio3Count"};
  helper.aggregator_auth_token.reset();
  helper.collector_auth_token_hash.reset();
  helper.aggregator_auth_token_hash =
      AuthToken::create(AuthTokenType::Bearer, "leader-token")->hash();
  helper.task_expiration.reset();
  helper.report_expiry_age = 86400;
  helper.collector_hpke_config.reset();
  helper.hpke_keys = {keypair(255)};
  helper.taskprov_task_config = Bytes{1, 2, 3};
  put_task(helper);
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_aggregator_task(leader.task_id); }), leader);
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_aggregator_task(helper.task_id); }), helper);
  auto all = tx([&](Transaction& t) { return t.get_aggregator_tasks(); });
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], leader);
  EXPECT_EQ(all[1], helper);
  EXPECT_EQ(db_.query("SELECT vdaf::text FROM tasks WHERE aggregator_role = 'LEADER'"),
            "{\"Prio3Sum\": {\"bits\": 16}}");
  EXPECT_EQ(db_.query("SELECT query_type::text FROM tasks WHERE aggregator_role = 'HELPER'"),
            "{\"FixedSize\": {\"max_batch_size\": 100, \"batch_time_window_size\": 3600}}");
}

TaskprovPeerAggregator taskprov_peer(std::string endpoint, Role role) {
  TaskprovPeerAggregator peer;
  peer.endpoint = std::move(endpoint);
  peer.role = role;
  peer.verify_key_init = Bytes(32, 0x42);
  peer.collector_hpke_config = datastore_test::keypair(7).config;
  peer.report_expiry_age = 3600;
  peer.tolerable_clock_skew = 60;
  peer.aggregator_auth_tokens = {*AuthToken::create(AuthTokenType::Bearer, "first"),
                                 *AuthToken::create(AuthTokenType::DapAuth, "second")};
  peer.collector_auth_tokens = {*AuthToken::create(AuthTokenType::Bearer, "collector")};
  return peer;
}

TEST_F(TransactionTest, TaskprovPeerAggregatorsRoundTripAndAreFoundByNormalisedEndpoint) {
  TaskprovPeerAggregator leader = taskprov_peer("https://Leader.example", Role::Leader);
  TaskprovPeerAggregator helper = taskprov_peer("https://helper.example/", Role::Helper);
  helper.report_expiry_age.reset();
  helper.collector_auth_tokens.clear();
  tx([&](Transaction& t) {
    t.put_taskprov_peer_aggregator(leader);
    t.put_taskprov_peer_aggregator(helper);
  });
  // Stored normalised; found under any spelling that normalises alike, and only in its role.
  leader.endpoint = "https://leader.example/";
  auto all = tx([&](Transaction& t) { return t.get_taskprov_peer_aggregators(); });
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], leader);
  EXPECT_EQ(all[1], helper);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_taskprov_peer_aggregator("HTTPS://LEADER.EXAMPLE", Role::Leader);
            }),
            leader);
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.get_taskprov_peer_aggregator("https://leader.example/", Role::Helper);
  }));
  // The verify_key_init and tokens are encrypted at rest.
  EXPECT_EQ(db_.query("SELECT count(*) FROM taskprov_peer_aggregators "
                      "WHERE verify_key_init = decode(repeat('42', 32), 'hex')"),
            "0");
  EXPECT_EQ(db_.query("SELECT count(*) FROM taskprov_aggregator_auth_tokens "
                      "WHERE token = 'first'::bytea"),
            "0");

  tx([&](Transaction& t) {
    EXPECT_THROW(t.put_taskprov_peer_aggregator(leader), MutationTargetAlreadyExists);
    t.delete_taskprov_peer_aggregator("https://leader.example", Role::Leader);
    EXPECT_THROW(t.delete_taskprov_peer_aggregator("https://leader.example", Role::Leader),
                 MutationTargetNotFound);
  });
  EXPECT_EQ(db_.query("SELECT count(*) FROM taskprov_aggregator_auth_tokens"), "2");  // helper's
  TaskprovPeerAggregator bad = taskprov_peer("https://x.example/", Role::Leader);
  bad.verify_key_init.resize(31);
  EXPECT_THROW(tx([&](Transaction& t) { t.put_taskprov_peer_aggregator(bad); }),
               std::invalid_argument);
}

TEST_F(TransactionTest, DuplicateTaskIsRejectedWithoutAbortingTheTransaction) {
  AggregatorTask task = put_task();
  tx([&](Transaction& t) {
    EXPECT_THROW(t.put_aggregator_task(task), MutationTargetAlreadyExists);
    // The transaction is still usable (ON CONFLICT, not a failed statement).
    EXPECT_EQ(t.get_task_ids().size(), 1u);
  });
}

TEST_F(TransactionTest, DeletingATaskRemovesEverythingItOwns) {
  AggregatorTask task = put_task();
  tx([&](Transaction& t) {
    t.put_client_report(report(task.task_id, 1'700'000'000));
    t.put_aggregation_job(aggregation_job(task.task_id, {1'699'999'000, 1000}));
    t.delete_task(task.task_id);
  });
  EXPECT_EQ(db_.query("SELECT count(*) FROM client_reports"), "0");
  EXPECT_EQ(db_.query("SELECT count(*) FROM aggregation_jobs"), "0");
  EXPECT_EQ(db_.query("SELECT count(*) FROM task_hpke_keys"), "0");
  EXPECT_THROW(tx([&](Transaction& t) { t.delete_task(task.task_id); }), MutationTargetNotFound);
}

TEST_F(TransactionTest, GlobalHpkeKeysMoveThroughTheirStates) {
  tx([&](Transaction& t) {
    t.put_global_hpke_keypair(keypair(3));
    t.put_global_hpke_keypair(keypair(4));
    EXPECT_THROW(t.put_global_hpke_keypair(keypair(3)), MutationTargetAlreadyExists);
  });
  clock_.advance(100);
  tx([&](Transaction& t) { t.set_global_hpke_keypair_state(4, HpkeKeyState::Active); });
  auto keys = tx([&](Transaction& t) { return t.get_global_hpke_keypairs(); });
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], (GlobalHpkeKeypair{keypair(3), HpkeKeyState::Pending, 1'700'000'000}));
  EXPECT_EQ(keys[1], (GlobalHpkeKeypair{keypair(4), HpkeKeyState::Active, 1'700'000'100}));
  tx([&](Transaction& t) { t.delete_global_hpke_keypair(3); });
  EXPECT_FALSE(tx([&](Transaction& t) { return t.get_global_hpke_keypair(3); }).has_value());
  EXPECT_THROW(
      tx([&](Transaction& t) { t.set_global_hpke_keypair_state(3, HpkeKeyState::Expired); }),
      MutationTargetNotFound);
  StoredHpkeKeypair inconsistent = keypair(5);
  inconsistent.config[0] = 6;
  EXPECT_THROW(tx([&](Transaction& t) { t.put_global_hpke_keypair(inconsistent); }),
               std::invalid_argument);
}

// ---- reports ----

TEST_F(TransactionTest, BatchedReportInsertReportsDuplicatesAndKeepsEmptySharesEmpty) {
  AggregatorTask task = put_task();
  AggregatorTask other_task = put_task();
  auto a = report(task.task_id, 1'700'000'000);
  auto b = report(task.task_id, 1'700'000'100);
  auto c = report(other_task.task_id, 1'700'000'200);
  c.report_id = a.report_id;  // same id, another task: not a duplicate
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.put_client_reports({a, b, c});
            }),
            (std::vector<bool>{true, true, true}));
  auto d = report(task.task_id, 1'700'000'300);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.put_client_reports({b, d, d});
            }),
            (std::vector<bool>{false, true, false}));
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_client_report(task.task_id, a.report_id); }), a);
  EXPECT_EQ(
      tx([&](Transaction& t) { return t.get_client_report(other_task.task_id, c.report_id); }), c);
  // Empty public share and extensions are stored as empty BYTEA, never NULL.
  EXPECT_EQ(db_.query("SELECT count(*) FROM client_reports WHERE public_share IS NULL"), "0");
  EXPECT_EQ(db_.query("SELECT count(*) FROM client_reports WHERE public_share = ''::bytea"), "4");
  EXPECT_TRUE(tx([&](Transaction& t) { return t.put_client_reports({}); }).empty());
}

TEST_F(TransactionTest, ReportOfAnUnknownTaskIsRejected) {
  auto orphan = report(TaskId::random(), 1);
  EXPECT_THROW(tx([&](Transaction& t) { t.put_client_reports({orphan}); }), MutationTargetNotFound);
  EXPECT_THROW(tx([&](Transaction& t) { t.put_client_report(orphan); }), MutationTargetNotFound);
  EXPECT_EQ(db_.query("SELECT count(*) FROM client_reports"), "0");
}

TEST_F(TransactionTest, SingleReportInsertRejectsDuplicates) {
  AggregatorTask task = put_task();
  auto a = report(task.task_id, 1'700'000'000);
  tx([&](Transaction& t) { t.put_client_report(a); });
  EXPECT_THROW(tx([&](Transaction& t) { t.put_client_report(a); }), MutationTargetAlreadyExists);
}

TEST_F(TransactionTest, LockedUnaggregatedReportsAreOldestFirstAndGoBackUnlessStarted) {
  AggregatorTask task = put_task();
  std::vector<LeaderStoredReport> reports;
  for (int i = 0; i < 10; ++i) reports.push_back(report(task.task_id, 1'700'000'000 - i * 10));
  tx([&](Transaction& t) { t.put_client_reports(reports); });
  auto ids_of = [](const std::vector<ReportMetadata>& locked) {
    std::vector<ReportId> ids;
    for (const auto& r : locked) ids.push_back(r.id);
    return ids;
  };
  AggregationJob job = aggregation_job(task.task_id, {1'699'999'900, 101});
  tx([&](Transaction& t) { t.put_aggregation_job(job); });
  // The four oldest, oldest first; only two of them are started, the others go back.
  auto first = tx([&](Transaction& t) {
    auto locked = t.lock_unaggregated_client_reports(task.task_id, 4);
    t.start_aggregation_of_client_reports(task.task_id, job.aggregation_job_id,
                                          {locked[0].id, locked[1].id});
    return locked;
  });
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0], (ReportMetadata{reports[9].report_id, reports[9].client_timestamp}));
  EXPECT_EQ(first[3], (ReportMetadata{reports[6].report_id, reports[6].client_timestamp}));
  auto rest =
      tx([&](Transaction& t) { return t.lock_unaggregated_client_reports(task.task_id, 100); });
  ASSERT_EQ(rest.size(), 8u);
  EXPECT_EQ(rest[0], first[2]);
  // Started reports are never locked again.
  AggregationJob second = aggregation_job(task.task_id, {1'699'999'900, 101});
  tx([&](Transaction& t) {
    t.put_aggregation_job(second);
    t.start_aggregation_of_client_reports(
        task.task_id, second.aggregation_job_id,
        ids_of(t.lock_unaggregated_client_reports(task.task_id, 100)));
  });
  EXPECT_TRUE(tx([&](Transaction& t) {
                return t.lock_unaggregated_client_reports(task.task_id, 100);
              }).empty());
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.count_client_reports_in_interval(task.task_id, {1'699'999'950, 51});
            }),
            6u);
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.interval_has_unaggregated_reports(task.task_id, {1'699'999'900, 101});
  }));
  LeaderStoredReport late = report(task.task_id, 1'699'999'905);
  tx([&](Transaction& t) { t.put_client_report(late); });
  EXPECT_TRUE(tx([&](Transaction& t) {
    return t.interval_has_unaggregated_reports(task.task_id, {1'699'999'900, 6});
  }));
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.interval_has_unaggregated_reports(task.task_id, {1'699'999'906, 100});
  }));
}

TEST_F(TransactionTest, ConcurrentLocksSkipLockedReports) {
  AggregatorTask task = put_task();
  std::vector<LeaderStoredReport> reports;
  for (int i = 0; i < 6; ++i) reports.push_back(report(task.task_id, 1'700'000'000 + i));
  tx([&](Transaction& t) { t.put_client_reports(reports); });
  auto other = db_.open_datastore(clock_);
  std::vector<ReportMetadata> locked_first, locked_second;
  tx([&](Transaction& t) {
    locked_first = t.lock_unaggregated_client_reports(task.task_id, 3);
    // While these rows are locked (uncommitted), another creator gets the other three.
    locked_second = other->run_tx("second", [&](Transaction& o) {
      return o.lock_unaggregated_client_reports(task.task_id, 6);
    });
  });
  ASSERT_EQ(locked_first.size(), 3u);
  ASSERT_EQ(locked_second.size(), 3u);
  std::set<ReportId> ids;
  for (const auto& r : locked_first) ids.insert(r.id);
  for (const auto& r : locked_second) ids.insert(r.id);
  EXPECT_EQ(ids.size(), 6u);
}

TEST_F(TransactionTest, StartedReportsMoveTheirSharesToTheJobAndKeepTheirIdForReplays) {
  AggregatorTask task = put_task();
  auto a = report(task.task_id, 1'700'000'000);
  auto b = report(task.task_id, 1'700'000'001);
  auto left = report(task.task_id, 1'700'000'002);
  a.extensions = filled(3, 0x33);
  b.leader_input_share = filled(41, 0x07);
  AggregationJob job = aggregation_job(task.task_id, {1'700'000'000, 3});
  tx([&](Transaction& t) {
    t.put_client_report(a);
    t.put_client_report(b);
    t.put_client_report(left);
    t.put_aggregation_job(job);
  });
  // Locked oldest first, ids and times only.
  std::vector<ReportMetadata> locked = tx([&](Transaction& t) {
    auto reports = t.lock_unaggregated_client_reports(task.task_id, 2);
    t.start_aggregation_of_client_reports(task.task_id, job.aggregation_job_id,
                                          {b.report_id, a.report_id});
    return reports;
  });
  EXPECT_EQ(locked, (std::vector<ReportMetadata>{{a.report_id, a.client_timestamp},
                                                 {b.report_id, b.client_timestamp}}));
  auto ras = tx([&](Transaction& t) {
    return t.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id);
  });
  ASSERT_EQ(ras.size(), 2u);
  for (std::size_t ord = 0; ord < 2; ++ord) {
    const LeaderStoredReport& stored = ord == 0 ? b : a;
    EXPECT_EQ(ras[ord].ord, ord);
    EXPECT_EQ(ras[ord].report_id, stored.report_id);
    EXPECT_EQ(ras[ord].client_timestamp, stored.client_timestamp);
    EXPECT_EQ(ras[ord].state, ReportAggregationState::StartLeader);
    EXPECT_EQ(ras[ord].public_share, stored.public_share);
    EXPECT_EQ(ras[ord].leader_extensions, stored.extensions);
    EXPECT_EQ(ras[ord].leader_input_share, stored.leader_input_share);
    EXPECT_EQ(ras[ord].helper_encrypted_input_share, stored.helper_encrypted_input_share);
  }
  // The reports are scrubbed and started; their ids still reject a replayed upload.
  EXPECT_FALSE(tx([&](Transaction& t) { return t.get_client_report(task.task_id, a.report_id); }));
  EXPECT_THROW(tx([&](Transaction& t) { t.put_client_report(a); }), MutationTargetAlreadyExists);
  EXPECT_EQ(
      tx([&](Transaction& t) { return t.lock_unaggregated_client_reports(task.task_id, 10); }),
      (std::vector<ReportMetadata>{{left.report_id, left.client_timestamp}}));
  // Starting a report twice (or one not stored) fails as a whole.
  AggregationJob second = aggregation_job(task.task_id, {1'700'000'000, 3});
  tx([&](Transaction& t) { t.put_aggregation_job(second); });
  EXPECT_THROW(tx([&](Transaction& t) {
                 t.start_aggregation_of_client_reports(task.task_id, second.aggregation_job_id,
                                                       {left.report_id, a.report_id});
               }),
               MutationTargetNotFound);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.lock_unaggregated_client_reports(task.task_id, 10);
            }).size(),
            1u);
  // Helper side: first sightings are returned, replays are not.
  ReportId seen = ReportId::random(), fresh = ReportId::random();
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.put_scrubbed_reports(task.task_id, {{seen, 5}});
            }),
            std::set<ReportId>{seen});
  EXPECT_EQ(
      tx([&](Transaction& t) {
        return t.put_scrubbed_reports(task.task_id, {{seen, 5}, {fresh, 6}, {a.report_id, 7}});
      }),
      std::set<ReportId>{fresh});
  EXPECT_TRUE(tx([&](Transaction& t) { return t.put_scrubbed_reports(task.task_id, {}); }).empty());
  EXPECT_THROW(tx([&](Transaction& t) {
                 return t.put_scrubbed_reports(TaskId::random(), {{ReportId::random(), 5}});
               }),
               MutationTargetNotFound);
}

// ---- aggregation jobs and report aggregations ----

TEST_F(TransactionTest, AggregationJobAndReportAggregationsRoundTrip) {
  AggregatorTask task =
      put_task(leader_task(TaskQueryType{TaskQueryType::Kind::FixedSize, 50, std::nullopt}));
  AggregationJob job = aggregation_job(task.task_id, {1'700'000'000, 3600});
  job.batch_id = BatchId::random();
  job.aggregation_parameter = {1, 2, 3};
  std::vector<ReportAggregation> ras;
  for (std::uint64_t ord = 0; ord < 3; ++ord) {
    ReportAggregation ra;
    ra.task_id = task.task_id;
    ra.aggregation_job_id = job.aggregation_job_id;
    ra.report_id = ReportId::random();
    ra.client_timestamp = 1'700'000'000 + ord;
    ra.ord = ord;
    ra.state = ReportAggregationState::StartLeader;
    ra.public_share = Bytes{};
    ra.leader_extensions = Bytes{};
    ra.leader_input_share = filled(10, static_cast<std::uint8_t>(ord));
    ra.helper_encrypted_input_share = filled(20, 0xee);
    ras.push_back(ra);
  }
  tx([&](Transaction& t) {
    t.put_aggregation_job(job);
    EXPECT_THROW(t.put_aggregation_job(job), MutationTargetAlreadyExists);
    t.put_report_aggregations(ras);
  });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_aggregation_job(task.task_id, job.aggregation_job_id);
            }),
            job);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id);
            }),
            ras);

  // Step: the leader moves to WAITING_LEADER / FAILED; the helper keeps its response.
  ras[0].state = ReportAggregationState::WaitingLeader;
  ras[0].public_share.reset();
  ras[0].leader_extensions.reset();
  ras[0].leader_input_share.reset();
  ras[0].helper_encrypted_input_share.reset();
  ras[0].leader_prep_transition = filled(30, 0x77);
  ras[1].state = ReportAggregationState::Failed;
  ras[1].error_code = 5;
  ras[1].last_prep_resp = filled(8, 0x99);
  job.step = 1;
  job.state = AggregationJobState::Finished;
  job.last_request_hash = filled(32, 0x42);
  tx([&](Transaction& t) {
    t.update_aggregation_job(job);
    t.update_report_aggregations({ras[0], ras[1]});
  });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_aggregation_job(task.task_id, job.aggregation_job_id);
            }),
            job);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_report_aggregations_for_job(task.task_id, job.aggregation_job_id);
            }),
            ras);
  EXPECT_EQ(
      tx([&](Transaction& t) { return t.get_aggregation_jobs_for_task(task.task_id); }).size(), 1u);
  // Replay check across jobs: the aggregation parameters each report was aggregated under.
  AggregationJob second = aggregation_job(task.task_id, {1'700'000'000, 3600});
  const std::vector<ReportId> asked{ras[0].report_id, ras[2].report_id, ReportId::random()};
  EXPECT_TRUE(tx([&](Transaction& t) {
                return t.get_aggregation_parameters_of_reports(task.task_id, asked,
                                                               job.aggregation_job_id);
              }).empty());
  const std::map<ReportId, std::vector<Bytes>> expected = {
      {ras[0].report_id, {job.aggregation_parameter}},
      {ras[2].report_id, {job.aggregation_parameter}}};
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_aggregation_parameters_of_reports(task.task_id, asked,
                                                             second.aggregation_job_id);
            }),
            expected);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_aggregation_parameters_of_reports(task.task_id, asked, std::nullopt);
            }),
            expected);
  // Unknown rows.
  EXPECT_THROW(tx([&](Transaction& t) { t.update_aggregation_job(second); }),
               MutationTargetNotFound);
  EXPECT_THROW(tx([&](Transaction& t) { t.put_report_aggregations({ras[2]}); }),
               MutationTargetAlreadyExists);
}

// A report that may be aggregated again (Poplar1's next level): two concurrent jobs that
// hold it decide in turn. The second locks the report while the first has written its report
// aggregation but not committed; it waits, and then sees the first one's parameter, so it
// cannot take the report at the same level too.
TEST_F(TransactionTest, LockedReportsMakeAConcurrentDecisionSeeTheFirstParameter) {
  AggregatorTask task = put_task();
  const ReportId id = ReportId::random();
  tx([&](Transaction& t) { t.put_scrubbed_reports(task.task_id, {{id, 1'700'000'000}}); });
  auto other = db_.open_datastore(clock_);
  AggregationJob first = aggregation_job(task.task_id, {1'700'000'000, 3600});
  first.aggregation_parameter = {7};
  std::map<ReportId, std::vector<Bytes>> seen_by_second;
  std::thread second;
  datastore_->run_tx("first", Isolation::ReadCommitted, [&](Transaction& t) {
    t.lock_client_reports(task.task_id, {id});
    EXPECT_TRUE(t.get_aggregation_parameters_of_reports(task.task_id, {id}, std::nullopt).empty());
    t.put_aggregation_job(first);
    ReportAggregation ra;
    ra.task_id = task.task_id;
    ra.aggregation_job_id = first.aggregation_job_id;
    ra.report_id = id;
    ra.client_timestamp = 1'700'000'000;
    ra.state = ReportAggregationState::Finished;
    t.put_report_aggregations({ra});
    if (!second.joinable()) {
      second = std::thread([&] {
        seen_by_second = other->run_tx("second", Isolation::ReadCommitted, [&](Transaction& o) {
          o.lock_client_reports(task.task_id, {id});
          return o.get_aggregation_parameters_of_reports(task.task_id, {id}, std::nullopt);
        });
      });
    }
    // The second transaction reaches its lock meanwhile and waits there.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  });
  second.join();
  EXPECT_EQ(seen_by_second, (std::map<ReportId, std::vector<Bytes>>{{id, {Bytes{7}}}}));
  // Unknown ids lock nothing and are no error.
  tx([&](Transaction& t) { t.lock_client_reports(task.task_id, {ReportId::random()}); });
}

// ---- batches, collection, aggregate shares, outstanding batches, counters ----

TEST_F(TransactionTest, BatchAggregationShardsRoundTripAndAreFoundByInterval) {
  AggregatorTask task = put_task();
  std::vector<BatchAggregation> shards;
  for (std::uint64_t hour = 0; hour < 3; ++hour) {
    for (std::uint64_t ord = 0; ord < 2; ++ord) {
      BatchAggregation ba;
      ba.task_id = task.task_id;
      ba.batch_identifier = Interval{1'699'999'200 + hour * 3600, 3600};
      ba.aggregation_parameter = {};
      ba.ord = ord;
      ba.aggregate_share = filled(16, static_cast<std::uint8_t>(hour * 2 + ord));
      ba.report_count = hour + ord;
      ba.checksum = filled(32, 0x10);
      ba.client_timestamp_interval = {1'699'999'200 + hour * 3600, 1800};
      ba.aggregation_jobs_created = 2;
      ba.aggregation_jobs_terminated = 1;
      shards.push_back(ba);
    }
  }
  tx([&](Transaction& t) {
    for (const auto& ba : shards) t.put_batch_aggregation(ba);
    EXPECT_THROW(t.put_batch_aggregation(shards[0]), MutationTargetAlreadyExists);
  });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_batch_aggregations_for_batch(task.task_id, shards[2].batch_identifier,
                                                        {});
            }),
            (std::vector<BatchAggregation>{shards[2], shards[3]}));
  auto in_interval = tx([&](Transaction& t) {
    return t.get_batch_aggregations_in_interval(task.task_id, {1'699'999'200, 7200}, {});
  });
  EXPECT_EQ(in_interval,
            (std::vector<BatchAggregation>{shards[0], shards[1], shards[2], shards[3]}));
  shards[1].state = BatchAggregationState::Collected;
  shards[1].aggregate_share.reset();
  shards[1].report_count = 99;
  tx([&](Transaction& t) { t.update_batch_aggregation(shards[1]); });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_batch_aggregation(task.task_id, shards[1].batch_identifier, {}, 1);
            }),
            shards[1]);
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.get_batch_aggregation(task.task_id, shards[1].batch_identifier, Bytes{1}, 1);
  }));
}

TEST_F(TransactionTest, CollectionJobsRoundTripAndAreFoundByBatch) {
  AggregatorTask task = put_task();
  CollectionJob job;
  job.task_id = task.task_id;
  job.collection_job_id = CollectionJobId::random();
  job.query = {1, 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0, 0, 0, 0, 0, 0, 0x0e, 0x10};
  job.aggregation_parameter = {};
  job.batch_identifier = Interval{1'699'999'200, 3600};
  tx([&](Transaction& t) {
    t.put_collection_job(job);
    EXPECT_THROW(t.put_collection_job(job), MutationTargetAlreadyExists);
  });
  EXPECT_EQ(
      tx([&](Transaction& t) { return t.get_collection_job(task.task_id, job.collection_job_id); }),
      job);
  job.state = CollectionJobState::Finished;
  job.report_count = 12;
  job.client_timestamp_interval = Interval{1'699'999'200, 1200};
  job.helper_aggregate_share = filled(50, 3);
  job.leader_aggregate_share = filled(16, 4);
  tx([&](Transaction& t) { t.update_collection_job(job); });
  EXPECT_EQ(
      tx([&](Transaction& t) { return t.get_collection_job(task.task_id, job.collection_job_id); }),
      job);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_collection_jobs_for_batch(task.task_id, job.batch_identifier);
            }),
            std::vector<CollectionJob>{job});
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_collection_jobs_intersecting_interval(task.task_id, {1'700'002'000, 10});
            }).size(),
            1u);
  EXPECT_TRUE(
      tx([&](Transaction& t) {
        return t.get_collection_jobs_intersecting_interval(task.task_id, {1'700'002'800, 10});
      }).empty());

  // fixed_size batch identifiers round-trip too.
  CollectionJob fixed = job;
  fixed.collection_job_id = CollectionJobId::random();
  fixed.batch_identifier = BatchId::random();
  tx([&](Transaction& t) { t.put_collection_job(fixed); });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_collection_job(task.task_id, fixed.collection_job_id);
            }),
            fixed);
}

TEST_F(TransactionTest, AggregateShareJobsRoundTrip) {
  AggregatorTask task = put_task();
  AggregateShareJob job{task.task_id, Interval{1'699'999'200, 7200}, {}, filled(16, 8), 20,
                        filled(32, 9)};
  tx([&](Transaction& t) {
    t.put_aggregate_share_job(job);
    EXPECT_THROW(t.put_aggregate_share_job(job), MutationTargetAlreadyExists);
  });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_aggregate_share_job(task.task_id, job.batch_identifier, {});
            }),
            job);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_aggregate_share_jobs_for_batch(task.task_id, job.batch_identifier);
            }),
            std::vector<AggregateShareJob>{job});
  EXPECT_EQ(
      tx([&](Transaction& t) {
        return t.get_aggregate_share_jobs_intersecting_interval(task.task_id, {1'700'003'000, 100});
      }),
      std::vector<AggregateShareJob>{job});
}

TEST_F(TransactionTest, OutstandingBatchesFillAndGo) {
  AggregatorTask task =
      put_task(leader_task(TaskQueryType{TaskQueryType::Kind::FixedSize, 50, 3600}));
  OutstandingBatch a{task.task_id, BatchId::random(), 1'699'999'200,
                     OutstandingBatchState::Filling};
  OutstandingBatch b{task.task_id, BatchId::random(), 1'700'002'800,
                     OutstandingBatchState::Filling};
  tx([&](Transaction& t) {
    t.put_outstanding_batch(a);
    t.put_outstanding_batch(b);
  });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_filling_outstanding_batches(task.task_id, std::nullopt);
            }),
            (std::vector<OutstandingBatch>{a, b}));
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_filling_outstanding_batches(task.task_id, 1'700'002'800);
            }),
            std::vector<OutstandingBatch>{b});
  tx([&](Transaction& t) { t.mark_outstanding_batch_filled(task.task_id, a.batch_id); });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_filling_outstanding_batches(task.task_id, std::nullopt);
            }),
            std::vector<OutstandingBatch>{b});
  tx([&](Transaction& t) { t.delete_outstanding_batch(task.task_id, b.batch_id); });
  EXPECT_THROW(tx([&](Transaction& t) { t.delete_outstanding_batch(task.task_id, b.batch_id); }),
               MutationTargetNotFound);
}

TEST_F(TransactionTest, CollectedBatchesAreRecognised) {
  AggregatorTask task = put_task();
  BatchAggregation ba;
  ba.task_id = task.task_id;
  ba.batch_identifier = Interval{1'699'999'200, 3600};
  ba.checksum = filled(32, 0);
  ba.client_timestamp_interval = {1'699'999'200, 3600};
  tx([&](Transaction& t) { t.put_batch_aggregation(ba); });
  EXPECT_FALSE(
      tx([&](Transaction& t) { return t.is_batch_collected(task.task_id, ba.batch_identifier); }));
  ba.state = BatchAggregationState::Collected;
  tx([&](Transaction& t) { t.update_batch_aggregation(ba); });
  EXPECT_TRUE(
      tx([&](Transaction& t) { return t.is_batch_collected(task.task_id, ba.batch_identifier); }));
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.is_batch_collected(task.task_id, Interval{1'700'002'800, 3600});
  }));
  // Under one aggregation parameter (Poplar1's levels): the empty one is collected, 7 is not.
  EXPECT_TRUE(tx([&](Transaction& t) {
    return t.is_batch_collected(task.task_id, ba.batch_identifier, ByteSpan());
  }));
  const Bytes seven{7};
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.is_batch_collected(task.task_id, ba.batch_identifier, ByteSpan(seven));
  }));
}

// DAP-09 §4.5.1.4: once a batch was collected under one parameter, a report may be
// aggregated under another only if that collection had its output share.
TEST_F(TransactionTest, ReportsLeftOutOfAnEarlierCollectionAreFound) {
  AggregatorTask task = put_task();
  const Interval batch{1'699'999'200, 3600}, other_batch{1'700'002'800, 3600};
  const Bytes level0{0}, level1{1}, level2{2};
  const ReportId finished = ReportId::random(), failed = ReportId::random(),
                 never = ReportId::random(), elsewhere = ReportId::random();
  // A level-0 job: `finished` prepared, `failed` not; `never` was not in it.
  AggregationJob job = aggregation_job(task.task_id, batch);
  job.aggregation_parameter = level0;
  std::vector<ReportAggregation> ras;
  for (const auto& [id, state] : {std::pair{finished, ReportAggregationState::Finished},
                                  std::pair{failed, ReportAggregationState::Failed}}) {
    ReportAggregation ra;
    ra.task_id = task.task_id;
    ra.aggregation_job_id = job.aggregation_job_id;
    ra.report_id = id;
    ra.client_timestamp = batch.start + 10;
    ra.ord = ras.size();
    ra.state = state;
    if (state == ReportAggregationState::Failed) ra.error_code = 5;
    ras.push_back(ra);
  }
  tx([&](Transaction& t) {
    t.put_aggregation_job(job);
    t.put_report_aggregations(ras);
  });
  const std::vector<std::pair<ReportId, BatchIdentifier>> asked{
      {finished, batch}, {failed, batch}, {never, batch}, {elsewhere, other_batch}};
  auto left_out_under = [&](const Bytes& parameter) {
    return tx([&](Transaction& t) {
      return t.reports_left_out_of_collections(task.task_id, asked, parameter);
    });
  };
  // Not collected yet: nothing is left out.
  EXPECT_TRUE(left_out_under(level1).empty());
  tx([&](Transaction& t) {
    t.mark_batch_aggregations_collected(task.task_id, {batch}, level0, 2);
  });
  EXPECT_EQ(left_out_under(level1), (std::set<ReportId>{failed, never}));
  // The collection's own parameter is not "another" collection (the writer's check).
  EXPECT_TRUE(left_out_under(level0).empty());
  // After level 1 collects too, level 2 needs both: `finished` was in level 0 only.
  tx([&](Transaction& t) {
    t.mark_batch_aggregations_collected(task.task_id, {batch}, level1, 2);
  });
  EXPECT_EQ(left_out_under(level2), (std::set<ReportId>{finished, failed, never}));
  EXPECT_TRUE(tx([&](Transaction& t) {
                return t.reports_left_out_of_collections(task.task_id, {}, level2);
              }).empty());
}

TEST_F(TransactionTest, MarkingBatchesCollectedKeepsSharesAndFillsMissingShards) {
  AggregatorTask task = put_task();
  const Interval first{1'699'999'200, 3600}, second{1'700'002'800, 3600};
  BatchAggregation ba;
  ba.task_id = task.task_id;
  ba.batch_identifier = first;
  ba.ord = 1;
  ba.aggregate_share = filled(16, 7);
  ba.report_count = 5;
  ba.checksum = filled(32, 3);
  ba.client_timestamp_interval = {1'699'999'300, 60};
  ba.aggregation_jobs_created = 2;
  ba.aggregation_jobs_terminated = 2;
  BatchAggregation other_parameter = ba;
  other_parameter.aggregation_parameter = {9};
  tx([&](Transaction& t) {
    t.put_batch_aggregation(ba);
    t.put_batch_aggregation(other_parameter);
  });
  for (int round = 0; round < 2; ++round) {  // a second marking changes nothing
    tx([&](Transaction& t) {
      t.mark_batch_aggregations_collected(task.task_id, {first, second}, {}, 3);
    });
  }
  auto shards = tx([&](Transaction& t) {
    return t.get_batch_aggregations_in_interval(task.task_id, {first.start, 7200}, {});
  });
  ASSERT_EQ(shards.size(), 6u);
  for (const BatchAggregation& shard : shards) {
    EXPECT_EQ(shard.state, BatchAggregationState::Collected);
    if (shard.batch_identifier == BatchIdentifier(first) && shard.ord == 1) {
      BatchAggregation expected = ba;
      expected.state = BatchAggregationState::Collected;
      EXPECT_EQ(shard, expected);  // its share and counters are kept
    } else {
      EXPECT_EQ(shard.report_count, 0u);
      EXPECT_FALSE(shard.aggregate_share);
      EXPECT_EQ(shard.checksum, Bytes(32, 0));
    }
  }
  EXPECT_TRUE(tx([&](Transaction& t) { return t.is_batch_collected(task.task_id, second); }));
  // Another aggregation parameter's shards are left alone.
  EXPECT_EQ(
      tx([&](Transaction& t) { return t.get_batch_aggregation(task.task_id, first, Bytes{9}, 1); }),
      other_parameter);
  // fixed_size batches have no interval.
  const BatchId batch_id = BatchId::random();
  tx([&](Transaction& t) { t.mark_batch_aggregations_collected(task.task_id, {batch_id}, {}, 2); });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_batch_aggregations_for_batch(task.task_id, batch_id, {});
            }).size(),
            2u);
}

TEST_F(TransactionTest, GarbageCollectionDeletesOnlyExpiredRowsInBoundedChunks) {
  AggregatorTask task = put_task();
  AggregatorTask other_task = put_task();
  const Time threshold = 1'700'000'000;
  std::vector<LeaderStoredReport> reports;
  for (int i = 0; i < 5; ++i) reports.push_back(report(task.task_id, threshold - 100 + i));
  reports.push_back(report(task.task_id, threshold));
  reports.push_back(report(other_task.task_id, threshold - 100));
  // Janus: a job goes once its interval ends before the threshold (the end is exclusive).
  auto old_job = aggregation_job(task.task_id, {threshold - 3600, 3599});
  auto boundary_job = aggregation_job(task.task_id, {threshold - 3600, 3600});
  ReportAggregation ra;
  ra.task_id = task.task_id;
  ra.aggregation_job_id = old_job.aggregation_job_id;
  ra.report_id = ReportId::random();
  ra.client_timestamp = threshold - 3600;
  ra.state = ReportAggregationState::Failed;
  ra.error_code = 0;
  tx([&](Transaction& t) {
    t.put_client_reports(reports);
    t.put_aggregation_job(old_job);
    t.put_aggregation_job(boundary_job);
    t.put_report_aggregations({ra});
  });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.delete_expired_client_reports(task.task_id, threshold, 3);
            }),
            3u);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.delete_expired_client_reports(task.task_id, threshold, 3);
            }),
            2u);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.delete_expired_client_reports(task.task_id, threshold, 3);
            }),
            0u);
  EXPECT_EQ(db_.query("SELECT count(*) FROM client_reports"),
            "2");  // the live one, the other task's
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.delete_expired_aggregation_jobs(task.task_id, threshold, 10);
            }),
            1u);
  EXPECT_TRUE(tx([&](Transaction& t) {
    return t.get_aggregation_job(task.task_id, boundary_job.aggregation_job_id);
  }));
  EXPECT_EQ(db_.query("SELECT count(*) FROM report_aggregations"), "0");
}

// Janus's rule for batches: a batch goes only when every shard of it has expired (a
// fixed_size batch still receiving reports stays), with its outstanding batch and the
// collection and aggregate share jobs of that batch; time_interval collection jobs go with
// any batch once their interval starts before the threshold. `limit` counts batches.
TEST_F(TransactionTest, GarbageCollectionOfCollectionArtifactsFollowsJanus) {
  const Time threshold = 1'700'000'000;
  auto shard = [](const TaskId& task_id, BatchIdentifier id, std::uint64_t ord, Interval times) {
    BatchAggregation ba;
    ba.task_id = task_id;
    ba.batch_identifier = id;
    ba.ord = ord;
    ba.checksum = filled(32, 0);
    ba.client_timestamp_interval = times;
    return ba;
  };
  auto collection = [](const TaskId& task_id, BatchIdentifier id) {
    CollectionJob job;
    job.task_id = task_id;
    job.collection_job_id = CollectionJobId::random();
    job.query = {0};
    job.batch_identifier = id;
    return job;
  };

  // time_interval: two expired hours, the hour ending at the threshold (kept: not before
  // it), and the next one.
  AggregatorTask ti = put_task();
  const Interval hour1{threshold - 7200, 3600}, hour2{threshold - 10800, 3600},
      boundary{threshold - 3600, 3600}, live{threshold, 3600};
  CollectionJob spanning = collection(ti.task_id, Interval{threshold - 3600, 7200});
  CollectionJob later = collection(ti.task_id, live);
  CollectionJob expired_collection = collection(ti.task_id, hour1);
  tx([&](Transaction& t) {
    for (const Interval& hour : {hour1, hour2, boundary, live}) {
      t.put_batch_aggregation(shard(ti.task_id, hour, 0, {hour.start, 1}));
    }
    t.put_collection_job(spanning);
    t.put_collection_job(later);
    t.put_collection_job(expired_collection);
    t.put_aggregate_share_job(
        AggregateShareJob{ti.task_id, hour2, {}, filled(16, 8), 20, filled(32, 1)});
  });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.delete_expired_collection_artifacts(ti.task_id, threshold, 1);
            }),
            1u);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.delete_expired_collection_artifacts(ti.task_id, threshold, 10);
            }),
            1u);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.delete_expired_collection_artifacts(ti.task_id, threshold, 10);
            }),
            0u);
  EXPECT_EQ(db_.query("SELECT count(*) FROM batch_aggregations"), "2");
  EXPECT_EQ(db_.query("SELECT count(*) FROM aggregate_share_jobs"), "0");
  // The spanning collection started an hour before the threshold: gone; the later one stays.
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.get_collection_job(ti.task_id, spanning.collection_job_id);
  }));
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.get_collection_job(ti.task_id, expired_collection.collection_job_id);
  }));
  EXPECT_TRUE(tx(
      [&](Transaction& t) { return t.get_collection_job(ti.task_id, later.collection_job_id); }));

  // fixed_size: a batch with one old and one fresh shard stays; a batch all of whose
  // shards are old goes with its outstanding batch and collection job.
  AggregatorTask fs =
      put_task(leader_task(TaskQueryType{TaskQueryType::Kind::FixedSize, 100, std::nullopt}));
  const BatchId mixed = BatchId::random(), old = BatchId::random();
  CollectionJob mixed_collection = collection(fs.task_id, mixed);
  CollectionJob old_collection = collection(fs.task_id, old);
  tx([&](Transaction& t) {
    t.put_batch_aggregation(shard(fs.task_id, mixed, 0, {threshold - 500, 10}));
    t.put_batch_aggregation(shard(fs.task_id, mixed, 1, {threshold - 5, 10}));
    t.put_batch_aggregation(shard(fs.task_id, old, 0, {threshold - 500, 10}));
    t.put_batch_aggregation(shard(fs.task_id, old, 1, {threshold - 400, 10}));
    t.put_outstanding_batch(
        OutstandingBatch{fs.task_id, mixed, std::nullopt, OutstandingBatchState::Filling});
    t.put_outstanding_batch(
        OutstandingBatch{fs.task_id, old, std::nullopt, OutstandingBatchState::Filled});
    t.put_collection_job(mixed_collection);
    t.put_collection_job(old_collection);
  });
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.delete_expired_collection_artifacts(fs.task_id, threshold, 10);
            }),
            1u);
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_batch_aggregations_for_batch(fs.task_id, mixed, {});
            }).size(),
            2u);
  EXPECT_TRUE(tx([&](Transaction& t) {
                return t.get_batch_aggregations_for_batch(fs.task_id, old, {});
              }).empty());
  EXPECT_EQ(tx([&](Transaction& t) {
              return t.get_filling_outstanding_batches(fs.task_id, std::nullopt);
            }).size(),
            1u);
  EXPECT_EQ(db_.query("SELECT count(*) FROM outstanding_batches"), "1");
  EXPECT_TRUE(tx([&](Transaction& t) {
    return t.get_collection_job(fs.task_id, mixed_collection.collection_job_id);
  }));
  EXPECT_FALSE(tx([&](Transaction& t) {
    return t.get_collection_job(fs.task_id, old_collection.collection_job_id);
  }));
}

TEST_F(TransactionTest, ListsJobsWithTheirLeases) {
  AggregatorTask task = put_task();
  auto job = aggregation_job(task.task_id, {1'700'000'000, 10});
  CollectionJob collection;
  collection.task_id = task.task_id;
  collection.collection_job_id = CollectionJobId::random();
  collection.query = {0};
  collection.batch_identifier = Interval{1'699'999'200, 3600};
  tx([&](Transaction& t) {
    t.put_aggregation_job(job);
    t.put_collection_job(collection);
  });
  auto leases =
      tx([&](Transaction& t) { return t.acquire_incomplete_aggregation_jobs(Duration{600}, 10); });
  ASSERT_EQ(leases.size(), 1u);
  auto listed =
      tx([&](Transaction& t) { return t.get_aggregation_job_leases_for_task(task.task_id); });
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].first, job.aggregation_job_id);
  EXPECT_EQ(listed[0].second.expiry, leases[0].expiry);
  EXPECT_EQ(listed[0].second.attempts, 1u);
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_collection_jobs_for_task(task.task_id); }),
            std::vector<CollectionJob>{collection});
  auto collection_leases =
      tx([&](Transaction& t) { return t.get_collection_job_leases_for_task(task.task_id); });
  ASSERT_EQ(collection_leases.size(), 1u);
  EXPECT_EQ(collection_leases[0].second.expiry, 0u);
}

TEST_F(TransactionTest, ShardedCountersSumAcrossShards) {
  AggregatorTask task = put_task();
  TaskUploadCounter success;
  success.report_success = 1;
  TaskUploadCounter mixed;
  mixed.report_too_early = 2;
  mixed.report_decrypt_failure = 1;
  tx([&](Transaction& t) {
    t.increment_task_upload_counter(task.task_id, 0, success);
    t.increment_task_upload_counter(task.task_id, 1, success);
    t.increment_task_upload_counter(task.task_id, 1, mixed);
    t.increment_task_aggregation_counter(task.task_id, 3, 5);
    t.increment_task_aggregation_counter(task.task_id, 3, 2);
  });
  TaskUploadCounter expected;
  expected.report_success = 2;
  expected.report_too_early = 2;
  expected.report_decrypt_failure = 1;
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_task_upload_counter(task.task_id); }), expected);
  EXPECT_EQ(tx([&](Transaction& t) { return t.get_task_aggregation_counter(task.task_id); }), 7u);
  EXPECT_EQ(db_.query("SELECT count(*) FROM task_upload_counters"), "2");
  EXPECT_THROW(
      tx([&](Transaction& t) { t.increment_task_upload_counter(TaskId::random(), 0, success); }),
      MutationTargetNotFound);
}

}  // namespace
}  // namespace janus

// ---- datastore-key rotation ----

namespace janus {
namespace {

TEST(DatastoreKeyRotation, ReencryptsEverySecretUnderTheFirstKeyOnceAndResumes) {
  testing::TestDatabase db;
  MockClock clock{1'700'000'000};
  const DatastoreKey old_key = DatastoreKeys::generate_key(),
                     new_key = DatastoreKeys::generate_key();
  auto with_old = db.open_datastore(clock, DatastoreKeys({old_key}));
  AggregatorTask leader = datastore_test::leader_task();  // two task HPKE keys, a token
  AggregatorTask helper = datastore_test::leader_task();
  helper.role = Role::Helper;
  helper.aggregator_auth_token.reset();
  helper.collector_auth_token_hash.reset();
  helper.aggregator_auth_token_hash = AuthToken::create(AuthTokenType::Bearer, "t")->hash();
  helper.hpke_keys = {datastore_test::keypair(9)};
  const StoredHpkeKeypair global = datastore_test::keypair(4);
  with_old->run_tx("seed", [&](Transaction& tx) {
    tx.put_aggregator_task(leader);
    tx.put_aggregator_task(helper);
    tx.put_global_hpke_keypair(global);
    tx.put_taskprov_peer_aggregator(taskprov_peer("https://leader.example/", Role::Leader));
  });

  // New key first, the old one still readable: batches of one, every column to its end.
  auto rotating = db.open_datastore(clock, DatastoreKeys({new_key, old_key}));
  auto rotate_all = [&] {
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> totals;
    for (const std::string& column : Transaction::encrypted_columns()) {
      std::int64_t after = std::numeric_limits<std::int64_t>::min();
      for (;;) {
        auto batch = rotating->run_tx("rotate", [&](Transaction& tx) {
          return tx.rotate_datastore_key_batch(column, after, 1);
        });
        EXPECT_LE(batch.examined, 1u);
        totals[column].first += batch.examined;
        totals[column].second += batch.reencrypted;
        if (!batch.last_row) break;
        after = *batch.last_row;
      }
    }
    return totals;
  };
  using Totals = std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>;
  EXPECT_EQ(rotate_all(), (Totals{{"tasks.vdaf_verify_key", {2, 2}},
                                  {"tasks.aggregator_auth_token", {1, 1}},
                                  {"task_hpke_keys.private_key", {3, 3}},
                                  {"global_hpke_keys.private_key", {1, 1}},
                                  {"taskprov_peer_aggregators.verify_key_init", {1, 1}},
                                  {"taskprov_aggregator_auth_tokens.token", {2, 2}},
                                  {"taskprov_collector_auth_tokens.token", {1, 1}}}));
  // Done twice (a second run, or one resumed after a crash): nothing left to do.
  EXPECT_EQ(rotate_all(), (Totals{{"tasks.vdaf_verify_key", {2, 0}},
                                  {"tasks.aggregator_auth_token", {1, 0}},
                                  {"task_hpke_keys.private_key", {3, 0}},
                                  {"global_hpke_keys.private_key", {1, 0}},
                                  {"taskprov_peer_aggregators.verify_key_init", {1, 0}},
                                  {"taskprov_aggregator_auth_tokens.token", {2, 0}},
                                  {"taskprov_collector_auth_tokens.token", {1, 0}}}));

  // The old key can go: every secret reads back with the new key alone.
  auto with_new = db.open_datastore(clock, DatastoreKeys({new_key}));
  with_new->run_tx("read", [&](Transaction& tx) {
    EXPECT_EQ(tx.get_aggregator_task(leader.task_id), leader);
    EXPECT_EQ(tx.get_aggregator_task(helper.task_id), helper);
    auto stored = tx.get_global_hpke_keypair(global.config_id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->keypair, global);
    TaskprovPeerAggregator peer = taskprov_peer("https://leader.example/", Role::Leader);
    EXPECT_EQ(tx.get_taskprov_peer_aggregator(peer.endpoint, Role::Leader), peer);
  });
  // Without any key that opens them, rotation stops with an error instead of guessing.
  auto wrong = db.open_datastore(clock, DatastoreKeys({DatastoreKeys::generate_key()}));
  EXPECT_THROW(wrong->run_tx("rotate",
                             [&](Transaction& tx) {
                               return tx.rotate_datastore_key_batch("tasks.vdaf_verify_key", 0, 10);
                             }),
               DecryptionError);
  EXPECT_THROW(rotating->run_tx("rotate",
                                [&](Transaction& tx) {
                                  return tx.rotate_datastore_key_batch("tasks.nope", 0, 10);
                                }),
               DatastoreError);
}

}  // namespace
}  // namespace janus
