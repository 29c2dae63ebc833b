// GET/OPTIONS /hpke_config (janus-0.7.md §4) and the caches behind it: a task's newest key,
// the global ACTIVE keys, the problem documents, and the task cache's time to live.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hpke_config_signer.h"
#include "signature_test_support.h"
#include "test_fixture.h"

namespace janus::aggregator {
namespace {

using testing::AggregatorFixture;
using testing::json;
using testing::problem_of;
using testing::problem_type;

const std::string kDap = "urn:ietf:params:ppm:dap:error:";

StoredHpkeKeypair stored(const DapHpkeKeyPair& key_pair) {
  return {key_pair.config.id, encode_message(key_pair.config), key_pair.key_pair.private_key()};
}

class HpkeConfigTest : public AggregatorFixture {
 protected:
  void SetUp() override {
    AggregatorFixture::SetUp();
    const json doc = testing::load_client_reports();
    task = testing::vector_task(doc, doc.at("cases").at(0));
  }

  HpkeConfigList config_list(const HttpResponse& response) {
    EXPECT_EQ(response.status, 200) << std::string(response.body.begin(), response.body.end());
    EXPECT_EQ(response.headers.get("Content-Type").value_or(""),
              "application/dap-hpke-config-list");
    EXPECT_EQ(response.headers.get("Cache-Control").value_or(""), "max-age=86400");
    return decode_message<HpkeConfigList>(response.body);
  }

  DapHpkeKeyPair add_global_key(HpkeConfigId id, HpkeKeyState state) {
    DapHpkeKeyPair key_pair = DapHpkeKeyPair::generate(id);
    datastore->run_tx("global", [&](Transaction& tx) {
      tx.put_global_hpke_keypair(stored(key_pair));
      if (state != HpkeKeyState::Pending) tx.set_global_hpke_keypair_state(id, state);
    });
    return key_pair;
  }

  AggregatorTask task;
};

TEST_F(HpkeConfigTest, TaskAdvertisesOnlyItsLargestConfigId) {
  DapHpkeKeyPair newer = DapHpkeKeyPair::generate(200);
  DapHpkeKeyPair older = DapHpkeKeyPair::generate(3);
  task.hpke_keys.push_back(stored(newer));
  task.hpke_keys.push_back(stored(older));
  put_task(task);
  HttpResponse response =
      send(HttpMethod::Get, "/hpke_config?task_id=" + task.task_id.to_base64url(), {}, std::nullopt,
           "https://app.example");
  HpkeConfigList list = config_list(response);
  ASSERT_EQ(list.configs.size(), 1u);
  EXPECT_EQ(list.configs[0], newer.config);
  EXPECT_EQ(response.headers.get("Access-Control-Allow-Origin").value_or(""),
            "https://app.example");
}

TEST_F(HpkeConfigTest, VectorTaskAnswersWhatTheClientExpects) {
  put_task(task);
  const json doc = testing::load_client_reports();
  HttpResponse response =
      send(HttpMethod::Get, "/hpke_config?task_id=" + doc.at("task_id_b64url").get<std::string>());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, testing::hex_field(doc.at("hpke").at("leader"), "hpke_config_list"));
}

TEST_F(HpkeConfigTest, UnknownTaskIsUnrecognized) {
  HttpResponse response =
      send(HttpMethod::Get, "/hpke_config?task_id=" + task.task_id.to_base64url());
  EXPECT_EQ(response.status, 400);
  json problem = problem_of(response);
  EXPECT_EQ(problem.value("type", ""), kDap + "unrecognizedTask");
  EXPECT_EQ(problem.value("taskid", ""), task.task_id.to_base64url());
}

TEST_F(HpkeConfigTest, MalformedTaskIdIsInvalidMessage) {
  HttpResponse response = send(HttpMethod::Get, "/hpke_config?task_id=AAAA");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(problem_type(response), kDap + "invalidMessage");
}

TEST_F(HpkeConfigTest, NoTaskIdAndNoGlobalKeysIsMissingTaskId) {
  HttpResponse response = send(HttpMethod::Get, "/hpke_config");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(problem_type(response), kDap + "missingTaskID");
}

TEST_F(HpkeConfigTest, GlobalActiveKeysAreAdvertisedAfterRefresh) {
  DapHpkeKeyPair active = add_global_key(7, HpkeKeyState::Active);
  add_global_key(8, HpkeKeyState::Pending);
  add_global_key(9, HpkeKeyState::Expired);
  // Not yet: the cache was filled before the keys existed.
  EXPECT_EQ(send(HttpMethod::Get, "/hpke_config").status, 400);
  aggregator->refresh_global_hpke_keys();
  HpkeConfigList list = config_list(send(HttpMethod::Get, "/hpke_config"));
  ASSERT_EQ(list.configs.size(), 1u);
  EXPECT_EQ(list.configs[0], active.config);
}

TEST_F(HpkeConfigTest, RequireGlobalKeysIgnoresTheTaskKey) {
  AggregatorConfig config = testing::test_config();
  config.require_global_hpke_keys = true;
  DapHpkeKeyPair global = add_global_key(7, HpkeKeyState::Active);
  start(config);
  put_task(task);
  HpkeConfigList list =
      config_list(send(HttpMethod::Get, "/hpke_config?task_id=" + task.task_id.to_base64url()));
  ASSERT_EQ(list.configs.size(), 1u);
  EXPECT_EQ(list.configs[0], global.config);
}

TEST_F(HpkeConfigTest, ReportSealedToAGlobalKeyIsAccepted) {
  DapHpkeKeyPair global = add_global_key(7, HpkeKeyState::Active);
  aggregator->refresh_global_hpke_keys();
  put_task(task);
  auto vdaf = vdafs.create(task.vdaf);
  Report report;
  report.metadata = {ReportId::random(), kNow};
  VdafShards shards = vdaf->shard(false, report.metadata.id.span());
  const Bytes aad = encode_message(InputShareAad{task.task_id, report.metadata, {}});
  report.leader_encrypted_input_share =
      dap_seal(global.config, dap_input_share_info(Role::Leader), aad,
               encode_message(PlaintextInputShare{{}, shards.input_shares[0]}));
  report.helper_encrypted_input_share =
      dap_seal(global.config, dap_input_share_info(Role::Helper), aad,
               encode_message(PlaintextInputShare{{}, shards.input_shares[1]}));
  EXPECT_EQ(upload(task.task_id, encode_message(report)).status, 200);
}

TEST_F(HpkeConfigTest, PreflightAllowsGet) {
  HttpResponse response =
      send(HttpMethod::Options, "/hpke_config", {}, std::nullopt, "https://app.example");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.get("Access-Control-Allow-Origin").value_or(""),
            "https://app.example");
  EXPECT_EQ(response.headers.get("Access-Control-Allow-Methods").value_or(""), "GET");
  EXPECT_EQ(response.headers.get("Access-Control-Max-Age").value_or(""), "86400");
}

TEST_F(HpkeConfigTest, TaskCacheKeepsAnswersForItsTimeToLive) {
  std::chrono::steady_clock::time_point now{};
  TaskCache cache(*datastore, vdafs, std::chrono::seconds(10), 2, nullptr, [&] { return now; });
  EXPECT_FALSE(cache.cached(task.task_id, std::chrono::seconds(0)));  // never read
  EXPECT_EQ(cache.get(task.task_id), nullptr);
  put_task(task);
  EXPECT_EQ(cache.get(task.task_id), nullptr);  // the absence is cached
  // ... but does not count as cached: an upload to it may need the database (taskprov).
  EXPECT_FALSE(cache.cached(task.task_id, std::chrono::seconds(0)));
  now += std::chrono::seconds(10);
  auto cached = cache.get(task.task_id);
  ASSERT_NE(cached, nullptr);
  // cached(): present and fresh for the margin asked, never reading the database.
  EXPECT_TRUE(cache.cached(task.task_id, std::chrono::seconds(9)));
  EXPECT_FALSE(cache.cached(task.task_id, std::chrono::seconds(10)));
  EXPECT_EQ(cached->task, task);
  EXPECT_NE(cached->vdaf, nullptr);
  EXPECT_EQ(cached->hpke_keys.size(), 1u);
  datastore->run_tx("delete", [&](Transaction& tx) { tx.delete_task(task.task_id); });
  EXPECT_NE(cache.get(task.task_id), nullptr);  // still cached
  // Over capacity, the oldest entry goes: the task is read again, and is gone.
  now += std::chrono::seconds(1);
  cache.get(TaskId::random());
  now += std::chrono::seconds(1);
  cache.get(TaskId::random());
  EXPECT_EQ(cache.get(task.task_id), nullptr);
}

// ---- x-hpke-config-signature (HPKE_CONFIG_SIGNING_KEY) ----

// A fresh key of `type` ("EC" with a curve, or "ED25519") as unencrypted PEM.
std::string generate_pem(const char* type, const char* curve, bool pkcs8) {
  EVP_PKEY* key = curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve)
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  BIO* bio = BIO_new(BIO_s_mem());
  if (pkcs8) {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    // SEC 1 "EC PRIVATE KEY", the form Janus's documentation and tests use.
    PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST_F(HpkeConfigTest, SignedWhenASigningKeyIsGiven) {
  put_task(task);
  const std::string path = "/hpke_config?task_id=" + task.task_id.to_base64url();
  // Without a key: no header.
  EXPECT_FALSE(send(HttpMethod::Get, path).headers.get("x-hpke-config-signature"));
  for (bool pkcs8 : {false, true}) {
    const std::string pem = generate_pem("EC", "P-256", pkcs8);
    const Bytes public_key = HpkeConfigSigner::from_pem(pem).public_key_der();
    AggregatorConfig config = testing::test_config();
    config.hpke_config_signing_key = pem;
    start(config);
    HttpResponse response = send(HttpMethod::Get, path);
    config_list(response);
    auto header = response.headers.get("x-hpke-config-signature");
    ASSERT_TRUE(header) << "pkcs8=" << pkcs8;
    auto signature = base64url_decode(*header);
    ASSERT_TRUE(signature) << *header;
    EXPECT_TRUE(
        janus::testing::ecdsa_p256_signature_verifies(public_key, response.body, *signature));
    // The signature covers exactly the body: another body does not verify.
    Bytes other = response.body;
    other.back() ^= 1;
    EXPECT_FALSE(janus::testing::ecdsa_p256_signature_verifies(public_key, other, *signature));
  }
}

TEST_F(HpkeConfigTest, BadSigningKeysAreStartupErrorsNamingTheVariable) {
  for (const std::string& pem : {std::string("not a key"), generate_pem("EC", "P-384", true),
                                 generate_pem("ED25519", nullptr, true)}) {
    try {
      HpkeConfigSigner::from_pem(pem);
      ADD_FAILURE() << "accepted: " << pem;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("HPKE_CONFIG_SIGNING_KEY: ", 0), 0u) << e.what();
      EXPECT_EQ(std::string(e.what()).find("PRIVATE"), std::string::npos) << e.what();
    }
  }
  AggregatorConfig config = testing::test_config();
  config.hpke_config_signing_key = "garbage";
  EXPECT_THROW(start(config), std::invalid_argument);
}

}  // namespace
}  // namespace janus::aggregator
