// Report insert throughput (BENCHMARKS.md "Datastore"): the upload path writes reports in
// batches, and this compares the ways of doing it against a real PostgreSQL
// (JANUS_TEST_DATABASE_URL, e.g. from `scripts/pg start`).
//
//   OneTransactionPerReport  every report its own run_tx (no write batching)
//   SingleRowInserts/N       one run_tx per N reports, one INSERT statement per report
//   BatchedInsert/N          one run_tx per N reports, one INSERT … unnest(arrays) for all
#include <benchmark/benchmark.h>

#include <iostream>

#include "janus/datastore.h"
#include "janus/testing/test_database.h"

namespace janus {
namespace {

struct Fixture {
  testing::TestDatabase db;
  MockClock clock{1'700'000'000};
  std::unique_ptr<Datastore> datastore = db.open_datastore(clock);
  TaskId task_id = TaskId::random();

  Fixture() {
    AggregatorTask task;
    task.task_id = task_id;
    task.peer_aggregator_endpoint = "https://helper.example.com/";
    task.vdaf = VdafDescription{"Prio3Count"};
    task.vdaf_verify_key = Bytes(16, 1);
    task.time_precision = 3600;
    datastore->run_tx("put_task", [&](Transaction& tx) { tx.put_aggregator_task(task); });
  }

  // Sizes of a Prio3Count report from @divviup/dap: empty public share and extensions,
  // a short leader share (a seed and a proof seed), an HPKE-sealed helper share.
  std::vector<LeaderStoredReport> make_reports(std::size_t count) const {
    std::vector<LeaderStoredReport> reports(count);
    for (auto& report : reports) {
      report.task_id = task_id;
      report.report_id = ReportId::random();
      report.client_timestamp = 1'700'000'000;
      report.leader_input_share = Bytes(64, 0x5a);
      report.helper_encrypted_input_share = Bytes(32 + 4 + 48 + 16, 0xa5);
    }
    return reports;
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

void OneTransactionPerReport(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) {
    state.PauseTiming();
    auto reports = f.make_reports(1);
    state.ResumeTiming();
    f.datastore->run_tx("upload", [&](Transaction& tx) { tx.put_client_report(reports[0]); });
  }
  state.SetItemsProcessed(state.iterations());
}

void SingleRowInserts(benchmark::State& state) {
  auto& f = fixture();
  auto count = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto reports = f.make_reports(count);
    state.ResumeTiming();
    f.datastore->run_tx("upload_batch", [&](Transaction& tx) {
      for (const auto& report : reports) tx.put_client_report(report);
    });
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BatchedInsert(benchmark::State& state) {
  auto& f = fixture();
  auto count = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto reports = f.make_reports(count);
    state.ResumeTiming();
    auto inserted = f.datastore->run_tx(
        "upload_batch", [&](Transaction& tx) { return tx.put_client_reports(reports); });
    benchmark::DoNotOptimize(inserted);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// Wall-clock time: the cost is in round trips and the server, not in this process's CPU.
BENCHMARK(OneTransactionPerReport)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();
BENCHMARK(SingleRowInserts)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5)
    ->UseRealTime();
BENCHMARK(BatchedInsert)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5)
    ->UseRealTime();

}  // namespace
}  // namespace janus

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    janus::testing::TestDatabase::server_url();
  } catch (const std::exception& error) {
    std::cerr << error.what() << "\n";
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
