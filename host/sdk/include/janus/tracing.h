// Tracing: spans exported over OTLP/HTTP (JSON encoding, POST <endpoint>/v1/traces), as
// Janus 0.7 exports them when `logging_config.open_telemetry_config.otlp.endpoint` is set.
// The SDK opens one span per HTTP request (the router), per leased job step (the lease
// worker) and per datastore transaction (Datastore::run_tx); plugins add attributes to the
// span their code runs in (e.g. the job drivers' task_id and job_id) with
// set_current_attribute(), and may open spans of their own.
//
// When tracing is not configured a Span is an empty handle: starting, annotating and ending
// it cost a thread-local read and no allocation, so the hooks stay in hot paths.
//
// A span's parent is the span active on the starting thread (activate()), so a transaction
// run by a request handler is a child of the request's span. Work handed to another thread
// (an upload's group commit) starts a trace of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace spdlog {
class logger;
}

namespace janus::tracing {

struct SpanData;  // implementation detail

enum class SpanKind { Internal = 1, Server = 2, Client = 3 };

class Span {
 public:
  // An empty handle: every method is a no-op.
  Span() = default;
  // Starts a span now when tracing is configured, else returns an empty handle. Its parent is
  // the calling thread's active span, if any.
  static Span start(std::string_view name, SpanKind kind = SpanKind::Internal);

  Span(Span&&) noexcept;
  Span& operator=(Span&&) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  // Ends the span if end() was not called.
  ~Span();

  bool recording() const { return data_ != nullptr; }
  void set_attribute(std::string_view key, std::string_view value);
  void set_attribute(std::string_view key, std::int64_t value);
  // Marks the span failed (OTLP status ERROR) with a message.
  void set_error(std::string_view message);
  // Ends the span now and hands it to the exporter; later calls do nothing. May be called
  // from any thread.
  void end();

  // While the returned scope lives, this span is the calling thread's active span: spans
  // started on the thread are its children and set_current_attribute() annotates it. Scopes
  // nest; destroy them in reverse order, on the thread that made them.
  class Scope {
   public:
    Scope(Scope&&) noexcept;
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    Scope& operator=(Scope&&) = delete;
    ~Scope();

   private:
    friend class Span;
    Scope(std::shared_ptr<SpanData> previous, bool active)
        : previous_(std::move(previous)), active_(active) {}
    std::shared_ptr<SpanData> previous_;
    bool active_;
  };
  [[nodiscard]] Scope activate();

 private:
  explicit Span(std::shared_ptr<SpanData> data) : data_(std::move(data)) {}
  // Shared with the thread's active-span slot, so that a span ended on another thread (an
  // asynchronous handler's answer) stays valid while its scope lives.
  std::shared_ptr<SpanData> data_;
};

// Adds an attribute to the calling thread's active span (nothing when there is none).
void set_current_attribute(std::string_view key, std::string_view value);
void set_current_attribute(std::string_view key, std::int64_t value);

struct OtlpExporterOptions {
  // Janus's otlp.endpoint: a base URL (http:// or https://). Spans go to <endpoint>/v1/traces
  // unless the URL already ends in that path.
  std::string endpoint;
  // The resource's service.name (the component, e.g. "janus_aggregator").
  std::string service_name = "janus";
  // Spans are sent when this many are queued or every flush_interval, whichever is first;
  // beyond max_queued_spans new spans are dropped (and counted) rather than slowing the
  // process down.
  std::size_t max_batch_spans = 512;
  std::size_t max_queued_spans = 8192;
  std::chrono::milliseconds flush_interval{1000};
  std::chrono::milliseconds request_timeout{10'000};
};

// Starts exporting: from now on Span::start() records. Throws std::invalid_argument for an
// endpoint that is not an http(s) URL. Called once by the host, before any plugin starts.
void start_otlp_exporter(const OtlpExporterOptions& options,
                         std::shared_ptr<spdlog::logger> logger = nullptr);
// Stops recording, sends what is queued (bounded by the request timeout) and stops the
// exporter thread. Idempotent.
void stop_exporter();
// True between start_otlp_exporter() and stop_exporter().
bool enabled();

struct ExporterStats {
  std::uint64_t exported = 0;  // spans the receiver accepted
  std::uint64_t dropped = 0;   // spans dropped: queue full or the receiver failed
  std::uint64_t failed_requests = 0;
};
ExporterStats exporter_stats();

}  // namespace janus::tracing
