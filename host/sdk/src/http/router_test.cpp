#include <gtest/gtest.h>

#include "janus/http.h"

namespace janus {
namespace {

HttpRequest request(HttpMethod method, std::string path, std::string query = "") {
  HttpRequest r;
  r.method = method;
  r.path = std::move(path);
  r.raw_query = std::move(query);
  return r;
}

std::string body_of(const HttpResponse& response) {
  return std::string(response.body.begin(), response.body.end());
}

TEST(Router, MatchesParametersAndQuery) {
  Router router;
  router.add(HttpMethod::Put, "/tasks/{task_id}/reports", [](const HttpRequest& r) {
    return HttpResponse::text(200, "report for " + *r.path_param("task_id"));
  });
  router.add(HttpMethod::Get, "/hpke_config", [](const HttpRequest& r) {
    return HttpResponse::text(200, r.query_param("task_id").value_or("none"));
  });
  auto put = request(HttpMethod::Put, "/tasks/abc_-DEF/reports");
  EXPECT_EQ(body_of(router.dispatch(put)), "report for abc_-DEF");
  auto get = request(HttpMethod::Get, "/hpke_config", "task_id=a%2Bb+c&x=1");
  auto response = router.dispatch(get);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(body_of(response), "a+b c");
  EXPECT_EQ(get.query_params.size(), 2u);
}

TEST(Router, NotFoundAndMethodNotAllowed) {
  Router router;
  router.add(HttpMethod::Put, "/tasks/{task_id}/reports",
             [](const HttpRequest&) { return HttpResponse::empty(201); });
  router.add(HttpMethod::Post, "/tasks/{id}/reports",
             [](const HttpRequest&) { return HttpResponse::empty(201); });
  auto missing = request(HttpMethod::Put, "/tasks/x/reportz");
  EXPECT_EQ(router.dispatch(missing).status, 404);
  auto empty_param = request(HttpMethod::Put, "/tasks//reports");
  EXPECT_EQ(router.dispatch(empty_param).status, 404);
  auto wrong = request(HttpMethod::Get, "/tasks/x/reports");
  auto response = router.dispatch(wrong);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.get("allow"), "PUT, POST");
}

TEST(Router, LiteralBeatsParameterAndHeadFallsBackToGet) {
  Router router;
  router.add(HttpMethod::Get, "/items/{id}",
             [](const HttpRequest&) { return HttpResponse::text(200, "param"); });
  router.add(HttpMethod::Get, "/items/special",
             [](const HttpRequest&) { return HttpResponse::text(200, "literal"); });
  auto special = request(HttpMethod::Get, "/items/special");
  EXPECT_EQ(body_of(router.dispatch(special)), "literal");
  auto other = request(HttpMethod::Get, "/items/other");
  EXPECT_EQ(body_of(router.dispatch(other)), "param");
  auto head = request(HttpMethod::Head, "/items/other");
  EXPECT_EQ(router.dispatch(head).status, 200);
}

TEST(Router, HandlerExceptionIs500) {
  Router router;
  router.add(HttpMethod::Get, "/boom",
             [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("bad"); });
  auto boom = request(HttpMethod::Get, "/boom");
  EXPECT_EQ(router.dispatch(boom).status, 500);
}

TEST(Router, RejectsBadPatternsAndDuplicates) {
  Router router;
  auto ok = [](const HttpRequest&) { return HttpResponse::empty(200); };
  EXPECT_THROW(router.add(HttpMethod::Get, "no-slash", ok), std::invalid_argument);
  EXPECT_THROW(router.add(HttpMethod::Get, "/a/x{id}", ok), std::invalid_argument);
  router.add(HttpMethod::Get, "/a/{id}", ok);
  EXPECT_THROW(router.add(HttpMethod::Get, "/a/{other}", ok), std::invalid_argument);
  EXPECT_NO_THROW(router.add(HttpMethod::Put, "/a/{id}", ok));
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_FALSE(percent_decode("a%2").has_value());
  EXPECT_FALSE(percent_decode("a%zz").has_value());
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
}

TEST(HttpHeaders, CaseInsensitive) {
  HttpHeaders headers;
  headers.add("Content-Type", "a");
  headers.add("X-Many", "1");
  headers.add("x-many", "2");
  EXPECT_EQ(headers.get("content-type"), "a");
  EXPECT_EQ(headers.get_all("X-MANY").size(), 2u);
  headers.set("x-many", "3");
  EXPECT_EQ(headers.get_all("X-Many"), std::vector<std::string>{"3"});
}

}  // namespace
}  // namespace janus
