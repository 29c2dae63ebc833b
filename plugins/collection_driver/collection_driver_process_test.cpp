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
#include "janus/hpke.h"
#include "janus/messages.h"
#include "janus/testing/test_database.h"
#include "janus/vdaf.h"
#include "prio3.h"
#include "process.h"
#include "real_client_task.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

// A leader Count task as the real client's task file describes it.
AggregatorTask count_task() {
  return real_client_count_leader_task(real_client_reports_document());
}

// A collection job over an empty batch of a task with min_batch_size 10: the driver must
// find it ready and abandon it as too small, which shows that the process really drives the
// database's collection jobs.
CollectionJobId provision_too_small_collection(Datastore& datastore) {
  AggregatorTask task = count_task();
  task.min_batch_size = 10;
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
  const std::uint16_t health = free_port(), metrics = free_port();
  std::string text =
      runnable_sample_config(GetParam(), "collection_job_driver", db.url(), health, metrics);
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

  EXPECT_TRUE(stops_cleanly(janus));
}

// Two real processes: `janus` with the prio3 and aggregator plugins as the helper, and
// `janus collection_job_driver` as the leader's driver, each over its own database. The
// driver collects a batch seeded in both databases; the stored shares, decrypted with the
// collector's key (the helper's) and unsharded, give the batch's count.
TEST(CollectionDriverProcess, CollectsFromAJanusHelperProcess) {
  TestDatabase leader_db, helper_db;
  RealClock clock;
  const auto new_keys = [] {
    auto key = DatastoreKeys::generate_key();
    return base64url_encode(ByteSpan(key.data(), key.size()));
  };
  const std::string leader_keys = new_keys(), helper_keys = new_keys();
  auto leader_store = leader_db.open_datastore(clock, DatastoreKeys::parse(leader_keys));
  auto helper_store = helper_db.open_datastore(clock, DatastoreKeys::parse(helper_keys));
  const std::uint16_t helper_health = free_port(), helper_port = free_port(),
                      driver_health = free_port();

  const DapHpkeKeyPair collector = DapHpkeKeyPair::generate(3);
  AggregatorTask task = count_task();
  task.peer_aggregator_endpoint = "http://127.0.0.1:" + std::to_string(helper_port) + "/";
  task.collector_hpke_config = encode_message(collector.config);
  AggregatorTask helper_task = task;
  helper_task.role = Role::Helper;
  helper_task.peer_aggregator_endpoint = "https://leader.example/";
  helper_task.aggregator_auth_token.reset();
  helper_task.aggregator_auth_token_hash = task.aggregator_auth_token->hash();

  // Three prepared reports (1, 1, 0) in one time_precision interval, one shard each side.
  auto vdaf = prio3::make_prio3(task.vdaf);
  const Duration precision = task.time_precision;
  const Interval batch{clock.now() / precision * precision - 2 * precision, precision};
  BatchAggregation shards[2];
  for (int side = 0; side < 2; ++side) {
    shards[side].task_id = task.task_id;
    shards[side].batch_identifier = batch;
    shards[side].ord = 1;
    shards[side].aggregate_share = vdaf->empty_aggregate_share({});
    shards[side].report_count = 3;
    shards[side].client_timestamp_interval = Interval{batch.start + 10, 1};
    shards[side].aggregation_jobs_created = shards[side].aggregation_jobs_terminated = 1;
  }
  ReportIdChecksum checksum{};
  for (int measurement : {1, 1, 0}) {
    const ReportId id = ReportId::random();
    const Bytes nonce(id.span().begin(), id.span().end());
    VdafShards input = vdaf->shard(nlohmann::json(measurement), nonce);
    VdafPrepInit inits[2];
    std::vector<Bytes> prep_shares;
    for (int side = 0; side < 2; ++side) {
      inits[side] = vdaf->prep_init(task.vdaf_verify_key, side, {}, nonce, input.public_share,
                                    input.input_shares[side]);
      prep_shares.push_back(inits[side].prep_share);
    }
    const Bytes message = vdaf->prep_shares_to_prep({}, prep_shares);
    for (int side = 0; side < 2; ++side) {
      vdaf->accumulate(*shards[side].aggregate_share, {},
                       *vdaf->prep_next(inits[side].state, message).output_share);
    }
    update_report_id_checksum(checksum, id);
  }
  for (int side = 0; side < 2; ++side)
    shards[side].checksum = Bytes(checksum.begin(), checksum.end());

  CollectionJob job;
  job.task_id = task.task_id;
  job.collection_job_id = CollectionJobId::random();
  job.query = encode_message(Query::time_interval(batch));
  job.batch_identifier = batch;
  leader_store->run_tx("seed", [&](Transaction& tx) {
    tx.put_aggregator_task(task);
    tx.put_batch_aggregation(shards[0]);
    tx.put_collection_job(job);
  });
  helper_store->run_tx("seed", [&](Transaction& tx) {
    tx.put_aggregator_task(helper_task);
    tx.put_batch_aggregation(shards[1]);
  });

  const std::string helper_config = write_file(
      "helper.yaml",
      "database:\n  url: " + helper_db.url() +
          "\nhealth_check_listen_address: 127.0.0.1:" + std::to_string(helper_health) +
          "\nplugins:\n  - plugin: prio3\n  - plugin: aggregator\n    config:\n"
          "      listen_address: 127.0.0.1:" +
          std::to_string(helper_port) +
          "\n      max_upload_batch_size: 10\n      max_upload_batch_write_delay_ms: 10\n"
          "      batch_aggregation_shard_count: 4\n");
  Process helper(JANUS_EXECUTABLE, {"--config-file", helper_config},
                 {{"DATASTORE_KEYS", helper_keys}});
  ASSERT_TRUE(eventually([&] { return http(helper_health, "GET", "/healthz").status == 200; }, 30s))
      << helper.stderr_text() << helper.stdout_text();

  const std::string driver_config =
      write_file("driver.yaml",
                 "database:\n  url: " + leader_db.url() +
                     "\nhealth_check_listen_address: 127.0.0.1:" + std::to_string(driver_health) +
                     "\njob_discovery_interval_s: 1\nmax_concurrent_job_workers: 2\n"
                     "worker_lease_duration_s: 60\nworker_lease_clock_skew_allowance_s: 5\n"
                     "maximum_attempts_before_failure: 3\nbatch_aggregation_shard_count: 4\n");
  Process driver(JANUS_EXECUTABLE, {"collection_job_driver", "--config-file", driver_config},
                 {{"DATASTORE_KEYS", leader_keys}});
  std::optional<CollectionJob> finished;
  EXPECT_TRUE(eventually(
      [&] {
        finished = leader_store->run_tx("read", [&](Transaction& tx) {
          return tx.get_collection_job(task.task_id, job.collection_job_id);
        });
        return finished && finished->state != CollectionJobState::Start;
      },
      60s))
      << driver.stderr_text() << driver.stdout_text();
  ASSERT_TRUE(finished.has_value());
  ASSERT_EQ(finished->state, CollectionJobState::Finished)
      << driver.stderr_text() << driver.stdout_text() << helper.stdout_text();
  EXPECT_EQ(finished->report_count, 3u);
  const Bytes aad =
      encode_message(AggregateShareAad{task.task_id, {}, BatchSelector::time_interval(batch)});
  std::vector<Bytes> aggregate_shares{
      *finished->leader_aggregate_share,
      dap_open(collector, decode_message<HpkeCiphertext>(*finished->helper_aggregate_share),
               dap_aggregate_share_info(Role::Helper), aad)};
  EXPECT_EQ(vdaf->unshard({}, aggregate_shares, 3), nlohmann::json(2));

  for (Process* process : {&driver, &helper}) {
    EXPECT_TRUE(stops_cleanly(*process));
  }
}

INSTANTIATE_TEST_SUITE_P(Janus07, SampleConfig,
                         ::testing::Values("basic_config", "advanced_config", "config"));

}  // namespace
}  // namespace janus::testing
