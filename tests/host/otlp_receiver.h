// A local OTLP/HTTP trace receiver for tests: serves POST /v1/traces on 127.0.0.1 (a free
// port), answers 200 (or a status set by the test) and keeps every span it was sent, flattened
// from OTLP's JSON encoding.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "janus/http.h"

namespace janus::testing {

struct ReceivedSpan {
  std::string trace_id, span_id, parent_span_id, name, service_name;
  int kind = 0;
  std::uint64_t start_ns = 0, end_ns = 0;
  std::map<std::string, std::string> attributes;  // int values as their decimal strings
  int status_code = 0;
  std::string status_message;
};

class OtlpReceiver {
 public:
  OtlpReceiver() : server_({"127.0.0.1:0"}) {
    server_.router().add(HttpMethod::Post, "/v1/traces", [this](const HttpRequest& request) {
      std::unique_lock lock(mutex_);
      ++requests_;
      changed_.notify_all();
      changed_.wait_for(lock, std::chrono::seconds(10), [&] { return !held_; });
      content_types_.push_back(request.headers.get("Content-Type").value_or(""));
      if (status_ != 200) return HttpResponse::empty(status_);
      const auto body = nlohmann::json::parse(request.body.begin(), request.body.end());
      for (const auto& resource : body.at("resourceSpans")) {
        std::string service;
        for (const auto& attribute : resource.at("resource").at("attributes")) {
          if (attribute.at("key") == "service.name") {
            service = attribute.at("value").at("stringValue");
          }
        }
        for (const auto& scope : resource.at("scopeSpans")) {
          for (const auto& json : scope.at("spans")) {
            // An in-process test traces this receiver's own requests too: not what is tested.
            if (json.at("name") == "POST /v1/traces") continue;
            spans_.push_back(flatten(json, service));
          }
        }
      }
      changed_.notify_all();
      return HttpResponse::text(200, "{}");
    });
    server_.start();
  }
  ~OtlpReceiver() { server_.stop(std::chrono::seconds(2)); }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  // While held, requests are received (and counted) but not answered (at most 10 s).
  void hold(bool held) {
    std::lock_guard lock(mutex_);
    held_ = held;
    changed_.notify_all();
  }
  void answer_with(int status) {
    std::lock_guard lock(mutex_);
    status_ = status;
  }
  std::vector<ReceivedSpan> spans() const {
    std::lock_guard lock(mutex_);
    return spans_;
  }
  int requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<std::string> content_types() const {
    std::lock_guard lock(mutex_);
    return content_types_;
  }
  // Waits until at least `n` requests arrived (answered or not); false on timeout.
  bool wait_for_requests(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return requests_ >= n; });
  }
  // Waits until `done(spans)` holds or the timeout passes; returns the spans either way.
  std::vector<ReceivedSpan> wait_for(
      const std::function<bool(const std::vector<ReceivedSpan>&)>& done,
      std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return done(spans_); });
    return spans_;
  }

 private:
  static ReceivedSpan flatten(const nlohmann::json& json, const std::string& service) {
    ReceivedSpan span;
    span.service_name = service;
    span.trace_id = json.at("traceId");
    span.span_id = json.at("spanId");
    span.parent_span_id = json.value("parentSpanId", "");
    span.name = json.at("name");
    span.kind = json.at("kind");
    span.start_ns = std::stoull(json.at("startTimeUnixNano").get<std::string>());
    span.end_ns = std::stoull(json.at("endTimeUnixNano").get<std::string>());
    for (const auto& attribute : json.value("attributes", nlohmann::json::array())) {
      const auto& value = attribute.at("value");
      span.attributes[attribute.at("key")] = value.contains("stringValue")
                                                 ? value.at("stringValue").get<std::string>()
                                                 : value.at("intValue").get<std::string>();
    }
    if (json.contains("status")) {
      span.status_code = json["status"].value("code", 0);
      span.status_message = json["status"].value("message", "");
    }
    return span;
  }

  HttpServer server_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<ReceivedSpan> spans_;
  std::vector<std::string> content_types_;
  int requests_ = 0;
  int status_ = 200;
  bool held_ = false;
};

}  // namespace janus::testing
