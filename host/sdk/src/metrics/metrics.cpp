#include "janus/metrics.h"

#include <memory>
#include <mutex>
#include <stdexcept>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace janus::metrics {
namespace {

struct State {
  std::mutex mutex;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
};

State& state() {
  static State* instance = new State;  // never destroyed: handles live as long as the process
  return *instance;
}

template <typename Build>
auto add_series(Build&& build) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  try {
    return build(*s.registry);
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
}

}  // namespace

void Counter::increment(double amount) const {
  if (metric_) metric_->Increment(amount);
}
void Gauge::set(double value) const {
  if (metric_) metric_->Set(value);
}
void Gauge::increment(double amount) const {
  if (metric_) metric_->Increment(amount);
}
void Gauge::decrement(double amount) const {
  if (metric_) metric_->Decrement(amount);
}
void Histogram::observe(double value) const {
  if (metric_) metric_->Observe(value);
}

const std::vector<double>& duration_buckets() {
  static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                              0.5,   0.75, 1,     2.5,  5,     7.5, 10};
  return buckets;
}

Counter Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  return add_series([&](prometheus::Registry& r) {
    auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(r);
    return Counter(&family.Add(labels));
  });
}

Gauge Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  return add_series([&](prometheus::Registry& r) {
    auto& family = prometheus::BuildGauge().Name(name).Help(help).Register(r);
    return Gauge(&family.Add(labels));
  });
}

Histogram Registry::histogram(const std::string& name, const std::string& help,
                              const std::vector<double>& buckets, const Labels& labels) {
  return add_series([&](prometheus::Registry& r) {
    auto& family = prometheus::BuildHistogram().Name(name).Help(help).Register(r);
    return Histogram(&family.Add(labels, buckets));
  });
}

std::string Registry::serialize() const {
  State& s = state();
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard lock(s.mutex);
    families = s.registry->Collect();
  }
  return prometheus::TextSerializer().Serialize(families);
}

Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

}  // namespace janus::metrics
