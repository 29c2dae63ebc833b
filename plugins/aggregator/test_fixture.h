// Test support for the aggregator: an Aggregator over a fresh PostgreSQL database
// (TestDatabase), a mock clock, the Prio3 VDAFs, and its routes in a Router so that
// tests dispatch requests exactly as the HTTP server does. Plus the reports recorded
// from the real @divviup/dap 0.9.1 client.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "aggregator.h"
#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "janus/testing/client_report_vectors.h"
#include "janus/testing/test_database.h"
#include "prio3.h"

namespace janus::aggregator::testing {

using janus::testing::client_report_vdaf;

using nlohmann::json;

inline json load_client_reports() {
  std::ifstream in(JANUS_SHARED_DIR "/vectors/dap-09/divviup-ts-0.9.1-client-reports.json");
  if (!in) throw std::runtime_error("cannot open divviup-ts-0.9.1-client-reports.json");
  return json::parse(in);
}

inline Bytes hex_field(const json& object, const char* key) {
  auto bytes = hex_decode(object.at(key).get<std::string>());
  if (!bytes) throw std::runtime_error(std::string("bad hex in vector field ") + key);
  return *bytes;
}

// The leader's or helper's key pair from the vector file's `hpke` object.
inline StoredHpkeKeypair vector_keypair(const json& doc, const char* role) {
  const json& entry = doc.at("hpke").at(role);
  HpkeConfigList list = decode_message<HpkeConfigList>(hex_field(entry, "hpke_config_list"));
  const HpkeConfig& config = list.configs.at(0);
  return StoredHpkeKeypair{config.id, encode_message(config), hex_field(entry, "private_key")};
}

// A leader task as the vector file describes it (its task id, leader HPKE key, verify key).
inline AggregatorTask vector_task(const json& doc, const json& test_case) {
  AggregatorTask task;
  task.task_id = *TaskId::from_bytes(hex_field(doc, "task_id_hex"));
  task.peer_aggregator_endpoint = "https://helper.example/";
  task.vdaf = client_report_vdaf(test_case);
  task.role = Role::Leader;
  task.vdaf_verify_key = hex_field(doc, "vdaf_verify_key");
  task.time_precision = doc.at("time_precision").get<Duration>();
  task.tolerable_clock_skew = 60;
  task.min_batch_size = 1;
  task.hpke_keys = {vector_keypair(doc, "leader")};
  return task;
}

class RouterRegistrar final : public RouteRegistrar {
 public:
  void add_async_route(const std::string&, HttpMethod method, std::string_view pattern,
                       AsyncHttpHandler handler, RouteOptions options = {}) override {
    router.add_async(method, pattern, std::move(handler), std::move(options));
  }
  Router router;
};

inline AggregatorConfig test_config() {
  AggregatorConfig config;
  config.listen_address = "127.0.0.1:0";
  config.max_upload_batch_size = 10;
  config.max_upload_batch_write_delay = std::chrono::milliseconds(5);
  config.batch_aggregation_shard_count = 4;
  config.task_counter_shard_count = 4;
  return config;
}

class AggregatorFixture : public ::testing::Test {
 protected:
  // 2024-01-02T03:00:00Z + 10 min: the vector reports' time, a little later.
  static constexpr UnixSeconds kNow = 1704164400 + 600;

  void SetUp() override { start(test_config()); }
  void TearDown() override {
    if (aggregator) aggregator->stop();
  }

  void start(const AggregatorConfig& config) {
    if (aggregator) aggregator->stop();
    aggregator.reset();
    routes = std::make_unique<RouterRegistrar>();
    if (vdafs.names().empty()) {
      for (const std::string& name : prio3::prio3_vdaf_names()) {
        vdafs.add(name, [](const VdafDescription& d) { return prio3::make_prio3(d); });
      }
    }
    aggregator = std::make_unique<Aggregator>(config, *datastore, vdafs, clock, nullptr);
    aggregator->refresh_global_hpke_keys();
    aggregator->register_routes(*routes);
    aggregator->start();
  }

  void put_task(const AggregatorTask& task) {
    datastore->run_tx("put_task", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  }

  HttpResponse send(HttpMethod method, std::string path_and_query, Bytes body = {},
                    std::optional<std::string> content_type = std::nullopt,
                    std::optional<std::string> origin = std::nullopt) {
    HttpRequest request;
    request.method = method;
    auto question = path_and_query.find('?');
    request.path = path_and_query.substr(0, question);
    if (question != std::string::npos) request.raw_query = path_and_query.substr(question + 1);
    if (content_type) request.headers.add("Content-Type", *content_type);
    if (origin) request.headers.add("Origin", *origin);
    request.body = std::move(body);
    return routes->router.dispatch(request);
  }

  HttpResponse upload(const TaskId& task_id, Bytes body,
                      std::string content_type = "application/dap-report") {
    return send(HttpMethod::Put, "/tasks/" + task_id.to_base64url() + "/reports", std::move(body),
                content_type);
  }

  janus::testing::TestDatabase database;
  MockClock clock{kNow};
  std::unique_ptr<Datastore> datastore = database.open_datastore(clock);
  VdafRegistry vdafs;
  std::unique_ptr<RouterRegistrar> routes;
  std::unique_ptr<Aggregator> aggregator;
};

// The problem document in a response (fails the test if it is not one).
inline json problem_of(const HttpResponse& response) {
  EXPECT_EQ(response.headers.get("Content-Type").value_or(""), "application/problem+json");
  return json::parse(std::string(response.body.begin(), response.body.end()));
}

inline std::string problem_type(const HttpResponse& response) {
  return problem_of(response).value("type", "");
}

}  // namespace janus::aggregator::testing
