// The real client's reports (../shared/vectors/dap-09/divviup-ts-0.9.1-client-reports.json,
// made by @divviup/dap 0.9.1) and the Count task they were made for, for process tests.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "janus/auth.h"
#include "janus/codec.h"
#include "janus/datastore.h"
#include "janus/messages.h"

namespace janus::testing {

inline nlohmann::json real_client_reports_document() {
  const std::string file = JANUS_SHARED_DIR "/vectors/dap-09/divviup-ts-0.9.1-client-reports.json";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  return nlohmann::json::parse(in);
}

// A hex string field of the document, decoded.
inline Bytes hex_field(const nlohmann::json& object, const char* key) {
  return *hex_decode(object.at(key).get<std::string>());
}

// The document's Count task as the leader holds it: its id, verify key and time precision,
// the leader's HPKE key from the document, a Bearer token for the (absent) helper, a 60 s
// clock skew and min_batch_size 1.
inline AggregatorTask real_client_count_leader_task(const nlohmann::json& doc) {
  AggregatorTask task;
  task.task_id = *TaskId::from_bytes(hex_field(doc, "task_id_hex"));
  task.peer_aggregator_endpoint = "https://helper.example/";
  task.vdaf = {"Prio3Count", nlohmann::json::object()};
  task.vdaf_verify_key = hex_field(doc, "vdaf_verify_key");
  task.time_precision = doc.at("time_precision").get<Duration>();
  task.tolerable_clock_skew = 60;
  task.min_batch_size = 1;
  task.aggregator_auth_token = AuthToken::generate(AuthTokenType::Bearer);
  const nlohmann::json& leader = doc.at("hpke").at("leader");
  const HpkeConfigList list = decode_message<HpkeConfigList>(hex_field(leader, "hpke_config_list"));
  task.hpke_keys = {StoredHpkeKeypair{list.configs.at(0).id, encode_message(list.configs.at(0)),
                                      hex_field(leader, "private_key")}};
  return task;
}

}  // namespace janus::testing
