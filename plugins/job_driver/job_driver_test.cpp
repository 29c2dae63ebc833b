// The leader's creator and driver end to end, each side with its own PostgreSQL database:
// the reports recorded from the real @divviup/dap 0.9.1 client are stored on the leader,
// the creator makes a job, the driver steps it against the aggregator plugin's helper code
// served over loopback HTTP, and both sides' batch aggregations must equal the sums of the
// recorded output shares. Plus a helper answering 500 (retried on the next lease), one
// answering a 4xx problem (abandoned after the limit, then DELETEd) and a rejected report.
#include "job_driver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>

#include "aggregator.h"
#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/http.h"
#include "janus/messages.h"
#include "janus/testing/client_report_vectors.h"
#include "janus/testing/test_database.h"
#include "janus/vdaf.h"
#include "job_creator.h"
#include "poplar1.h"
#include "prio3.h"

namespace janus::job_driver {
namespace {

using janus::testing::client_report_vdaf;

using nlohmann::json;

json load_client_reports() {
  std::ifstream in(JANUS_SHARED_DIR "/vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
  if (!in) throw std::runtime_error("cannot open divviup-ts-0.9.1-client-reports.json");
  return json::parse(in);
}

Bytes hex_field(const json& object, const char* key) {
  auto bytes = hex_decode(object.at(key).get<std::string>());
  if (!bytes) throw std::runtime_error(std::string("bad hex in vector field ") + key);
  return *bytes;
}

StoredHpkeKeypair vector_keypair(const json& doc, const char* role) {
  const json& entry = doc.at("hpke").at(role);
  HpkeConfigList list = decode_message<HpkeConfigList>(hex_field(entry, "hpke_config_list"));
  const HpkeConfig& config = list.configs.at(0);
  return StoredHpkeKeypair{config.id, encode_message(config), hex_field(entry, "private_key")};
}

// The helper's routes into a Router of their own, so the test server can forward to them
// or answer otherwise.
class RouterRegistrar final : public RouteRegistrar {
 public:
  void add_async_route(const std::string&, HttpMethod method, std::string_view pattern,
                       AsyncHttpHandler handler, RouteOptions options = {}) override {
    router.add_async(method, pattern, std::move(handler), std::move(options));
  }
  Router router;
};

constexpr UnixSeconds kNow = 1704164400 + 600;  // a little after the vector reports' time

class JobDriverTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override {
    doc = load_client_reports();
    test_case = doc.at("cases").at(GetParam());
    for (const std::string& name : prio3::prio3_vdaf_names()) {
      vdafs.add(name, [](const VdafDescription& d) { return prio3::make_prio3(d); });
    }
    vdaf = vdafs.create(client_report_vdaf(test_case));

    // The helper: the aggregator plugin's code on its own database.
    aggregator::AggregatorConfig helper_config;
    helper_config.listen_address = "127.0.0.1:0";
    helper_config.max_upload_batch_size = 10;
    helper_config.max_upload_batch_write_delay = std::chrono::milliseconds(5);
    helper_config.batch_aggregation_shard_count = 4;
    helper_config.task_counter_shard_count = 4;
    helper = std::make_unique<aggregator::Aggregator>(helper_config, *helper_datastore, vdafs,
                                                      clock, nullptr);
    helper->refresh_global_hpke_keys();
    helper->register_routes(helper_routes);
    helper->start();
    HttpServerOptions server_options;
    server_options.listen_address = "127.0.0.1:0";
    server = std::make_unique<HttpServer>(server_options);
    for (HttpMethod method : {HttpMethod::Put, HttpMethod::Post, HttpMethod::Delete}) {
      server->router().add(method, "/tasks/{task_id}/aggregation_jobs/{aggregation_job_id}",
                           [this](const HttpRequest& request) {
                             HttpRequest copy = request;
                             std::function<HttpResponse(HttpRequest&)> answer;
                             {
                               std::lock_guard lock(mutex);
                               seen_methods.push_back(request.method);
                               answer = respond;
                             }
                             if (answer) return answer(copy);
                             return helper_routes.router.dispatch(copy);
                           });
    }
    server->start();

    const TaskId task_id = *TaskId::from_bytes(hex_field(doc, "task_id_hex"));
    AuthToken token = AuthToken::generate(AuthTokenType::Bearer);
    AggregatorTask common;
    common.task_id = task_id;
    common.query_type = query_type;
    common.vdaf = client_report_vdaf(test_case);
    common.vdaf_verify_key = hex_field(doc, "vdaf_verify_key");
    common.time_precision = doc.at("time_precision").get<Duration>();
    common.tolerable_clock_skew = 60;
    common.min_batch_size = 1;

    AggregatorTask helper_task = common;
    helper_task.role = Role::Helper;
    helper_task.peer_aggregator_endpoint = "https://leader.example/";
    helper_task.hpke_keys = {vector_keypair(doc, "helper")};
    helper_task.aggregator_auth_token_hash = token.hash();
    helper_datastore->run_tx("put_task",
                             [&](Transaction& tx) { tx.put_aggregator_task(helper_task); });

    leader_task = common;
    leader_task.role = Role::Leader;
    leader_task.peer_aggregator_endpoint = "http://127.0.0.1:" + std::to_string(server->port());
    leader_task.hpke_keys = {vector_keypair(doc, "leader")};
    leader_task.aggregator_auth_token = token;
    leader_task.collector_auth_token_hash = AuthToken::generate(AuthTokenType::Bearer).hash();
    leader_datastore->run_tx("put_task",
                             [&](Transaction& tx) { tx.put_aggregator_task(leader_task); });
  }

  void TearDown() override {
    if (server) server->stop(std::chrono::milliseconds(1000));
    if (helper) helper->stop();
  }

  // Stores the vector's reports as the leader's upload would have (leader share opened).
  void store_vector_reports(bool corrupt_second_helper_share = false) {
    leader_datastore->run_tx("put_reports", [&](Transaction& tx) {
      std::size_t index = 0;
      for (const json& report : test_case.at("reports")) {
        PlaintextInputShare leader_share =
            decode_message<PlaintextInputShare>(hex_field(report, "leader_plaintext_input_share"));
        ByteWriter extensions;
        extensions.vector(2, [&](ByteWriter& w) {
          for (const Extension& extension : leader_share.extensions) extension.encode(w);
        });
        Report decoded = decode_message<Report>(hex_field(report, "report"));
        HpkeCiphertext helper_share = decoded.helper_encrypted_input_share;
        if (corrupt_second_helper_share && index == 1) helper_share.payload.at(0) ^= 1;
        tx.put_client_report(LeaderStoredReport{
            leader_task.task_id, decoded.metadata.id, decoded.metadata.time, extensions.take(),
            decoded.public_share, leader_share.payload, encode_message(helper_share)});
        ++index;
      }
    });
  }

  void create_jobs() {
    job_creator::JobCreatorConfig config;
    config.batch_aggregation_shard_count = 4;
    config.min_aggregation_job_size = 1;
    config.max_aggregation_job_size = 10;
    job_creator::JobCreator creator(config, *leader_datastore, vdafs, nullptr);
    ASSERT_EQ(creator.run_once(), 1u);
  }

  AggregationJobDriverConfig driver_config() {
    AggregationJobDriverConfig config;
    config.batch_aggregation_shard_count = 4;
    config.task_counter_shard_count = 4;
    config.maximum_attempts_before_failure = 2;
    // Real (short) sleeps, and a budget that leaves room for several tries even when a
    // loaded machine makes the first request slow.
    config.retry_initial_interval = std::chrono::milliseconds(10);
    config.retry_max_interval = std::chrono::milliseconds(200);
    config.retry_max_elapsed_time = std::chrono::milliseconds(2000);
    return config;
  }

  // One acquisition and step, as the plugin's runner does it. Returns jobs acquired.
  std::size_t drive_once() {
    JobDriver driver(driver_config(), *leader_datastore, vdafs, nullptr);
    LeaseWorkerOptions options = driver.worker_options("test driver");
    options.random_start_delay = false;
    LeaseWorkerRunner runner(options, driver.worker_functions(), clock);
    return runner.run_once();
  }

  // Sum of every shard of the report's batch, and how many reports and jobs it counts.
  struct BatchTotals {
    Bytes share;
    std::uint64_t reports = 0, created = 0, terminated = 0;
  };
  BatchTotals batch_totals(Datastore& datastore) {
    const Time time = test_case.at("reports").at(0).at("report_time").get<Time>();
    const Duration precision = leader_task.time_precision;
    BatchTotals totals{vdaf->empty_aggregate_share({})};
    datastore.run_tx("read_batch", [&](Transaction& tx) {
      for (const BatchAggregation& ba : tx.get_batch_aggregations_for_batch(
               leader_task.task_id, Interval{time / precision * precision, precision}, {})) {
        if (ba.aggregate_share) vdaf->merge(totals.share, {}, *ba.aggregate_share);
        totals.reports += ba.report_count;
        totals.created += ba.aggregation_jobs_created;
        totals.terminated += ba.aggregation_jobs_terminated;
      }
    });
    return totals;
  }

  Bytes expected_share(const char* field, std::size_t skip = SIZE_MAX) {
    Bytes share = vdaf->empty_aggregate_share({});
    std::size_t index = 0;
    for (const json& report : test_case.at("reports")) {
      if (index++ != skip) vdaf->accumulate(share, {}, hex_field(report, field));
    }
    return share;
  }

  AggregationJob only_job() {
    auto jobs = leader_datastore->run_tx("jobs", [&](Transaction& tx) {
      return tx.get_aggregation_jobs_for_task(leader_task.task_id);
    });
    EXPECT_EQ(jobs.size(), 1u);
    return jobs.at(0);
  }

  void set_respond(std::function<HttpResponse(HttpRequest&)> answer) {
    std::lock_guard lock(mutex);
    respond = std::move(answer);
  }

  TaskQueryType query_type;  // set before SetUp by the fixed_size tests
  json doc, test_case;
  VdafRegistry vdafs;
  std::shared_ptr<const Vdaf> vdaf;
  MockClock clock{kNow};
  janus::testing::TestDatabase leader_database, helper_database;
  std::unique_ptr<Datastore> leader_datastore = leader_database.open_datastore(clock);
  std::unique_ptr<Datastore> helper_datastore = helper_database.open_datastore(clock);
  RouterRegistrar helper_routes;
  std::unique_ptr<aggregator::Aggregator> helper;
  std::unique_ptr<HttpServer> server;
  AggregatorTask leader_task;
  std::mutex mutex;
  std::vector<HttpMethod> seen_methods;
  std::function<HttpResponse(HttpRequest&)> respond;
};

TEST_P(JobDriverTest, RecordedReportsAggregateOnBothSides) {
  store_vector_reports();
  create_jobs();
  ASSERT_EQ(drive_once(), 1u);

  const AggregationJob job = only_job();
  EXPECT_EQ(job.state, AggregationJobState::Finished);
  leader_datastore->run_tx("check", [&](Transaction& tx) {
    for (const ReportAggregation& ra :
         tx.get_report_aggregations_for_job(leader_task.task_id, job.aggregation_job_id)) {
      EXPECT_EQ(ra.state, ReportAggregationState::Finished);
    }
    EXPECT_EQ(tx.get_task_aggregation_counter(leader_task.task_id), 2u);
  });
  const std::size_t reports = test_case.at("reports").size();
  BatchTotals leader = batch_totals(*leader_datastore);
  EXPECT_EQ(leader.share, expected_share("leader_out_share"));
  EXPECT_EQ(leader.reports, reports);
  EXPECT_EQ(leader.created, 1u);
  EXPECT_EQ(leader.terminated, 1u);
  BatchTotals helper_totals = batch_totals(*helper_datastore);
  EXPECT_EQ(helper_totals.share, expected_share("helper_out_share"));
  EXPECT_EQ(helper_totals.reports, reports);

  // Nothing is left to acquire.
  EXPECT_EQ(drive_once(), 0u);
}

TEST_P(JobDriverTest, ReportTheHelperRejectsFailsAlone) {
  store_vector_reports(/*corrupt_second_helper_share=*/true);
  create_jobs();
  ASSERT_EQ(drive_once(), 1u);
  const AggregationJob job = only_job();
  EXPECT_EQ(job.state, AggregationJobState::Finished);
  leader_datastore->run_tx("check", [&](Transaction& tx) {
    auto ras = tx.get_report_aggregations_for_job(leader_task.task_id, job.aggregation_job_id);
    ASSERT_EQ(ras.size(), 2u);
    EXPECT_EQ(ras[0].state, ReportAggregationState::Finished);
    EXPECT_EQ(ras[1].state, ReportAggregationState::Failed);
    EXPECT_EQ(ras[1].error_code, static_cast<std::uint8_t>(PrepareError::HpkeDecryptError));
  });
  BatchTotals leader = batch_totals(*leader_datastore);
  EXPECT_EQ(leader.share, expected_share("leader_out_share", /*skip=*/1));
  EXPECT_EQ(leader.reports, 1u);
  EXPECT_EQ(batch_totals(*helper_datastore).share, expected_share("helper_out_share", 1));
}

TEST_P(JobDriverTest, ServerErrorIsRetriedOnTheNextLease) {
  store_vector_reports();
  create_jobs();
  std::atomic<int> failures{0};
  set_respond([&](HttpRequest&) {
    ++failures;
    return HttpResponse::text(500, "try later\n");
  });
  ASSERT_EQ(drive_once(), 1u);
  EXPECT_GE(failures.load(), 2);  // send_with_retry retried within the step
  EXPECT_EQ(only_job().state, AggregationJobState::InProgress);
  // The lease is still held: nothing to acquire until it expires.
  EXPECT_EQ(drive_once(), 0u);

  set_respond(nullptr);
  clock.advance(600 + 1);
  ASSERT_EQ(drive_once(), 1u);
  EXPECT_EQ(only_job().state, AggregationJobState::Finished);
  EXPECT_EQ(batch_totals(*leader_datastore).share, expected_share("leader_out_share"));
  EXPECT_EQ(batch_totals(*helper_datastore).share, expected_share("helper_out_share"));
}

TEST_P(JobDriverTest, ProblemAnswersAbandonTheJobAfterTheLimitAndDeleteIt) {
  store_vector_reports();
  create_jobs();
  set_respond([&](HttpRequest& request) {
    if (request.method == HttpMethod::Delete) return HttpResponse::empty(204);
    return HttpResponse::bytes(400, "application/problem+json",
                               Bytes{'{', '"', 't', 'y', 'p', 'e', '"', ':', '"', 'x', '"', '}'});
  });
  // maximum_attempts_before_failure = 2: two failing steps, the third acquisition abandons.
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSERT_EQ(drive_once(), 1u);
    EXPECT_EQ(only_job().state, AggregationJobState::InProgress);
    clock.advance(600 + 1);
  }
  ASSERT_EQ(drive_once(), 1u);
  EXPECT_EQ(only_job().state, AggregationJobState::Abandoned);
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(seen_methods.size(), 3u);  // 4xx is not retried within a step
    EXPECT_EQ(seen_methods.back(), HttpMethod::Delete);
  }
  clock.advance(600 + 1);
  EXPECT_EQ(drive_once(), 0u);
  BatchTotals leader = batch_totals(*leader_datastore);
  EXPECT_EQ(leader.reports, 0u);
  // The abandoned job is over as far as collection is concerned.
  EXPECT_EQ(leader.created, 1u);
  EXPECT_EQ(leader.terminated, 1u);
}

TEST_P(JobDriverTest, ReportsOfACollectedBatchFailWithoutAsking) {
  store_vector_reports();
  create_jobs();
  leader_datastore->run_tx("collect", [&](Transaction& tx) {
    const Time time = test_case.at("reports").at(0).at("report_time").get<Time>();
    const Duration precision = leader_task.time_precision;
    auto shards = tx.get_batch_aggregations_for_batch(
        leader_task.task_id, Interval{time / precision * precision, precision}, {});
    ASSERT_FALSE(shards.empty());
    shards[0].state = BatchAggregationState::Collected;
    tx.update_batch_aggregation(shards[0]);
  });
  ASSERT_EQ(drive_once(), 1u);
  const AggregationJob job = only_job();
  EXPECT_EQ(job.state, AggregationJobState::Finished);
  leader_datastore->run_tx("check", [&](Transaction& tx) {
    for (const ReportAggregation& ra :
         tx.get_report_aggregations_for_job(leader_task.task_id, job.aggregation_job_id)) {
      EXPECT_EQ(ra.state, ReportAggregationState::Failed);
      EXPECT_EQ(ra.error_code, static_cast<std::uint8_t>(PrepareError::BatchCollected));
    }
  });
  std::lock_guard lock(mutex);
  EXPECT_TRUE(seen_methods.empty());
}

INSTANTIATE_TEST_SUITE_P(VectorCases, JobDriverTest, ::testing::Values(0, 1, 2, 3));

// Poplar1 through the creator and the driver with the real helper, level by level: the
// vector task's HPKE keys and tokens, with a Poplar1 task of its own on both sides and
// reports made here.
class Poplar1JobDriverTest : public JobDriverTest {
 protected:
  void SetUp() override {
    vdafs.add(poplar1::kName, [](const VdafDescription& d) { return poplar1::make_poplar1(d); });
    JobDriverTest::SetUp();
    AggregatorTask helper_task = *helper_datastore->run_tx(
        "get", [&](Transaction& tx) { return tx.get_aggregator_task(leader_task.task_id); });
    const TaskId task_id = TaskId::random();
    for (AggregatorTask* task : {&leader_task, &helper_task}) {
      task->task_id = task_id;
      task->vdaf = {poplar1::kName, {{"bits", 2}}};
      task->max_batch_query_count = 2;
    }
    leader_datastore->run_tx("put", [&](Transaction& tx) { tx.put_aggregator_task(leader_task); });
    helper_datastore->run_tx("put", [&](Transaction& tx) { tx.put_aggregator_task(helper_task); });
    poplar1 = vdafs.create(leader_task.vdaf);
  }

  // Stores a report of `measurement` as the leader's upload would; `corrupt` breaks its
  // helper share, so that the helper fails it (hpke_decrypt_error).
  ReportId store_report(std::uint64_t measurement, bool corrupt = false) {
    const ReportMetadata metadata{ReportId::random(), kBatchTime + 10};
    const VdafShards shards = poplar1->shard(json(measurement), metadata.id.span());
    const HpkeConfig helper_config =
        decode_message<HpkeConfig>(vector_keypair(doc, "helper").config);
    HpkeCiphertext helper_share =
        dap_seal(helper_config, dap_input_share_info(Role::Helper),
                 encode_message(InputShareAad{leader_task.task_id, metadata, shards.public_share}),
                 encode_message(PlaintextInputShare{{}, shards.input_shares.at(1)}));
    if (corrupt) helper_share.payload.at(0) ^= 1;
    leader_datastore->run_tx("put_report", [&](Transaction& tx) {
      tx.put_client_report(LeaderStoredReport{
          leader_task.task_id, metadata.id, metadata.time, Bytes{0, 0}, shards.public_share,
          shards.input_shares.at(0), encode_message(helper_share)});
    });
    return metadata.id;
  }

  // A START collection job of the batch under the parameter of `prefixes` at `level`; the
  // creator then makes its job.
  Bytes collect(std::uint16_t level, const std::vector<std::uint64_t>& prefixes) {
    const Bytes parameter =
        poplar1::encode_aggregation_parameter(poplar1::aggregation_parameter(level, prefixes));
    leader_datastore->run_tx("collect", [&](Transaction& tx) {
      CollectionJob job;
      job.task_id = leader_task.task_id;
      job.collection_job_id = CollectionJobId::random();
      job.query = {1};
      job.aggregation_parameter = parameter;
      job.batch_identifier = batch();
      tx.put_collection_job(job);
    });
    create_jobs();
    return parameter;
  }

  // Steps until no job is left (both rounds of each), at most `limit` steps.
  void drive_all(int limit = 10) {
    for (int step = 0; step < limit && drive_once() > 0; ++step) {
    }
  }

  // Each report's state and error under `parameter` on one side.
  std::map<ReportId, ReportAggregation> under(Datastore& datastore, const Bytes& parameter) {
    std::map<ReportId, ReportAggregation> found;
    datastore.run_tx("read", [&](Transaction& tx) {
      for (const AggregationJob& job : tx.get_aggregation_jobs_for_task(leader_task.task_id)) {
        if (job.aggregation_parameter != parameter) continue;
        for (const ReportAggregation& ra :
             tx.get_report_aggregations_for_job(leader_task.task_id, job.aggregation_job_id)) {
          found[ra.report_id] = ra;
        }
      }
    });
    return found;
  }

  Interval batch() const {
    const Duration precision = leader_task.time_precision;
    return Interval{kBatchTime / precision * precision, precision};
  }

  static constexpr Time kBatchTime = 1704164400;
  std::shared_ptr<const Vdaf> poplar1;
};

// DAP-09 §4.5.1.4 on the leader's side: a level-1 job made before level 0's collection
// completed must not send the report level 0 went without, even though the helper would still
// take it (its batch counts as collected only once the leader asks for its aggregate share).
TEST_P(Poplar1JobDriverTest, AReportLeftOutOfACompletedCollectionIsNotSentForTheNextLevel) {
  const ReportId a = store_report(3), failed = store_report(2, /*corrupt=*/true),
                 c = store_report(1);
  const Bytes level0 = collect(0, {0, 1});
  drive_all();
  const auto at_level0 = under(*leader_datastore, level0);
  ASSERT_EQ(at_level0.size(), 3u);
  EXPECT_EQ(at_level0.at(a).state, ReportAggregationState::Finished);
  EXPECT_EQ(at_level0.at(c).state, ReportAggregationState::Finished);
  EXPECT_EQ(at_level0.at(failed).error_code,
            static_cast<std::uint8_t>(PrepareError::HpkeDecryptError));

  // Level 1's job is made while level 0 is still being collected, so it holds all three;
  // then level 0's collection completes on the leader.
  const Bytes level1 = collect(1, {0, 1, 2, 3});
  ASSERT_EQ(under(*leader_datastore, level1).size(), 3u);
  leader_datastore->run_tx("collected", [&](Transaction& tx) {
    tx.mark_batch_aggregations_collected(leader_task.task_id, {batch()}, level0, 4);
  });
  drive_all();
  const auto at_level1 = under(*leader_datastore, level1);
  EXPECT_EQ(at_level1.at(a).state, ReportAggregationState::Finished);
  EXPECT_EQ(at_level1.at(c).state, ReportAggregationState::Finished);
  EXPECT_EQ(at_level1.at(failed).state, ReportAggregationState::Failed);
  EXPECT_EQ(at_level1.at(failed).error_code,
            static_cast<std::uint8_t>(PrepareError::BatchCollected));
  // The helper never saw it at level 1.
  const auto helper_level1 = under(*helper_datastore, level1);
  EXPECT_EQ(helper_level1.size(), 2u);
  EXPECT_FALSE(helper_level1.contains(failed));
}

INSTANTIATE_TEST_SUITE_P(VectorKeys, Poplar1JobDriverTest, ::testing::Values(0));

class FixedSizeJobDriverTest : public JobDriverTest {
 protected:
  void SetUp() override {
    query_type = TaskQueryType{TaskQueryType::Kind::FixedSize, 10, std::nullopt};
    JobDriverTest::SetUp();
  }

  Bytes batch_share(Datastore& datastore, const BatchId& batch_id, std::uint64_t& reports) {
    Bytes share = vdaf->empty_aggregate_share({});
    reports = 0;
    datastore.run_tx("read_batch", [&](Transaction& tx) {
      for (const BatchAggregation& ba :
           tx.get_batch_aggregations_for_batch(leader_task.task_id, batch_id, {})) {
        if (ba.aggregate_share) vdaf->merge(share, {}, *ba.aggregate_share);
        reports += ba.report_count;
      }
    });
    return share;
  }
};

TEST_P(FixedSizeJobDriverTest, RecordedReportsAggregateIntoTheOutstandingBatch) {
  store_vector_reports();
  create_jobs();
  ASSERT_EQ(drive_once(), 1u);
  const AggregationJob job = only_job();
  EXPECT_EQ(job.state, AggregationJobState::Finished);
  ASSERT_TRUE(job.batch_id.has_value());
  std::uint64_t reports = 0;
  EXPECT_EQ(batch_share(*leader_datastore, *job.batch_id, reports),
            expected_share("leader_out_share"));
  EXPECT_EQ(reports, test_case.at("reports").size());
  EXPECT_EQ(batch_share(*helper_datastore, *job.batch_id, reports),
            expected_share("helper_out_share"));
  EXPECT_EQ(reports, test_case.at("reports").size());
}

INSTANTIATE_TEST_SUITE_P(VectorCases, FixedSizeJobDriverTest, ::testing::Values(0, 3));

TEST(JobDriverConfigTest, SampleConfigsParseAndBadKeysFail) {
  for (const char* dir : {"basic_config", "advanced_config"}) {
    const std::string file = std::string(JANUS_SHARED_DIR) + "/reference/janus-0.7-samples/" + dir +
                             "/aggregation_job_driver.yaml";
    YAML::Node root = YAML::LoadFile(file);
    for (const char* common :
         {"database", "health_check_listen_address", "logging_config", "metrics_config",
          "max_transaction_retries", "thread_pool_stack_size"}) {
      root.remove(common);
    }
    const AggregationJobDriverConfig config =
        parse_job_driver_config(root, file, [](const std::string&) {});
    EXPECT_EQ(config.maximum_attempts_before_failure, 10u);
    EXPECT_EQ(config.worker_lease_duration, std::chrono::seconds(600));
    EXPECT_EQ(config.batch_aggregation_shard_count, 32u);
  }
  const std::string base =
      "job_discovery_interval_s: 1\nmax_concurrent_job_workers: 2\nworker_lease_duration_s: 60\n"
      "worker_lease_clock_skew_allowance_s: 5\nmaximum_attempts_before_failure: 3\n"
      "batch_aggregation_shard_count: 4\n";
  auto parse = [](const std::string& text) {
    return parse_job_driver_config(YAML::Load(text), "d.yaml", [](const std::string&) {});
  };
  EXPECT_NO_THROW(parse(base));
  try {
    parse(base + "surprise: 1\n");
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("surprise"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse("job_discovery_interval_s: 1\n"), ConfigError);
  EXPECT_THROW(parse(base + "http_request_timeout_s: -1\n"), ConfigError);
  std::string skew = base;
  skew.replace(skew.find("allowance_s: 5"), 14, "allowance_s: 60");
  EXPECT_THROW(parse(skew), ConfigError);
}

}  // namespace
}  // namespace janus::job_driver
