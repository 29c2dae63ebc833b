// PUT /tasks/{task_id}/reports against a real database: reports made by the real
// @divviup/dap 0.9.1 client are stored with the leader's share decrypted, and every kind
// of bad upload gets its problem document (with taskid), its counter, and no row.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "janus/client_report.h"
#include "janus/metrics.h"
#include "test_fixture.h"

namespace janus::aggregator {
namespace {

using testing::AggregatorFixture;
using testing::hex_field;
using testing::json;
using testing::problem_of;
using testing::problem_type;

const std::string kDap = "urn:ietf:params:ppm:dap:error:";

// The value of an unlabelled series in the process-wide registry (0 when absent).
double metric_value(const std::string& name) {
  const std::string text = metrics::registry().serialize();
  const std::string prefix = "\n" + name + " ";
  auto at = text.find(prefix);
  return at == std::string::npos ? 0 : std::stod(text.substr(at + prefix.size()));
}

class ClientReportUpload : public AggregatorFixture,
                           public ::testing::WithParamInterface<std::size_t> {};

TEST_P(ClientReportUpload, StoresTheDecryptedLeaderShare) {
  const json doc = testing::load_client_reports();
  const json& test_case = doc.at("cases").at(GetParam());
  const AggregatorTask task = testing::vector_task(doc, test_case);
  put_task(task);
  ASSERT_FALSE(test_case.at("reports").empty());

  for (const json& record : test_case.at("reports")) {
    const Bytes body = hex_field(record, "report");
    HttpResponse response = upload(task.task_id, body);
    ASSERT_EQ(response.status, 200) << std::string(response.body.begin(), response.body.end());
    EXPECT_TRUE(response.body.empty());

    const Report report = decode_message<Report>(body);
    const ReportId report_id = *ReportId::from_bytes(hex_field(record, "report_id"));
    auto stored = datastore->run_tx(
        "read", [&](Transaction& tx) { return tx.get_client_report(task.task_id, report_id); });
    ASSERT_TRUE(stored.has_value());
    const PlaintextInputShare plaintext =
        decode_message<PlaintextInputShare>(hex_field(record, "leader_plaintext_input_share"));
    EXPECT_EQ(stored->leader_input_share, hex_field(record, "leader_input_share"));
    EXPECT_EQ(stored->leader_input_share, plaintext.payload);
    EXPECT_TRUE(plaintext.extensions.empty());
    EXPECT_EQ(stored->extensions, (Bytes{0, 0}));  // an empty Extension<0..2^16-1>
    EXPECT_EQ(stored->public_share, hex_field(record, "public_share"));
    EXPECT_EQ(stored->client_timestamp, record.at("report_time").get<Time>());
    EXPECT_EQ(stored->helper_encrypted_input_share,
              encode_message(report.helper_encrypted_input_share));
  }
  const auto reports = test_case.at("reports").size();
  aggregator->report_writer().flush_counters();
  auto counter = datastore->run_tx(
      "count", [&](Transaction& tx) { return tx.get_task_upload_counter(task.task_id); });
  EXPECT_EQ(counter.report_success, reports);

  // Uploading the same report again is fine (200) and changes nothing.
  HttpResponse again = upload(task.task_id, hex_field(test_case.at("reports").at(0), "report"));
  EXPECT_EQ(again.status, 200);
  aggregator->report_writer().flush_counters();
  counter = datastore->run_tx(
      "count", [&](Transaction& tx) { return tx.get_task_upload_counter(task.task_id); });
  EXPECT_EQ(counter.report_success, reports);
  EXPECT_EQ(database.query("SELECT count(*) FROM client_reports"), std::to_string(reports));
}

std::string vector_case_name(std::size_t index) {
  const json doc = testing::load_client_reports();
  return doc.at("cases").at(index).at("vdaf").get<std::string>();
}

INSTANTIATE_TEST_SUITE_P(DivviupTs091, ClientReportUpload, ::testing::Values(0u, 1u, 2u, 3u),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           return vector_case_name(info.param);
                         });

// One Prio3Count report of the vector task, sealed here (so that tests can make as many
// fresh reports as they need, or tamper with any part).
class UploadTest : public AggregatorFixture {
 protected:
  void SetUp() override {
    AggregatorFixture::SetUp();
    doc = testing::load_client_reports();
    task = testing::vector_task(doc, doc.at("cases").at(0));
    vdaf = vdafs.create(task.vdaf);
    leader_config = decode_message<HpkeConfig>(testing::vector_keypair(doc, "leader").config);
    helper_config = decode_message<HpkeConfig>(testing::vector_keypair(doc, "helper").config);
  }

  Report make_report(Time time, bool measurement = true) {
    return make_client_report(task.task_id, *vdaf, measurement, time, leader_config, helper_config);
  }
  Report make_report() { return make_report(kReportTime); }

  std::string rows() { return database.query("SELECT count(*) FROM client_reports"); }
  TaskUploadCounter counter() {
    // Counters are written in their own transaction, at most every second: write them now.
    aggregator->report_writer().flush_counters();
    return datastore->run_tx(
        "count", [&](Transaction& tx) { return tx.get_task_upload_counter(task.task_id); });
  }

  // Expects a problem document of `type` naming the task, and no stored report.
  void expect_problem(const HttpResponse& response, const std::string& type, int status = 400) {
    EXPECT_EQ(response.status, status);
    json problem = problem_of(response);
    EXPECT_EQ(problem.value("type", ""), kDap + type) << problem.dump();
    EXPECT_EQ(problem.value("taskid", ""), task.task_id.to_base64url()) << problem.dump();
    EXPECT_EQ(problem.value("status", 0), status);
    EXPECT_EQ(rows(), "0");
  }

  static constexpr Time kReportTime = 1704164400;
  json doc;
  AggregatorTask task;
  std::shared_ptr<const Vdaf> vdaf;
  HpkeConfig leader_config, helper_config;
};

TEST_F(UploadTest, FreshReportIsStored) {
  put_task(task);
  HttpResponse response = upload(task.task_id, encode_message(make_report()));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(rows(), "1");
  EXPECT_EQ(counter().report_success, 1u);
}

TEST_F(UploadTest, WrongOrMissingContentTypeIsBadRequest) {
  put_task(task);
  for (std::optional<std::string> type :
       {std::optional<std::string>("application/octet-stream"),
        std::optional<std::string>("application/dap-report; charset=utf-8"),
        std::optional<std::string>()}) {
    HttpResponse response =
        send(HttpMethod::Put, "/tasks/" + task.task_id.to_base64url() + "/reports",
             encode_message(make_report()), type);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(problem_of(response).value("taskid", ""), task.task_id.to_base64url());
  }
  EXPECT_EQ(rows(), "0");
}

TEST_F(UploadTest, TruncatedOrTrailingBytesAreInvalidMessage) {
  put_task(task);
  Bytes body = encode_message(make_report());
  Bytes truncated(body.begin(), body.end() - 1);
  expect_problem(upload(task.task_id, truncated), "invalidMessage");
  Bytes trailing = body;
  trailing.push_back(0);
  expect_problem(upload(task.task_id, trailing), "invalidMessage");
  expect_problem(upload(task.task_id, {}), "invalidMessage");
}

TEST_F(UploadTest, UnknownTaskIsUnrecognized) {
  expect_problem(upload(task.task_id, encode_message(make_report())), "unrecognizedTask");
  // Before the body is decoded, as Janus answers.
  expect_problem(upload(task.task_id, Bytes{1, 2, 3}), "unrecognizedTask");
}

TEST_F(UploadTest, HelperTaskIsUnrecognized) {
  task.role = Role::Helper;
  task.aggregator_auth_token_hash = AuthToken::generate(AuthTokenType::Bearer).hash();
  put_task(task);
  expect_problem(upload(task.task_id, encode_message(make_report())), "unrecognizedTask");
}

TEST_F(UploadTest, MalformedTaskIdInPathIsInvalidMessage) {
  HttpResponse response = send(HttpMethod::Put, "/tasks/not-a-task-id/reports",
                               encode_message(make_report()), "application/dap-report");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(problem_type(response), kDap + "invalidMessage");
}

TEST_F(UploadTest, ReportFromTheFutureIsTooEarly) {
  put_task(task);
  clock.set(kReportTime - task.tolerable_clock_skew - 1);
  expect_problem(upload(task.task_id, encode_message(make_report())), "reportTooEarly");
  EXPECT_EQ(counter().report_too_early, 1u);
  // Within the tolerable skew it is accepted.
  clock.set(kReportTime - task.tolerable_clock_skew);
  EXPECT_EQ(upload(task.task_id, encode_message(make_report())).status, 200);
}

TEST_F(UploadTest, ReportAfterTaskExpirationIsRejected) {
  task.task_expiration = kReportTime - 1;
  put_task(task);
  HttpResponse response = upload(task.task_id, encode_message(make_report()));
  expect_problem(response, "reportRejected");
  EXPECT_EQ(problem_of(response).value("detail", ""), "Task has expired.");
  EXPECT_EQ(counter().task_expired, 1u);
}

TEST_F(UploadTest, ExpiredReportIsRejected) {
  task.report_expiry_age = 3600;
  put_task(task);
  clock.set(kReportTime + 3601);
  expect_problem(upload(task.task_id, encode_message(make_report())), "reportRejected");
  EXPECT_EQ(counter().report_expired, 1u);
}

TEST_F(UploadTest, UnknownHpkeConfigIdIsOutdatedConfig) {
  put_task(task);
  Report report = make_report();
  report.leader_encrypted_input_share.config_id = 77;
  expect_problem(upload(task.task_id, encode_message(report)), "outdatedConfig");
  EXPECT_EQ(counter().report_outdated_key, 1u);
}

TEST_F(UploadTest, TamperedCiphertextOrAadIsRejected) {
  put_task(task);
  const double decrypt_failures_before = metric_value("janus_upload_decrypt_failures");
  Report report = make_report();
  report.leader_encrypted_input_share.payload.back() ^= 1;
  expect_problem(upload(task.task_id, encode_message(report)), "reportRejected");

  // Changing the report id changes the AAD the client sealed with.
  Report moved = make_report();
  moved.metadata.id.bytes[0] ^= 1;
  expect_problem(upload(task.task_id, encode_message(moved)), "reportRejected");

  // A leader share sealed with the helper's info string.
  Report wrong_info = make_report();
  const Bytes aad =
      encode_message(InputShareAad{task.task_id, wrong_info.metadata, wrong_info.public_share});
  wrong_info.leader_encrypted_input_share =
      dap_seal(leader_config, dap_input_share_info(Role::Helper), aad,
               encode_message(PlaintextInputShare{}));
  expect_problem(upload(task.task_id, encode_message(wrong_info)), "reportRejected");
  EXPECT_EQ(counter().report_decrypt_failure, 3u);
  EXPECT_EQ(metric_value("janus_upload_decrypt_failures"), decrypt_failures_before + 3);
}

TEST_F(UploadTest, UndecodableSharesAreRejected) {
  put_task(task);
  // Prio3Count has an empty public share.
  Report bad_public = make_report();
  bad_public.public_share = {1, 2, 3};
  // Reseal so that only the public share is wrong.
  const Bytes aad =
      encode_message(InputShareAad{task.task_id, bad_public.metadata, bad_public.public_share});
  bad_public.leader_encrypted_input_share =
      dap_seal(leader_config, dap_input_share_info(Role::Leader), aad,
               encode_message(PlaintextInputShare{}));
  expect_problem(upload(task.task_id, encode_message(bad_public)), "reportRejected");

  auto sealed_leader_share = [&](const Report& report, const Bytes& plaintext) {
    const Bytes a =
        encode_message(InputShareAad{task.task_id, report.metadata, report.public_share});
    return dap_seal(leader_config, dap_input_share_info(Role::Leader), a, plaintext);
  };
  Report not_plaintext_share = make_report();
  not_plaintext_share.leader_encrypted_input_share =
      sealed_leader_share(not_plaintext_share, Bytes{0xff});
  expect_problem(upload(task.task_id, encode_message(not_plaintext_share)), "reportRejected");

  Report short_input_share = make_report();
  short_input_share.leader_encrypted_input_share = sealed_leader_share(
      short_input_share, encode_message(PlaintextInputShare{{}, Bytes{1, 2, 3}}));
  expect_problem(upload(task.task_id, encode_message(short_input_share)), "reportRejected");

  Report duplicate_extensions = make_report();
  PlaintextInputShare with_extensions{
      {Extension{ExtensionType::Tbd, {}}, Extension{ExtensionType::Tbd, {1}}},
      vdaf->shard(true, duplicate_extensions.metadata.id.span()).input_shares.at(0)};
  duplicate_extensions.leader_encrypted_input_share =
      sealed_leader_share(duplicate_extensions, encode_message(with_extensions));
  expect_problem(upload(task.task_id, encode_message(duplicate_extensions)), "reportRejected");
  EXPECT_EQ(counter().report_decode_failure, 4u);
}

TEST_F(UploadTest, ReportInCollectedBatchIsRejected) {
  put_task(task);
  BatchAggregation collected;
  collected.task_id = task.task_id;
  collected.batch_identifier = Interval{kReportTime, task.time_precision};
  collected.state = BatchAggregationState::Collected;
  collected.checksum = Bytes(32, 0);
  collected.client_timestamp_interval = Interval{kReportTime, 1};
  datastore->run_tx("collect", [&](Transaction& tx) { tx.put_batch_aggregation(collected); });

  expect_problem(upload(task.task_id, encode_message(make_report(kReportTime + 10))),
                 "reportRejected");
  EXPECT_EQ(counter().interval_collected, 1u);
  // The next batch is still open.
  clock.set(kReportTime + 3700);
  EXPECT_EQ(upload(task.task_id, encode_message(make_report(kReportTime + 3600))).status, 200);
}

TEST_F(UploadTest, CorsOriginIsEchoedAndPreflightAnswered) {
  put_task(task);
  const std::string path = "/tasks/" + task.task_id.to_base64url() + "/reports";
  HttpResponse response = send(HttpMethod::Put, path, encode_message(make_report()),
                               "application/dap-report", "https://app.example");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.get("Access-Control-Allow-Origin").value_or(""),
            "https://app.example");
  // Problem documents carry it too, so that a browser can read them.
  HttpResponse rejected =
      send(HttpMethod::Put, path, {}, "application/dap-report", "https://app.example");
  EXPECT_EQ(rejected.status, 400);
  EXPECT_EQ(rejected.headers.get("Access-Control-Allow-Origin").value_or(""),
            "https://app.example");

  HttpResponse preflight = send(HttpMethod::Options, path, {}, std::nullopt, "https://app.example");
  EXPECT_EQ(preflight.status, 200);
  EXPECT_EQ(preflight.headers.get("Access-Control-Allow-Origin").value_or(""),
            "https://app.example");
  EXPECT_EQ(preflight.headers.get("Access-Control-Allow-Methods").value_or(""), "PUT");
  EXPECT_EQ(preflight.headers.get("Access-Control-Allow-Headers").value_or(""), "content-type");
  EXPECT_EQ(preflight.headers.get("Access-Control-Max-Age").value_or(""), "86400");
}

TEST_F(UploadTest, ConcurrentUploadsShareOneTransaction) {
  // Group commit: uploads that queue while the writer is busy (here: not yet started) are
  // written together, in one transaction, as soon as it is free.
  AggregatorConfig config = testing::test_config();
  config.max_upload_batch_size = 4;
  config.max_concurrent_upload_writes = 1;
  config.task_counter_shard_count = 1;
  aggregator->stop();
  aggregator = std::make_unique<Aggregator>(config, *datastore, vdafs, clock, nullptr);
  routes = std::make_unique<testing::RouterRegistrar>();
  aggregator->register_routes(*routes);
  put_task(task);
  std::vector<Bytes> bodies;
  for (int i = 0; i < 5; ++i) bodies.push_back(encode_message(make_report()));
  std::vector<std::future<HttpResponse>> responses;
  for (const Bytes& body : bodies) {
    responses.push_back(
        std::async(std::launch::async, [&, body] { return upload(task.task_id, body); }));
  }
  // Every upload waits in the queue, holding no handler thread.
  for (int i = 0; i < 2000 && aggregator->report_writer().queued() < bodies.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(aggregator->report_writer().queued(), bodies.size());
  aggregator->start();
  for (auto& response : responses) EXPECT_EQ(response.get().status, 200);
  // Five uploads, batches of at most four: two transactions.
  EXPECT_EQ(aggregator->report_writer().transactions(), 2u);
  EXPECT_EQ(rows(), "5");
  EXPECT_EQ(counter().report_success, 5u);
  // Counter rows go to one of task_counter_shard_count shards (here the only one, ord 0).
  EXPECT_EQ(database.query("SELECT count(*) FROM task_upload_counters WHERE ord < 0 OR ord >= " +
                           std::to_string(config.task_counter_shard_count)),
            "0");
}

TEST_F(UploadTest, ALoneUploadIsWrittenAtOnce) {
  // The write delay is a maximum, not a wait: with a delay far longer than the test, a
  // single upload is still answered (group commit writes whatever has queued).
  AggregatorConfig config = testing::test_config();
  config.max_upload_batch_size = 100;
  config.max_upload_batch_write_delay = std::chrono::minutes(10);
  start(config);
  put_task(task);
  EXPECT_EQ(upload(task.task_id, encode_message(make_report())).status, 200);
  EXPECT_EQ(rows(), "1");
}

TEST_F(UploadTest, RejectionsDoNotWaitForTheReportWriter) {
  // A rejected upload is answered and counted without a report transaction.
  AggregatorConfig config = testing::test_config();
  aggregator->stop();
  aggregator = std::make_unique<Aggregator>(config, *datastore, vdafs, clock, nullptr);
  routes = std::make_unique<testing::RouterRegistrar>();
  aggregator->register_routes(*routes);
  put_task(task);
  // The writer is not running: an accepted report would wait, a rejection must not.
  HttpResponse response = upload(task.task_id, encode_message(make_report(kNow + 3600 * 24)));
  expect_problem(response, "reportTooEarly");
  EXPECT_EQ(aggregator->report_writer().transactions(), 0u);
  EXPECT_EQ(counter().report_too_early, 1u);
}

TEST_F(UploadTest, ASecondWriterTakesReportsThatWaitedTheDelay) {
  // One writer is stuck (its task's row is locked by another transaction); a report of
  // another task is not a full batch, yet once it has waited max_batch_write_delay a second
  // writer commits it: the delay is a bound on waiting for a free writer.
  put_task(task);
  AggregatorTask other = task;
  other.task_id = TaskId::random();
  put_task(other);
  std::promise<void> locked, release;
  std::shared_future<void> released = release.get_future().share();
  std::thread holder([&] {
    try {
      datastore->run_tx("hold", [&](Transaction& tx) {
        tx.delete_task(task.task_id);  // locks the task's row until this transaction ends
        locked.set_value();
        released.wait();
        throw std::runtime_error("roll back");
      });
    } catch (const std::runtime_error&) {
    }
  });
  locked.get_future().wait();
  ReportWriteBatcher writer(
      *datastore,
      {.max_batch_size = 100, .max_batch_write_delay = std::chrono::milliseconds(50), .writers = 2},
      nullptr);
  writer.start();
  std::promise<std::optional<WriteOutcome>> stuck_outcome, other_outcome;
  writer.write_report({task.task_id, ReportId::random(), kReportTime, {0, 0}, {}, {1}, {2}},
                      std::nullopt, [&](auto outcome) { stuck_outcome.set_value(outcome); });
  // Let the first writer take it (and block) before the second report arrives.
  for (int i = 0; i < 500 && writer.queued() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  writer.write_report({other.task_id, ReportId::random(), kReportTime, {0, 0}, {}, {1}, {2}},
                      std::nullopt, [&](auto outcome) { other_outcome.set_value(outcome); });
  auto other_future = other_outcome.get_future();
  auto stuck_future = stuck_outcome.get_future();
  // Bounded by the test's own deadline, not a timing assertion: it must come while the
  // first writer is still stuck.
  ASSERT_EQ(other_future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(other_future.get(), WriteOutcome::Stored);
  EXPECT_EQ(stuck_future.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  release.set_value();
  holder.join();
  EXPECT_EQ(stuck_future.get(), WriteOutcome::Stored);
  EXPECT_EQ(rows(), "2");
}

TEST_F(UploadTest, OneBadReportDoesNotFailItsBatch) {
  // Two uploads in one batch, one of them for a task deleted after validation: the batch
  // is retried report by report and the good one is stored.
  put_task(task);
  AggregatorTask other = task;
  other.task_id = TaskId::random();
  put_task(other);

  ReportWriteBatcher writer(*datastore, {.max_batch_size = 2, .writers = 1}, nullptr);
  LeaderStoredReport good{task.task_id, ReportId::random(), kReportTime, {0, 0}, {}, {1}, {2}};
  LeaderStoredReport gone{other.task_id, ReportId::random(), kReportTime, {0, 0}, {}, {1}, {2}};
  datastore->run_tx("delete", [&](Transaction& tx) { tx.delete_task(other.task_id); });
  std::promise<std::optional<WriteOutcome>> good_outcome, gone_outcome;
  writer.write_report(good, std::nullopt, [&](auto outcome) { good_outcome.set_value(outcome); });
  writer.write_report(gone, std::nullopt, [&](auto outcome) { gone_outcome.set_value(outcome); });
  writer.start();  // both are queued: one batch
  EXPECT_EQ(good_outcome.get_future().get(), WriteOutcome::Stored);
  EXPECT_EQ(gone_outcome.get_future().get(), std::nullopt);
  EXPECT_EQ(rows(), "1");
  EXPECT_EQ(writer.transactions(), 3u);  // the batch, then each alone
}

}  // namespace
}  // namespace janus::aggregator
