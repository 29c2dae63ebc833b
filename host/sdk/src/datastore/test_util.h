// Builders shared by the datastore tests.
#pragma once

#include "janus/datastore.h"

namespace janus::datastore_test {

inline Bytes filled(std::size_t size, std::uint8_t value) { return Bytes(size, value); }

inline StoredHpkeKeypair keypair(std::uint8_t config_id) {
  StoredHpkeKeypair keypair;
  keypair.config_id = config_id;
  keypair.config = {config_id, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0xaa, 0xbb};
  keypair.private_key = filled(32, static_cast<std::uint8_t>(0x40 + config_id));
  return keypair;
}

inline AggregatorTask leader_task(TaskQueryType query_type = {}) {
  AggregatorTask task;
  task.task_id = TaskId::random();
  task.peer_aggregator_endpoint = "https://helper.example.com/";
  task.query_type = query_type;
  task.vdaf = VdafDescription{"Prio3Sum", {{"bits", 16}}};
  task.role = Role::Leader;
  task.vdaf_verify_key = filled(16, 0x11);
  task.max_batch_query_count = 1;
  task.task_expiration = 2'000'000'000;
  task.report_expiry_age = std::nullopt;
  task.min_batch_size = 10;
  task.time_precision = 3600;
  task.tolerable_clock_skew = 60;
  task.collector_hpke_config = Bytes{0x07, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x5a};
  task.aggregator_auth_token = AuthToken::create(AuthTokenType::Bearer, "leader-token");
  task.collector_auth_token_hash = AuthToken::create(AuthTokenType::DapAuth, "collector")->hash();
  task.hpke_keys = {keypair(1), keypair(2)};
  return task;
}

inline LeaderStoredReport report(const TaskId& task_id, Time time) {
  LeaderStoredReport report;
  report.task_id = task_id;
  report.report_id = ReportId::random();
  report.client_timestamp = time;
  report.extensions = {};
  report.public_share = {};  // Prio3Count: empty, and must come back empty (not NULL)
  report.leader_input_share = filled(40, 0x01);
  report.helper_encrypted_input_share = filled(80, 0x02);
  return report;
}

inline AggregationJob aggregation_job(const TaskId& task_id, Interval interval) {
  AggregationJob job;
  job.task_id = task_id;
  job.aggregation_job_id = AggregationJobId::random();
  job.aggregation_parameter = {};
  job.client_timestamp_interval = interval;
  job.state = AggregationJobState::InProgress;
  job.step = 0;
  return job;
}

}  // namespace janus::datastore_test
