// Taskprov (draft-wang-ppm-dap-taskprov-06) on both roles, against a real database: the helper
// opts into a task a known leader advertises on its first aggregation job and prepares its
// reports with the derived verify key; the leader opts into a task a client advertises on
// upload. Unknown peers, wrong tokens, mismatched or malformed headers, unsupported or expired
// tasks and reports without the taskprov extension are refused as the draft says.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "janus/client_report.h"
#include "janus/ping_pong.h"
#include "janus/taskprov.h"
#include "test_fixture.h"

namespace janus::aggregator {
namespace {

using testing::AggregatorFixture;
using testing::json;
using testing::problem_of;

const std::string kDap = "urn:ietf:params:ppm:dap:error:";
const std::string kLeader = "https://leader.example/";
const std::string kHelper = "https://helper.example/";
constexpr Time kReportTime = 1704164400;

class TaskprovTest : public AggregatorFixture {
 protected:
  void SetUp() override {
    AggregatorFixture::SetUp();
    doc = testing::load_client_reports();
    AggregatorConfig config = testing::test_config();
    config.taskprov.enabled = true;
    start(config);
  }

  // Makes `role`'s key of the vector file an ACTIVE global key: taskprov tasks have no keys of
  // their own.
  void use_global_key(const char* role) {
    const StoredHpkeKeypair key = testing::vector_keypair(doc, role);
    datastore->run_tx("global_key", [&](Transaction& tx) {
      tx.put_global_hpke_keypair(key);
      tx.set_global_hpke_keypair_state(key.config_id, HpkeKeyState::Active);
    });
    aggregator->refresh_global_hpke_keys();
  }

  TaskprovPeerAggregator add_peer(const std::string& endpoint, Role role) {
    TaskprovPeerAggregator peer;
    peer.endpoint = endpoint;
    peer.role = role;
    peer.verify_key_init = Bytes(32, 0x3c);
    peer.collector_hpke_config = encode_message(collector.config);
    peer.report_expiry_age = 7 * 86400;
    peer.tolerable_clock_skew = 120;
    peer.aggregator_auth_tokens = {AuthToken::generate(AuthTokenType::Bearer), token};
    peer.collector_auth_tokens = {collector_token};
    datastore->run_tx("peer", [&](Transaction& tx) { tx.put_taskprov_peer_aggregator(peer); });
    return peer;
  }

  static taskprov::TaskConfig task_config(
      std::string leader = kLeader, Time expiration = kNow + 86400,
      taskprov::VdafConfig vdaf = {.dp_config = {1}, .type = taskprov::VdafTypeCode::Prio3Count}) {
    return taskprov::TaskConfig::make(
        Bytes{'t', 'e', 's', 't'}, std::move(leader), kHelper,
        taskprov::QueryConfig{
            .time_precision = 300, .max_batch_query_count = 1, .min_batch_size = 1},
        expiration, vdaf);
  }

  HttpResponse request(HttpMethod method, const std::string& path, Bytes body,
                       const std::string& content_type, const std::optional<AuthToken>& auth,
                       const std::optional<std::string>& taskprov_header) {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.headers.add("Content-Type", content_type);
    if (auth) {
      auto [name, value] = auth->request_header();
      request.headers.add(name, value);
    }
    if (taskprov_header) request.headers.add(std::string(taskprov::kHeader), *taskprov_header);
    request.body = std::move(body);
    return routes->router.dispatch(request);
  }

  // A one-report init request for the advertised task, as its leader makes it (leader state
  // in `leader`), with `extensions` in the helper's share.
  Bytes init_req(const TaskId& task_id, const Bytes& verify_key, PingPongTransition& leader,
                 std::vector<Extension> extensions = {{ExtensionType::Taskprov, {}}}) {
    auto vdaf = vdafs.create(VdafDescription{"Prio3Count"});
    const HpkeConfig helper_config =
        decode_message<HpkeConfig>(testing::vector_keypair(doc, "helper").config);
    const ReportMetadata metadata{ReportId::random(), kReportTime};
    const VdafShards shards = vdaf->shard(json(1), metadata.id.span());
    leader = ping_pong_leader_initialized(*vdaf, verify_key, {}, metadata.id.span(),
                                          shards.public_share, shards.input_shares.at(0));
    ReportShare share{
        metadata, shards.public_share,
        dap_seal(helper_config, dap_input_share_info(Role::Helper),
                 encode_message(InputShareAad{task_id, metadata, shards.public_share}),
                 encode_message(PlaintextInputShare{extensions, shards.input_shares.at(1)}))};
    AggregationJobInitReq req;
    req.partial_batch_selector = PartialBatchSelector::time_interval();
    req.prepare_inits.push_back(PrepareInit{share, *leader.outbound});
    last_report_id = metadata.id;
    return encode_message(req);
  }

  HttpResponse init(const TaskId& task_id, const Bytes& body, const std::optional<AuthToken>& auth,
                    const std::optional<std::string>& header) {
    return request(HttpMethod::Put,
                   "/tasks/" + task_id.to_base64url() + "/aggregation_jobs/" +
                       AggregationJobId::random().to_base64url(),
                   body, "application/dap-aggregation-job-init-req", auth, header);
  }

  static void expect_problem(const HttpResponse& response, const std::string& type,
                             int status = 400) {
    EXPECT_EQ(response.status, status);
    EXPECT_EQ(problem_of(response).value("type", ""), kDap + type)
        << std::string(response.body.begin(), response.body.end());
  }

  std::optional<AggregatorTask> stored_task(const TaskId& task_id) {
    return datastore->run_tx("get",
                             [&](Transaction& tx) { return tx.get_aggregator_task(task_id); });
  }

  json doc;
  AuthToken token = AuthToken::generate(AuthTokenType::Bearer);
  AuthToken collector_token = AuthToken::generate(AuthTokenType::Bearer);
  DapHpkeKeyPair collector = DapHpkeKeyPair::generate(9);
  ReportId last_report_id;
};

TEST_F(TaskprovTest, HelperOptsIntoATaskItsKnownLeaderAdvertises) {
  use_global_key("helper");
  const TaskprovPeerAggregator peer = add_peer("https://LEADER.example", Role::Leader);
  const Bytes encoded = encode_message(task_config());
  const TaskId task_id = taskprov::task_id_of(encoded);
  const std::string header = taskprov::header_value(encoded);
  const Bytes verify_key = taskprov::derive_vdaf_verify_key(peer.verify_key_init, task_id, 16);
  PingPongTransition leader;

  // A token that is not one of the peer's: refused, and no task is made.
  expect_problem(init(task_id, init_req(task_id, verify_key, leader),
                      AuthToken::generate(AuthTokenType::Bearer), header),
                 "unauthorizedRequest", 403);
  EXPECT_FALSE(stored_task(task_id));

  // The peer's second token opts in; the report prepares with the derived verify key.
  HttpResponse response = init(task_id, init_req(task_id, verify_key, leader), token, header);
  ASSERT_EQ(response.status, 200) << std::string(response.body.begin(), response.body.end());
  AggregationJobResp resp = decode_message<AggregationJobResp>(response.body);
  ASSERT_EQ(resp.prepare_resps.size(), 1u);
  ASSERT_EQ(resp.prepare_resps[0].state, PrepareResp::State::Continue);
  auto vdaf = vdafs.create(VdafDescription{"Prio3Count"});
  const PingPongTransition leader_done =
      ping_pong_leader_continued(*vdaf, {}, leader.state, resp.prepare_resps[0].message);
  ASSERT_TRUE(leader_done.state.finished());
  std::vector<ReportId> aggregated = {last_report_id};

  std::optional<AggregatorTask> task = stored_task(task_id);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->role, Role::Helper);
  EXPECT_EQ(task->peer_aggregator_endpoint, kLeader);
  EXPECT_EQ(task->vdaf_verify_key, verify_key);
  EXPECT_EQ(task->taskprov_task_config, encoded);
  EXPECT_EQ(task->collector_hpke_config, peer.collector_hpke_config);
  EXPECT_EQ(task->report_expiry_age, peer.report_expiry_age);
  EXPECT_EQ(task->tolerable_clock_skew, 120u);
  EXPECT_EQ(task->time_precision, 300u);
  EXPECT_TRUE(task->hpke_keys.empty());
  EXPECT_FALSE(task->aggregator_auth_token_hash);

  // A second job of the task: authorized by the peer's tokens again, without the header it is
  // refused (the task has no token of its own).
  EXPECT_EQ(
      init(task_id, init_req(task_id, verify_key, leader), peer.aggregator_auth_tokens[0], header)
          .status,
      200);
  aggregated.push_back(last_report_id);
  expect_problem(init(task_id, init_req(task_id, verify_key, leader), token, std::nullopt),
                 "unauthorizedRequest", 403);

  // A report share without the taskprov extension is invalid in a taskprov task.
  response = init(task_id, init_req(task_id, verify_key, leader, {}), token, header);
  ASSERT_EQ(response.status, 200);
  resp = decode_message<AggregationJobResp>(response.body);
  ASSERT_EQ(resp.prepare_resps.size(), 1u);
  EXPECT_EQ(resp.prepare_resps[0].state, PrepareResp::State::Reject);
  EXPECT_EQ(resp.prepare_resps[0].error, PrepareError::InvalidMessage);

  // The aggregate share of the two aggregated reports is encrypted to the peer's collector.
  AggregateShareReq share_req;
  share_req.batch_selector = BatchSelector::time_interval({kReportTime, 300});
  share_req.report_count = 2;
  for (const ReportId& id : aggregated) update_report_id_checksum(share_req.checksum, id);
  HttpResponse share =
      request(HttpMethod::Post, "/tasks/" + task_id.to_base64url() + "/aggregate_shares",
              encode_message(share_req), "application/dap-aggregate-share-req", token, header);
  ASSERT_EQ(share.status, 200) << std::string(share.body.begin(), share.body.end());
  const Bytes helper_share =
      dap_open(collector, decode_message<AggregateShare>(share.body).encrypted_aggregate_share,
               dap_aggregate_share_info(Role::Helper),
               encode_message(AggregateShareAad{task_id, {}, share_req.batch_selector}));
  vdaf->check_aggregate_share(helper_share);
}

TEST_F(TaskprovTest, HelperRefusesWhatItMustNotOptInto) {
  use_global_key("helper");
  add_peer(kLeader, Role::Leader);
  PingPongTransition leader;
  auto attempt = [&](const taskprov::TaskConfig& config) {
    const Bytes encoded = encode_message(config);
    const TaskId task_id = taskprov::task_id_of(encoded);
    return std::pair{
        init(task_id, init_req(task_id, Bytes(16), leader), token, taskprov::header_value(encoded)),
        task_id};
  };
  // No peer leader at that endpoint; an expired task; a VDAF this build does not run; an
  // unrecognised differential privacy mechanism; a vector no aggregator should allocate.
  for (const taskprov::TaskConfig& config :
       {task_config("https://other.example/"), task_config(kLeader, kNow - 1),
        task_config(kLeader, kNow + 86400,
                    {.dp_config = {1}, .type = taskprov::VdafTypeCode::Poplar1, .poplar1_bits = 8}),
        task_config(kLeader, kNow + 86400,
                    {.dp_config = {9, 1}, .type = taskprov::VdafTypeCode::Prio3Count}),
        task_config(kLeader, kNow + 86400,
                    {.dp_config = {1},
                    .type = taskprov::VdafTypeCode::Prio3Histogram,
                    .length = 0xffffffff,
                    .chunk_length = 1})}) {
    auto [response, task_id] = attempt(config);
    expect_problem(response, "invalidTask");
    EXPECT_FALSE(stored_task(task_id));
  }

  const Bytes encoded = encode_message(task_config());
  TaskId other = taskprov::task_id_of(encoded);
  other.bytes[31] ^= 1;
  // A header that is not the path task's config, and one that is not a TaskConfig.
  expect_problem(
      init(other, init_req(other, Bytes(16), leader), token, taskprov::header_value(encoded)),
      "unrecognizedTask");
  expect_problem(init(other, init_req(other, Bytes(16), leader), token, "AAAA"), "invalidMessage");

  // With taskprov off, the header is ignored: the task is simply unknown.
  start(testing::test_config());
  const TaskId task_id = taskprov::task_id_of(encoded);
  expect_problem(
      init(task_id, init_req(task_id, Bytes(16), leader), token, taskprov::header_value(encoded)),
      "unrecognizedTask");
  EXPECT_FALSE(stored_task(task_id));
}

TEST_F(TaskprovTest, HelperFindsPeersAddedOrChangedAfterItStarted) {
  use_global_key("helper");
  const Bytes encoded = encode_message(task_config());
  const TaskId task_id = taskprov::task_id_of(encoded);
  const std::string header = taskprov::header_value(encoded);
  PingPongTransition leader;
  // No peer yet: the helper opts out.
  expect_problem(init(task_id, init_req(task_id, Bytes(16), leader), token, header), "invalidTask");
  // Added (through the datastore, as janus_cli and the aggregator API do) after that lookup.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  TaskprovPeerAggregator peer = add_peer(kLeader, Role::Leader);
  const Bytes verify_key = taskprov::derive_vdaf_verify_key(peer.verify_key_init, task_id, 16);
  EXPECT_EQ(init(task_id, init_req(task_id, verify_key, leader), token, header).status, 200);
  // Re-added with a new token: the new one is accepted, the old one no longer.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  datastore->run_tx("replace", [&](Transaction& tx) {
    tx.delete_taskprov_peer_aggregator(kLeader, Role::Leader);
    peer.aggregator_auth_tokens = {AuthToken::generate(AuthTokenType::Bearer)};
    tx.put_taskprov_peer_aggregator(peer);
  });
  EXPECT_EQ(
      init(task_id, init_req(task_id, verify_key, leader), peer.aggregator_auth_tokens[0], header)
          .status,
      200);
  expect_problem(init(task_id, init_req(task_id, verify_key, leader), token, header),
                 "unauthorizedRequest", 403);
}

TEST_F(TaskprovTest, LeaderOptsIntoATaskAClientAdvertises) {
  use_global_key("leader");
  const TaskprovPeerAggregator peer = add_peer(kHelper, Role::Helper);
  const Bytes encoded = encode_message(task_config());
  const TaskId task_id = taskprov::task_id_of(encoded);
  const std::string header = taskprov::header_value(encoded);
  auto vdaf = vdafs.create(VdafDescription{"Prio3Count"});
  const HpkeConfig leader_config =
      decode_message<HpkeConfig>(testing::vector_keypair(doc, "leader").config);
  const HpkeConfig helper_config =
      decode_message<HpkeConfig>(testing::vector_keypair(doc, "helper").config);
  auto upload = [&](const std::vector<Extension>& extensions,
                    const std::optional<std::string>& taskprov_header) {
    return request(HttpMethod::Put, "/tasks/" + task_id.to_base64url() + "/reports",
                   encode_message(make_client_report(task_id, *vdaf, json(1), kReportTime,
                                                     leader_config, helper_config, extensions)),
                   "application/dap-report", std::nullopt, taskprov_header);
  };
  const std::vector<Extension> taskprov_extension = {{ExtensionType::Taskprov, {}}};

  // Without the header the task is unknown; with it, the leader opts in and stores the report.
  expect_problem(upload(taskprov_extension, std::nullopt), "unrecognizedTask");
  HttpResponse response = upload(taskprov_extension, header);
  ASSERT_EQ(response.status, 200) << std::string(response.body.begin(), response.body.end());
  EXPECT_EQ(database.query("SELECT count(*) FROM client_reports"), "1");

  std::optional<AggregatorTask> task = stored_task(task_id);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->role, Role::Leader);
  EXPECT_EQ(task->peer_aggregator_endpoint, kHelper);
  EXPECT_EQ(task->vdaf_verify_key,
            taskprov::derive_vdaf_verify_key(peer.verify_key_init, task_id, 16));
  EXPECT_EQ(task->aggregator_auth_token, peer.aggregator_auth_tokens[0]);
  ASSERT_TRUE(task->collector_auth_token_hash);
  EXPECT_TRUE(task->collector_auth_token_hash->validate(collector_token));
  // Every request to the helper advertises the task.
  bool advertises = false;
  for (const auto& [name, value] : task->peer_request_headers()) {
    if (name == taskprov::kHeader) advertises = value == header;
  }
  EXPECT_TRUE(advertises);

  // A taskprov report must carry the empty taskprov extension.
  expect_problem(upload({}, header), "invalidMessage");
  expect_problem(upload({{ExtensionType::Taskprov, {1}}}, header), "invalidMessage");
  EXPECT_EQ(database.query("SELECT count(*) FROM client_reports"), "1");

  // /hpke_config gives the global key for any task id.
  HttpResponse configs = send(HttpMethod::Get, "/hpke_config?task_id=" + task_id.to_base64url());
  ASSERT_EQ(configs.status, 200);
  EXPECT_EQ(decode_message<HpkeConfigList>(configs.body).configs.at(0), leader_config);
}

TEST_F(TaskprovTest, LeaderWithoutThatHelperAsPeerOptsOut) {
  use_global_key("leader");
  add_peer("https://another-helper.example/", Role::Helper);
  add_peer(kHelper, Role::Leader);  // the right endpoint in the wrong role
  const Bytes encoded = encode_message(task_config());
  const TaskId task_id = taskprov::task_id_of(encoded);
  HttpResponse response =
      request(HttpMethod::Put, "/tasks/" + task_id.to_base64url() + "/reports", Bytes{1, 2, 3},
              "application/dap-report", std::nullopt, taskprov::header_value(encoded));
  expect_problem(response, "invalidTask");
  EXPECT_FALSE(stored_task(task_id));
}

}  // namespace
}  // namespace janus::aggregator
