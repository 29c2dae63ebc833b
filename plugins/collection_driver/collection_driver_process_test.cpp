// The real `janus collection_job_driver --config-file F` with each of Janus 0.7's own sample
// collection_job_driver.yaml files (only addresses, the database URL and the placeholder TLS
// trust store path changed): the plugin starts, is healthy and stops cleanly.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "janus/codec.h"
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

TEST_P(SampleConfig, StartsAndStops) {
  TestDatabase db;
  const std::string sample =
      JANUS_SHARED_DIR "/reference/janus-0.7-samples/" + GetParam() + "/collection_job_driver.yaml";
  std::ifstream in(sample);
  ASSERT_TRUE(in) << sample;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::uint16_t health = free_port(), metrics = free_port();
  replace_all(text, "postgres://postgres:postgres@localhost:5432/postgres", db.url());
  replace_all(text, "0.0.0.0:8000", "127.0.0.1:" + std::to_string(health));
  replace_all(text, "port: 9464", "port: " + std::to_string(metrics));
  replace_all(text, "tls_trust_store_path: /path/to/file.pem", "");
  // A short discovery interval so that the driver has polled the database before it stops.
  replace_all(text, "job_discovery_interval_s: 10", "job_discovery_interval_s: 1");
  const std::string config = write_file(GetParam() + "-collection_job_driver.yaml", text);

  auto key = DatastoreKeys::generate_key();
  Process janus(JANUS_EXECUTABLE, {"collection_job_driver", "--config-file", config},
                {{"DATASTORE_KEYS", base64url_encode(ByteSpan(key.data(), key.size()))},
                 {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  std::this_thread::sleep_for(1500ms);  // not for ordering: lets a discovery pass happen
  EXPECT_EQ(http(health, "GET", "/healthz").status, 200);

  janus.signal(SIGTERM);
  ExitStatus status = janus.wait(30s);
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 0) << janus.stderr_text() << janus.stdout_text();
}

INSTANTIATE_TEST_SUITE_P(Janus07, SampleConfig,
                         ::testing::Values("basic_config", "advanced_config"));

}  // namespace
}  // namespace janus::testing
