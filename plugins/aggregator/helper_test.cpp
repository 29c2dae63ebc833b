// The helper's routes against a real database, driven by the messages the vector file
// recorded: the one-report AggregationJobInitReq made from a real @divviup/dap report must
// get exactly the recorded AggregationJobResp, and the aggregate share must decrypt to the
// recorded helper output share. Plus authentication, replays, deletion and the collection
// checks.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "janus/metrics.h"
#include "janus/ping_pong.h"
#include "poplar1.h"
#include "test_fixture.h"

namespace janus::aggregator {
namespace {

using testing::AggregatorFixture;
using testing::hex_field;
using testing::json;
using testing::problem_of;

const std::string kDap = "urn:ietf:params:ppm:dap:error:";

class HelperTest : public AggregatorFixture {
 protected:
  void use_case(std::size_t index) {
    doc = testing::load_client_reports();
    test_case = doc.at("cases").at(index);
    task = testing::vector_task(doc, test_case);
    task.role = Role::Helper;
    task.peer_aggregator_endpoint = "https://leader.example/";
    task.hpke_keys = {testing::vector_keypair(doc, "helper")};
    task.aggregator_auth_token_hash = token.hash();
    task.collector_hpke_config = encode_message(collector.config);
  }

  HttpResponse helper_request(HttpMethod method, const std::string& path, Bytes body,
                              std::optional<std::string> content_type,
                              std::optional<AuthToken> auth) {
    HttpRequest request;
    request.method = method;
    request.path = path;
    if (content_type) request.headers.add("Content-Type", *content_type);
    if (auth) {
      auto [name, value] = auth->request_header();
      request.headers.add(name, value);
    }
    request.body = std::move(body);
    return routes->router.dispatch(request);
  }

  std::string job_path(const AggregationJobId& job_id) {
    return "/tasks/" + task.task_id.to_base64url() + "/aggregation_jobs/" + job_id.to_base64url();
  }

  HttpResponse init(const AggregationJobId& job_id, const Bytes& body) {
    return helper_request(HttpMethod::Put, job_path(job_id), body,
                          "application/dap-aggregation-job-init-req", token);
  }

  Bytes init_req(std::size_t report) {
    return hex_field(test_case.at("reports").at(report),
                     "dap_aggregation_job_init_req_single_report");
  }

  AggregateShareReq share_req(std::uint64_t count, const std::vector<std::size_t>& reports) {
    AggregateShareReq req;
    const Time start = 1704164400 / task.time_precision * task.time_precision;
    req.batch_selector = BatchSelector::time_interval({start, task.time_precision});
    req.report_count = count;
    for (std::size_t report : reports) {
      update_report_id_checksum(
          req.checksum,
          *ReportId::from_bytes(hex_field(test_case.at("reports").at(report), "report_id")));
    }
    return req;
  }

  // An init request as a leader with `verify_key` makes it, one PrepareInit per report;
  // `leaders`, if given, gets each report's leader transition.
  Bytes leader_init_req(const Vdaf& vdaf,
                        const std::vector<std::pair<ReportMetadata, VdafShards>>& reports,
                        const Bytes& verify_key, const Bytes& aggregation_parameter = {},
                        std::vector<PingPongTransition>* leaders = nullptr,
                        PartialBatchSelector selector = PartialBatchSelector::time_interval()) {
    const HpkeConfig helper_config =
        decode_message<HpkeConfig>(testing::vector_keypair(doc, "helper").config);
    AggregationJobInitReq req;
    req.aggregation_parameter = aggregation_parameter;
    req.partial_batch_selector = selector;
    for (const auto& [metadata, shards] : reports) {
      PingPongTransition leader =
          ping_pong_leader_initialized(vdaf, verify_key, aggregation_parameter, metadata.id.span(),
                                       shards.public_share, shards.input_shares.at(0));
      ReportShare share{
          metadata, shards.public_share,
          dap_seal(helper_config, dap_input_share_info(Role::Helper),
                   encode_message(InputShareAad{task.task_id, metadata, shards.public_share}),
                   encode_message(PlaintextInputShare{{}, shards.input_shares.at(1)}))};
      req.prepare_inits.push_back(PrepareInit{share, *leader.outbound});
      if (leaders) leaders->push_back(std::move(leader));
    }
    return encode_message(req);
  }

  // A one-report init request for a fresh measurement (true), made as a leader would.
  Bytes fresh_init_req(Time time,
                       PartialBatchSelector selector = PartialBatchSelector::time_interval()) {
    auto vdaf = vdafs.create(task.vdaf);
    ReportMetadata metadata{ReportId::random(), time};
    VdafShards shards = vdaf->shard(json(1), metadata.id.span());
    return leader_init_req(*vdaf, {{metadata, shards}}, task.vdaf_verify_key, {}, nullptr,
                           selector);
  }

  HttpResponse aggregate_share(const AggregateShareReq& req) {
    return helper_request(HttpMethod::Post,
                          "/tasks/" + task.task_id.to_base64url() + "/aggregate_shares",
                          encode_message(req), "application/dap-aggregate-share-req", token);
  }

  Bytes open_share(const HttpResponse& response, const AggregateShareReq& req) {
    EXPECT_EQ(response.headers.get("Content-Type").value_or(""), "application/dap-aggregate-share");
    AggregateShare share = decode_message<AggregateShare>(response.body);
    return dap_open(collector, share.encrypted_aggregate_share,
                    dap_aggregate_share_info(Role::Helper),
                    encode_message(AggregateShareAad{task.task_id, req.aggregation_parameter,
                                                     req.batch_selector}));
  }

  void expect_problem(const HttpResponse& response, const std::string& type, int status = 400) {
    EXPECT_EQ(response.status, status);
    json problem = problem_of(response);
    EXPECT_EQ(problem.value("type", ""), kDap + type) << problem.dump();
    EXPECT_EQ(problem.value("taskid", ""), task.task_id.to_base64url());
  }

  json doc, test_case;
  AggregatorTask task;
  AuthToken token = AuthToken::generate(AuthTokenType::Bearer);
  DapHpkeKeyPair collector = DapHpkeKeyPair::generate(9);
};

class HelperVectors : public HelperTest, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(HelperVectors, InitAnswersTheRecordedResponseAndSharesTheOutput) {
  use_case(GetParam());
  put_task(task);
  const AggregationJobId job_id = AggregationJobId::random();
  HttpResponse response = init(job_id, init_req(0));
  ASSERT_EQ(response.status, 200) << std::string(response.body.begin(), response.body.end());
  EXPECT_EQ(response.headers.get("Content-Type").value_or(""),
            "application/dap-aggregation-job-resp");
  const Bytes expected =
      hex_field(test_case.at("reports").at(0), "dap_aggregation_job_resp_single_report");
  EXPECT_EQ(hex_encode(response.body), hex_encode(expected));

  // The same request again gets the same answer; other contents under that id are refused.
  HttpResponse again = init(job_id, init_req(0));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, expected);
  EXPECT_EQ(init(job_id, init_req(1)).status, 409);

  const AggregateShareReq req = share_req(1, {0});
  HttpResponse share = aggregate_share(req);
  ASSERT_EQ(share.status, 200) << std::string(share.body.begin(), share.body.end());
  EXPECT_EQ(hex_encode(open_share(share, req)),
            test_case.at("reports").at(0).at("helper_out_share").get<std::string>());
  // Asked again, the same aggregate share (sealed afresh).
  HttpResponse share_again = aggregate_share(req);
  ASSERT_EQ(share_again.status, 200);
  EXPECT_EQ(hex_encode(open_share(share_again, req)),
            test_case.at("reports").at(0).at("helper_out_share").get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(DivviupTs091, HelperVectors, ::testing::Values(0u, 1u, 2u, 3u));

// Janus 0.7's Field64 multiproof SumVec with XofHmacSha256Aes128 through the helper's routes:
// its 32-byte verify key, the leader's and helper's prep shares and the aggregate share.
TEST_F(HelperTest, AggregatesTheMultiproofHmacVdaf) {
  use_case(0);
  task.vdaf = VdafDescription{"Prio3SumVecField64MultiproofHmacSha256Aes128",
                              {{"proofs", 3}, {"bits", 8}, {"length", 4}, {"chunk_length", 3}}};
  task.vdaf_verify_key = Bytes(32, 0x5b);
  put_task(task);
  auto vdaf = vdafs.create(task.vdaf);
  ASSERT_EQ(vdaf->verify_key_size(), 32u);

  const json measurement = {7, 0, 255, 42};
  // A one-report init request, and the leader's state, as a leader with `verify_key` makes them.
  auto make_req = [&](const ReportMetadata& metadata, const Bytes& verify_key,
                      PingPongTransition& leader) {
    std::vector<PingPongTransition> leaders;
    Bytes req = leader_init_req(*vdaf, {{metadata, vdaf->shard(measurement, metadata.id.span())}},
                                verify_key, {}, &leaders);
    leader = leaders.at(0);
    return req;
  };
  const ReportMetadata metadata{ReportId::random(), 1704164400};
  PingPongTransition leader;
  const Bytes req = make_req(metadata, task.vdaf_verify_key, leader);

  HttpResponse response = init(AggregationJobId::random(), req);
  ASSERT_EQ(response.status, 200) << std::string(response.body.begin(), response.body.end());
  const AggregationJobResp resp = decode_message<AggregationJobResp>(response.body);
  ASSERT_EQ(resp.prepare_resps.size(), 1u);
  ASSERT_EQ(resp.prepare_resps[0].state, PrepareResp::State::Continue);
  const PingPongTransition leader_done =
      ping_pong_leader_continued(*vdaf, {}, leader.state, resp.prepare_resps[0].message);
  ASSERT_TRUE(leader_done.state.finished());

  AggregateShareReq share_request;
  const Time start = 1704164400 / task.time_precision * task.time_precision;
  share_request.batch_selector = BatchSelector::time_interval({start, task.time_precision});
  share_request.report_count = 1;
  update_report_id_checksum(share_request.checksum, metadata.id);
  HttpResponse helper_share = aggregate_share(share_request);
  ASSERT_EQ(helper_share.status, 200)
      << std::string(helper_share.body.begin(), helper_share.body.end());
  EXPECT_EQ(vdaf->unshard({},
                          std::vector<Bytes>{leader_done.state.output_share,
                                             open_share(helper_share, share_request)},
                          1),
            measurement);

  // A report the leader prepared with another verify key fails the proof check.
  PingPongTransition wrong_leader;
  HttpResponse rejected =
      init(AggregationJobId::random(),
           make_req({ReportId::random(), 1704164400}, Bytes(32, 0x5c), wrong_leader));
  ASSERT_EQ(rejected.status, 200);
  const AggregationJobResp bad_resp = decode_message<AggregationJobResp>(rejected.body);
  ASSERT_EQ(bad_resp.prepare_resps.size(), 1u);
  EXPECT_EQ(bad_resp.prepare_resps[0].state, PrepareResp::State::Reject);
  EXPECT_EQ(bad_resp.prepare_resps[0].error, PrepareError::VdafPrepError);
}

TEST_F(HelperTest, RequestsNeedTheLeadersToken) {
  use_case(0);
  put_task(task);
  const AggregationJobId job_id = AggregationJobId::random();
  const std::string type = "application/dap-aggregation-job-init-req";
  expect_problem(helper_request(HttpMethod::Put, job_path(job_id), init_req(0), type, std::nullopt),
                 "unauthorizedRequest", 403);
  expect_problem(helper_request(HttpMethod::Put, job_path(job_id), init_req(0), type,
                                AuthToken::generate(AuthTokenType::Bearer)),
                 "unauthorizedRequest", 403);
  // The right token in the other header type is refused too.
  expect_problem(helper_request(HttpMethod::Put, job_path(job_id), init_req(0), type,
                                *AuthToken::create(AuthTokenType::DapAuth, token.value())),
                 "unauthorizedRequest", 403);
  expect_problem(
      helper_request(HttpMethod::Delete, job_path(job_id), {}, std::nullopt, std::nullopt),
      "unauthorizedRequest", 403);
  EXPECT_EQ(database.query("SELECT count(*) FROM aggregation_jobs"), "0");
}

TEST_F(HelperTest, LeaderTaskIsUnrecognized) {
  use_case(0);
  task.role = Role::Leader;
  task.aggregator_auth_token_hash.reset();
  task.aggregator_auth_token = token;
  task.collector_auth_token_hash = AuthToken::generate(AuthTokenType::Bearer).hash();
  put_task(task);
  expect_problem(init(AggregationJobId::random(), init_req(0)), "unrecognizedTask");
}

TEST_F(HelperTest, BadRequestsAreRefused) {
  use_case(0);
  put_task(task);
  const AggregationJobId job_id = AggregationJobId::random();
  EXPECT_EQ(helper_request(HttpMethod::Put, job_path(job_id), init_req(0),
                           "application/octet-stream", token)
                .status,
            400);
  Bytes truncated = init_req(0);
  truncated.pop_back();
  expect_problem(init(job_id, truncated), "invalidMessage");
  EXPECT_EQ(database.query("SELECT count(*) FROM aggregation_jobs"), "0");
}

TEST_F(HelperTest, ReportInAnotherJobIsReplayed) {
  use_case(0);
  put_task(task);
  const std::string series = "janus_step_failures{type=\"report_replayed\"} ";
  auto replayed = [&] {
    const std::string text = metrics::registry().serialize();
    auto at = text.find(series);
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + series.size()));
  };
  const double replayed_before = replayed();
  ASSERT_EQ(init(AggregationJobId::random(), init_req(0)).status, 200);
  HttpResponse replay = init(AggregationJobId::random(), init_req(0));
  ASSERT_EQ(replay.status, 200);
  AggregationJobResp resp = decode_message<AggregationJobResp>(replay.body);
  ASSERT_EQ(resp.prepare_resps.size(), 1u);
  EXPECT_EQ(resp.prepare_resps[0].state, PrepareResp::State::Reject);
  EXPECT_EQ(resp.prepare_resps[0].error, PrepareError::ReportReplayed);
  EXPECT_EQ(replayed(), replayed_before + 1);
}

// DAP-09 §4.5.1.4 on the helper: once a batch was collected at Poplar1 level 0, level 1 may
// prepare only the reports whose output shares were in that collection; one that failed at
// level 0, or that level 0 never saw, is batch_collected.
TEST_F(HelperTest, Poplar1ReportsLeftOutOfACollectionAreBatchCollected) {
  use_case(0);
  vdafs.add(poplar1::kName, [](const VdafDescription& d) { return poplar1::make_poplar1(d); });
  start(testing::test_config());
  task.task_id = TaskId::random();
  task.vdaf = VdafDescription{poplar1::kName, {{"bits", 4}}};
  put_task(task);
  auto vdaf = vdafs.create(task.vdaf);
  std::vector<std::pair<ReportMetadata, VdafShards>> reports;
  for (int measurement : {12, 13, 3}) {
    const ReportMetadata metadata{ReportId::random(), 1704164400 + 10};
    reports.emplace_back(metadata, vdaf->shard(json(measurement), metadata.id.span()));
  }
  const Bytes level0 =
      poplar1::encode_aggregation_parameter(poplar1::aggregation_parameter(0, {0, 1}));
  const Bytes level1 =
      poplar1::encode_aggregation_parameter(poplar1::aggregation_parameter(1, {0, 1, 2, 3}));

  // Level 0 takes the first two reports; the second then fails (as a bad sketch would make
  // it), and the collection of level 0 completes.
  const AggregationJobId level0_job = AggregationJobId::random();
  HttpResponse first = init(
      level0_job, leader_init_req(*vdaf, {reports[0], reports[1]}, task.vdaf_verify_key, level0));
  ASSERT_EQ(first.status, 200) << std::string(first.body.begin(), first.body.end());
  datastore->run_tx("settle_level0", [&](Transaction& tx) {
    std::vector<ReportAggregation> ras =
        tx.get_report_aggregations_for_job(task.task_id, level0_job);
    ASSERT_EQ(ras.size(), 2u);
    ras[0].state = ReportAggregationState::Finished;
    ras[1].state = ReportAggregationState::Failed;
    ras[1].error_code = static_cast<std::uint8_t>(PrepareError::VdafPrepError);
    tx.update_report_aggregations(ras);
    const Time start = 1704164400 / task.time_precision * task.time_precision;
    tx.mark_batch_aggregations_collected(task.task_id, {Interval{start, task.time_precision}},
                                         level0, 1);
  });

  HttpResponse second = init(AggregationJobId::random(),
                             leader_init_req(*vdaf, reports, task.vdaf_verify_key, level1));
  ASSERT_EQ(second.status, 200) << std::string(second.body.begin(), second.body.end());
  const AggregationJobResp resp = decode_message<AggregationJobResp>(second.body);
  ASSERT_EQ(resp.prepare_resps.size(), 3u);
  EXPECT_EQ(resp.prepare_resps[0].state, PrepareResp::State::Continue);
  for (std::size_t i : {1u, 2u}) {
    EXPECT_EQ(resp.prepare_resps[i].state, PrepareResp::State::Reject) << i;
    EXPECT_EQ(resp.prepare_resps[i].error, PrepareError::BatchCollected) << i;
  }
}

TEST_F(HelperTest, TooEarlyReportIsRejectedPerReport) {
  use_case(0);
  put_task(task);
  clock.set(1704164400 - task.tolerable_clock_skew - 1);
  HttpResponse response = init(AggregationJobId::random(), init_req(0));
  ASSERT_EQ(response.status, 200);
  AggregationJobResp resp = decode_message<AggregationJobResp>(response.body);
  ASSERT_EQ(resp.prepare_resps.size(), 1u);
  EXPECT_EQ(resp.prepare_resps[0].error, PrepareError::ReportTooEarly);
}

TEST_F(HelperTest, DeletedJobIsGone) {
  use_case(0);
  put_task(task);
  const AggregationJobId job_id = AggregationJobId::random();
  expect_problem(helper_request(HttpMethod::Delete, job_path(job_id), {}, std::nullopt, token),
                 "unrecognizedAggregationJob");
  ASSERT_EQ(init(job_id, init_req(0)).status, 200);
  EXPECT_EQ(helper_request(HttpMethod::Delete, job_path(job_id), {}, std::nullopt, token).status,
            204);
  HttpResponse gone = init(job_id, init_req(0));
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(problem_of(gone).value("type", ""),
            "https://docs.divviup.org/references/janus-errors#aggregation-job-deleted");
}

TEST_F(HelperTest, ContinueChecksTheJobAndStep) {
  use_case(0);
  put_task(task);
  const AggregationJobId job_id = AggregationJobId::random();
  AggregationJobContinueReq req;
  req.step = 1;
  req.prepare_continues.push_back(
      {*ReportId::from_bytes(hex_field(test_case.at("reports").at(0), "report_id")),
       PingPongMessage::finish({})});
  auto post = [&] {
    return helper_request(HttpMethod::Post, job_path(job_id), encode_message(req),
                          "application/dap-aggregation-job-continue-req", token);
  };
  expect_problem(post(), "unrecognizedAggregationJob");
  ASSERT_EQ(init(job_id, init_req(0)).status, 200);
  // Prio3 finishes in one round: the job is done and there is no step 1.
  expect_problem(post(), "stepMismatch");
}

TEST_F(HelperTest, AggregateShareChecks) {
  use_case(0);
  put_task(task);
  ASSERT_EQ(init(AggregationJobId::random(), init_req(0)).status, 200);
  ASSERT_EQ(init(AggregationJobId::random(), init_req(1)).status, 200);

  expect_problem(aggregate_share(share_req(1, {0})),
                 "batchMismatch");  // two reports were aggregated
  expect_problem(aggregate_share(share_req(2, {0})), "batchMismatch");  // wrong checksum
  AggregateShareReq unaligned = share_req(2, {0, 1});
  unaligned.batch_selector.batch_interval.start += 1;
  expect_problem(aggregate_share(unaligned), "batchInvalid");

  const AggregateShareReq req = share_req(2, {0, 1});
  HttpResponse share = aggregate_share(req);
  ASSERT_EQ(share.status, 200);
  // The aggregate of both reports: the VDAF's merge of the two recorded output shares.
  auto vdaf = vdafs.create(task.vdaf);
  Bytes expected = vdaf->empty_aggregate_share({});
  vdaf->accumulate(expected, {}, hex_field(test_case.at("reports").at(0), "helper_out_share"));
  vdaf->accumulate(expected, {}, hex_field(test_case.at("reports").at(1), "helper_out_share"));
  EXPECT_EQ(open_share(share, req), expected);

  // The batch is collected now: a fresh report for it is refused, per report.
  HttpResponse late = init(AggregationJobId::random(), fresh_init_req(1704164400 + 5));
  ASSERT_EQ(late.status, 200);
  AggregationJobResp resp = decode_message<AggregationJobResp>(late.body);
  ASSERT_EQ(resp.prepare_resps.size(), 1u);
  EXPECT_EQ(resp.prepare_resps[0].state, PrepareResp::State::Reject);
  EXPECT_EQ(resp.prepare_resps[0].error, PrepareError::BatchCollected);
  // A report of the next batch is still aggregated.
  clock.set(1704164400 + 3700);
  HttpResponse next = init(AggregationJobId::random(), fresh_init_req(1704164400 + 3600));
  ASSERT_EQ(next.status, 200);
  resp = decode_message<AggregationJobResp>(next.body);
  ASSERT_EQ(resp.prepare_resps.size(), 1u);
  EXPECT_EQ(resp.prepare_resps[0].state, PrepareResp::State::Continue);
}

TEST_F(HelperTest, AggregateShareCarriesTheTasksDifferentialPrivacyNoiseOnce) {
  use_case(3);  // the real client's Prio3Histogram reports, length 5
  task.vdaf.parameters["dp_strategy"] = {{"dp_strategy", "PureDpDiscreteLaplace"},
                                         {"budget", {{"epsilon", json::parse("[[1], [10]]")}}}};
  put_task(task);
  ASSERT_EQ(init(AggregationJobId::random(), init_req(0)).status, 200);
  ASSERT_EQ(init(AggregationJobId::random(), init_req(1)).status, 200);

  const AggregateShareReq req = share_req(2, {0, 1});
  HttpResponse share = aggregate_share(req);
  ASSERT_EQ(share.status, 200) << std::string(share.body.begin(), share.body.end());
  auto vdaf = vdafs.create(task.vdaf);
  Bytes exact = vdaf->empty_aggregate_share({});
  vdaf->accumulate(exact, {}, hex_field(test_case.at("reports").at(0), "helper_out_share"));
  vdaf->accumulate(exact, {}, hex_field(test_case.at("reports").at(1), "helper_out_share"));
  const Bytes noised = open_share(share, req);
  vdaf->check_aggregate_share(noised);
  // Scale 20 on five buckets: all five draws zero has probability below 1e-8.
  EXPECT_NE(noised, exact);
  // The stored share answers a repeat: the noise is drawn once, never averaged away.
  EXPECT_EQ(open_share(aggregate_share(req), req), noised);
}

TEST_F(HelperTest, AggregateShareIsRefusedOnceTheBatchMayHaveBeenCollectedAsGarbage) {
  use_case(0);
  task.report_expiry_age = 7200;
  put_task(task);
  ASSERT_EQ(init(AggregationJobId::random(), init_req(0)).status, 200);
  const AggregateShareReq req = share_req(1, {0});
  const Time batch_end = req.batch_selector.batch_interval.start + task.time_precision;
  clock.set(batch_end + 7200);  // the last moment: still answered, and again as a replay
  ASSERT_EQ(aggregate_share(req).status, 200);
  clock.set(batch_end + 7201);
  HttpResponse late = aggregate_share(req);
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(std::string(late.body.begin(), late.body.end()), "aggregate share request too late\n");
}

TEST_F(HelperTest, ConcurrentIdenticalInitsGetTheSameAnswer) {
  use_case(0);
  put_task(task);
  const AggregationJobId job_id = AggregationJobId::random();
  const Bytes body = init_req(0);
  std::vector<std::future<HttpResponse>> responses;
  for (int i = 0; i < 4; ++i) {
    responses.push_back(std::async(std::launch::async, [&] { return init(job_id, body); }));
  }
  const Bytes expected =
      hex_field(test_case.at("reports").at(0), "dap_aggregation_job_resp_single_report");
  for (auto& response : responses) {
    HttpResponse r = response.get();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, expected);
  }
  EXPECT_EQ(database.query("SELECT count(*) FROM report_aggregations"), "1");
}

TEST_F(HelperTest, RequestQueueServesOrRefusesWithRetryAfter) {
  AggregatorConfig config = testing::test_config();
  config.helper_aggregation_request_queue = RequestQueueOptions{1, 0, std::nullopt};
  start(config);
  use_case(0);
  put_task(task);
  const Bytes body = init_req(0);
  const Bytes expected =
      hex_field(test_case.at("reports").at(0), "dap_aggregation_job_resp_single_report");
  // One at a time: served through the queue's thread as without it.
  HttpResponse alone = init(AggregationJobId::random(), body);
  EXPECT_EQ(alone.status, 200);
  EXPECT_EQ(alone.body, expected);
  // Eight at once with room for one: each is served or refused the Janus way, none lost.
  std::vector<std::future<HttpResponse>> responses;
  for (int i = 0; i < 8; ++i) {
    responses.push_back(
        std::async(std::launch::async, [&] { return init(AggregationJobId::random(), body); }));
  }
  int served = 0;
  for (auto& response : responses) {
    HttpResponse r = response.get();
    if (r.status == 200) {
      ++served;  // (its report is a replay of the first job's by now)
      continue;
    }
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.headers.get("Retry-After").value_or(""), "30");
    EXPECT_EQ(problem_of(r).value("type", ""),
              "https://docs.divviup.org/references/janus-errors#too-many-requests");
  }
  // (The queue's one thread may still be between requests, so all eight may be refused.)
  EXPECT_EQ(database.query("SELECT count(*) FROM aggregation_jobs"), std::to_string(1 + served));
  // Refusals leave nothing behind: the queue serves again once it is free.
  int status = 0;
  for (int attempt = 0; attempt < 200 && status != 200; ++attempt) {
    status = init(AggregationJobId::random(), body).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status, 200);
}

TEST_F(HelperTest, FixedSizeBatchIsAggregatedAndShared) {
  use_case(0);
  task.query_type.kind = TaskQueryType::Kind::FixedSize;
  task.query_type.max_batch_size = 2;
  put_task(task);
  const BatchId batch_id = BatchId::random();
  const auto selector = PartialBatchSelector::fixed_size(batch_id);
  // A time_interval selector does not fit a fixed_size task.
  expect_problem(init(AggregationJobId::random(), fresh_init_req(1704164400)), "invalidMessage");
  std::vector<Bytes> bodies = {fresh_init_req(1704164400, selector),
                               fresh_init_req(1704164400 + 1, selector)};
  for (const Bytes& body : bodies) {
    HttpResponse response = init(AggregationJobId::random(), body);
    ASSERT_EQ(response.status, 200);
  }
  AggregateShareReq req;
  req.batch_selector = BatchSelector::fixed_size(batch_id);
  req.report_count = 2;
  for (const Bytes& body : bodies) {
    update_report_id_checksum(
        req.checksum,
        decode_message<AggregationJobInitReq>(body).prepare_inits.at(0).report_share.metadata.id);
  }
  HttpResponse share = aggregate_share(req);
  ASSERT_EQ(share.status, 200) << std::string(share.body.begin(), share.body.end());
  EXPECT_EQ(open_share(share, req).size(), 8u);  // one Field64 element: the helper's count share
  // Another batch id has no reports: too small.
  req.batch_selector = BatchSelector::fixed_size(BatchId::random());
  expect_problem(aggregate_share(req), "invalidBatchSize");
}

TEST_F(HelperTest, SmallBatchIsInvalidSize) {
  use_case(0);
  task.min_batch_size = 2;
  put_task(task);
  ASSERT_EQ(init(AggregationJobId::random(), init_req(0)).status, 200);
  expect_problem(aggregate_share(share_req(1, {0})), "invalidBatchSize");
}

}  // namespace
}  // namespace janus::aggregator
