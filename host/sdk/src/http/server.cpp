// HttpServer: an event-driven HTTP/1.1 listener on Boost.Asio + Beast. Boost stays behind
// this file: plugins see only <janus/http.h>.
//
// Shape: a few event-loop threads (one io_context each) accept, read, parse and write;
// a connection costs a socket and a small object, never a thread, so thousands of idle or
// slow clients cost nothing to anyone else. A parsed request is handed to the handler
// thread pool (handlers may block on the database), or run at once on the event loop when
// its route says it neither blocks nor runs long (an upload to a cached task: thread
// hand-offs cost more than its work); an asynchronous handler frees its thread at once and
// answers later from any thread through its HttpResponder, which posts the answer back to
// the connection's event loop.
//
// Every wait on a client is bounded: the request head (header_timeout), the body
// (body_timeout), the idle time between keep-alive requests (keep_alive_timeout) and the
// answer's write (write_timeout). Connections beyond max_connections are answered 503.
//
// Callbacks rather than C++20 coroutines: Boost 1.74's awaitable support predates the
// fixes Asio needed for GCC's coroutines, and the per-connection state machine is small.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/vector_body.hpp>
#include <boost/beast/http/write.hpp>

#include "janus/http.h"

namespace janus {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

using Body = bhttp::vector_body<std::uint8_t>;
using Clock = std::chrono::steady_clock;

class Connection;

// Binds `text` ("host:port", "[v6]:port"); throws "listen address A: …".
tcp::endpoint resolve_listen_address(asio::io_context& io, const std::string& text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    throw std::runtime_error("listen address " + text + ": invalid (expected host:port)");
  }
  std::string host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto results =
      resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw std::runtime_error("listen address " + text + ": invalid (" +
                             (ec ? ec.message() : std::string("no address")) + ")");
  }
  return results.begin()->endpoint();
}

std::string peer_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  tcp::endpoint endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  const auto address = endpoint.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

std::string_view view(beast::string_view text) { return {text.data(), text.size()}; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
const std::string kOverloaded =
    "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 33\r\n\r\n"
    "too many connections, retry soon\n";

}  // namespace

struct HttpServer::Core : std::enable_shared_from_this<HttpServer::Core> {
  HttpServerOptions options;
  std::shared_ptr<spdlog::logger> logger;
  Router router;
  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> loop_work;
  std::vector<std::thread> loop_threads;
  std::unique_ptr<tcp::acceptor> acceptor;  // on loops[0]
  std::unique_ptr<asio::steady_timer> accept_retry;
  std::unique_ptr<asio::thread_pool> handlers;
  std::size_t next_loop = 0;  // only the accepting loop touches it
  std::uint16_t port = 0;     // the bound port

  mutable std::mutex mutex;
  std::condition_variable drained;
  std::size_t in_flight = 0;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;
  std::atomic<std::size_t> rejecting{0};
  bool started = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};

  Core(HttpServerOptions opts, std::shared_ptr<spdlog::logger> log)
      : options(std::move(opts)), logger(std::move(log)), router(logger) {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    int count = options.io_threads > 0 ? options.io_threads : static_cast<int>(std::min(cores, 4u));
    for (int i = 0; i < count; ++i) loops.push_back(std::make_unique<asio::io_context>(1));
  }

  void accept();
  void reject(tcp::socket socket);
  void request_started() {
    std::lock_guard lock(mutex);
    ++in_flight;
  }
  void request_finished() {
    std::lock_guard lock(mutex);
    --in_flight;
    drained.notify_all();
  }
  void close_connections(bool idle_only);
};

namespace {

// One client connection: read a request, hand it to a handler, write the answer, repeat.
// Every step runs on the connection's own event loop (one thread), so no locking here.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<HttpServer::Core> core, tcp::socket socket)
      : core_(std::move(core)), stream_(std::move(socket)) {
    peer_ = peer_of(stream_.socket());
  }
  ~Connection() {
    finish_request();
    std::lock_guard lock(core_->mutex);
    core_->connections.erase(this);
  }

  void start() { wait_for_request(); }
  auto executor() { return stream_.get_executor(); }

  // From any thread: close the connection, at once or only if it is between requests.
  void close(bool idle_only) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), idle_only] {
      if (idle_only && !self->idle_) return;
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
    });
  }

 private:
  const HttpServerOptions& options() const { return core_->options; }

  // Between requests: wait for the next request's first bytes (a new connection gets the
  // head's timeout for that, an idle keep-alive one the idle timeout).
  void wait_for_request() {
    if (buffer_.size() > 0) return read_header();
    idle_ = true;
    stream_.expires_after(first_request_ ? options().header_timeout : options().keep_alive_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->idle_ = false;
                              if (ec) return self->close_quietly();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    idle_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_request_body_bytes);
    // Mostly the whole head came with the first read: parse it here rather than through
    // another trip around the event loop. (The parser takes a head only whole, so on
    // need_more nothing was consumed and the asynchronous read starts afresh.)
    beast::error_code ec;
    parser_->eager(false);
    const std::size_t used = parser_->put(buffer_.data(), ec);
    if (ec != bhttp::error::need_more) {
      buffer_.consume(used);
      if (ec) return on_read_error(ec);
      if (parser_->is_header_done()) return on_header({});
    }
    stream_.expires_after(options().header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    first_request_ = false;
    const auto& head = parser_->get();
    if (auto length = parser_->content_length();
        length && *length > options().max_request_body_bytes) {
      return answer_and_close(413, "request body too large\n");
    }
    if (parser_->is_done()) return dispatch();
    auto expect = head.find(bhttp::field::expect);
    if (expect != head.end() && iequals(view(expect->value()), "100-continue")) {
      stream_.expires_after(options().write_timeout);
      asio::async_write(stream_, asio::buffer(kContinue),
                        [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                          if (write_ec) return self->close_quietly();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    // Likewise for the part of the body already buffered; the asynchronous read continues
    // with the same parser where this one stopped.
    parser_->eager(true);
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return on_read_error(ec);
      if (used == 0) break;
    }
    if (parser_->is_done()) return dispatch();
    stream_.expires_after(options().body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->dispatch();
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return answer_and_close(413, "request body too large\n");
    if (ec == bhttp::error::header_limit) {
      return answer_and_close(431, "request header fields too large\n");
    }
    if (ec == beast::error::timeout) {
      // The stream has closed the socket already (so no 408 can be sent).
      if (core_->logger) core_->logger->debug("HTTP client {} timed out", peer_);
      return close_quietly();
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::error::bad_descriptor || ec == bhttp::error::partial_message) {
      return close_quietly();
    }
    if (core_->logger) core_->logger->debug("bad HTTP request from {}: {}", peer_, ec.message());
    answer_and_close(400, "malformed request\n");
  }

  // A whole request has arrived: answer it (on a handler thread, or at once).
  void dispatch() {
    stream_.expires_never();
    auto message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    request_ = HttpRequest{};
    auto method = parse_http_method(view(message.method_string()));
    if (!method) return answer(HttpResponse::empty(501));
    request_.method = *method;
    std::string_view target = view(message.target());
    std::size_t question = target.find('?');
    request_.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) request_.raw_query = target.substr(question + 1);
    if (request_.path.empty() || request_.path.front() != '/') {
      return answer(HttpResponse::empty(400));
    }
    for (const auto& field : message) {
      request_.headers.add(std::string(view(field.name_string())),
                           std::string(view(field.value())));
    }
    request_.body = std::move(message.body());
    request_.peer_address = peer_;
    if (core_->stopping.load()) {
      keep_alive_ = false;  // draining: no new work on kept-alive connections
      return answer(HttpResponse::text(503, "server is shutting down\n"));
    }
    core_->request_started();
    counted_ = true;
    auto self = shared_from_this();
    HttpResponder respond([self](HttpResponse response) {
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->answer(std::move(response));
      });
    });
    // Routing runs here; the handler runs on the handler pool, or here when its route says
    // it neither blocks nor runs long (RouteOptions::run_on_event_loop).
    core_->router.dispatch(request_, std::move(respond), [core = core_](std::function<void()> job) {
      asio::post(*core->handlers, std::move(job));
    });
  }

  void answer(HttpResponse response) {
    response_ = {};
    response_.version(version_);
    response_.result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : response.headers.entries()) {
      if (iequals(name, "content-length") || iequals(name, "connection")) continue;
      response_.insert(name, value);
    }
    // For HEAD: the GET answer's length, without its body.
    response_.content_length(response.body.size());
    if (request_.method != HttpMethod::Head) response_.body() = std::move(response.body);
    response_.keep_alive(keep_alive_ && !core_->stopping.load());
    write();
  }

  void answer_and_close(int status, std::string_view text) {
    keep_alive_ = false;
    request_ = HttpRequest{};
    answer(HttpResponse::text(status, text));
  }

  void write() {
    stream_.expires_after(options().write_timeout);
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         // In flight until its answer is written (a drain waits for that).
                         self->finish_request();
                         if (ec || !self->response_.keep_alive()) return self->close_quietly();
                         self->response_ = {};
                         self->request_ = HttpRequest{};
                         self->wait_for_request();
                       });
  }

  void finish_request() {
    if (!counted_) return;
    counted_ = false;
    core_->request_finished();
  }

  void close_quietly() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  std::shared_ptr<HttpServer::Core> core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<Body>> parser_;
  HttpRequest request_;  // alive until its answer is written
  bhttp::response<Body> response_;
  std::string peer_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool first_request_ = true;
  bool idle_ = false;
  bool counted_ = false;  // a request of this connection counts as in flight
};

// Answers a connection over the limit with 503 and closes it without a reset: the
// client's request is read and dropped until it closes or a second passes.
struct Rejection : std::enable_shared_from_this<Rejection> {
  Rejection(tcp::socket s, HttpServer::Core& c)
      : socket(std::move(s)), timer(socket.get_executor()), core(c) {}
  ~Rejection() { --core.rejecting; }
  void start() {
    asio::async_write(socket, asio::buffer(kOverloaded),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        beast::error_code ignored;
                        self->socket.shutdown(tcp::socket::shutdown_send, ignored);
                        self->timer.expires_after(std::chrono::seconds(1));
                        self->timer.async_wait([self](beast::error_code) {
                          beast::error_code ignored2;
                          self->socket.close(ignored2);
                        });
                        self->drain();
                      });
  }
  void drain() {
    socket.async_read_some(asio::buffer(scratch),
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) {
                               self->timer.cancel();
                               return;
                             }
                             self->drain();
                           });
  }
  tcp::socket socket;
  asio::steady_timer timer;
  HttpServer::Core& core;
  char scratch[1024];
};

}  // namespace

void HttpServer::Core::accept() {
  asio::io_context& loop = *loops[next_loop];
  next_loop = (next_loop + 1) % loops.size();
  acceptor->async_accept(
      loop, [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (self->stopping.load() || !self->acceptor->is_open()) return;
        if (ec) {
          // Out of file descriptors (or a transient error): retry shortly rather than spin.
          if (self->logger) self->logger->warn("accepting a connection failed: {}", ec.message());
          self->accept_retry->expires_after(std::chrono::milliseconds(50));
          self->accept_retry->async_wait([self](beast::error_code timer_ec) {
            if (!timer_ec) self->accept();
          });
          return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::shared_ptr<Connection> connection;
        {
          std::lock_guard lock(self->mutex);
          if (self->connections.size() < self->options.max_connections) {
            connection = std::make_shared<Connection>(self, std::move(socket));
            self->connections.emplace(connection.get(), connection);
          }
        }
        if (connection) {
          asio::post(connection->executor(), [connection] { connection->start(); });
        } else {
          self->reject(std::move(socket));
        }
        self->accept();
      });
}

void HttpServer::Core::reject(tcp::socket socket) {
  // Rejections are cheap but not free: past a bound, close at once.
  if (rejecting.fetch_add(1) >= 1024) {
    --rejecting;
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  if (logger) logger->warn("connection limit ({}) reached: answering 503", options.max_connections);
  std::make_shared<Rejection>(std::move(socket), *this)->start();
}

void HttpServer::Core::close_connections(bool idle_only) {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mutex);
    for (auto& [raw, weak] : connections) {
      if (auto connection = weak.lock()) open.push_back(std::move(connection));
    }
  }
  for (auto& connection : open) connection->close(idle_only);
}

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<spdlog::logger> logger)
    : core_(std::make_shared<Core>(std::move(options), std::move(logger))) {
  const std::string& address = core_->options.listen_address;
  asio::io_context& loop = *core_->loops.front();
  tcp::endpoint endpoint = resolve_listen_address(loop, address);
  core_->acceptor = std::make_unique<tcp::acceptor>(loop);
  core_->accept_retry = std::make_unique<asio::steady_timer>(loop);
  beast::error_code ec;
  core_->acceptor->open(endpoint.protocol(), ec);
  // SO_REUSEADDR (restart after TIME_WAIT) but not SO_REUSEPORT, so that a second
  // process on the same port is refused.
  if (!ec) core_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) core_->acceptor->bind(endpoint, ec);
  if (!ec) core_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::string cause = ec == asio::error::address_in_use ? "address already in use" : ec.message();
    throw std::runtime_error("listen address " + address + ": cannot listen: " + cause);
  }
  core_->port = core_->acceptor->local_endpoint(ec).port();
}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(0)); }

Router& HttpServer::router() { return core_->router; }
const HttpServerOptions& HttpServer::options() const { return core_->options; }
std::uint16_t HttpServer::port() const { return core_->port; }

void HttpServer::start() {
  std::lock_guard lock(core_->mutex);
  if (core_->started || core_->stopped) return;
  core_->started = true;
  core_->handlers = std::make_unique<asio::thread_pool>(
      static_cast<std::size_t>(std::max(1, core_->options.max_threads)));
  for (auto& loop : core_->loops) core_->loop_work.push_back(asio::make_work_guard(*loop));
  asio::post(*core_->loops.front(), [core = core_] { core->accept(); });
  for (auto& loop : core_->loops) {
    core_->loop_threads.emplace_back([raw = loop.get()] { raw->run(); });
  }
}

bool HttpServer::stop(std::chrono::milliseconds drain) {
  Core& core = *core_;
  {
    std::lock_guard lock(core.mutex);
    if (core.stopped) return true;
    core.stopped = true;
    core.stopping = true;
    if (!core.started) {
      beast::error_code ignored;
      core.acceptor->close(ignored);
      return true;
    }
  }
  // Stop accepting and close idle connections; requests arriving on the others get 503.
  asio::post(*core.loops.front(), [c = core_] {
    beast::error_code ignored;
    c->acceptor->close(ignored);
    c->accept_retry->cancel();
  });
  core.close_connections(true);
  bool drained;
  {
    std::unique_lock lock(core.mutex);
    drained = core.drained.wait_for(lock, drain, [&] { return core.in_flight == 0; });
  }
  // Every connection ends now: a request past the deadline loses its client.
  core.close_connections(false);
  core.loop_work.clear();
  // Behind the closes just posted, so that they run first.
  for (auto& loop : core.loops) asio::post(*loop, [raw = loop.get()] { raw->stop(); });
  for (auto& thread : core.loop_threads) thread.join();
  core.loop_threads.clear();
  if (!drained) {
    // A handler still running cannot be interrupted: keep everything it may touch alive
    // (the host keeps the plugin libraries loaded too); the process is about to exit.
    new std::shared_ptr<Core>(core_);
    return false;
  }
  core.handlers->join();
  // Destroying the loops destroys the work still queued on them (connections among it),
  // which breaks the loop → connection → core cycle.
  core.acceptor.reset();
  core.accept_retry.reset();
  core.loops.clear();
  return true;
}

std::size_t HttpServer::in_flight() const {
  std::lock_guard lock(core_->mutex);
  return core_->in_flight;
}

std::size_t HttpServer::open_connections() const {
  std::lock_guard lock(core_->mutex);
  return core_->connections.size();
}

}  // namespace janus
