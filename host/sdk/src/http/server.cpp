// HttpServer on Poco's HTTPServer. Poco stays behind this file: plugins see
// only <janus/http.h>.
#include <atomic>
#include <condition_variable>
#include <istream>
#include <mutex>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <spdlog/spdlog.h>

#include "janus/http.h"

namespace janus {

struct HttpServer::Impl {
  HttpServerOptions options;
  std::shared_ptr<spdlog::logger> logger;
  Router router;
  Poco::Net::ServerSocket socket;
  Poco::ThreadPool pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::mutex mutex;
  std::condition_variable drained;
  std::size_t in_flight = 0;
  bool started = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};

  Impl(HttpServerOptions opts, std::shared_ptr<spdlog::logger> log)
      : options(std::move(opts)),
        logger(std::move(log)),
        router(logger),
        pool(2, std::max(2, options.max_threads)) {}

  void serve(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out);
};

namespace {

class RequestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RequestHandler(HttpServer::Impl& impl) : impl_(impl) {}
  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& out) override {
    impl_.serve(in, out);
  }

 private:
  HttpServer::Impl& impl_;
};

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(HttpServer::Impl& impl) : impl_(impl) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new RequestHandler(impl_);
  }

 private:
  HttpServer::Impl& impl_;
};

void send(Poco::Net::HTTPServerResponse& out, const HttpResponse& response) {
  out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
  for (const auto& [name, value] : response.headers.entries()) out.add(name, value);
  // Not sendBuffer(): it leaves the response in Poco's stream buffer until the handler returns,
  // and a drain that saw the request finish could shut the socket down before that flush.
  out.setContentLength64(static_cast<Poco::UInt64>(response.body.size()));
  std::ostream& stream = out.send();
  stream.write(reinterpret_cast<const char*>(response.body.data()),
               static_cast<std::streamsize>(response.body.size()));
  stream.flush();
}

// Reads at most `limit` bytes; returns false if the body is larger.
bool read_body(std::istream& stream, std::size_t limit, Bytes& body) {
  char buffer[16384];
  while (stream) {
    stream.read(buffer, sizeof buffer);
    std::streamsize n = stream.gcount();
    if (n <= 0) break;
    if (body.size() + static_cast<std::size_t>(n) > limit) return false;
    body.insert(body.end(), buffer, buffer + n);
  }
  return true;
}

}  // namespace

void HttpServer::Impl::serve(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) {
  {
    std::lock_guard lock(mutex);
    ++in_flight;
  }
  if (stopping.load()) {
    // The server is draining: no new work on kept-alive connections.
    try {
      out.setKeepAlive(false);
      send(out, HttpResponse::text(503, "server is shutting down\n"));
    } catch (...) {
    }
    std::lock_guard lock(mutex);
    --in_flight;
    drained.notify_all();
    return;
  }
  struct Done {
    Impl& impl;
    ~Done() {
      std::lock_guard lock(impl.mutex);
      --impl.in_flight;
      impl.drained.notify_all();
    }
  } done{*this};

  try {
    HttpRequest request;
    auto method = parse_http_method(in.getMethod());
    if (!method) {
      send(out, HttpResponse::empty(501));
      return;
    }
    request.method = *method;
    const std::string& uri = in.getURI();
    std::size_t question = uri.find('?');
    request.path = uri.substr(0, question);
    if (question != std::string::npos) request.raw_query = uri.substr(question + 1);
    if (request.path.empty() || request.path.front() != '/') {
      send(out, HttpResponse::empty(400));
      return;
    }
    for (const auto& [name, value] : in) request.headers.add(name, value);
    request.peer_address = in.clientAddress().toString();

    if (in.hasContentLength() &&
        in.getContentLength64() > static_cast<Poco::Int64>(options.max_request_body_bytes)) {
      out.setKeepAlive(false);
      send(out, HttpResponse::text(413, "request body too large\n"));
      return;
    }
    if (!read_body(in.stream(), options.max_request_body_bytes, request.body)) {
      out.setKeepAlive(false);
      send(out, HttpResponse::text(413, "request body too large\n"));
      return;
    }
    send(out, router.dispatch(request));
  } catch (const Poco::Exception& e) {
    // The client went away or sent garbage; nothing sensible to answer.
    if (logger) logger->debug("HTTP connection error: {}", e.displayText());
  } catch (const std::exception& e) {
    if (logger) logger->error("HTTP request failed: {}", e.what());
    try {
      if (!out.sent()) send(out, HttpResponse::empty(500));
    } catch (...) {
    }
  }
}

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(logger))) {
  const std::string& address = impl_->options.listen_address;
  Poco::Net::SocketAddress socket_address;
  try {
    socket_address = Poco::Net::SocketAddress(address);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("listen address " + address + ": invalid (" + e.displayText() + ")");
  }
  try {
    // SO_REUSEADDR (restart after TIME_WAIT) but not SO_REUSEPORT, so that a
    // second process on the same port is refused.
    impl_->socket.bind(socket_address, true, false);
    impl_->socket.listen(128);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("listen address " + address + ": cannot listen: " + e.displayText());
  }
}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(0)); }

Router& HttpServer::router() { return impl_->router; }
const HttpServerOptions& HttpServer::options() const { return impl_->options; }
std::uint16_t HttpServer::port() const { return impl_->socket.address().port(); }

void HttpServer::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started || impl_->stopped) return;
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(std::max(2, impl_->options.max_threads));
  params->setMaxQueued(256);
  params->setKeepAliveTimeout(Poco::Timespan(impl_->options.keep_alive_timeout.count(), 0));
  params->setTimeout(Poco::Timespan(60, 0));
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(*impl_), impl_->pool,
                                                          impl_->socket, params);
  impl_->server->start();
  impl_->started = true;
}

bool HttpServer::stop(std::chrono::milliseconds drain) {
  std::unique_lock lock(impl_->mutex);
  if (impl_->stopped) return true;
  impl_->stopped = true;
  impl_->stopping = true;
  if (!impl_->started) {
    lock.unlock();
    impl_->socket.close();
    return true;
  }
  lock.unlock();
  // Stop accepting connections. (Not stopAll(false): Poco's connections then
  // block until their current request is done, which would make the drain
  // unbounded.) Requests arriving on open keep-alive connections from now on
  // get 503 in serve().
  impl_->server->stop();
  lock.lock();
  bool drained = impl_->drained.wait_for(lock, drain, [&] { return impl_->in_flight == 0; });
  lock.unlock();
  // Shut every connection's socket down: idle keep-alive ones end at once,
  // and a request past the deadline loses its client.
  impl_->server->stopAll(true);
  // A handler still running past the deadline cannot be interrupted: the
  // caller is told (false) and must not unload the code it runs.
  if (drained) impl_->pool.joinAll();
  return drained;
}

std::size_t HttpServer::in_flight() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->in_flight;
}

}  // namespace janus
