// The real `janus collection_job_driver --config-file F` with each of Janus 0.7's own sample
// collection_job_driver.yaml files (only addresses, the database URL and the placeholder TLS
// trust store path changed): the plugin starts, is healthy, steps a collection job of the
// database and stops cleanly.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "janus/codec.h"
#include "janus/datastore.h"
#include "janus/datastore/keys.h"
#include "janus/messages.h"
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

Bytes hex(const nlohmann::json& object, const char* key) {
  return *hex_decode(object.at(key).get<std::string>());
}

// A leader Count task (the real client's task file) with min_batch_size 10 and a collection
// job over an empty batch: the driver must find it ready and abandon it as too small, which
// shows that the process really drives the database's collection jobs.
CollectionJobId provision_too_small_collection(Datastore& datastore) {
  std::ifstream in(JANUS_SHARED_DIR "/vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
  const nlohmann::json doc = nlohmann::json::parse(in);
  AggregatorTask task;
  task.task_id = *TaskId::from_bytes(hex(doc, "task_id_hex"));
  task.peer_aggregator_endpoint = "https://helper.example/";
  task.vdaf = {"Prio3Count", nlohmann::json::object()};
  task.vdaf_verify_key = hex(doc, "vdaf_verify_key");
  task.time_precision = doc.at("time_precision").get<Duration>();
  task.tolerable_clock_skew = 60;
  task.min_batch_size = 10;
  task.aggregator_auth_token = AuthToken::generate(AuthTokenType::Bearer);
  const nlohmann::json& leader = doc.at("hpke").at("leader");
  HpkeConfigList list = decode_message<HpkeConfigList>(hex(leader, "hpke_config_list"));
  task.hpke_keys = {StoredHpkeKeypair{list.configs.at(0).id, encode_message(list.configs.at(0)),
                                      hex(leader, "private_key")}};
  CollectionJob job;
  job.task_id = task.task_id;
  job.collection_job_id = CollectionJobId::random();
  const Interval batch{task.time_precision * 1000, task.time_precision};
  job.query = encode_message(Query::time_interval(batch));
  job.batch_identifier = batch;
  datastore.run_tx("provision", [&](Transaction& tx) {
    tx.put_aggregator_task(task);
    tx.put_collection_job(job);
  });
  return job.collection_job_id;
}

class SampleConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(SampleConfig, StartsDrivesAJobAndStops) {
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
  const std::string keys = base64url_encode(ByteSpan(key.data(), key.size()));
  RealClock clock;
  auto datastore = db.open_datastore(clock, DatastoreKeys::parse(keys));
  const CollectionJobId job_id = provision_too_small_collection(*datastore);
  Process janus(JANUS_EXECUTABLE, {"collection_job_driver", "--config-file", config},
                {{"DATASTORE_KEYS", keys}, {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  EXPECT_TRUE(eventually(
      [&] {
        return datastore->run_tx("read", [&](Transaction& tx) {
          for (const TaskId& task_id : tx.get_task_ids()) {
            auto job = tx.get_collection_job(task_id, job_id);
            if (job && job->state == CollectionJobState::Abandoned) return true;
          }
          return false;
        });
      },
      30s))
      << janus.stderr_text() << janus.stdout_text();

  janus.signal(SIGTERM);
  ExitStatus status = janus.wait(30s);
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 0) << janus.stderr_text() << janus.stdout_text();
}

INSTANTIATE_TEST_SUITE_P(Janus07, SampleConfig,
                         ::testing::Values("basic_config", "advanced_config"));

}  // namespace
}  // namespace janus::testing
