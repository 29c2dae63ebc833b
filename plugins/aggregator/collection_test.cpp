// The leader's collection routes against a real database: creation with the collector's
// token and the batch checks, polling through every job state (the finished collection's
// leader share sealed to the collector), and deletion.
#include <gtest/gtest.h>

#include "test_fixture.h"

namespace janus::aggregator {
namespace {

using testing::AggregatorFixture;
using testing::json;
using testing::problem_of;

const std::string kDap = "urn:ietf:params:ppm:dap:error:";
constexpr Time kBatchStart = 1704164400;

class CollectionTest : public AggregatorFixture {
 protected:
  void SetUp() override {
    AggregatorFixture::SetUp();
    const json doc = testing::load_client_reports();
    task = testing::vector_task(doc, doc.at("cases").at(0));
    task.aggregator_auth_token = AuthToken::generate(AuthTokenType::Bearer);
    task.collector_auth_token_hash = collector_token.hash();
    task.collector_hpke_config = encode_message(collector.config);
  }

  std::string path(const CollectionJobId& id) {
    return "/tasks/" + task.task_id.to_base64url() + "/collection_jobs/" + id.to_base64url();
  }

  HttpResponse request(HttpMethod method, const CollectionJobId& id, Bytes body = {},
                       std::optional<AuthToken> token = std::nullopt, bool with_type = true) {
    HttpRequest r;
    r.method = method;
    r.path = path(id);
    if (method == HttpMethod::Put && with_type) {
      r.headers.add("Content-Type", "application/dap-collect-req");
    }
    if (token) {
      auto [name, value] = token->request_header();
      r.headers.add(name, value);
    }
    r.body = std::move(body);
    return routes->router.dispatch(r);
  }

  HttpResponse create(const CollectionJobId& id, const Query& query) {
    return request(HttpMethod::Put, id, encode_message(CollectionReq{query, {}}), collector_token);
  }
  HttpResponse poll(const CollectionJobId& id) {
    return request(HttpMethod::Post, id, {}, collector_token);
  }

  void expect_problem(const HttpResponse& response, const std::string& type, int status = 400) {
    EXPECT_EQ(response.status, status);
    json problem = problem_of(response);
    EXPECT_EQ(problem.value("type", ""), kDap + type) << problem.dump();
    EXPECT_EQ(problem.value("taskid", ""), task.task_id.to_base64url());
  }

  CollectionJob stored(const CollectionJobId& id) {
    return *datastore->run_tx(
        "read", [&](Transaction& tx) { return tx.get_collection_job(task.task_id, id); });
  }
  void update(const CollectionJob& job) {
    datastore->run_tx("update", [&](Transaction& tx) { tx.update_collection_job(job); });
  }

  AggregatorTask task;
  AuthToken collector_token = AuthToken::generate(AuthTokenType::Bearer);
  DapHpkeKeyPair collector = DapHpkeKeyPair::generate(11);
  const Query query = Query::time_interval({kBatchStart, 3600});
};

TEST_F(CollectionTest, CreatePollFinishDelete) {
  put_task(task);
  const CollectionJobId id = CollectionJobId::random();
  EXPECT_EQ(poll(id).status, 404);
  ASSERT_EQ(create(id, query).status, 201);
  EXPECT_EQ(create(id, query).status, 201);  // a retry
  EXPECT_EQ(create(id, Query::time_interval({kBatchStart, 7200})).status, 409);
  EXPECT_EQ(poll(id).status, 202);

  CollectionJob job = stored(id);
  EXPECT_EQ(job.state, CollectionJobState::Start);
  EXPECT_EQ(job.batch_identifier, BatchIdentifier(Interval{kBatchStart, 3600}));
  const Bytes leader_share = {1, 2, 3, 4, 5, 6, 7, 8};
  const HpkeCiphertext helper_share{3, {9, 9}, {8, 8, 8}};
  job.state = CollectionJobState::Finished;
  job.report_count = 2;
  job.client_timestamp_interval = Interval{kBatchStart, 3600};
  job.leader_aggregate_share = leader_share;
  job.helper_aggregate_share = encode_message(helper_share);
  update(job);

  HttpResponse done = poll(id);
  ASSERT_EQ(done.status, 200);
  EXPECT_EQ(done.headers.get("Content-Type").value_or(""), "application/dap-collection");
  Collection collection = decode_message<Collection>(done.body);
  EXPECT_EQ(collection.partial_batch_selector, PartialBatchSelector::time_interval());
  EXPECT_EQ(collection.report_count, 2u);
  EXPECT_EQ(collection.interval, (Interval{kBatchStart, 3600}));
  EXPECT_EQ(collection.helper_encrypted_aggregate_share, helper_share);
  EXPECT_EQ(dap_open(collector, collection.leader_encrypted_aggregate_share,
                     dap_aggregate_share_info(Role::Leader),
                     encode_message(AggregateShareAad{
                         task.task_id, {}, BatchSelector::time_interval({kBatchStart, 3600})})),
            leader_share);

  EXPECT_EQ(request(HttpMethod::Delete, id, {}, collector_token).status, 204);
  EXPECT_EQ(poll(id).status, 204);
  EXPECT_EQ(request(HttpMethod::Delete, CollectionJobId::random(), {}, collector_token).status,
            404);
}

TEST_F(CollectionTest, AbandonedJobIsAProblem) {
  put_task(task);
  const CollectionJobId id = CollectionJobId::random();
  ASSERT_EQ(create(id, query).status, 201);
  CollectionJob job = stored(id);
  job.state = CollectionJobState::Abandoned;
  update(job);
  HttpResponse response = poll(id);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(problem_of(response).value("type", ""),
            "https://docs.divviup.org/references/janus-errors#collection-job-abandoned");
}

TEST_F(CollectionTest, RequestsNeedTheCollectorsToken) {
  put_task(task);
  const CollectionJobId id = CollectionJobId::random();
  const Bytes body = encode_message(CollectionReq{query, {}});
  expect_problem(request(HttpMethod::Put, id, body), "unauthorizedRequest", 403);
  expect_problem(request(HttpMethod::Put, id, body, *task.aggregator_auth_token),
                 "unauthorizedRequest", 403);
  expect_problem(request(HttpMethod::Post, id), "unauthorizedRequest", 403);
  expect_problem(request(HttpMethod::Delete, id), "unauthorizedRequest", 403);
  EXPECT_EQ(database.query("SELECT count(*) FROM collection_jobs"), "0");
}

TEST_F(CollectionTest, BadRequestsAreRefused) {
  put_task(task);
  const CollectionJobId id = CollectionJobId::random();
  EXPECT_EQ(request(HttpMethod::Put, id, encode_message(CollectionReq{query, {}}), collector_token,
                    /*with_type=*/false)
                .status,
            400);
  Bytes truncated = encode_message(CollectionReq{query, {}});
  truncated.pop_back();
  expect_problem(request(HttpMethod::Put, id, truncated, collector_token), "invalidMessage");
  expect_problem(create(id, Query::time_interval({kBatchStart + 1, 3600})), "batchInvalid");
  expect_problem(create(id, Query::fixed_size(FixedSizeQuery::current_batch())), "invalidMessage");
  EXPECT_EQ(database.query("SELECT count(*) FROM collection_jobs"), "0");

  // An interval overlapping another job's, without being equal to it.
  ASSERT_EQ(create(id, query).status, 201);
  expect_problem(create(CollectionJobId::random(), Query::time_interval({kBatchStart, 7200})),
                 "batchOverlap");
  // The same batch again is another query with the same (empty) aggregation parameter.
  EXPECT_EQ(create(CollectionJobId::random(), query).status, 201);
}

TEST_F(CollectionTest, FixedSizeByBatchId) {
  task.query_type.kind = TaskQueryType::Kind::FixedSize;
  task.query_type.max_batch_size = 10;
  put_task(task);
  const BatchId batch_id = BatchId::random();
  const CollectionJobId id = CollectionJobId::random();
  ASSERT_EQ(create(id, Query::fixed_size(FixedSizeQuery::by_batch_id(batch_id))).status, 201);
  EXPECT_EQ(stored(id).batch_identifier, BatchIdentifier(batch_id));
  // With no outstanding batch there is nothing to collect yet.
  expect_problem(
      create(CollectionJobId::random(), Query::fixed_size(FixedSizeQuery::current_batch())),
      "batchInvalid");
}

TEST_F(CollectionTest, FixedSizeCurrentBatchTakesTheOldestBatchThatIsBigEnough) {
  task.query_type.kind = TaskQueryType::Kind::FixedSize;
  task.query_type.max_batch_size = 10;
  task.min_batch_size = 3;
  task.report_expiry_age = 7 * 86400;
  put_task(task);
  // Outstanding batches, oldest first, with their aggregated report counts (over shards).
  const BatchId small = BatchId::random(), enough = BatchId::random(), expired = BatchId::random(),
                full = BatchId::random();
  const Time recent = clock.now() / 3600 * 3600 - 3600;
  const Time old = recent - 8 * 86400;
  datastore->run_tx("seed", [&](Transaction& tx) {
    auto seed = [&](const BatchId& batch_id, OutstandingBatchState state,
                    std::vector<std::uint64_t> shard_counts, Time time) {
      tx.put_outstanding_batch(OutstandingBatch{task.task_id, batch_id, std::nullopt, state});
      for (std::size_t ord = 0; ord < shard_counts.size(); ++ord) {
        BatchAggregation ba;
        ba.task_id = task.task_id;
        ba.batch_identifier = batch_id;
        ba.ord = ord;
        ba.report_count = shard_counts[ord];
        ba.checksum = Bytes(32, 0);
        ba.client_timestamp_interval = {time, 1};
        tx.put_batch_aggregation(ba);
      }
    };
    seed(small, OutstandingBatchState::Filling, {1, 1}, recent);
    seed(enough, OutstandingBatchState::Filling, {1, 2}, recent);
    seed(expired, OutstandingBatchState::Filled, {10}, old);
    seed(full, OutstandingBatchState::Filled, {6, 4}, recent);
  });
  const Query current = Query::fixed_size(FixedSizeQuery::current_batch());
  const CollectionJobId first = CollectionJobId::random(), second = CollectionJobId::random();
  ASSERT_EQ(create(first, current).status, 201);
  EXPECT_EQ(stored(first).batch_identifier, BatchIdentifier(enough));
  // A retry of the same request is the same job: it takes no other batch.
  ASSERT_EQ(create(first, current).status, 201);
  EXPECT_EQ(stored(first).batch_identifier, BatchIdentifier(enough));
  ASSERT_EQ(create(second, current).status, 201);
  EXPECT_EQ(stored(second).batch_identifier, BatchIdentifier(full));
  // Left: one too small, one past report_expiry_age.
  expect_problem(create(CollectionJobId::random(), current), "batchInvalid");
  EXPECT_EQ(database.query("SELECT count(*) FROM outstanding_batches"), "2");
  EXPECT_EQ(database.query("SELECT count(*) FROM collection_jobs"), "2");
}

TEST_F(CollectionTest, HelperTaskIsUnrecognized) {
  task.role = Role::Helper;
  task.aggregator_auth_token.reset();
  task.collector_auth_token_hash.reset();
  task.aggregator_auth_token_hash = AuthToken::generate(AuthTokenType::Bearer).hash();
  put_task(task);
  expect_problem(create(CollectionJobId::random(), query), "unrecognizedTask");
}

}  // namespace
}  // namespace janus::aggregator
