// The real `janus aggregator --config-file F` with each of Janus 0.7's own sample
// aggregator.yaml files (only addresses, the database URL and the placeholder TLS trust
// store path changed): the plugin starts, serves the DAP API and stops cleanly.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "janus/datastore/keys.h"
#include "janus/testing/test_database.h"
#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

class SampleConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(SampleConfig, StartsServesAndStops) {
  TestDatabase db;
  const std::string sample =
      JANUS_SHARED_DIR "/reference/janus-0.7-samples/" + GetParam() + "/aggregator.yaml";
  std::ifstream in(sample);
  ASSERT_TRUE(in) << sample;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::uint16_t health = free_port(), port = free_port(), metrics = free_port();
  replace_all(text, "postgres://postgres:postgres@localhost:5432/postgres", db.url());
  replace_all(text, "0.0.0.0:8000", "127.0.0.1:" + std::to_string(health));
  replace_all(text, "0.0.0.0:8080", "127.0.0.1:" + std::to_string(port));
  replace_all(text, "port: 9464", "port: " + std::to_string(metrics));
  replace_all(text, "tls_trust_store_path: /path/to/file.pem", "");
  const std::string config = write_file(GetParam() + "-aggregator.yaml", text);

  auto key = DatastoreKeys::generate_key();
  Process janus(JANUS_EXECUTABLE, {"aggregator", "--config-file", config},
                {{"DATASTORE_KEYS", base64url_encode(ByteSpan(key.data(), key.size()))},
                 {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();

  // No task id and no global keys: the DAP API answers with a problem document.
  Reply hpke_config = http(port, "GET", "/hpke_config");
  EXPECT_EQ(hpke_config.status, 400);
  EXPECT_NE(hpke_config.body.find("missingTaskID"), std::string::npos) << hpke_config.body;
  Reply upload =
      http(port, "PUT", "/tasks/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8/reports", "");
  EXPECT_EQ(upload.status, 400);

  janus.signal(SIGTERM);
  ExitStatus status = janus.wait(30s);
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 0) << janus.stderr_text();
  if (GetParam() == "advanced_config") {
    EXPECT_NE(janus.stdout_text().find("garbage_collection"), std::string::npos)
        << janus.stdout_text();
  }
}

INSTANTIATE_TEST_SUITE_P(Janus07, SampleConfig,
                         ::testing::Values("basic_config", "advanced_config"));

}  // namespace
}  // namespace janus::testing
