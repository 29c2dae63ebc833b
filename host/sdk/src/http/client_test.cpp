// HttpClient against the SDK's own HttpServer on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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
      return HttpResponse::empty(++flaky_calls_ <= 2 ? flaky_status_.load() : 200);
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
  // https to a plain-HTTP server fails in the TLS handshake, as a connection error.
  std::string https = "https://127.0.0.1:" + std::to_string(server_.port()) + "/big";
  EXPECT_EQ(error_kind([&] { client.send(HttpMethod::Get, https, {}); }),
            HttpClientError::Kind::Connect);
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
  RetryPolicy tight{10ms, 10ms, 15ms, 2.0, [](std::chrono::milliseconds) {}};
  EXPECT_EQ(send_with_retry(client, HttpMethod::Get, base_ + "/flaky", {}, {}, tight).status, 429);
  EXPECT_EQ(flaky_calls_, 2);  // one retry fits in the budget

  flaky_calls_ = 0;
  EXPECT_EQ(send_with_retry(client, HttpMethod::Get, base_ + "/flaky", {}, {}, policy,
                            [] { return true; })
                .status,
            429);
  EXPECT_EQ(flaky_calls_, 1);
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

}  // namespace
}  // namespace janus
