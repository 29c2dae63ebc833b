#include "janus/metrics.h"

#include <gtest/gtest.h>

namespace janus::metrics {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Metrics, CountersGaugesAndHistogramsAreExposed) {
  auto requests = registry().counter("janus_test_requests", "Requests.", {{"route", "/a"}});
  requests.increment();
  requests.increment(2);
  // The same name and labels are the same series.
  registry().counter("janus_test_requests", "Requests.", {{"route", "/a"}}).increment();
  registry().gauge("janus_test_in_flight", "In flight.").set(4);
  auto latency = registry().histogram("janus_test_latency_seconds", "Latency.", {0.1, 1});
  latency.observe(0.05);
  latency.observe(0.5);
  std::string text = registry().serialize();
  EXPECT_TRUE(contains(text, "# TYPE janus_test_requests counter")) << text;
  EXPECT_TRUE(contains(text, "janus_test_requests{route=\"/a\"} 4")) << text;
  EXPECT_TRUE(contains(text, "janus_test_in_flight 4")) << text;
  EXPECT_TRUE(contains(text, "janus_test_latency_seconds_bucket{le=\"0.1\"} 1")) << text;
  EXPECT_TRUE(contains(text, "janus_test_latency_seconds_count 2")) << text;
}

TEST(Metrics, InvalidNamesAndTypeClashesThrow) {
  EXPECT_THROW(registry().counter("bad name", "x"), std::invalid_argument);
  registry().counter("janus_test_clash", "x");
  EXPECT_THROW(registry().gauge("janus_test_clash", "x"), std::invalid_argument);
}

TEST(Metrics, DefaultHandlesAreNoOps) {
  Counter counter;
  counter.increment();
  Histogram histogram;
  histogram.observe(1);
  Gauge gauge;
  gauge.set(1);
}

}  // namespace
}  // namespace janus::metrics
