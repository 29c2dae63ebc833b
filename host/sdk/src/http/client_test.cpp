// HttpClient against the SDK's own HttpServer on loopback.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include "janus/http.h"
#include "janus/http_client.h"

namespace janus {
namespace {

using namespace std::chrono_literals;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.router().add(HttpMethod::Put, "/tasks/{task_id}/echo", [](const HttpRequest& r) {
      HttpResponse response = HttpResponse::bytes(201, "application/octet-stream", r.body);
      response.headers.set("X-Task", *r.path_param("task_id"));
      response.headers.set("X-Auth", r.headers.get("DAP-Auth-Token").value_or("none"));
      response.headers.set("X-Query", r.raw_query);
      return response;
    });
    server_.router().add(HttpMethod::Get, "/flaky", [this](const HttpRequest&) {
      HttpResponse response = HttpResponse::empty(++flaky_calls_ <= 2 ? flaky_status_.load() : 200);
      std::lock_guard lock(flaky_mutex_);
      if (!flaky_retry_after_.empty()) response.headers.set("Retry-After", flaky_retry_after_);
      return response;
    });
    server_.router().add(HttpMethod::Get, "/slow", [](const HttpRequest&) {
      std::this_thread::sleep_for(500ms);
      return HttpResponse::text(200, "late");
    });
    server_.router().add(HttpMethod::Get, "/big", [](const HttpRequest&) {
      return HttpResponse::text(200, std::string(2000, 'x'));
    });
    server_.start();
    base_ = "http://127.0.0.1:" + std::to_string(server_.port());
  }
  void TearDown() override { server_.stop(2s); }

  HttpServer server_{{"127.0.0.1:0"}};
  std::string base_;
  std::atomic<int> flaky_calls_{0};
  std::atomic<int> flaky_status_{503};
  std::mutex flaky_mutex_;
  std::string flaky_retry_after_;
};

HttpClientError::Kind error_kind(const std::function<void()>& body) {
  try {
    body();
  } catch (const HttpClientError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no HttpClientError";
  return HttpClientError::Kind::Protocol;
}

TEST_F(HttpClientTest, SendsMethodHeadersQueryAndBody) {
  HttpClient client;
  HttpHeaders headers;
  headers.add("DAP-Auth-Token", "secret");
  Bytes body = {0, 1, 2, 255};
  auto response = client.send(HttpMethod::Put, base_ + "/tasks/abc/echo?x=1", headers, body);
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, body);
  EXPECT_EQ(response.headers.get("x-task"), "abc");
  EXPECT_EQ(response.headers.get("x-auth"), "secret");
  EXPECT_EQ(response.headers.get("x-query"), "x=1");
  EXPECT_EQ(client.send(HttpMethod::Get, base_ + "/missing", {}).status, 404);
}

TEST_F(HttpClientTest, ErrorKinds) {
  HttpClientOptions options;
  options.request_timeout = 100ms;
  options.max_response_body_bytes = 1000;
  HttpClient client(options);
  EXPECT_EQ(error_kind([&] { client.send(HttpMethod::Get, base_ + "/slow", {}); }),
            HttpClientError::Kind::Timeout);
  EXPECT_EQ(error_kind([&] { client.send(HttpMethod::Get, base_ + "/big", {}); }),
            HttpClientError::Kind::BodyTooLarge);
  EXPECT_EQ(error_kind([&] { client.send(HttpMethod::Get, "ftp://example.com/", {}); }),
            HttpClientError::Kind::InvalidUrl);
  EXPECT_EQ(error_kind([&] { client.send(HttpMethod::Get, "http://", {}); }),
            HttpClientError::Kind::InvalidUrl);
  // A port nobody listens on.
  std::uint16_t closed_port;
  {
    HttpServer probe({"127.0.0.1:0"});
    closed_port = probe.port();
  }
  EXPECT_EQ(error_kind([&] {
              client.send(HttpMethod::Get, "http://127.0.0.1:" + std::to_string(closed_port) + "/",
                          {});
            }),
            HttpClientError::Kind::Connect);
}

// A loopback listener that runs `on_accept` for each connection, for peers that are not HTTP.
// Reads a request up to the end of its head (the tests' requests have no body); false if
// the client hung up first.
bool read_request_head(Poco::Net::StreamSocket& connection) {
  std::string request;
  char buffer[1024];
  while (request.find("\r\n\r\n") == std::string::npos) {
    int n = connection.receiveBytes(buffer, sizeof buffer);
    if (n <= 0) return false;
    request.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

class RawListener {
 public:
  explicit RawListener(std::function<void(Poco::Net::StreamSocket&)> on_accept,
                       Poco::Net::ServerSocket socket =
                           Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)))
      : socket_(std::move(socket)), on_accept_(std::move(on_accept)) {
    thread_ = std::thread([this] {
      while (!stopping_) {
        if (!socket_.poll(Poco::Timespan(0, 20'000), Poco::Net::Socket::SELECT_READ)) continue;
        Poco::Net::StreamSocket connection = socket_.acceptConnection();
        on_accept_(connection);
      }
    });
  }
  ~RawListener() {
    stopping_ = true;
    thread_.join();
  }
  std::uint16_t port() const { return socket_.address().port(); }

 private:
  Poco::Net::ServerSocket socket_;
  std::function<void(Poco::Net::StreamSocket&)> on_accept_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Serves GET requests on each connection it accepts, `per_connection` of them (then it
// closes the connection without warning the client), counting the connections.
class KeepAliveServer {
 public:
  explicit KeepAliveServer(int per_connection)
      : listener_([this, per_connection](Poco::Net::StreamSocket& connection) {
          ++connections;
          try {
            connection.setReceiveTimeout(Poco::Timespan(1, 0));
            for (int served = 0; served < per_connection; ++served) {
              if (!read_request_head(connection)) return;
              const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
              connection.sendBytes(reply.data(), static_cast<int>(reply.size()));
            }
            connection.close();
          } catch (const Poco::Exception&) {
            // The client kept the connection idle until the receive timeout.
          }
        }) {}
  std::string url() const { return "http://127.0.0.1:" + std::to_string(listener_.port()) + "/"; }
  std::atomic<int> connections{0};

 private:
  RawListener listener_;
};

TEST(HttpClientKeepAlive, ReusesItsConnectionForTheNextRequest) {
  KeepAliveServer server(3);
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    HttpClientResponse response = client.send(HttpMethod::Get, server.url(), {});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(std::string(response.body.begin(), response.body.end()), "ok");
  }
  EXPECT_EQ(server.connections.load(), 1);
}

TEST(HttpClientKeepAlive, ANewConnectionWhenThePeerClosedTheIdleOne) {
  KeepAliveServer server(1);
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    HttpClientResponse response = client.send(HttpMethod::Get, server.url(), {});
    EXPECT_EQ(response.status, 200);
    std::this_thread::sleep_for(20ms);  // the server closes the connection meanwhile
  }
  EXPECT_EQ(server.connections.load(), 3);
}

TEST(HttpClientTls, PlainHttpPeerIsAConnectionError) {
  // The peer answers the ClientHello with plain HTTP and hangs up: the handshake fails at once.
  RawListener listener([](Poco::Net::StreamSocket& connection) {
    const std::string reply = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
    connection.sendBytes(reply.data(), static_cast<int>(reply.size()));
    connection.close();
  });
  HttpClient client;
  std::string https = "https://127.0.0.1:" + std::to_string(listener.port()) + "/";
  EXPECT_EQ(error_kind([&] { client.send(HttpMethod::Get, https, {}); }),
            HttpClientError::Kind::Connect);
}

TEST(HttpClientTls, SilentPeerTimesOutWithinTheConnectTimeout) {
  // The peer accepts and never answers: the handshake is bounded by the connect timeout.
  std::vector<Poco::Net::StreamSocket> held;
  std::mutex held_mutex;
  RawListener listener([&](Poco::Net::StreamSocket& connection) {
    std::lock_guard lock(held_mutex);
    held.push_back(connection);
  });
  HttpClientOptions options;
  options.connect_timeout = 200ms;
  options.request_timeout = 1s;
  HttpClient client(options);
  std::string https = "https://127.0.0.1:" + std::to_string(listener.port()) + "/";
  EXPECT_EQ(error_kind([&] { client.send(HttpMethod::Get, https, {}); }),
            HttpClientError::Kind::Timeout);
}

TEST(RetryableStatus, FollowsJanus) {
  EXPECT_TRUE(is_retryable_status(500));
  EXPECT_TRUE(is_retryable_status(503));
  EXPECT_TRUE(is_retryable_status(429));
  EXPECT_FALSE(is_retryable_status(501));
  EXPECT_FALSE(is_retryable_status(400));
  EXPECT_FALSE(is_retryable_status(200));
}

TEST_F(HttpClientTest, RetriesRetryableStatusesWithBackoff) {
  HttpClient client;
  std::vector<std::chrono::milliseconds> waits;
  RetryPolicy policy{10ms, 15ms, 10s, 2.0,
                     [&](std::chrono::milliseconds d) { waits.push_back(d); }};
  auto response = send_with_retry(client, HttpMethod::Get, base_ + "/flaky", {}, {}, policy);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(flaky_calls_, 3);
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{10ms, 15ms}));
}

TEST_F(HttpClientTest, DoesNotRetry501AndStopsWhenBudgetOrCancelled) {
  HttpClient client;
  flaky_status_ = 501;
  RetryPolicy policy{10ms, 10ms, 10s, 2.0, [](std::chrono::milliseconds) {}};
  EXPECT_EQ(send_with_retry(client, HttpMethod::Get, base_ + "/flaky", {}, {}, policy).status, 501);
  EXPECT_EQ(flaky_calls_, 1);

  flaky_calls_ = 0;
  flaky_status_ = 429;
  // The waits are injected, so only they count against the budget (unless the machine takes
  // seconds to answer on loopback).
  RetryPolicy tight{10s, 10s, 15s, 2.0, [](std::chrono::milliseconds) {}};
  EXPECT_EQ(send_with_retry(client, HttpMethod::Get, base_ + "/flaky", {}, {}, tight).status, 429);
  EXPECT_EQ(flaky_calls_, 2);  // one retry fits in the budget

  flaky_calls_ = 0;
  EXPECT_EQ(send_with_retry(client, HttpMethod::Get, base_ + "/flaky", {}, {}, policy,
                            [] { return true; })
                .status,
            429);
  EXPECT_EQ(flaky_calls_, 1);
}

TEST_F(HttpClientTest, HonoursRetryAfterWithinTheBudget) {
  HttpClient client;
  flaky_status_ = 429;
  flaky_retry_after_ = "3";
  std::vector<std::chrono::milliseconds> waits;
  RetryPolicy policy{10ms, 15ms, 10s, 2.0,
                     [&](std::chrono::milliseconds d) { waits.push_back(d); }};
  EXPECT_EQ(send_with_retry(client, HttpMethod::Get, base_ + "/flaky", {}, {}, policy).status, 200);
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{3000ms, 3000ms}));
  // Longer than the budget: the 429 is the answer, after one try.
  flaky_calls_ = 0;
  flaky_retry_after_ = "30";
  waits.clear();
  EXPECT_EQ(send_with_retry(client, HttpMethod::Get, base_ + "/flaky", {}, {}, policy).status, 429);
  EXPECT_EQ(flaky_calls_, 1);
  EXPECT_TRUE(waits.empty());
  HttpClientResponse dated;
  dated.headers.add("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_FALSE(retry_after(dated));
}

TEST(HttpClientRetry, ConnectionErrorsAreRetriedThenThrown) {
  std::uint16_t closed_port;
  {
    HttpServer probe({"127.0.0.1:0"});
    closed_port = probe.port();
  }
  HttpClient client;
  int waits = 0;
  RetryPolicy policy{10ms, 10ms, 35ms, 2.0, [&](std::chrono::milliseconds) { ++waits; }};
  EXPECT_THROW(
      send_with_retry(client, HttpMethod::Get,
                      "http://127.0.0.1:" + std::to_string(closed_port) + "/", {}, {}, policy),
      HttpClientError);
  EXPECT_EQ(waits, 3);
}

// A self-signed certificate made by the openssl command for this test, naming `subject_alt_names`.
struct TestCertificate {
  std::filesystem::path dir;
  std::string cert_file, key_file;
  explicit TestCertificate(const std::string& subject_alt_names) {
    dir = std::filesystem::temp_directory_path() /
          ("janus-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir);
    cert_file = (dir / "cert.pem").string();
    key_file = (dir / "key.pem").string();
    std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=janus-test -addext subjectAltName=" +
        subject_alt_names + " -keyout " + key_file + " -out " + cert_file + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed");
  }
  ~TestCertificate() { std::filesystem::remove_all(dir); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// Serves one canned HTTP response over TLS with `certificate`.
class TlsServer {
 public:
  explicit TlsServer(const TestCertificate& certificate)
      : context_(new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, certificate.key_file,
                                        certificate.cert_file, "",
                                        Poco::Net::Context::VERIFY_NONE)),
        listener_(
            [](Poco::Net::StreamSocket& connection) {
              try {
                connection.setReceiveTimeout(Poco::Timespan(2, 0));
                if (!read_request_head(connection)) return;
                const std::string reply =
                    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret";
                connection.sendBytes(reply.data(), static_cast<int>(reply.size()));
                connection.shutdown();
              } catch (const Poco::Exception&) {
                // A client that rejected our certificate hangs up mid-handshake.
              }
            },
            Poco::Net::SecureServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context_)) {
  }
  std::uint16_t port() const { return listener_.port(); }

 private:
  Poco::Net::Context::Ptr context_;
  RawListener listener_;
};

TEST(HttpClientTls, TrustedCertificateForTheNameServes) {
  TestCertificate certificate("DNS:localhost,IP:127.0.0.1");
  TlsServer server(certificate);
  HttpClientOptions options;
  options.ca_file = certificate.cert_file;
  HttpClient client(options);
  for (std::string host : {"localhost", "127.0.0.1"}) {
    auto response = client.send(HttpMethod::Get,
                                "https://" + host + ":" + std::to_string(server.port()) + "/x", {});
    EXPECT_EQ(response.status, 200) << host;
    EXPECT_EQ(std::string(response.body.begin(), response.body.end()), "secret") << host;
  }
}

TEST(HttpClientTls, UntrustedOrMisnamedCertificateIsAConnectionError) {
  TestCertificate certificate("DNS:localhost");
  TlsServer server(certificate);
  std::string port = std::to_string(server.port());
  HttpClient untrusting;  // the system CAs only
  EXPECT_EQ(error_kind([&] { untrusting.send(HttpMethod::Get, "https://localhost:" + port, {}); }),
            HttpClientError::Kind::Connect);
  HttpClientOptions options;
  options.ca_file = certificate.cert_file;
  HttpClient trusting(options);
  EXPECT_EQ(trusting.send(HttpMethod::Get, "https://localhost:" + port, {}).status, 200);
  // Trusted, but issued for localhost, not for 127.0.0.1.
  EXPECT_EQ(error_kind([&] { trusting.send(HttpMethod::Get, "https://127.0.0.1:" + port, {}); }),
            HttpClientError::Kind::Connect);
}

}  // namespace
}  // namespace janus
