// Router::dispatch over a DAP-09-like route table (no network): the per-request
// cost the host adds before a handler runs, metrics recording included.
#include <benchmark/benchmark.h>

#include "janus/http.h"

namespace janus {
namespace {

Router make_dap_router() {
  Router router;
  auto ok = [](const HttpRequest&) { return HttpResponse::empty(200); };
  router.add(HttpMethod::Get, "/hpke_config", ok);
  router.add(HttpMethod::Put, "/tasks/{task_id}/reports", ok);
  router.add(HttpMethod::Put, "/tasks/{task_id}/aggregation_jobs/{aggregation_job_id}", ok);
  router.add(HttpMethod::Post, "/tasks/{task_id}/aggregation_jobs/{aggregation_job_id}", ok);
  router.add(HttpMethod::Delete, "/tasks/{task_id}/aggregation_jobs/{aggregation_job_id}", ok);
  router.add(HttpMethod::Put, "/tasks/{task_id}/collection_jobs/{collection_job_id}", ok);
  router.add(HttpMethod::Post, "/tasks/{task_id}/collection_jobs/{collection_job_id}", ok);
  router.add(HttpMethod::Delete, "/tasks/{task_id}/collection_jobs/{collection_job_id}", ok);
  router.add(HttpMethod::Post, "/tasks/{task_id}/aggregate_shares", ok);
  return router;
}

void BM_RouterDispatchUpload(benchmark::State& state) {
  Router router = make_dap_router();
  for (auto _ : state) {
    HttpRequest request;
    request.method = HttpMethod::Put;
    request.path = "/tasks/8TuT5Z5fAuutsX9DZWSqkUw6pzDl96d3tdsDJgWH2VY/reports";
    HttpResponse response = router.dispatch(request);
    benchmark::DoNotOptimize(response.status);
  }
}
BENCHMARK(BM_RouterDispatchUpload);

void BM_RouterDispatchNotFound(benchmark::State& state) {
  Router router = make_dap_router();
  for (auto _ : state) {
    HttpRequest request;
    request.method = HttpMethod::Get;
    request.path = "/tasks/x/unknown/y/z";
    HttpResponse response = router.dispatch(request);
    benchmark::DoNotOptimize(response.status);
  }
}
BENCHMARK(BM_RouterDispatchNotFound);

}  // namespace
}  // namespace janus

BENCHMARK_MAIN();
