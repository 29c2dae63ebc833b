// An HTTP(S) client for requests to a peer aggregator, with Janus's retry
// rules: 5xx (except 501), 429, connection failures and timeouts are
// retried with exponential backoff; everything else is returned at once.
// The server library stays behind the SDK: plugins see only these types.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "janus/bytes.h"
#include "janus/http.h"

namespace janus {

struct HttpClientOptions {
  // Janus: http_request_connection_timeout_s (10) and http_request_timeout_s (30).
  // The request timeout bounds each send and each receive.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::size_t max_response_body_bytes = 64 * 1024 * 1024;
  // Extra trust anchors (PEM file) for https; the system's CAs are always used.
  std::optional<std::string> ca_file;
  std::string user_agent = "janus-cpp";
};

struct HttpClientResponse {
  int status = 0;
  HttpHeaders headers;
  Bytes body;
};

class HttpClientError : public std::runtime_error {
 public:
  enum class Kind { InvalidUrl, Connect, Timeout, Protocol, BodyTooLarge };
  HttpClientError(Kind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }
  // Connection failures and timeouts are worth retrying.
  bool retryable() const { return kind_ == Kind::Connect || kind_ == Kind::Timeout; }

 private:
  Kind kind_;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request to an http:// or https:// URL. Any status is a response;
  // throws HttpClientError when no response was received.
  HttpClientResponse send(HttpMethod method, const std::string& url, const HttpHeaders& headers,
                          ByteSpan body = {}) const;

  const HttpClientOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Janus's retryable statuses: 5xx except 501 Not Implemented, and 429.
bool is_retryable_status(int status);

struct RetryPolicy {
  // Janus: retry_initial_interval_ms, retry_max_interval_ms, retry_max_elapsed_time_ms.
  std::chrono::milliseconds initial_interval{1'000};
  std::chrono::milliseconds max_interval{30'000};
  std::chrono::milliseconds max_elapsed{300'000};
  double multiplier = 2.0;
  // Injected for tests; the default sleeps.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Retry-After in delta-seconds, if the response has one (an HTTP-date gives nullopt).
std::optional<std::chrono::seconds> retry_after(const HttpClientResponse& response);

// Sends until a non-retryable outcome, the elapsed budget runs out, or
// `cancelled` returns true (checked before each retry). A retryable answer's
// Retry-After lengthens the wait before the next try. Returns the last
// response (possibly a retryable status) or throws the last HttpClientError.
HttpClientResponse send_with_retry(const HttpClient& client, HttpMethod method,
                                   const std::string& url, const HttpHeaders& headers,
                                   ByteSpan body, const RetryPolicy& policy,
                                   const std::function<bool()>& cancelled = {});

}  // namespace janus
