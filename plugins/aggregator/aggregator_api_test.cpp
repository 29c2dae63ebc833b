// Janus's aggregator API against a real database: authentication and media types, the task
// lifecycle divviup-api drives (create as leader or helper, read, page, patch, counters,
// delete) and the global HPKE keys (create, read, change state, delete), with the answers'
// JSON in Janus's shapes.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "test_fixture.h"

namespace janus::aggregator {
namespace {

using testing::AggregatorFixture;
using testing::json;

const std::string kType(kAggregatorApiMediaType);

class AggregatorApiTest : public AggregatorFixture {
 protected:
  void SetUp() override {
    AggregatorFixture::SetUp();
    AggregatorConfig config = testing::test_config();
    AggregatorApiConfig api;
    api.path_prefix = "aggregator-api";
    api.public_dap_url = "https://dap.example/";
    api.auth_tokens = parse_aggregator_api_auth_tokens(",first-token," + token_);
    config.aggregator_api = api;
    start(config);
  }

  HttpResponse call(HttpMethod method, const std::string& path, std::optional<json> body = {},
                    std::optional<std::string> token = std::string("second-token"),
                    std::optional<std::string> accept = kType,
                    std::optional<std::string> content_type = std::nullopt) {
    HttpRequest request;
    request.method = method;
    const std::string full = "/aggregator-api" + path;
    auto question = full.find('?');
    request.path = full.substr(0, question);
    if (question != std::string::npos) request.raw_query = full.substr(question + 1);
    if (token) request.headers.add("Authorization", "Bearer " + *token);
    if (accept) request.headers.add("Accept", *accept);
    if (body) {
      const std::string text = body->dump();
      request.body.assign(text.begin(), text.end());
      request.headers.add("Content-Type", content_type.value_or(kType));
    } else if (content_type) {
      request.headers.add("Content-Type", *content_type);
    }
    return routes->router.dispatch(request);
  }

  json body_of(const HttpResponse& response, int status = 200) {
    EXPECT_EQ(response.status, status) << std::string(response.body.begin(), response.body.end());
    EXPECT_EQ(response.headers.get("Content-Type").value_or(""), kType);
    return json::parse(response.body.begin(), response.body.end());
  }

  std::string text_of(const HttpResponse& response) {
    return std::string(response.body.begin(), response.body.end());
  }

  json collector_config() {
    const HpkeConfig& config = collector_.config;
    return {{"id", 7},
            {"kem_id", "X25519HkdfSha256"},
            {"kdf_id", "HkdfSha256"},
            {"aead_id", "Aes128Gcm"},
            {"public_key", base64url_encode(config.public_key)}};
  }

  json task_request(const Bytes& verify_key, const std::string& role) {
    json req = {{"peer_aggregator_endpoint", "https://peer.example/"},
                {"query_type", "TimeInterval"},
                {"vdaf", "Prio3Count"},
                {"role", role},
                {"vdaf_verify_key", base64url_encode(verify_key)},
                {"max_batch_query_count", 1},
                {"task_expiration", nullptr},
                {"min_batch_size", 10},
                {"time_precision", 3600},
                {"collector_hpke_config", collector_config()}};
    if (role == "Leader") {
      req["aggregator_auth_token"] = {{"type", "Bearer"}, {"token", "leader-to-helper"}};
      req["collector_auth_token_hash"] = {
          {"type", "Bearer"},
          {"hash", AuthToken::create(AuthTokenType::Bearer, "collector")->hash().to_base64url()}};
    }
    return req;
  }

  static TaskId id_of_key(const Bytes& key) {
    Bytes digest(SHA256_DIGEST_LENGTH);
    SHA256(key.data(), key.size(), digest.data());
    return *TaskId::from_bytes(digest);
  }

  const std::string token_ = "second-token";
  const DapHpkeKeyPair collector_ = DapHpkeKeyPair::generate(7);
};

TEST_F(AggregatorApiTest, TokenThenMediaTypesAreChecked) {
  EXPECT_EQ(call(HttpMethod::Get, "/", {}, std::nullopt).status, 401);
  EXPECT_EQ(call(HttpMethod::Get, "/", {}, std::string("wrong")).status, 401);
  EXPECT_EQ(call(HttpMethod::Get, "/", {}, std::string("first-token"), std::nullopt).status, 406);
  EXPECT_EQ(call(HttpMethod::Get, "/", {}, token_, std::string("application/json")).status, 406);
  EXPECT_EQ(call(HttpMethod::Get, "/", {}, token_, kType, std::string("text/plain")).status, 415);
  json config = body_of(call(HttpMethod::Get, "/"));
  EXPECT_EQ(config.at("protocol"), "DAP-09");
  EXPECT_EQ(config.at("dap_url"), "https://dap.example/");
  EXPECT_EQ(config.at("role"), "Either");
  EXPECT_EQ(config.at("query_types"), json({"TimeInterval", "FixedSize"}));
  EXPECT_NE(std::find(config.at("vdafs").begin(), config.at("vdafs").end(), "Prio3Count"),
            config.at("vdafs").end());
  // Claimed features are those this build has: the Prio3 plugin adds Janus's DP noise.
  EXPECT_NE(std::find(config.at("features").begin(), config.at("features").end(),
                      "PureDpDiscreteLaplace"),
            config.at("features").end());
  EXPECT_THROW(parse_aggregator_api_auth_tokens("ok,not a token"), std::invalid_argument);
}

TEST_F(AggregatorApiTest, TaskLifecycle) {
  const Bytes leader_key(16, 1), helper_key(16, 2);
  const TaskId leader_id = id_of_key(leader_key), helper_id = id_of_key(helper_key);

  json leader = body_of(call(HttpMethod::Post, "/tasks", task_request(leader_key, "Leader")));
  EXPECT_EQ(leader.at("task_id"), leader_id.to_base64url());
  EXPECT_EQ(leader.at("role"), "Leader");
  EXPECT_EQ(leader.at("vdaf"), "Prio3Count");
  EXPECT_EQ(leader.at("query_type"), "TimeInterval");
  EXPECT_EQ(leader.at("min_batch_size"), 10);
  EXPECT_EQ(leader.at("report_expiry_age"), 1209600);
  EXPECT_EQ(leader.at("tolerable_clock_skew"), 300);
  EXPECT_TRUE(leader.at("aggregator_auth_token").is_null());
  EXPECT_EQ(leader.at("aggregator_hpke_configs").size(), 1u);
  auto stored =
      datastore->run_tx("read", [&](Transaction& tx) { return tx.get_aggregator_task(leader_id); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->aggregator_auth_token->value(), "leader-to-helper");
  EXPECT_TRUE(stored->collector_auth_token_hash->validate(
      *AuthToken::create(AuthTokenType::Bearer, "collector")));
  // The same request again is the same task; other parameters under that key are a conflict.
  EXPECT_EQ(body_of(call(HttpMethod::Post, "/tasks", task_request(leader_key, "Leader"))), leader);
  json changed = task_request(leader_key, "Leader");
  changed["min_batch_size"] = 11;
  EXPECT_EQ(call(HttpMethod::Post, "/tasks", changed).status, 409);

  // A helper gets a fresh token for the leader, once, and keeps only its hash.
  json helper = body_of(call(HttpMethod::Post, "/tasks", task_request(helper_key, "Helper")));
  ASSERT_TRUE(helper.at("aggregator_auth_token").is_object());
  auto token = AuthToken::create(AuthTokenType::Bearer,
                                 helper.at("aggregator_auth_token").at("token").get<std::string>());
  ASSERT_TRUE(token);
  stored =
      datastore->run_tx("read", [&](Transaction& tx) { return tx.get_aggregator_task(helper_id); });
  ASSERT_TRUE(stored && stored->aggregator_auth_token_hash);
  EXPECT_TRUE(stored->aggregator_auth_token_hash->validate(*token));
  EXPECT_FALSE(stored->aggregator_auth_token);
  EXPECT_TRUE(body_of(call(HttpMethod::Get, "/tasks/" + helper_id.to_base64url()))
                  .at("aggregator_auth_token")
                  .is_null());

  // Refused requests say why.
  json helper_with_token = task_request(Bytes(16, 3), "Helper");
  helper_with_token["aggregator_auth_token"] = {{"type", "Bearer"}, {"token", "x"}};
  HttpResponse refused = call(HttpMethod::Post, "/tasks", helper_with_token);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(text_of(refused).find("helper role"), std::string::npos) << text_of(refused);
  json no_token = task_request(Bytes(16, 4), "Leader");
  no_token.erase("aggregator_auth_token");
  EXPECT_EQ(call(HttpMethod::Post, "/tasks", no_token).status, 400);
  refused = call(HttpMethod::Post, "/tasks", task_request(Bytes(15, 5), "Leader"));
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(text_of(refused).find("expected 16, got 15"), std::string::npos) << text_of(refused);
  json bad_vdaf = task_request(Bytes(16, 6), "Leader");
  bad_vdaf["vdaf"] = {{"Prio3Sum", {{"bits", 0}}}};
  EXPECT_EQ(call(HttpMethod::Post, "/tasks", bad_vdaf).status, 400);
  EXPECT_EQ(call(HttpMethod::Post, "/tasks", json("not an object")).status, 400);

  // Task ids in id order, paged after a token.
  std::vector<std::string> ids = {leader_id.to_base64url(), helper_id.to_base64url()};
  std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
    return *TaskId::from_base64url(a) < *TaskId::from_base64url(b);
  });
  json page = body_of(call(HttpMethod::Get, "/task_ids"));
  EXPECT_EQ(page.at("task_ids"), json(ids));
  EXPECT_EQ(page.at("pagination_token"), ids[1]);
  page = body_of(call(HttpMethod::Get, "/task_ids?pagination_token=" + ids[0]));
  EXPECT_EQ(page.at("task_ids"), json({ids[1]}));
  page = body_of(call(HttpMethod::Get, "/task_ids?pagination_token=" + ids[1]));
  EXPECT_TRUE(page.at("task_ids").empty());
  EXPECT_FALSE(page.contains("pagination_token"));
  EXPECT_EQ(call(HttpMethod::Get, "/task_ids?pagination_token=nope").status, 400);

  // Patch: a time sets the expiration, null clears it, absence leaves it.
  const std::string path = "/tasks/" + leader_id.to_base64url();
  EXPECT_EQ(
      body_of(call(HttpMethod::Patch, path, json{{"task_expiration", 1234}})).at("task_expiration"),
      1234);
  EXPECT_EQ(body_of(call(HttpMethod::Patch, path, json::object())).at("task_expiration"), 1234);
  EXPECT_TRUE(body_of(call(HttpMethod::Patch, path, json{{"task_expiration", nullptr}}))
                  .at("task_expiration")
                  .is_null());

  // Counters of a new task are zero; an unknown task is 404, a malformed id 400.
  json uploads = body_of(call(HttpMethod::Get, path + "/metrics/uploads"));
  EXPECT_EQ(uploads.size(), 8u);
  EXPECT_EQ(uploads.at("report_success"), 0);
  const json no_aggregations = {{"success", 0}};
  EXPECT_EQ(body_of(call(HttpMethod::Get, path + "/metrics/aggregations")), no_aggregations);
  const std::string unknown = "/tasks/" + TaskId::random().to_base64url();
  EXPECT_EQ(call(HttpMethod::Get, unknown).status, 404);
  EXPECT_EQ(call(HttpMethod::Get, unknown + "/metrics/uploads").status, 404);
  EXPECT_EQ(call(HttpMethod::Patch, unknown, json::object()).status, 404);
  EXPECT_EQ(call(HttpMethod::Get, "/tasks/not-an-id").status, 400);

  // Delete, twice: 204 both times, and it is gone.
  EXPECT_EQ(call(HttpMethod::Delete, path).status, 204);
  EXPECT_EQ(call(HttpMethod::Delete, path).status, 204);
  EXPECT_EQ(call(HttpMethod::Get, path).status, 404);
}

TEST_F(AggregatorApiTest, GlobalHpkeKeys) {
  EXPECT_EQ(body_of(call(HttpMethod::Get, "/hpke_configs")), json::array());
  json first = body_of(call(HttpMethod::Put, "/hpke_configs", json::object()), 201);
  EXPECT_EQ(first.at("config").at("id"), 0);
  EXPECT_EQ(first.at("config").at("kem_id"), "X25519HkdfSha256");
  EXPECT_EQ(first.at("state"), "Pending");
  json second =
      body_of(call(HttpMethod::Put, "/hpke_configs", json{{"kem_id", "P256HkdfSha256"}}), 201);
  EXPECT_EQ(second.at("config").at("id"), 1);
  EXPECT_EQ(second.at("config").at("kem_id"), "P256HkdfSha256");
  EXPECT_EQ(call(HttpMethod::Put, "/hpke_configs", json{{"kem_id", "Nope"}}).status, 400);
  EXPECT_EQ(body_of(call(HttpMethod::Get, "/hpke_configs/1")), second);
  EXPECT_EQ(call(HttpMethod::Get, "/hpke_configs/9").status, 404);
  EXPECT_EQ(call(HttpMethod::Get, "/hpke_configs/256").status, 400);

  // Activated, the key is what the DAP API hands a client that names no task.
  EXPECT_EQ(call(HttpMethod::Patch, "/hpke_configs/0", json{{"state", "Active"}}).status, 200);
  EXPECT_EQ(body_of(call(HttpMethod::Get, "/hpke_configs/0")).at("state"), "Active");
  EXPECT_EQ(call(HttpMethod::Patch, "/hpke_configs/0", json{{"state", "Gone"}}).status, 400);
  EXPECT_EQ(call(HttpMethod::Patch, "/hpke_configs/9", json{{"state", "Active"}}).status, 404);
  aggregator->refresh_global_hpke_keys();
  HttpResponse dap = send(HttpMethod::Get, "/hpke_config");
  ASSERT_EQ(dap.status, 200);
  HpkeConfigList list = decode_message<HpkeConfigList>(dap.body);
  ASSERT_EQ(list.configs.size(), 1u);
  EXPECT_EQ(list.configs[0].id, 0);

  EXPECT_EQ(call(HttpMethod::Delete, "/hpke_configs/1").status, 204);
  EXPECT_EQ(call(HttpMethod::Delete, "/hpke_configs/1").status, 204);
  EXPECT_EQ(body_of(call(HttpMethod::Get, "/hpke_configs")).size(), 1u);
}

TEST_F(AggregatorApiTest, TaskprovPeerAggregators) {
  EXPECT_EQ(body_of(call(HttpMethod::Get, "/taskprov/peer_aggregators")), json::array());
  const DapHpkeKeyPair collector = DapHpkeKeyPair::generate(5);
  const json collector_config = {{"id", 5},
                                 {"kem_id", "X25519HkdfSha256"},
                                 {"kdf_id", "HkdfSha256"},
                                 {"aead_id", "Aes128Gcm"},
                                 {"public_key", base64url_encode(collector.config.public_key)}};
  json req = {{"endpoint", "https://Leader.example"},
              {"role", "Leader"},
              {"collector_hpke_config", collector_config},
              {"verify_key_init", base64url_encode(Bytes(32, 7))},
              {"report_expiry_age", 3600},
              {"tolerable_clock_skew", 60},
              {"aggregator_auth_tokens", json::array({{{"type", "Bearer"}, {"token", "abc"}}})},
              {"collector_auth_tokens", json::array()}};
  // Janus's TaskprovPeerAggregatorResp: no secrets, the endpoint as stored.
  const json expected = {{"endpoint", "https://leader.example/"},
                         {"role", "Leader"},
                         {"collector_hpke_config", collector_config},
                         {"report_expiry_age", 3600},
                         {"tolerable_clock_skew", 60}};
  EXPECT_EQ(body_of(call(HttpMethod::Post, "/taskprov/peer_aggregators", req), 201), expected);
  EXPECT_EQ(call(HttpMethod::Post, "/taskprov/peer_aggregators", req).status, 409);
  EXPECT_EQ(body_of(call(HttpMethod::Get, "/taskprov/peer_aggregators")), json::array({expected}));
  const TaskprovPeerAggregator stored =
      datastore->run_tx("read", [](Transaction& tx) { return tx.get_taskprov_peer_aggregators(); })
          .at(0);
  EXPECT_EQ(stored.verify_key_init, Bytes(32, 7));
  EXPECT_EQ(stored.aggregator_auth_tokens.at(0).value(), "abc");

  for (const auto& [key, value] :
       {std::pair{"verify_key_init", json(base64url_encode(Bytes(31, 7)))},
        std::pair{"role", json("Collector")}, std::pair{"aggregator_auth_tokens", json::array()},
        std::pair{"collector_auth_tokens", json("none")}}) {
    json bad = req;
    bad["endpoint"] = "https://other.example/";
    bad[key] = value;
    EXPECT_EQ(call(HttpMethod::Post, "/taskprov/peer_aggregators", bad).status, 400) << key;
  }

  const json which = {{"endpoint", "https://leader.example/"}, {"role", "Leader"}};
  EXPECT_EQ(call(HttpMethod::Delete, "/taskprov/peer_aggregators", which).status, 204);
  EXPECT_EQ(call(HttpMethod::Delete, "/taskprov/peer_aggregators", which).status, 204);
  EXPECT_EQ(body_of(call(HttpMethod::Get, "/taskprov/peer_aggregators")), json::array());
}

}  // namespace
}  // namespace janus::aggregator
