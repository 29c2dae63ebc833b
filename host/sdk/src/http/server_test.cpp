// HttpServer over real loopback sockets.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <set>
#include <thread>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include "janus/http.h"

namespace janus {
namespace {

using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::string body;
  Poco::Net::HTTPResponse response;
};

Reply call(std::uint16_t port, const std::string& method, const std::string& uri,
           const std::string& body = "", bool chunked = false) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
  if (chunked) {
    request.setChunkedTransferEncoding(true);
  } else if (!body.empty()) {
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(request) << body;
  Reply reply;
  std::istream& in = session.receiveResponse(reply.response);
  Poco::StreamCopier::copyToString(in, reply.body);
  reply.status = reply.response.getStatus();
  return reply;
}

// A raw loopback connection, for what an HTTP client library will not do (send half a
// request, stall, omit Content-Length).
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& text) {
    return ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }
  // What arrives until the peer closes, `wanted` bytes of it have come, or `timeout` passes.
  std::string receive(std::chrono::milliseconds timeout, std::size_t wanted = SIZE_MAX) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < wanted) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

TEST(HttpServer, ServesRoutesWithBodiesHeadersAndPeer) {
  HttpServer server({"127.0.0.1:0", 1024});
  server.router().add(HttpMethod::Post, "/echo/{name}", [](const HttpRequest& r) {
    HttpResponse response = HttpResponse::bytes(200, "application/octet-stream", r.body);
    response.headers.set("X-Name", *r.path_param("name"));
    response.headers.set("X-Peer-Set", r.peer_address.rfind("127.0.0.1:", 0) == 0 ? "yes" : "no");
    response.headers.set("X-Got-Header", r.headers.get("content-length").value_or("none"));
    return response;
  });
  ASSERT_NE(server.port(), 0);
  server.start();
  Reply reply = call(server.port(), "POST", "/echo/bob", "hello");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "hello");
  EXPECT_EQ(reply.response.get("X-Name"), "bob");
  EXPECT_EQ(reply.response.get("X-Peer-Set"), "yes");
  EXPECT_EQ(reply.response.get("X-Got-Header"), "5");
  EXPECT_EQ(call(server.port(), "GET", "/nothing").status, 404);
  EXPECT_EQ(call(server.port(), "GET", "/echo/bob").status, 405);
  EXPECT_EQ(call(server.port(), "BREW", "/echo/bob").status, 501);
  EXPECT_TRUE(server.stop(1s));
}

TEST(HttpServer, BodyLimitGives413) {
  HttpServer server({"127.0.0.1:0", 16});
  server.router().add(HttpMethod::Put, "/upload",
                      [](const HttpRequest&) { return HttpResponse::empty(201); });
  server.start();
  EXPECT_EQ(call(server.port(), "PUT", "/upload", std::string(16, 'x')).status, 201);
  EXPECT_EQ(call(server.port(), "PUT", "/upload", std::string(17, 'x')).status, 413);
  EXPECT_EQ(call(server.port(), "PUT", "/upload", std::string(100, 'x'), true).status, 413);
  EXPECT_EQ(call(server.port(), "PUT", "/upload", std::string(10, 'x'), true).status, 201);
  server.stop(1s);
}

TEST(HttpServer, HandlerExceptionGives500AndServerLives) {
  HttpServer server({"127.0.0.1:0"});
  server.router().add(HttpMethod::Get, "/boom",
                      [](const HttpRequest&) -> HttpResponse { throw std::logic_error("x"); });
  server.router().add(HttpMethod::Get, "/ok",
                      [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  server.start();
  EXPECT_EQ(call(server.port(), "GET", "/boom").status, 500);
  EXPECT_EQ(call(server.port(), "GET", "/ok").body, "ok");
  server.stop(1s);
}

TEST(HttpServer, PortInUseIsAClearError) {
  HttpServer first({"127.0.0.1:0"});
  std::string address = "127.0.0.1:" + std::to_string(first.port());
  try {
    HttpServer second({address});
    FAIL() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("listen address " + address), std::string::npos) << message;
    EXPECT_NE(message.find("in use"), std::string::npos) << message;
  }
  EXPECT_THROW(HttpServer({"not an address"}), std::runtime_error);
}

TEST(HttpServer, StopDrainsInFlightRequests) {
  HttpServer server({"127.0.0.1:0"});
  std::promise<void> entered;
  server.router().add(HttpMethod::Get, "/slow", [&](const HttpRequest&) {
    entered.set_value();
    std::this_thread::sleep_for(300ms);
    return HttpResponse::text(200, "done");
  });
  server.start();
  auto port = server.port();
  auto pending = std::async(std::launch::async, [port] { return call(port, "GET", "/slow"); });
  entered.get_future().wait();
  EXPECT_TRUE(server.stop(5s));
  Reply reply = pending.get();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "done");
}

TEST(HttpServer, RequestWithoutContentLengthHasNoBodyAndIsAnsweredAtOnce) {
  // A browser's CORS preflight: OPTIONS with neither Content-Length nor a body. The server
  // must not wait for a body that is not coming.
  HttpServer server({"127.0.0.1:0"});
  server.router().add(HttpMethod::Options, "/tasks/{task_id}/reports", [](const HttpRequest& r) {
    return HttpResponse::text(200, r.body.empty() ? "none" : "body");
  });
  server.router().add(HttpMethod::Get, "/hpke_config",
                      [](const HttpRequest&) { return HttpResponse::text(200, "config"); });
  server.start();
  RawConnection connection(server.port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(
      "OPTIONS /tasks/abc/reports HTTP/1.1\r\nHost: x\r\nOrigin: http://page.example\r\n"
      "Access-Control-Request-Method: PUT\r\n\r\n"));
  // Answered well before any body or idle timeout (both are seconds): the answer is
  // complete once its 4-byte body has arrived.
  std::string answer = connection.receive(2s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("\r\n\r\nnone"), std::string::npos) << answer;
  // The connection stays open for the next request (a GET has no body either).
  ASSERT_TRUE(connection.send("GET /hpke_config HTTP/1.1\r\nHost: x\r\n\r\n"));
  answer = connection.receive(2s);
  EXPECT_NE(answer.find("\r\n\r\nconfig"), std::string::npos) << answer;
  server.stop(1s);
}

TEST(HttpServer, SlowClientsTimeOutWithoutBlockingOthers) {
  HttpServerOptions options{"127.0.0.1:0"};
  options.max_threads = 1;  // even one handler thread is enough: slow clients hold none
  options.io_threads = 1;
  options.header_timeout = 300ms;
  options.body_timeout = 300ms;
  options.keep_alive_timeout = 300ms;
  HttpServer server(options);
  server.router().add(HttpMethod::Get, "/ok",
                      [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  server.router().add(HttpMethod::Put, "/ok",
                      [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  server.start();
  // Slow header (slowloris), slow body, silent new connection, idle keep-alive connection.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(slow.back()->send("GET /ok HTTP/1.1\r\nHost: x\r\n"));
  }
  RawConnection slow_body(server.port());
  ASSERT_TRUE(slow_body.send("PUT /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  RawConnection silent(server.port());
  RawConnection idle(server.port());
  ASSERT_TRUE(idle.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(idle.receive(2s, 1).find("HTTP/1.1 200"), std::string::npos);
  // Meanwhile everyone else is served.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(server.port(), "GET", "/ok").body, "ok");
  // Each slow or idle connection is closed once its timeout passes (10 s bounds the test).
  for (auto& connection : slow) {
    connection->receive(10s);
    EXPECT_TRUE(connection->closed());
  }
  slow_body.receive(10s);
  EXPECT_TRUE(slow_body.closed());
  silent.receive(10s);
  EXPECT_TRUE(silent.closed());
  idle.receive(10s);
  EXPECT_TRUE(idle.closed());
  EXPECT_EQ(call(server.port(), "GET", "/ok").body, "ok");
  server.stop(1s);
}

TEST(HttpServer, ConnectionLimitAnswers503) {
  HttpServerOptions options{"127.0.0.1:0"};
  options.max_connections = 3;
  HttpServer server(options);
  server.router().add(HttpMethod::Get, "/ok",
                      [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  server.start();
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(held.back()->send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_NE(held.back()->receive(2s, 1).find("200"), std::string::npos);
  }
  EXPECT_EQ(server.open_connections(), 3u);
  RawConnection extra(server.port());
  ASSERT_TRUE(extra.connected());
  extra.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string answer = extra.receive(5s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  // A freed slot serves again.
  held.pop_back();
  std::string served;
  for (int attempt = 0; attempt < 100 && served.find(" 200 ") == std::string::npos; ++attempt) {
    RawConnection next(server.port());
    next.send("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    served = next.receive(2s);
    if (served.find(" 200 ") == std::string::npos) std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(served.find(" 200 "), std::string::npos) << served;
  server.stop(1s);
}

TEST(HttpServer, AsyncHandlersHoldNoThreadWhileTheyWait) {
  // One handler thread, eight requests whose answers come later from another thread: all
  // eight are dispatched (none waits for a thread), then answered.
  HttpServerOptions options{"127.0.0.1:0"};
  options.max_threads = 1;
  HttpServer server(options);
  std::mutex mutex;
  std::vector<HttpResponder> waiting;
  server.router().add_async(
      HttpMethod::Get, "/later/{n}", [&](const HttpRequest& r, HttpResponder respond) {
        std::string n = *r.path_param("n");
        std::lock_guard lock(mutex);
        waiting.push_back(
            HttpResponder([respond, n](HttpResponse) { respond(HttpResponse::text(200, n)); }));
      });
  server.start();
  std::vector<std::future<Reply>> replies;
  for (int i = 0; i < 8; ++i) {
    replies.push_back(std::async(std::launch::async, [&, i] {
      return call(server.port(), "GET", "/later/" + std::to_string(i));
    }));
  }
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mutex);
      if (waiting.size() == 8) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.in_flight(), 8u);
  std::thread answerer([&] {
    std::lock_guard lock(mutex);
    for (auto& respond : waiting) respond(HttpResponse::empty(200));
    waiting.clear();
  });
  answerer.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(replies[i].get().body, std::to_string(i));
  server.stop(1s);
}

TEST(HttpServer, EventLoopRoutesRunWithoutTheHandlerPool) {
  // The only handler thread is blocked: a request whose route may run on the event loop is
  // still answered, on the event-loop thread; the same route's other requests (the
  // predicate says no) and other routes wait for the pool.
  HttpServerOptions options{"127.0.0.1:0"};
  options.max_threads = 1;
  options.io_threads = 1;
  HttpServer server(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> blocking_started;
  server.router().add(HttpMethod::Get, "/block", [&](const HttpRequest&) {
    blocking_started.set_value();
    released.wait();
    return HttpResponse::text(200, "unblocked");
  });
  std::mutex mutex;
  std::set<std::thread::id> fast_threads, slow_threads;
  server.router().add_async(
      HttpMethod::Get, "/work/{kind}",
      [&](const HttpRequest& r, HttpResponder respond) {
        std::string kind = *r.path_param("kind");
        {
          std::lock_guard lock(mutex);
          (kind == "fast" ? fast_threads : slow_threads).insert(std::this_thread::get_id());
        }
        respond(HttpResponse::text(200, kind));
      },
      RouteOptions{.run_on_event_loop = [](const HttpRequest& r) {
        return r.path_param("kind") == "fast";
      }});
  server.start();
  auto blocked =
      std::async(std::launch::async, [&] { return call(server.port(), "GET", "/block"); });
  blocking_started.get_future().wait();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(server.port(), "GET", "/work/fast").body, "fast");
  auto slow =
      std::async(std::launch::async, [&] { return call(server.port(), "GET", "/work/slow"); });
  EXPECT_EQ(slow.wait_for(200ms), std::future_status::timeout);  // waits for the pool
  release.set_value();
  EXPECT_EQ(slow.get().body, "slow");
  EXPECT_EQ(blocked.get().body, "unblocked");
  std::lock_guard lock(mutex);
  ASSERT_EQ(fast_threads.size(), 1u);  // the one event-loop thread
  ASSERT_EQ(slow_threads.size(), 1u);  // the one handler thread
  EXPECT_NE(*fast_threads.begin(), *slow_threads.begin());
  server.stop(1s);
}

TEST(HttpServer, ALostResponderAnswers500) {
  HttpServer server({"127.0.0.1:0"});
  server.router().add_async(HttpMethod::Get, "/lost", [](const HttpRequest&, HttpResponder) {});
  server.start();
  EXPECT_EQ(call(server.port(), "GET", "/lost").status, 500);
  server.stop(1s);
}

TEST(HttpServer, HeadGetsTheLengthWithoutTheBody) {
  HttpServer server({"127.0.0.1:0"});
  server.router().add(HttpMethod::Get, "/thing",
                      [](const HttpRequest&) { return HttpResponse::text(200, "twelve bytes"); });
  server.start();
  RawConnection connection(server.port());
  ASSERT_TRUE(connection.send("HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string answer = connection.receive(1s);
  EXPECT_NE(answer.find("Content-Length: 12\r\n"), std::string::npos) << answer;
  EXPECT_EQ(answer.substr(answer.size() - 4), "\r\n\r\n") << answer;
  server.stop(1s);
}

TEST(HttpServer, ExpectContinueIsHonoured) {
  HttpServer server({"127.0.0.1:0"});
  server.router().add(HttpMethod::Put, "/echo", [](const HttpRequest& r) {
    return HttpResponse::bytes(200, "application/octet-stream", r.body);
  });
  server.start();
  RawConnection connection(server.port());
  ASSERT_TRUE(connection.send(
      "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(connection.receive(2s, 25).rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u);
  ASSERT_TRUE(connection.send("hello"));
  std::string answer = connection.receive(2s);
  EXPECT_NE(answer.find("\r\n\r\nhello"), std::string::npos) << answer;
  server.stop(1s);
}

TEST(HttpServer, MalformedRequestsGet400AndTheServerLives) {
  HttpServer server({"127.0.0.1:0"});
  server.router().add(HttpMethod::Get, "/ok",
                      [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  server.start();
  for (const std::string& garbage :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
        std::string("GET /ok HTTP/1.1\r\nContent-Length: nope\r\n\r\n"),
        std::string("GET /ok HTTP/9.9\r\n\r\n"), std::string("GET ok HTTP/1.1\r\n\r\n"),
        std::string("PUT /ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}) {
    RawConnection connection(server.port());
    ASSERT_TRUE(connection.send(garbage));
    std::string answer = connection.receive(2s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << garbage << " -> " << answer;
  }
  RawConnection huge(server.port());
  huge.send("GET /ok HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(huge.receive(2s).rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(call(server.port(), "GET", "/ok").body, "ok");
  server.stop(1s);
}

}  // namespace
}  // namespace janus
