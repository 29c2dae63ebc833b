// HttpServer over real loopback sockets.
#include <gtest/gtest.h>

#include <future>
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

}  // namespace
}  // namespace janus
