// HTTP serving for plugins, without exposing the server library: our own
// request and response types, a router of `method + path pattern` to
// handlers, and the registrar through which a plugin adds routes to a
// listener (several plugins may share one listen address).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "janus/bytes.h"

namespace spdlog {
class logger;
}

namespace janus {

enum class HttpMethod { Get, Head, Post, Put, Patch, Delete, Options };

std::optional<HttpMethod> parse_http_method(std::string_view text);
std::string_view to_string(HttpMethod method);

// Header names compare case-insensitively; order and repeats are kept.
class HttpHeaders {
 public:
  void add(std::string name, std::string value);
  // Replaces every header of that name.
  void set(const std::string& name, std::string value);
  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> get_all(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

struct HttpRequest {
  HttpMethod method = HttpMethod::Get;
  std::string path;                                               // as sent, without the query
  std::string raw_query;                                          // after '?', undecoded
  std::map<std::string, std::string> path_params;                 // decoded `{name}` segments
  std::vector<std::pair<std::string, std::string>> query_params;  // decoded, in order
  HttpHeaders headers;
  Bytes body;
  std::string peer_address;  // "ip:port"

  std::optional<std::string> path_param(const std::string& name) const;
  std::optional<std::string> query_param(std::string_view name) const;  // first occurrence
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  Bytes body;

  static HttpResponse empty(int status);
  static HttpResponse text(int status, std::string_view body);
  static HttpResponse bytes(int status, std::string content_type, Bytes body);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Matches a request to a route. Patterns are absolute paths whose segments are
// literals or `{name}` parameters (one whole segment each), e.g.
// `/tasks/{task_id}/reports`. When several patterns match, the one with more
// literal segments wins. An unmatched path gives 404; a matched path without a
// route for the method gives 405 with an Allow header; a HEAD request without
// its own route runs the GET handler (the server sends no body for HEAD); a handler that
// throws gives 500 (logged) and never takes the server down.
class Router {
 public:
  explicit Router(std::shared_ptr<spdlog::logger> logger = nullptr);

  // Throws std::invalid_argument on a malformed pattern or a duplicate route.
  void add(HttpMethod method, std::string_view pattern, HttpHandler handler);
  // Fills request.path_params and request.query_params, then runs the handler.
  // Records http_server_request_duration_seconds{http_request_method,
  // http_route, http_response_status_code} in <janus/metrics.h>'s registry.
  HttpResponse dispatch(HttpRequest& request) const;
  bool empty() const { return routes_.empty(); }
  // Drops every handler (the host does this before unloading plugins).
  void clear() { routes_.clear(); }

 private:
  HttpResponse route(HttpRequest& request, std::string& route_label) const;

  struct Route {
    HttpMethod method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    std::size_t literal_count = 0;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
  std::shared_ptr<spdlog::logger> logger_;
};

// Splits a raw query string into decoded name/value pairs ('+' is a space).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view raw_query);
// Percent-decoding; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

struct HttpServerOptions {
  std::string listen_address;  // "host:port", "[v6]:port"; port 0 picks a free port
  std::size_t max_request_body_bytes = 8 * 1024 * 1024;  // larger bodies get 413
  int max_threads = 16;
  std::chrono::seconds keep_alive_timeout{15};
};

// One listener serving one Router. The socket is bound when the server is
// constructed (so a port in use fails early, with the address in the
// message); requests are served from start() until stop().
class HttpServer {
 public:
  // Throws std::runtime_error "listen address A: <cause>".
  HttpServer(HttpServerOptions options, std::shared_ptr<spdlog::logger> logger = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Router& router();
  const HttpServerOptions& options() const;
  std::uint16_t port() const;  // the bound port (useful with port 0)

  void start();
  // Stops accepting, waits until in-flight requests finish or `drain` passes,
  // then closes every connection. Returns false if requests were still
  // running at the deadline. Idempotent.
  bool stop(std::chrono::milliseconds drain);
  std::size_t in_flight() const;

  struct Impl;  // implementation detail (keeps the server library out of this header)

 private:
  std::unique_ptr<Impl> impl_;
};

// What a plugin uses to serve HTTP: routes on a listen address. The host
// creates one server per distinct address and starts them all once every
// plugin is configured.
class RouteRegistrar {
 public:
  virtual ~RouteRegistrar() = default;
  // Throws std::runtime_error when the address cannot be bound and
  // std::invalid_argument for a bad pattern or a duplicate route.
  virtual void add_route(const std::string& listen_address, HttpMethod method,
                         std::string_view pattern, HttpHandler handler) = 0;
};

}  // namespace janus
