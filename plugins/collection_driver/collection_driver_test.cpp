// The collection job driver against real PostgreSQL databases: the leader is the aggregator's
// own collection routes over one test database, the helper is the real aggregator (its
// aggregate_shares route) over another, served over loopback HTTP. The driver is stepped
// with LeaseWorkerRunner::run_once and the mock clock.
#include <gtest/gtest.h>

#include <atomic>

#include "collection_driver.h"
#include "janus/http.h"
#include "test_fixture.h"

namespace janus::collection_driver {
namespace {

using aggregator::testing::AggregatorFixture;
using aggregator::testing::json;

// Serves a plugin's routes on one loopback HttpServer (whatever address they ask for).
class ServerRegistrar final : public RouteRegistrar {
 public:
  explicit ServerRegistrar(HttpServer& server) : server_(server) {}
  void add_async_route(const std::string&, HttpMethod method, std::string_view pattern,
                       AsyncHttpHandler handler, RouteOptions options = {}) override {
    server_.router().add_async(method, pattern, std::move(handler), std::move(options));
  }

 private:
  HttpServer& server_;
};

// One report's output shares, as the two aggregators' preparation yields them.
struct OutputShares {
  ReportId report_id;
  Bytes leader, helper;
};

class CollectionDriverTest : public AggregatorFixture {
 protected:
  void SetUp() override {
    AggregatorFixture::SetUp();
    helper_server = std::make_unique<HttpServer>(HttpServerOptions{"127.0.0.1:0"});
    const json doc = aggregator::testing::load_client_reports();
    task = aggregator::testing::vector_task(doc, doc.at("cases").at(0));  // Prio3Count
    task.aggregator_auth_token = aggregator_token;
    task.collector_auth_token_hash = collector_token.hash();
    task.collector_hpke_config = encode_message(collector.config);
    task.peer_aggregator_endpoint =
        "http://127.0.0.1:" + std::to_string(helper_server->port()) + "/";
    put_task(task);
    vdaf = vdafs.create(task.vdaf);
    precision = task.time_precision;
    batch_interval = Interval{kNow / precision * precision - 4 * precision, 2 * precision};

    config.batch_aggregation_shard_count = 4;
    config.maximum_attempts_before_failure = 2;
    config.min_collection_job_retry_delay = std::chrono::seconds(100);
    config.max_collection_job_retry_delay = std::chrono::seconds(300);
    config.collection_job_retry_delay_exponential_factor = 2.0;
    config.retry_initial_interval = std::chrono::milliseconds(1);
    config.retry_max_interval = std::chrono::milliseconds(5);
    config.retry_max_elapsed_time = std::chrono::milliseconds(100);
  }

  void TearDown() override {
    if (helper_server) helper_server->stop(std::chrono::seconds(5));
    if (helper) helper->stop();
    AggregatorFixture::TearDown();
  }

  // The real aggregator as the helper, over its own database, holding `task` as a helper task.
  void start_real_helper() {
    helper_datastore = helper_database.open_datastore(clock);
    AggregatorTask helper_task = task;
    helper_task.role = Role::Helper;
    helper_task.peer_aggregator_endpoint = "https://leader.example/";
    helper_task.aggregator_auth_token.reset();
    helper_task.aggregator_auth_token_hash = aggregator_token.hash();
    helper_task.collector_auth_token_hash.reset();
    helper_datastore->run_tx("put", [&](Transaction& tx) { tx.put_aggregator_task(helper_task); });
    helper = std::make_unique<aggregator::Aggregator>(aggregator::testing::test_config(),
                                                      *helper_datastore, vdafs, clock, nullptr);
    ServerRegistrar registrar(*helper_server);
    helper->register_routes(registrar);
    helper->start();
    helper_server->start();
  }

  // Prepares `count` reports of measurement 1 or 0 (alternating, starting with 1).
  std::vector<OutputShares> prepare_reports(std::size_t count) {
    std::vector<OutputShares> reports;
    for (std::size_t i = 0; i < count; ++i) {
      OutputShares report;
      report.report_id = ReportId::random();
      const Bytes nonce(report.report_id.span().begin(), report.report_id.span().end());
      VdafShards shards = vdaf->shard(json(i % 2 == 0 ? 1 : 0), nonce);
      VdafPrepInit leader = vdaf->prep_init(task.vdaf_verify_key, 0, {}, nonce, shards.public_share,
                                            shards.input_shares[0]);
      VdafPrepInit helper_init = vdaf->prep_init(task.vdaf_verify_key, 1, {}, nonce,
                                                 shards.public_share, shards.input_shares[1]);
      std::vector<Bytes> prep_shares{leader.prep_share, helper_init.prep_share};
      Bytes message = vdaf->prep_shares_to_prep({}, prep_shares);
      report.leader = *vdaf->prep_next(leader.state, message).output_share;
      report.helper = *vdaf->prep_next(helper_init.state, message).output_share;
      reports.push_back(std::move(report));
    }
    return reports;
  }

  // One finished batch aggregation shard holding `reports` (leader's or helper's shares).
  BatchAggregation shard_of(const std::vector<OutputShares>& reports, Time time, std::uint64_t ord,
                            bool leader_side) {
    BatchAggregation shard;
    shard.task_id = task.task_id;
    shard.batch_identifier = Interval{time / precision * precision, precision};
    shard.ord = ord;
    shard.aggregate_share = vdaf->empty_aggregate_share({});
    ReportIdChecksum checksum{};
    for (const OutputShares& report : reports) {
      vdaf->accumulate(*shard.aggregate_share, {}, leader_side ? report.leader : report.helper);
      update_report_id_checksum(checksum, report.report_id);
    }
    shard.checksum = Bytes(checksum.begin(), checksum.end());
    shard.report_count = reports.size();
    shard.client_timestamp_interval = Interval{time, 1};
    shard.aggregation_jobs_created = 1;
    shard.aggregation_jobs_terminated = 1;
    return shard;
  }

  // Seeds the leader (and the helper, when given) with the same reports, split over the
  // batch's two time precision intervals and two shards.
  void seed_batch(const std::vector<OutputShares>& reports, Datastore* helper_store) {
    const std::size_t half = reports.size() / 2;
    std::vector<OutputShares> first(reports.begin(), reports.begin() + half);
    std::vector<OutputShares> second(reports.begin() + half, reports.end());
    const Time t1 = batch_interval.start + 5, t2 = batch_interval.start + precision + 7;
    for (bool leader_side : {true, false}) {
      if (!leader_side && !helper_store) break;
      Datastore& store = leader_side ? *datastore : *helper_store;
      store.run_tx("seed", [&](Transaction& tx) {
        tx.put_batch_aggregation(shard_of(first, t1, 0, leader_side));
        tx.put_batch_aggregation(shard_of(second, t2, 2, leader_side));
      });
    }
  }

  CollectionJobId create_collection_job() {
    return create_collection_job(Query::time_interval(batch_interval));
  }
  CollectionJobId create_collection_job(const Query& query) {
    const CollectionJobId id = CollectionJobId::random();
    HttpRequest r;
    r.method = HttpMethod::Put;
    r.path = job_path(id);
    r.headers.add("Content-Type", "application/dap-collect-req");
    auto [name, value] = collector_token.request_header();
    r.headers.add(name, value);
    r.body = encode_message(CollectionReq{query, {}});
    EXPECT_EQ(routes->router.dispatch(r).status, 201);
    return id;
  }

  HttpResponse poll(const CollectionJobId& id) {
    HttpRequest r;
    r.method = HttpMethod::Post;
    r.path = job_path(id);
    auto [name, value] = collector_token.request_header();
    r.headers.add(name, value);
    return routes->router.dispatch(r);
  }

  std::string job_path(const CollectionJobId& id) const {
    return "/tasks/" + task.task_id.to_base64url() + "/collection_jobs/" + id.to_base64url();
  }

  CollectionJobState state_of(const CollectionJobId& id) {
    return datastore->run_tx(
        "get", [&](Transaction& tx) { return tx.get_collection_job(task.task_id, id)->state; });
  }

  // A driver and runner over the leader's datastore; run() steps whatever is acquirable.
  std::size_t run() {
    if (!driver) {
      driver = std::make_unique<CollectionDriver>(config, *datastore, vdafs);
      LeaseWorkerOptions options = driver->options("test");
      options.random_start_delay = false;
      runner = std::make_unique<LeaseWorkerRunner>(options, driver->functions(), clock);
    }
    return runner->run_once();
  }

  AuthToken aggregator_token = AuthToken::generate(AuthTokenType::DapAuth);
  AuthToken collector_token = AuthToken::generate(AuthTokenType::Bearer);
  DapHpkeKeyPair collector = DapHpkeKeyPair::generate(7);
  AggregatorTask task;
  std::shared_ptr<const Vdaf> vdaf;
  Duration precision = 1;
  Interval batch_interval;
  CollectionDriverConfig config;

  janus::testing::TestDatabase helper_database;
  std::unique_ptr<Datastore> helper_datastore;
  std::unique_ptr<aggregator::Aggregator> helper;
  std::unique_ptr<HttpServer> helper_server;
  std::unique_ptr<CollectionDriver> driver;
  std::unique_ptr<LeaseWorkerRunner> runner;
};

TEST_F(CollectionDriverTest, CollectsFromTheRealHelper) {
  start_real_helper();
  auto reports = prepare_reports(5);  // measurements 1,0,1,0,1
  seed_batch(reports, helper_datastore.get());
  const CollectionJobId id = create_collection_job();
  EXPECT_EQ(poll(id).status, 202);

  EXPECT_EQ(run(), 1u);
  EXPECT_EQ(runner->stats().succeeded, 1u);
  ASSERT_EQ(state_of(id), CollectionJobState::Finished);
  EXPECT_EQ(run(), 0u);  // finished jobs are not leased again

  HttpResponse response = poll(id);
  ASSERT_EQ(response.status, 200) << std::string(response.body.begin(), response.body.end());
  Collection collection = decode_message<Collection>(response.body);
  EXPECT_EQ(collection.report_count, 5u);
  EXPECT_EQ(collection.partial_batch_selector, PartialBatchSelector::time_interval());
  // The reports' span, aligned to the time precision: both intervals of the batch.
  EXPECT_EQ(collection.interval, batch_interval);
  const Bytes aad = encode_message(
      AggregateShareAad{task.task_id, {}, BatchSelector::time_interval(batch_interval)});
  std::vector<Bytes> shares{dap_open(collector, collection.leader_encrypted_aggregate_share,
                                     dap_aggregate_share_info(Role::Leader), aad),
                            dap_open(collector, collection.helper_encrypted_aggregate_share,
                                     dap_aggregate_share_info(Role::Helper), aad)};
  EXPECT_EQ(vdaf->unshard({}, shares, collection.report_count), json(3));

  // Every shard of both intervals is COLLECTED, the empty ones included.
  auto shards = datastore->run_tx("read", [&](Transaction& tx) {
    return tx.get_batch_aggregations_in_interval(task.task_id, batch_interval, {});
  });
  EXPECT_EQ(shards.size(), 2 * config.batch_aggregation_shard_count);
  for (const BatchAggregation& shard : shards) {
    EXPECT_EQ(shard.state, BatchAggregationState::Collected);
  }
}

TEST_F(CollectionDriverTest, UnfinishedAggregationIsRetriedWithGrowingDelay) {
  start_real_helper();
  auto reports = prepare_reports(2);
  seed_batch(reports, helper_datastore.get());
  // An aggregation job into the batch is still running on the leader.
  datastore->run_tx("unfinish", [&](Transaction& tx) {
    auto shard =
        *tx.get_batch_aggregation(task.task_id, Interval{batch_interval.start, precision}, {}, 0);
    shard.aggregation_jobs_created = 2;
    tx.update_batch_aggregation(shard);
  });
  const CollectionJobId id = create_collection_job();

  EXPECT_EQ(run(), 1u);
  EXPECT_EQ(state_of(id), CollectionJobState::Start);
  // Released for min_collection_job_retry_delay (100 s) after step_attempts 0.
  clock.advance(99);
  EXPECT_EQ(run(), 0u);
  clock.advance(1);
  EXPECT_EQ(run(), 1u);
  // Then 100 * 2^1 = 200 s.
  clock.advance(199);
  EXPECT_EQ(run(), 0u);
  clock.advance(1);
  EXPECT_EQ(run(), 1u);
  // 100 * 2^2 = 400 s, capped at 300 s.
  clock.advance(299);
  EXPECT_EQ(run(), 0u);
  EXPECT_EQ(state_of(id), CollectionJobState::Start);

  // The job finishes, counted on another shard (the job driver picks its shard at random, as
  // the creator did): the sum over the shards is what must agree, and the next step collects.
  datastore->run_tx("finish", [&](Transaction& tx) {
    const Interval first{batch_interval.start, precision};
    const std::uint64_t other_ord = 7;
    ASSERT_FALSE(tx.get_batch_aggregation(task.task_id, first, {}, other_ord).has_value());
    BatchAggregation other;
    other.task_id = task.task_id;
    other.batch_identifier = first;
    other.ord = other_ord;
    other.checksum = Bytes(32, 0);
    other.aggregation_jobs_terminated = 1;
    tx.put_batch_aggregation(other);
  });
  clock.advance(1);
  EXPECT_EQ(run(), 1u);
  EXPECT_EQ(state_of(id), CollectionJobState::Finished);
  EXPECT_EQ(poll(id).status, 200);
}

TEST_F(CollectionDriverTest, UnaggregatedReportsKeepTheJobWaiting) {
  start_real_helper();
  seed_batch(prepare_reports(2), helper_datastore.get());
  LeaderStoredReport pending;
  pending.task_id = task.task_id;
  pending.report_id = ReportId::random();
  pending.client_timestamp = batch_interval.start + precision + 1;
  datastore->run_tx("report", [&](Transaction& tx) { tx.put_client_report(pending); });
  const CollectionJobId id = create_collection_job();
  EXPECT_EQ(run(), 1u);
  EXPECT_EQ(state_of(id), CollectionJobState::Start);
  // Claimed by an aggregation job: ready at the next attempt.
  datastore->run_tx("claim", [&](Transaction& tx) {
    AggregationJob job;
    job.task_id = task.task_id;
    job.aggregation_job_id = AggregationJobId::random();
    job.client_timestamp_interval = {pending.client_timestamp, 1};
    job.state = AggregationJobState::InProgress;
    tx.put_aggregation_job(job);
    ASSERT_EQ(tx.lock_unaggregated_client_reports(task.task_id, 10).size(), 1u);
    tx.start_aggregation_of_client_reports(task.task_id, job.aggregation_job_id,
                                           {pending.report_id});
  });
  clock.advance(100);
  EXPECT_EQ(run(), 1u);
  EXPECT_EQ(state_of(id), CollectionJobState::Finished);
}

TEST_F(CollectionDriverTest, HelperServerErrorsAreRetriedThenAbandoned) {
  // Long enough for several retries within one step even on a loaded machine.
  config.retry_max_elapsed_time = std::chrono::milliseconds(1500);
  std::atomic<int> hits{0};
  std::atomic<bool> authorized{true};
  helper_server->router().add(
      HttpMethod::Post, "/tasks/{task_id}/aggregate_shares", [&](const HttpRequest& request) {
        ++hits;
        if (request.headers.get("DAP-Auth-Token").value_or("") != aggregator_token.value()) {
          authorized = false;
        }
        return HttpResponse::text(500, "try later\n");
      });
  helper_server->start();
  seed_batch(prepare_reports(2), nullptr);
  const CollectionJobId id = create_collection_job();

  EXPECT_EQ(run(), 1u);
  EXPECT_EQ(runner->stats().failed, 1u);
  EXPECT_GT(hits.load(), 1);  // send_with_retry retried within the step
  EXPECT_TRUE(authorized.load());
  EXPECT_EQ(state_of(id), CollectionJobState::Start);
  // The lease was left to run out: not acquirable before, acquirable after.
  EXPECT_EQ(run(), 0u);
  clock.advance(config.worker_lease_duration.count());
  EXPECT_EQ(run(), 1u);  // second attempt, fails again
  EXPECT_EQ(state_of(id), CollectionJobState::Start);
  clock.advance(config.worker_lease_duration.count());
  const int hits_before = hits.load();
  EXPECT_EQ(run(), 1u);  // third acquisition > maximum_attempts_before_failure (2)
  EXPECT_EQ(hits.load(), hits_before);
  EXPECT_EQ(state_of(id), CollectionJobState::Abandoned);
  HttpResponse abandoned = poll(id);
  EXPECT_EQ(abandoned.status, 500);
  EXPECT_NE(std::string(abandoned.body.begin(), abandoned.body.end()).find("abandoned"),
            std::string::npos);
}

TEST_F(CollectionDriverTest, HelperProblemAbandonsTheJob) {
  start_real_helper();
  auto reports = prepare_reports(4);
  seed_batch(reports, helper_datastore.get());
  // The helper aggregated one report fewer: it answers batchMismatch.
  helper_datastore->run_tx("drop", [&](Transaction& tx) {
    auto shard =
        *tx.get_batch_aggregation(task.task_id, Interval{batch_interval.start, precision}, {}, 0);
    shard.report_count -= 1;
    tx.update_batch_aggregation(shard);
  });
  const CollectionJobId id = create_collection_job();
  EXPECT_EQ(run(), 1u);
  EXPECT_EQ(state_of(id), CollectionJobState::Abandoned);
  EXPECT_EQ(poll(id).status, 500);
  clock.advance(config.max_collection_job_retry_delay.count() + 1);
  EXPECT_EQ(run(), 0u);
}

TEST_F(CollectionDriverTest, TooSmallBatchIsAbandonedAndStaysOpen) {
  task.min_batch_size = 10;
  datastore->run_tx("task", [&](Transaction& tx) {
    tx.delete_task(task.task_id);
    tx.put_aggregator_task(task);
  });
  start_real_helper();
  seed_batch(prepare_reports(2), helper_datastore.get());
  const CollectionJobId id = create_collection_job();
  EXPECT_EQ(run(), 1u);
  EXPECT_EQ(state_of(id), CollectionJobState::Abandoned);
  EXPECT_FALSE(datastore->run_tx("collected?", [&](Transaction& tx) {
    return tx.is_batch_collected(task.task_id, Interval{batch_interval.start, precision});
  }));
}

TEST_F(CollectionDriverTest, FixedSizeBatchIsCollected) {
  task.query_type.kind = TaskQueryType::Kind::FixedSize;
  task.query_type.max_batch_size = 10;
  datastore->run_tx("task", [&](Transaction& tx) {
    tx.delete_task(task.task_id);
    tx.put_aggregator_task(task);
  });
  start_real_helper();
  const BatchId batch_id = BatchId::random();
  auto reports = prepare_reports(3);  // 1,0,1
  std::vector<OutputShares> first(reports.begin(), reports.begin() + 1);
  std::vector<OutputShares> rest(reports.begin() + 1, reports.end());
  for (bool leader_side : {true, false}) {
    Datastore& store = leader_side ? *datastore : *helper_datastore;
    store.run_tx("seed", [&](Transaction& tx) {
      BatchAggregation a = shard_of(first, batch_interval.start + 3, 1, leader_side);
      BatchAggregation b = shard_of(rest, batch_interval.start + 9, 3, leader_side);
      a.batch_identifier = batch_id;
      b.batch_identifier = batch_id;
      tx.put_batch_aggregation(a);
      tx.put_batch_aggregation(b);
    });
  }
  const CollectionJobId id = create_collection_job(
      Query::fixed_size(FixedSizeQuery{FixedSizeQuery::Type::ByBatchId, batch_id}));
  EXPECT_EQ(run(), 1u);
  ASSERT_EQ(state_of(id), CollectionJobState::Finished);
  HttpResponse response = poll(id);
  ASSERT_EQ(response.status, 200);
  Collection collection = decode_message<Collection>(response.body);
  EXPECT_EQ(collection.partial_batch_selector, PartialBatchSelector::fixed_size(batch_id));
  EXPECT_EQ(collection.report_count, 3u);
  EXPECT_EQ(collection.interval, (Interval{batch_interval.start, precision}));
  const Bytes aad =
      encode_message(AggregateShareAad{task.task_id, {}, BatchSelector::fixed_size(batch_id)});
  std::vector<Bytes> shares{dap_open(collector, collection.leader_encrypted_aggregate_share,
                                     dap_aggregate_share_info(Role::Leader), aad),
                            dap_open(collector, collection.helper_encrypted_aggregate_share,
                                     dap_aggregate_share_info(Role::Helper), aad)};
  EXPECT_EQ(vdaf->unshard({}, shares, collection.report_count), json(2));
  auto shards = datastore->run_tx("read", [&](Transaction& tx) {
    return tx.get_batch_aggregations_for_batch(task.task_id, batch_id, {});
  });
  EXPECT_EQ(shards.size(), config.batch_aggregation_shard_count);
  for (const BatchAggregation& shard : shards) {
    EXPECT_EQ(shard.state, BatchAggregationState::Collected);
  }
}

TEST(CollectionDriverDelay, ExponentialAndCapped) {
  janus::testing::TestDatabase database;
  MockClock clock{1'700'000'000};
  auto datastore = database.open_datastore(clock);
  VdafRegistry vdafs;
  CollectionDriverConfig config;  // Janus defaults: 600 s, 3600 s, 1.25
  CollectionDriver driver(config, *datastore, vdafs);
  EXPECT_EQ(driver.retry_delay(0), std::chrono::seconds(600));
  EXPECT_EQ(driver.retry_delay(1), std::chrono::seconds(750));
  EXPECT_EQ(driver.retry_delay(2), std::chrono::seconds(937));
  EXPECT_EQ(driver.retry_delay(8), std::chrono::seconds(3576));
  EXPECT_EQ(driver.retry_delay(9), std::chrono::seconds(3600));
  EXPECT_EQ(driver.retry_delay(1000), std::chrono::seconds(3600));
}

}  // namespace
}  // namespace janus::collection_driver
