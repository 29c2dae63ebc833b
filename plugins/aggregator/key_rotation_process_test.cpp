// `janus_cli rotate-datastore-keys` against a live leader: the real `janus` aggregator keeps
// taking real-client uploads while the rotation runs beside it with the new key first, and
// afterwards the leader starts and serves with the new key alone (the old one dropped).
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "janus/datastore.h"
#include "janus/datastore/keys.h"
#include "janus/http_client.h"
#include "janus/testing/test_database.h"
#include "process.h"
#include "real_client_task.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

TEST(DatastoreKeyRotationProcess, RotatesUnderUploadsThenTheOldKeyCanGo) {
  TestDatabase db;
  RealClock clock;
  const nlohmann::json doc = real_client_reports_document();
  const DatastoreKey old_key = DatastoreKeys::generate_key(),
                     new_key = DatastoreKeys::generate_key();
  const std::string old_text = base64url_encode(ByteSpan(old_key.data(), old_key.size()));
  const std::string new_text = base64url_encode(ByteSpan(new_key.data(), new_key.size()));

  // The real client's Count task, written under the old key only.
  const AggregatorTask task = real_client_count_leader_task(doc);
  db.open_datastore(clock, DatastoreKeys({old_key}))->run_tx("provision", [&](Transaction& tx) {
    tx.put_aggregator_task(task);
  });

  const std::uint16_t health = free_port(), port = free_port();
  const std::string config = write_file(
      "rotation-aggregator.yaml",
      "database:\n  url: " + db.url() +
          "\nhealth_check_listen_address: 127.0.0.1:" + std::to_string(health) +
          "\nplugins:\n  - plugin: prio3\n  - plugin: aggregator\n    config:\n"
          "      listen_address: 127.0.0.1:" +
          std::to_string(port) +
          "\n      max_upload_batch_size: 10\n      max_upload_batch_write_delay_ms: 10\n"
          "      batch_aggregation_shard_count: 4\n");
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string upload_url = base + "/tasks/" + task.task_id.to_base64url() + "/reports";
  HttpHeaders report_type;
  report_type.add("Content-Type", "application/dap-report");
  const nlohmann::json& reports = doc.at("cases").at(0).at("reports");

  {
    Process janus(JANUS_EXECUTABLE, {"--config-file", config},
                  {{"DATASTORE_KEYS", new_text + "," + old_text}});
    ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
        << janus.stderr_text() << janus.stdout_text();
    // Uploads keep going (each report again and again: 200 every time) while keys rotate.
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0}, refused{0};
    std::thread uploader([&] {
      HttpClient client;
      for (int i = 0; i < 5000 && !stop; ++i) {
        const auto& record = reports.at(static_cast<std::size_t>(i) % reports.size());
        const int status =
            client.send(HttpMethod::Put, upload_url, report_type, hex_field(record, "report"))
                .status;
        (status == 200 ? answered : refused) += 1;
      }
    });
    ASSERT_TRUE(eventually([&] { return answered.load() > 10; }, 30s));
    Process rotation(
        JANUS_EXECUTABLE,
        {"janus_cli", "rotate-datastore-keys", "--config-file", config, "--batch-size", "1"},
        {{"DATASTORE_KEYS", new_text + "," + old_text}});
    ExitStatus rotated = rotation.wait(60s);
    stop = true;
    uploader.join();
    EXPECT_TRUE(rotated.exited);
    EXPECT_EQ(rotated.exit_code, 0) << rotation.stderr_text() << rotation.stdout_text();
    // The task's verify key, its aggregator token and its HPKE key were under the old key.
    EXPECT_NE(rotation.stdout_text().find("done: 3 of 3 secrets re-encrypted"), std::string::npos)
        << rotation.stdout_text();
    // No upload failed while the secrets it needs were being re-encrypted.
    EXPECT_EQ(refused.load(), 0);
    EXPECT_TRUE(stops_cleanly(janus));
  }

  // The old key dropped: the leader starts, hands out the task's HPKE config and takes uploads.
  Process janus(JANUS_EXECUTABLE, {"--config-file", config}, {{"DATASTORE_KEYS", new_text}});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 30s))
      << janus.stderr_text() << janus.stdout_text();
  HttpClientResponse hpke_config = HttpClient().send(
      HttpMethod::Get, base + "/hpke_config?task_id=" + task.task_id.to_base64url(), {});
  EXPECT_EQ(hpke_config.status, 200);
  EXPECT_EQ(hpke_config.body, hex_field(doc.at("hpke").at("leader"), "hpke_config_list"));
  EXPECT_EQ(HttpClient()
                .send(HttpMethod::Put, upload_url, report_type, hex_field(reports.at(0), "report"))
                .status,
            200)
      << janus.stdout_text();
  EXPECT_TRUE(stops_cleanly(janus));
}

}  // namespace
}  // namespace janus::testing
