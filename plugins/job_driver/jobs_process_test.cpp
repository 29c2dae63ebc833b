// The real `janus aggregation_job_creator|aggregation_job_driver --config-file F` with
// Janus 0.7's own sample files (only addresses, the database URL and the placeholder TLS
// trust store path changed): each starts, serves /healthz and stops cleanly on SIGTERM.
// The creator, started over a database holding two real client reports of a long-closed
// batch, writes their aggregation job in its first pass.
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

struct Case {
  std::string component, dir;
};

class JobsSampleConfig : public ::testing::TestWithParam<Case> {};

TEST_P(JobsSampleConfig, StartsAndStops) {
  const Case& c = GetParam();
  TestDatabase db;
  const std::string sample =
      JANUS_SHARED_DIR "/reference/janus-0.7-samples/" + c.dir + "/" + c.component + ".yaml";
  std::ifstream in(sample);
  ASSERT_TRUE(in) << sample;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::uint16_t health = free_port(), metrics = free_port();
  replace_all(text, "postgres://postgres:postgres@localhost:5432/postgres", db.url());
  replace_all(text, "0.0.0.0:8000", "127.0.0.1:" + std::to_string(health));
  replace_all(text, "port: 9464", "port: " + std::to_string(metrics));
  replace_all(text, "tls_trust_store_path: /path/to/file.pem", "");
  const std::string config = write_file(c.dir + "-" + c.component + ".yaml", text);

  // A leader task with the real client's two Count reports, from 2024: their batch is
  // closed, so the creator's first pass makes one job of them although min is 10.
  RealClock clock;
  auto key = DatastoreKeys::generate_key();
  const std::string datastore_keys = base64url_encode(ByteSpan(key.data(), key.size()));
  auto datastore = db.open_datastore(clock, DatastoreKeys::parse(datastore_keys));
  std::ifstream vectors(JANUS_SHARED_DIR "/vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
  const nlohmann::json doc = nlohmann::json::parse(vectors);
  AggregatorTask task;
  task.task_id = *TaskId::from_bytes(hex(doc, "task_id_hex"));
  task.peer_aggregator_endpoint = "http://127.0.0.1:9/";
  task.vdaf = {"Prio3Count", nlohmann::json::object()};
  task.vdaf_verify_key = hex(doc, "vdaf_verify_key");
  task.time_precision = doc.at("time_precision").get<Duration>();
  task.aggregator_auth_token = AuthToken::generate(AuthTokenType::Bearer);
  datastore->run_tx("provision", [&](Transaction& tx) {
    tx.put_aggregator_task(task);
    for (const nlohmann::json& record : doc.at("cases").at(0).at("reports")) {
      Report report = decode_message<Report>(hex(record, "report"));
      tx.put_client_report(LeaderStoredReport{
          task.task_id, report.metadata.id, report.metadata.time, Bytes{0, 0}, report.public_share,
          Bytes{1}, encode_message(report.helper_encrypted_input_share)});
    }
  });

  Process janus(JANUS_EXECUTABLE, {c.component, "--config-file", config},
                {{"DATASTORE_KEYS", datastore_keys}, {"RUST_LOG", "info"}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  if (c.component == "aggregation_job_creator") {
    EXPECT_TRUE(eventually(
        [&] {
          return datastore
                     ->run_tx("jobs",
                              [&](Transaction& tx) {
                                return tx.get_aggregation_jobs_for_task(task.task_id);
                              })
                     .size() == 1;
        },
        30s))
        << janus.stdout_text();
  }

  janus.signal(SIGTERM);
  ExitStatus status = janus.wait(30s);
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 0) << janus.stderr_text() << janus.stdout_text();
}

INSTANTIATE_TEST_SUITE_P(Janus07, JobsSampleConfig,
                         ::testing::Values(Case{"aggregation_job_creator", "basic_config"},
                                           Case{"aggregation_job_creator", "advanced_config"},
                                           Case{"aggregation_job_driver", "basic_config"},
                                           Case{"aggregation_job_driver", "advanced_config"}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.component + "_" + info.param.dir;
                         });

}  // namespace
}  // namespace janus::testing
