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

// Sends the answer to one request. Copyable and callable from any thread; the first call
// sends, later calls are ignored, and if every copy is destroyed without a call the client
// gets a 500 (so a handler that loses its responder cannot leave a client hanging).
class HttpResponder {
 public:
  HttpResponder() = default;  // answers nothing (for tests and placeholders)
  explicit HttpResponder(std::function<void(HttpResponse)> send);
  void operator()(HttpResponse response) const;
  // Whether the answer has been sent through any copy.
  bool responded() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// A handler that answers at once, on one of the server's handler threads (it may block,
// e.g. on the database, but holds that thread meanwhile).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// A handler that answers through `respond`, now or later, from any thread: what it waits
// for (e.g. a report batch being committed) holds no thread. `request` stays valid until
// `respond` is called, not after. Exceptions it throws before responding give 500.
using AsyncHttpHandler = std::function<void(const HttpRequest& request, HttpResponder respond)>;
// The async form of a handler that answers at once.
AsyncHttpHandler make_async_handler(HttpHandler handler);

struct RouteOptions {
  // Unset (or false for a request): the handler runs on the server's handler pool, where it
  // may block. True for a request: the handler runs at once on the event-loop thread that
  // read it, which serves other connections meanwhile, so it must neither block nor compute
  // for long (an upload to a cached task: an HPKE open, ~50 µs). That saves the pool's two
  // thread hand-offs, which under load cost more than such a handler's own work
  // (BENCHMARKS.md, upload throughput). Called on the event loop with the path parameters
  // filled in; it must not block either.
  std::function<bool(const HttpRequest&)> run_on_event_loop;
};

// Runs a job on the server's handler pool (where handlers may block).
using HandlerPool = std::function<void(std::function<void()> job)>;

class Router {
 public:
  explicit Router(std::shared_ptr<spdlog::logger> logger = nullptr);

  // Throws std::invalid_argument on a malformed pattern or a duplicate route.
  void add(HttpMethod method, std::string_view pattern, HttpHandler handler);
  void add_async(HttpMethod method, std::string_view pattern, AsyncHttpHandler handler,
                 RouteOptions options = {});
  // Fills request.path_params and request.query_params, then runs the handler, which
  // answers through `respond` (the request must outlive that answer): through `pool`
  // unless the route's run_on_event_loop says otherwise, in the caller's thread when `pool`
  // is empty. Records http_server_request_duration_seconds{http_request_method, http_route,
  // http_response_status_code} in <janus/metrics.h>'s registry when the answer is sent.
  void dispatch(HttpRequest& request, HttpResponder respond, const HandlerPool& pool = {}) const;
  // Dispatches and waits for the answer (tests, and callers without an event loop).
  HttpResponse dispatch(HttpRequest& request) const;
  bool empty() const { return routes_.empty(); }
  // Drops every handler (the host does this before unloading plugins).
  void clear() { routes_.clear(); }

 private:
  struct Route {
    HttpMethod method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    std::size_t literal_count = 0;
    AsyncHttpHandler handler;
    RouteOptions options;
  };
  // The route for the request (filling its parameters), or the answer when there is none.
  const Route* match(HttpRequest& request, std::optional<HttpResponse>& answer) const;
  std::vector<Route> routes_;
  std::shared_ptr<spdlog::logger> logger_;
};

// Splits a raw query string into decoded name/value pairs ('+' is a space).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view raw_query);
// Percent-decoding; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

// The listener's limits. The defaults hold thousands of idle or slow connections without
// slowing anyone else down; every wait on a client is bounded.
struct HttpServerOptions {
  std::string listen_address;  // "host:port", "[v6]:port"; port 0 picks a free port
  std::size_t max_request_body_bytes = 8 * 1024 * 1024;  // larger bodies get 413
  // Threads that run handlers (which may block on the database); requests are read,
  // parsed and answered on the event-loop threads, and waiting requests hold none.
  int max_threads = 16;
  int io_threads = 0;  // event-loop threads; 0: one per core, at most 4
  // Open connections beyond this are answered 503 and closed.
  std::size_t max_connections = 10000;
  std::size_t max_header_bytes = 16 * 1024;  // a larger request head gets 431
  // A request head (from its first byte, or from the connection's opening) must arrive
  // within header_timeout and its body within body_timeout, else 408 and the connection
  // is closed; an idle keep-alive connection is closed after keep_alive_timeout; an answer
  // the client does not read within write_timeout is abandoned.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds keep_alive_timeout{15'000};
  std::chrono::milliseconds write_timeout{30'000};
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
  // Stops accepting, closes idle connections, answers 503 to requests arriving on open
  // ones, waits until in-flight requests are answered or `drain` passes, then closes every
  // connection. Returns false if requests were still unanswered at the deadline (their
  // handlers may still run: the caller must not unload their code). Idempotent.
  bool stop(std::chrono::milliseconds drain);
  std::size_t in_flight() const;
  std::size_t open_connections() const;

  struct Core;  // implementation detail (keeps the server library out of this header)

 private:
  std::shared_ptr<Core> core_;
};

// What a plugin uses to serve HTTP: routes on a listen address. The host
// creates one server per distinct address and starts them all once every
// plugin is configured.
class RouteRegistrar {
 public:
  virtual ~RouteRegistrar() = default;
  // Only during Plugin::configure(). Throws std::runtime_error when the
  // address cannot be bound, std::invalid_argument for a bad pattern or a
  // duplicate route, std::logic_error once the listeners are serving.
  virtual void add_async_route(const std::string& listen_address, HttpMethod method,
                               std::string_view pattern, AsyncHttpHandler handler,
                               RouteOptions options = {}) = 0;
  void add_route(const std::string& listen_address, HttpMethod method, std::string_view pattern,
                 HttpHandler handler) {
    add_async_route(listen_address, method, pattern, make_async_handler(std::move(handler)));
  }
};

}  // namespace janus
