// Spans and their OTLP/HTTP exporter (janus/tracing.h). The wire format is OTLP's JSON
// encoding of ExportTraceServiceRequest (opentelemetry-proto, "OTLP/HTTP" with
// Content-Type application/json): trace and span ids in lowercase hex, times and 64-bit
// integers as decimal strings.
#include "janus/tracing.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "janus/http_client.h"

namespace janus::tracing {

using AttributeValue = std::variant<std::string, std::int64_t>;

// A finished span, as the exporter sends it.
struct SpanRecord {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  std::optional<std::array<std::uint8_t, 8>> parent_span_id;
  std::string name;
  SpanKind kind = SpanKind::Internal;
  std::uint64_t start_ns = 0, end_ns = 0;
  std::vector<std::pair<std::string, AttributeValue>> attributes;
  std::optional<std::string> error;
};

struct SpanData {
  std::mutex mutex;
  bool ended = false;
  SpanRecord record;
};

namespace {

std::uint64_t unix_nanos() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Ids need to be unique, not secret: a per-thread generator seeded from the OS.
template <std::size_t N>
std::array<std::uint8_t, N> random_id() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  std::array<std::uint8_t, N> id{};
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      const std::uint64_t word = rng();
      std::memcpy(id.data() + i, &word, std::min<std::size_t>(8, N - i));
    }
  } while (std::all_of(id.begin(), id.end(), [](std::uint8_t b) { return b == 0; }));
  return id;
}

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * N);
  for (std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

thread_local std::shared_ptr<SpanData> active_span;

class Exporter {
 public:
  Exporter(OtlpExporterOptions options, std::shared_ptr<spdlog::logger> logger)
      : options_(std::move(options)), logger_(std::move(logger)), client_([&] {
          HttpClientOptions client;
          client.connect_timeout = options_.request_timeout;
          client.request_timeout = options_.request_timeout;
          client.max_response_body_bytes = 1024 * 1024;
          client.user_agent = "janus-cpp-otlp";
          return client;
        }()) {
    url_ = options_.endpoint;
    while (!url_.empty() && url_.back() == '/') url_.pop_back();
    const std::string kPath = "/v1/traces";
    if (url_.size() < kPath.size() ||
        url_.compare(url_.size() - kPath.size(), kPath.size(), kPath) != 0) {
      url_ += kPath;
    }
    thread_ = std::thread([this] { run(); });
  }

  ~Exporter() { stop(); }

  void enqueue(SpanRecord record) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= options_.max_queued_spans) {
        ++stats_.dropped;
        return;
      }
      queue_.push_back(std::move(record));
      if (queue_.size() < options_.max_batch_spans) return;
    }
    wake_.notify_one();
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  ExporterStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait_for(lock, options_.flush_interval,
                     [&] { return stopping_ || queue_.size() >= options_.max_batch_spans; });
      // At stop, everything queued is sent (in batches) before the thread ends.
      while (!queue_.empty()) {
        std::vector<SpanRecord> batch;
        const std::size_t n = std::min(queue_.size(), options_.max_batch_spans);
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        lock.unlock();
        const bool sent = send(batch);
        lock.lock();
        if (sent) {
          stats_.exported += batch.size();
        } else {
          stats_.dropped += batch.size();
          ++stats_.failed_requests;
          // Stopping with a collector that fails: one timeout is the most the flush may add
          // to the shutdown, not one per batch.
          if (stopping_) {
            stats_.dropped += queue_.size();
            queue_.clear();
          }
        }
        if (!stopping_ && queue_.size() < options_.max_batch_spans) break;
      }
      if (stopping_ && queue_.empty()) return;
    }
  }

  std::string encode(const std::vector<SpanRecord>& batch) const {
    nlohmann::json spans = nlohmann::json::array();
    for (const SpanRecord& span : batch) {
      nlohmann::json attributes = nlohmann::json::array();
      for (const auto& [key, value] : span.attributes) {
        nlohmann::json encoded;
        if (const auto* text = std::get_if<std::string>(&value)) {
          encoded = {{"stringValue", *text}};
        } else {
          encoded = {{"intValue", std::to_string(std::get<std::int64_t>(value))}};
        }
        attributes.push_back({{"key", key}, {"value", encoded}});
      }
      nlohmann::json json = {{"traceId", hex(span.trace_id)},
                             {"spanId", hex(span.span_id)},
                             {"name", span.name},
                             {"kind", static_cast<int>(span.kind)},
                             {"startTimeUnixNano", std::to_string(span.start_ns)},
                             {"endTimeUnixNano", std::to_string(span.end_ns)},
                             {"attributes", attributes}};
      if (span.parent_span_id) json["parentSpanId"] = hex(*span.parent_span_id);
      // Status code 2 is STATUS_CODE_ERROR; unset (0) otherwise.
      if (span.error) json["status"] = {{"code", 2}, {"message", *span.error}};
      spans.push_back(std::move(json));
    }
    nlohmann::json request = {
        {"resourceSpans",
         {{{"resource",
            {{"attributes",
              {{{"key", "service.name"}, {"value", {{"stringValue", options_.service_name}}}}}}}},
           {"scopeSpans", {{{"scope", {{"name", "janus"}}}, {"spans", spans}}}}}}}};
    return request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  bool send(const std::vector<SpanRecord>& batch) {
    const std::string body = encode(batch);
    HttpHeaders headers;
    headers.add("Content-Type", "application/json");
    std::string failure;
    try {
      HttpClientResponse response =
          client_.send(HttpMethod::Post, url_, headers,
                       ByteSpan(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
      if (response.status >= 200 && response.status < 300) return true;
      failure = "answered HTTP " + std::to_string(response.status);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    // One warning per minute at most: an unreachable collector must not flood the log.
    const auto now = std::chrono::steady_clock::now();
    if (logger_ && (!last_warning_ || now - *last_warning_ >= std::chrono::minutes(1))) {
      last_warning_ = now;
      logger_->warn("OTLP exporter: {} spans not delivered to {}: {}", batch.size(), url_, failure);
    }
    return false;
  }

  const OtlpExporterOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  HttpClient client_;
  std::string url_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<SpanRecord> queue_;
  bool stopping_ = false;
  ExporterStats stats_;
  std::optional<std::chrono::steady_clock::time_point> last_warning_;
  std::thread thread_;
};

std::mutex exporter_mutex;
std::shared_ptr<Exporter> exporter;  // guarded by exporter_mutex
std::atomic<bool> recording_enabled{false};

std::shared_ptr<Exporter> current_exporter() {
  std::lock_guard lock(exporter_mutex);
  return exporter;
}

void set(const std::shared_ptr<SpanData>& data, std::string_view key, AttributeValue value) {
  std::lock_guard lock(data->mutex);
  if (data->ended) return;
  for (auto& [existing, stored] : data->record.attributes) {
    if (existing == key) {
      stored = std::move(value);
      return;
    }
  }
  data->record.attributes.emplace_back(std::string(key), std::move(value));
}

}  // namespace

Span Span::start(std::string_view name, SpanKind kind) {
  if (!recording_enabled.load(std::memory_order_relaxed)) return Span();
  auto data = std::make_shared<SpanData>();
  SpanRecord& record = data->record;
  record.name = std::string(name);
  record.kind = kind;
  record.span_id = random_id<8>();
  if (active_span) {
    std::lock_guard lock(active_span->mutex);
    record.trace_id = active_span->record.trace_id;
    record.parent_span_id = active_span->record.span_id;
  } else {
    record.trace_id = random_id<16>();
  }
  record.start_ns = unix_nanos();
  return Span(std::move(data));
}

Span::Span(Span&&) noexcept = default;
Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    data_ = std::move(other.data_);
  }
  return *this;
}
Span::~Span() { end(); }

void Span::set_attribute(std::string_view key, std::string_view value) {
  if (data_) set(data_, key, std::string(value));
}
void Span::set_attribute(std::string_view key, std::int64_t value) {
  if (data_) set(data_, key, value);
}

void Span::set_error(std::string_view message) {
  if (!data_) return;
  std::lock_guard lock(data_->mutex);
  if (!data_->ended) data_->record.error = std::string(message);
}

void Span::end() {
  if (!data_) return;
  std::shared_ptr<SpanData> data = std::move(data_);
  SpanRecord record;
  {
    std::lock_guard lock(data->mutex);
    if (data->ended) return;
    data->ended = true;
    data->record.end_ns = unix_nanos();
    // An active scope may still read the ids (to parent a span): copy, keep them.
    record = data->record;
  }
  if (auto target = current_exporter()) target->enqueue(std::move(record));
}

Span::Scope::Scope(Scope&& other) noexcept
    : previous_(std::move(other.previous_)), active_(other.active_) {
  other.active_ = false;
}

Span::Scope::~Scope() {
  if (active_) active_span = std::move(previous_);
}

Span::Scope Span::activate() {
  if (!data_) return Scope(nullptr, false);
  Scope scope(active_span, true);
  active_span = data_;
  return scope;
}

void set_current_attribute(std::string_view key, std::string_view value) {
  if (active_span) set(active_span, key, std::string(value));
}

void set_current_attribute(std::string_view key, std::int64_t value) {
  if (active_span) set(active_span, key, value);
}

void start_otlp_exporter(const OtlpExporterOptions& options,
                         std::shared_ptr<spdlog::logger> logger) {
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0) {
    throw std::invalid_argument("OTLP endpoint '" + options.endpoint +
                                "' is not an http:// or https:// URL");
  }
  if (options.max_batch_spans == 0 || options.max_queued_spans == 0) {
    throw std::invalid_argument("OTLP exporter: batch and queue sizes must be positive");
  }
  auto created = std::make_shared<Exporter>(options, std::move(logger));
  std::shared_ptr<Exporter> previous;
  {
    std::lock_guard lock(exporter_mutex);
    previous = std::move(exporter);
    exporter = std::move(created);
  }
  recording_enabled.store(true);
  if (previous) previous->stop();
}

void stop_exporter() {
  recording_enabled.store(false);
  std::shared_ptr<Exporter> stopped;
  {
    std::lock_guard lock(exporter_mutex);
    stopped = exporter;  // kept for exporter_stats(); replaced by the next start
  }
  if (stopped) stopped->stop();
}

bool enabled() { return recording_enabled.load(); }

ExporterStats exporter_stats() {
  auto target = current_exporter();
  return target ? target->stats() : ExporterStats{};
}

}  // namespace janus::tracing
