// The real `janus aggregator --config-file F` with each of Janus 0.7's own sample
// aggregator.yaml files (only addresses, the database URL and the placeholder TLS trust
// store path changed): the plugin starts, serves the DAP API and stops cleanly.
#include <signal.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "janus/codec.h"
#include "janus/datastore.h"
#include "janus/datastore/keys.h"
#include "janus/http_client.h"
#include "janus/messages.h"
#include "janus/testing/test_database.h"
#include "otlp_receiver.h"
#include "process.h"
#include "real_client_task.h"
#include "signature_test_support.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

// The Count task of the real client's reports (divviup-ts-0.9.1-client-reports.json),
// provisioned as a leader task with the file's HPKE key.
struct RealClientCountTask {
  nlohmann::json doc;
  AggregatorTask task;
  std::string datastore_keys;
  std::unique_ptr<Datastore> datastore;

  RealClientCountTask(TestDatabase& db, const Clock& clock)
      : doc(real_client_reports_document()), task(real_client_count_leader_task(doc)) {
    auto key = DatastoreKeys::generate_key();
    datastore_keys = base64url_encode(ByteSpan(key.data(), key.size()));
    datastore = db.open_datastore(clock, DatastoreKeys::parse(datastore_keys));
    datastore->run_tx("provision", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  }
  const nlohmann::json& reports() const {
    const nlohmann::json& count_case = doc.at("cases").at(0);
    EXPECT_EQ(count_case.at("vdaf"), "count");
    return count_case.at("reports");
  }
  std::string upload_path() const { return "/tasks/" + task.task_id.to_base64url() + "/reports"; }
};

class SampleConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(SampleConfig, StartsServesAndStops) {
  TestDatabase db;
  const std::uint16_t health = free_port(), port = free_port(), metrics = free_port();
  const std::string text =
      runnable_sample_config(GetParam(), "aggregator", db.url(), health, metrics, port);
  const std::string config = write_file(GetParam() + "-aggregator.yaml", text);

  RealClock clock;
  RealClientCountTask count(db, clock);
  Process janus(JANUS_EXECUTABLE, {"aggregator", "--config-file", config},
                {{"DATASTORE_KEYS", count.datastore_keys}, {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();

  // No task id: the basic sample has no global keys, so the DAP API answers with a problem
  // document; the advanced one runs the key rotator, which bootstrapped a global key.
  Reply hpke_config = http(port, "GET", "/hpke_config");
  if (GetParam() == "advanced_config") {
    EXPECT_EQ(hpke_config.status, 200) << hpke_config.body;
  } else {
    EXPECT_EQ(hpke_config.status, 400);
    EXPECT_NE(hpke_config.body.find("missingTaskID"), std::string::npos) << hpke_config.body;
  }
  Reply upload =
      http(port, "PUT", "/tasks/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8/reports", "");
  EXPECT_EQ(upload.status, 400);
  // The Janus form has no plugin list: the bundled Prio3 plugin is loaded anyway, so a real
  // client's report is accepted.
  const nlohmann::json& record = count.reports().at(0);
  HttpHeaders headers;
  headers.add("Content-Type", "application/dap-report");
  HttpClientResponse accepted = HttpClient().send(
      HttpMethod::Put, "http://127.0.0.1:" + std::to_string(port) + count.upload_path(), headers,
      hex_field(record, "report"));
  EXPECT_EQ(accepted.status, 200) << std::string(accepted.body.begin(), accepted.body.end())
                                  << janus.stdout_text();

  EXPECT_TRUE(stops_cleanly(janus));
  if (GetParam() == "advanced_config") {
    // Its garbage_collection, key_rotator and aggregator_api sections all run: the first two
    // as plugins beside the aggregator, the key rotator bootstrapping the global key.
    const std::string log = janus.stdout_text();
    for (const char* section : {"garbage_collection", "key_rotator", "aggregator_api"}) {
      EXPECT_EQ(log.find(std::string("'") + section + "' is accepted"), std::string::npos)
          << section << "\n"
          << log;
    }
    EXPECT_NE(log.find("loaded plugin 'key_rotator'"), std::string::npos) << log;
    EXPECT_NE(log.find("loaded plugin 'garbage_collector'"), std::string::npos) << log;
    EXPECT_NE(log.find("bootstrapping new database"), std::string::npos) << log;
  }
}

INSTANTIATE_TEST_SUITE_P(Janus07, SampleConfig,
                         ::testing::Values("basic_config", "advanced_config", "config"));

// Janus's open_telemetry_config.otlp.endpoint, pointed at a local OTLP/HTTP receiver: the
// advanced sample's aggregator exports a server span per request (with the route, the task id
// and the status), a span per datastore transaction (the handler's as children of its
// request's span) and the key rotator's bootstrap transaction, all under its service name,
// and flushes them when it stops.
TEST(AggregatorProcess, ExportsSpansToTheConfiguredOtlpEndpoint) {
  TestDatabase db;
  OtlpReceiver receiver;
  const std::uint16_t health = free_port(), port = free_port(), metrics = free_port();
  const std::string config = write_file(
      "otlp-aggregator.yaml", runnable_sample_config("advanced_config", "aggregator", db.url(),
                                                     health, metrics, port, receiver.endpoint()));
  RealClock clock;
  RealClientCountTask count(db, clock);
  Process janus(JANUS_EXECUTABLE, {"aggregator", "--config-file", config},
                {{"DATASTORE_KEYS", count.datastore_keys}, {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  const std::string task_id = count.task.task_id.to_base64url();
  EXPECT_EQ(http(port, "GET", "/hpke_config?task_id=" + task_id).status, 200);
  HttpHeaders headers;
  headers.add("Content-Type", "application/dap-report");
  HttpClientResponse accepted = HttpClient().send(
      HttpMethod::Put, "http://127.0.0.1:" + std::to_string(port) + count.upload_path(), headers,
      hex_field(count.reports().at(0), "report"));
  EXPECT_EQ(accepted.status, 200);
  EXPECT_TRUE(stops_cleanly(janus));
  EXPECT_NE(
      janus.stdout_text().find("exporting trace spans over OTLP/HTTP to " + receiver.endpoint()),
      std::string::npos)
      << janus.stdout_text();

  const std::vector<ReceivedSpan> spans = receiver.spans();
  auto named = [&](const std::string& name) {
    std::vector<const ReceivedSpan*> found;
    for (const ReceivedSpan& span : spans) {
      if (span.name == name) found.push_back(&span);
    }
    return found;
  };
  std::string names;
  for (const ReceivedSpan& span : spans) names += span.name + "\n";
  for (const ReceivedSpan& span : spans) EXPECT_EQ(span.service_name, "janus_aggregator");

  auto uploads = named("PUT /tasks/{task_id}/reports");
  ASSERT_EQ(uploads.size(), 1u) << names;
  EXPECT_EQ(uploads[0]->kind, 2);
  EXPECT_EQ(uploads[0]->attributes.at("task_id"), task_id);
  EXPECT_EQ(uploads[0]->attributes.at("http.response.status_code"), "200");
  auto configs = named("GET /hpke_config");
  ASSERT_EQ(configs.size(), 1u) << names;
  EXPECT_EQ(configs[0]->attributes.at("http.response.status_code"), "200");
  EXPECT_EQ(named("tx global_hpke_key_rotator").size(), 1u) << names;

  // Every transaction span is a "tx <name>" span of PostgreSQL; those the request handlers
  // ran hang under their request's span, in its trace.
  std::size_t children = 0;
  for (const ReceivedSpan& span : spans) {
    if (span.name.rfind("tx ", 0) != 0) continue;
    EXPECT_EQ(span.attributes.at("db.system"), "postgresql");
    for (const ReceivedSpan* request : {uploads[0], configs[0]}) {
      if (span.parent_span_id == request->span_id) {
        EXPECT_EQ(span.trace_id, request->trace_id);
        EXPECT_GE(span.start_ns, request->start_ns);
        ++children;
      }
    }
  }
  EXPECT_GE(children, 1u) << names;
}

// A misspelled required key in a Janus-form config: one line on stderr naming the file, the
// misspelled key's line and the key it resembles, and exit code 1.
TEST(AggregatorProcess, MisspelledRequiredKeyIsNamedWithItsLine) {
  TestDatabase db;
  std::string text = runnable_sample_config("config", "aggregator", db.url(), free_port(),
                                            free_port(), free_port());
  const std::string key = "max_upload_batch_write_delay_ms:";
  const std::size_t at = text.find("\n" + key);
  ASSERT_NE(at, std::string::npos) << text;
  text.insert(at + key.size(), "s");  // max_upload_batch_write_delay_mss:
  const std::size_t line = std::count(text.begin(), text.begin() + at + 1, '\n') + 1;
  const std::string config = write_file("misspelled-aggregator.yaml", text);

  auto datastore_key = DatastoreKeys::generate_key();
  Process janus(
      JANUS_EXECUTABLE, {"aggregator", "--config-file", config},
      {{"DATASTORE_KEYS", base64url_encode(ByteSpan(datastore_key.data(), datastore_key.size()))}});
  ExitStatus status = janus.wait(30s);
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_NE(janus.stderr_text().find(config + ":" + std::to_string(line) +
                                     ": unknown key 'max_upload_batch_write_delay_mss' (did you "
                                     "mean 'max_upload_batch_write_delay_ms'?)"),
            std::string::npos)
      << janus.stderr_text();
  EXPECT_EQ(janus.stderr_text().find("missing required key"), std::string::npos)
      << janus.stderr_text();
}

// A native host config loading the prio3 and aggregator plugins: the real client's reports
// go over real HTTP into the real process and land in the database.
TEST(AggregatorProcess, UploadsRealClientReportsOverHttp) {
  TestDatabase db;
  RealClock clock;
  RealClientCountTask count(db, clock);
  const AggregatorTask& task = count.task;
  const nlohmann::json& leader = count.doc.at("hpke").at("leader");

  const std::uint16_t health = free_port(), port = free_port();
  const std::string config = write_file(
      "native-aggregator.yaml",
      "database:\n  url: " + db.url() +
          "\nhealth_check_listen_address: 127.0.0.1:" + std::to_string(health) +
          "\nplugins:\n  - plugin: prio3\n  - plugin: aggregator\n    config:\n"
          "      listen_address: 127.0.0.1:" +
          std::to_string(port) +
          "\n      max_upload_batch_size: 10\n      max_upload_batch_write_delay_ms: 10\n"
          "      batch_aggregation_shard_count: 4\n");
  Process janus(JANUS_EXECUTABLE, {"--config-file", config},
                {{"DATASTORE_KEYS", count.datastore_keys}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();

  HttpClient client;
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  HttpHeaders accept;
  accept.add("Accept", "application/dap-hpke-config-list");
  HttpClientResponse hpke_config = client.send(
      HttpMethod::Get, base + "/hpke_config?task_id=" + task.task_id.to_base64url(), accept);
  EXPECT_EQ(hpke_config.status, 200);
  EXPECT_EQ(hpke_config.body, hex_field(leader, "hpke_config_list"));

  HttpHeaders upload;
  upload.add("Content-Type", "application/dap-report");
  upload.add("Origin", "https://app.example");
  for (const nlohmann::json& record : count.reports()) {
    HttpClientResponse response =
        client.send(HttpMethod::Put, base + "/tasks/" + task.task_id.to_base64url() + "/reports",
                    upload, hex_field(record, "report"));
    EXPECT_EQ(response.status, 200) << std::string(response.body.begin(), response.body.end());
    EXPECT_EQ(response.headers.get("Access-Control-Allow-Origin").value_or(""),
              "https://app.example");
    auto stored = count.datastore->run_tx("read", [&](Transaction& tx) {
      return tx.get_client_report(task.task_id,
                                  *ReportId::from_bytes(hex_field(record, "report_id")));
    });
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->leader_input_share, hex_field(record, "leader_input_share"));
  }

  EXPECT_TRUE(stops_cleanly(janus));
}

// A fresh P-256 key as SEC 1 PEM ("EC PRIVATE KEY"), with its DER public key.
std::pair<std::string, Bytes> generate_signing_key() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  unsigned char* der = nullptr;
  const int der_length = i2d_PUBKEY(key, &der);
  Bytes public_key(der, der + der_length);
  OPENSSL_free(der);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return {pem, public_key};
}

// Janus's --hpke-config-signing-key / HPKE_CONFIG_SIGNING_KEY on a Janus sample config: the
// flag signs /hpke_config answers, and a bad key stops the process at startup with a
// message naming the variable.
TEST(AggregatorProcess, HpkeConfigSigningKeyFromTheFlagOrTheEnvironment) {
  TestDatabase db;
  RealClock clock;
  RealClientCountTask count(db, clock);
  const auto [pem, public_key] = generate_signing_key();
  const std::uint16_t health = free_port(), port = free_port(), metrics = free_port();
  const std::string config = write_file(
      "signing-aggregator.yaml",
      runnable_sample_config("basic_config", "aggregator", db.url(), health, metrics, port));
  {
    Process janus(JANUS_EXECUTABLE,
                  {"aggregator", "--config-file", config, "--hpke-config-signing-key", pem},
                  {{"DATASTORE_KEYS", count.datastore_keys}, {"HPKE_CONFIG_SIGNING_KEY", ""}});
    ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
        << janus.stderr_text() << janus.stdout_text();
    HttpClientResponse response =
        HttpClient().send(HttpMethod::Get,
                          "http://127.0.0.1:" + std::to_string(port) +
                              "/hpke_config?task_id=" + count.task.task_id.to_base64url(),
                          HttpHeaders());
    EXPECT_EQ(response.status, 200);
    auto header = response.headers.get("x-hpke-config-signature");
    ASSERT_TRUE(header) << janus.stdout_text();
    auto signature = base64url_decode(*header);
    ASSERT_TRUE(signature) << *header;
    EXPECT_TRUE(
        janus::testing::ecdsa_p256_signature_verifies(public_key, response.body, *signature));
    EXPECT_TRUE(stops_cleanly(janus));
  }
  Process bad(JANUS_EXECUTABLE, {"aggregator", "--config-file", config},
              {{"DATASTORE_KEYS", count.datastore_keys},
               {"HPKE_CONFIG_SIGNING_KEY", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n"}});
  ExitStatus status = bad.wait(30s);
  EXPECT_TRUE(status.exited);
  EXPECT_NE(status.exit_code, 0);
  EXPECT_NE((bad.stderr_text() + bad.stdout_text()).find("HPKE_CONFIG_SIGNING_KEY"),
            std::string::npos)
      << bad.stderr_text() << bad.stdout_text();
}

}  // namespace
}  // namespace janus::testing
