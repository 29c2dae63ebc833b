#include "janus/tracing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "otlp_receiver.h"

namespace janus::tracing {
namespace {

using namespace std::chrono_literals;
using janus::testing::OtlpReceiver;
using janus::testing::ReceivedSpan;

const ReceivedSpan* find(const std::vector<ReceivedSpan>& spans, const std::string& name) {
  auto it = std::find_if(spans.begin(), spans.end(),
                         [&](const ReceivedSpan& span) { return span.name == name; });
  return it == spans.end() ? nullptr : &*it;
}

auto has_names(std::vector<std::string> names) {
  return [names](const std::vector<ReceivedSpan>& spans) {
    return std::all_of(names.begin(), names.end(),
                       [&](const std::string& name) { return find(spans, name) != nullptr; });
  };
}

// The receiver runs in this process on the SDK's HTTP server, which traces its requests too:
// the exporter's counts include those spans (which the receiver does not keep), so they are
// checked as lower bounds.
class TracingTest : public ::testing::Test {
 protected:
  void start(std::size_t batch = 512, std::size_t queue = 8192) {
    OtlpExporterOptions options;
    options.endpoint = receiver_.endpoint();
    options.service_name = "tracing_test";
    options.max_batch_spans = batch;
    options.max_queued_spans = queue;
    options.flush_interval = 50ms;
    start_otlp_exporter(options);
  }
  void TearDown() override { stop_exporter(); }

  OtlpReceiver receiver_;
};

TEST(TracingDisabled, SpansAreEmptyHandlesAndCostNothing) {
  ASSERT_FALSE(enabled());
  Span span = Span::start("nothing");
  EXPECT_FALSE(span.recording());
  auto scope = span.activate();
  set_current_attribute("task_id", "x");  // no active span: ignored
  span.set_attribute("a", std::int64_t{1});
  span.end();
  EXPECT_EQ(exporter_stats().exported, 0u);
}

TEST_F(TracingTest, ExportsNestedSpansWithAttributesAsOtlpJson) {
  start();
  {
    Span request = Span::start("PUT /tasks/{task_id}/reports", SpanKind::Server);
    auto scope = request.activate();
    set_current_attribute("task_id", "AAAA");
    request.set_attribute("http.response.status_code", std::int64_t{201});
    {
      Span tx = Span::start("tx upload");
      auto inner = tx.activate();
      set_current_attribute("attempts", std::int64_t{2});  // the innermost active span
    }
    Span failed = Span::start("step");
    failed.set_error("peer answered 500");
  }
  // Outside any scope: a new trace.
  Span other = Span::start("alone");
  other.end();

  auto spans =
      receiver_.wait_for(has_names({"PUT /tasks/{task_id}/reports", "tx upload", "step", "alone"}));
  const ReceivedSpan* request = find(spans, "PUT /tasks/{task_id}/reports");
  const ReceivedSpan* tx = find(spans, "tx upload");
  const ReceivedSpan* step = find(spans, "step");
  const ReceivedSpan* alone = find(spans, "alone");
  ASSERT_TRUE(request && tx && step && alone);

  EXPECT_EQ(request->service_name, "tracing_test");
  EXPECT_EQ(request->kind, 2);  // SPAN_KIND_SERVER
  EXPECT_EQ(request->trace_id.size(), 32u);
  EXPECT_EQ(request->span_id.size(), 16u);
  EXPECT_EQ(request->parent_span_id, "");
  EXPECT_EQ(request->attributes.at("task_id"), "AAAA");
  EXPECT_EQ(request->attributes.at("http.response.status_code"), "201");
  EXPECT_EQ(request->attributes.count("attempts"), 0u);
  EXPECT_LE(request->start_ns, request->end_ns);

  EXPECT_EQ(tx->kind, 1);  // SPAN_KIND_INTERNAL
  EXPECT_EQ(tx->trace_id, request->trace_id);
  EXPECT_EQ(tx->parent_span_id, request->span_id);
  EXPECT_EQ(tx->attributes.at("attempts"), "2");
  EXPECT_GE(tx->start_ns, request->start_ns);
  EXPECT_LE(tx->end_ns, request->end_ns);

  EXPECT_EQ(step->parent_span_id, request->span_id);
  EXPECT_EQ(step->status_code, 2);  // STATUS_CODE_ERROR
  EXPECT_EQ(step->status_message, "peer answered 500");

  EXPECT_NE(alone->trace_id, request->trace_id);
  EXPECT_EQ(alone->parent_span_id, "");
  for (const std::string& type : receiver_.content_types()) EXPECT_EQ(type, "application/json");
}

TEST_F(TracingTest, ASpanEndedOnAnotherThreadStaysUsableInItsScope) {
  start();
  Span request = Span::start("async request", SpanKind::Server);
  auto scope = request.activate();
  std::thread([span = std::move(request)]() mutable { span.end(); }).join();
  // The handler thread still annotates (ignored: ended) and parents new spans to it.
  set_current_attribute("late", "ignored");
  Span child = Span::start("after the answer");
  child.end();
  auto spans = receiver_.wait_for(has_names({"async request", "after the answer"}));
  const ReceivedSpan* parent = find(spans, "async request");
  const ReceivedSpan* late = find(spans, "after the answer");
  ASSERT_TRUE(parent && late);
  EXPECT_EQ(parent->attributes.count("late"), 0u);
  EXPECT_EQ(late->parent_span_id, parent->span_id);
}

TEST_F(TracingTest, BatchesBySizeAndFlushesAtStop) {
  start(/*batch=*/10);
  for (int i = 0; i < 35; ++i) Span::start("span " + std::to_string(i)).end();
  stop_exporter();  // sends what is still queued
  EXPECT_EQ(receiver_.spans().size(), 35u);
  EXPECT_GE(receiver_.requests(), 4);  // at most 10 spans per request
  EXPECT_GE(exporter_stats().exported, 35u);
  EXPECT_FALSE(Span::start("after stop").recording());
}

TEST_F(TracingTest, AFailingReceiverCostsSpansNotTheProcess) {
  receiver_.answer_with(503);
  start();
  for (int i = 0; i < 5; ++i) Span::start("lost").end();
  stop_exporter();
  EXPECT_EQ(exporter_stats().exported, 0u);
  EXPECT_GE(exporter_stats().dropped, 5u);
  EXPECT_GE(exporter_stats().failed_requests, 1u);
  EXPECT_TRUE(receiver_.spans().empty());
}

TEST_F(TracingTest, StoppingWithAFailingReceiverTriesOnceNotOncePerBatch) {
  // The first batch's request is held while ten more batches queue and the exporter is told
  // to stop; the receiver then fails it. The rest is dropped without a request each: a dead
  // collector adds one timeout to a shutdown, not one per batch.
  receiver_.answer_with(500);
  receiver_.hold(true);
  OtlpExporterOptions options;
  options.endpoint = receiver_.endpoint();
  options.max_batch_spans = 2;
  options.flush_interval = 60s;
  start_otlp_exporter(options);
  for (int i = 0; i < 2; ++i) Span::start("first batch").end();
  ASSERT_TRUE(receiver_.wait_for_requests(1));
  for (int i = 0; i < 20; ++i) Span::start("queued").end();
  std::thread stopper([] { stop_exporter(); });
  std::this_thread::sleep_for(200ms);  // stop_exporter() has marked the exporter stopping
  receiver_.hold(false);
  stopper.join();
  EXPECT_EQ(receiver_.requests(), 1);
  EXPECT_GE(exporter_stats().dropped, 22u);
  EXPECT_EQ(exporter_stats().exported, 0u);
}

TEST_F(TracingTest, AFullQueueDropsNewSpans) {
  // Nothing is sent before stop (a batch of 1000 never fills; the interval is long).
  OtlpExporterOptions options;
  options.endpoint = receiver_.endpoint() + "/v1/traces";  // the full path is kept as given
  options.max_batch_spans = 1000;
  options.max_queued_spans = 3;
  options.flush_interval = 60s;
  start_otlp_exporter(options);
  for (int i = 0; i < 5; ++i) Span::start("queued").end();
  stop_exporter();
  EXPECT_EQ(receiver_.spans().size(), 3u);
  EXPECT_EQ(exporter_stats().dropped, 2u);
}

TEST(TracingConfig, RejectsANonHttpEndpoint) {
  OtlpExporterOptions options;
  options.endpoint = "localhost:4317";
  EXPECT_THROW(start_otlp_exporter(options), std::invalid_argument);
  EXPECT_FALSE(enabled());
}

}  // namespace
}  // namespace janus::tracing
