// Process-wide metrics in the Prometheus data model. The host serves them in
// the text exposition format on metrics_config.exporter.prometheus (as Janus
// does on :9464). Handles are cheap to copy and stay valid for the life of
// the process (the registry is never torn down, so a handle kept by a plugin
// cannot dangle).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace janus::metrics {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  Counter() = default;  // a no-op counter
  void increment(double amount = 1.0) const;

 private:
  friend class Registry;
  explicit Counter(prometheus::Counter* metric) : metric_(metric) {}
  prometheus::Counter* metric_ = nullptr;
};

class Gauge {
 public:
  Gauge() = default;  // a no-op gauge
  void set(double value) const;
  void increment(double amount = 1.0) const;
  void decrement(double amount = 1.0) const;

 private:
  friend class Registry;
  explicit Gauge(prometheus::Gauge* metric) : metric_(metric) {}
  prometheus::Gauge* metric_ = nullptr;
};

class Histogram {
 public:
  Histogram() = default;  // a no-op histogram
  void observe(double value) const;

 private:
  friend class Registry;
  explicit Histogram(prometheus::Histogram* metric) : metric_(metric) {}
  prometheus::Histogram* metric_ = nullptr;
};

// Buckets for durations in seconds (those of OpenTelemetry's HTTP metrics).
const std::vector<double>& duration_buckets();

class Registry {
 public:
  // Asking twice for the same name and labels returns the same series. A
  // name used with another type, or an invalid name or label, throws
  // std::invalid_argument.
  Counter counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram histogram(const std::string& name, const std::string& help,
                      const std::vector<double>& buckets, const Labels& labels = {});
  // Every series in the Prometheus text exposition format (version 0.0.4).
  std::string serialize() const;
};

// The process-wide registry.
Registry& registry();

}  // namespace janus::metrics
