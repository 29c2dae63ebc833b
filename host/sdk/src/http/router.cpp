#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <future>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "janus/http.h"
#include "janus/metrics.h"
#include "janus/tracing.h"

namespace janus {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;  // paths are absolute
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<HttpMethod> parse_http_method(std::string_view text) {
  static const std::pair<std::string_view, HttpMethod> kMethods[] = {
      {"GET", HttpMethod::Get},         {"HEAD", HttpMethod::Head},
      {"POST", HttpMethod::Post},       {"PUT", HttpMethod::Put},
      {"PATCH", HttpMethod::Patch},     {"DELETE", HttpMethod::Delete},
      {"OPTIONS", HttpMethod::Options},
  };
  for (const auto& [name, method] : kMethods) {
    if (name == text) return method;
  }
  return std::nullopt;
}

std::string_view to_string(HttpMethod method) {
  switch (method) {
    case HttpMethod::Get:
      return "GET";
    case HttpMethod::Head:
      return "HEAD";
    case HttpMethod::Post:
      return "POST";
    case HttpMethod::Put:
      return "PUT";
    case HttpMethod::Patch:
      return "PATCH";
    case HttpMethod::Delete:
      return "DELETE";
    case HttpMethod::Options:
      return "OPTIONS";
  }
  return "GET";
}

void HttpHeaders::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::set(const std::string& name, std::string value) {
  std::erase_if(entries_, [&](const auto& entry) { return iequals(entry.first, name); });
  entries_.emplace_back(name, std::move(value));
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpHeaders::get_all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : entries_) {
    if (iequals(key, name)) out.push_back(value);
  }
  return out;
}

std::optional<std::string> HttpRequest::path_param(const std::string& name) const {
  auto it = path_params.find(name);
  if (it == path_params.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  for (const auto& [key, value] : query_params) {
    if (key == name) return value;
  }
  return std::nullopt;
}

HttpResponse HttpResponse::empty(int status) {
  HttpResponse response;
  response.status = status;
  return response;
}

HttpResponse HttpResponse::text(int status, std::string_view body) {
  return bytes(status, "text/plain; charset=utf-8", to_bytes(body));
}

HttpResponse HttpResponse::bytes(int status, std::string content_type, Bytes body) {
  HttpResponse response;
  response.status = status;
  response.headers.set("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start < raw_query.size()) {
    std::size_t amp = raw_query.find('&', start);
    if (amp == std::string_view::npos) amp = raw_query.size();
    std::string_view item = raw_query.substr(start, amp - start);
    start = amp + 1;
    if (item.empty()) continue;
    std::size_t equals = item.find('=');
    std::string_view name = item.substr(0, equals);
    std::string_view value = equals == std::string_view::npos ? "" : item.substr(equals + 1);
    auto decoded_name = percent_decode(name, true);
    auto decoded_value = percent_decode(value, true);
    // A malformed escape keeps the raw text rather than dropping the pair.
    out.emplace_back(decoded_name ? *decoded_name : std::string(name),
                     decoded_value ? *decoded_value : std::string(value));
  }
  return out;
}

Router::Router(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

struct HttpResponder::State {
  explicit State(std::function<void(HttpResponse)> s) : send(std::move(s)) {}
  ~State() {
    // Nobody answered: the client must not hang.
    if (!done.exchange(true)) {
      try {
        send(HttpResponse::empty(500));
      } catch (...) {
      }
    }
  }
  std::function<void(HttpResponse)> send;
  std::atomic<bool> done{false};
};

HttpResponder::HttpResponder(std::function<void(HttpResponse)> send)
    : state_(std::make_shared<State>(std::move(send))) {}

void HttpResponder::operator()(HttpResponse response) const {
  if (!state_ || state_->done.exchange(true)) return;
  state_->send(std::move(response));
}

bool HttpResponder::responded() const { return state_ && state_->done.load(); }

AsyncHttpHandler make_async_handler(HttpHandler handler) {
  if (!handler) return nullptr;
  return [handler = std::move(handler)](const HttpRequest& request, HttpResponder respond) {
    respond(handler(request));
  };
}

void Router::add(HttpMethod method, std::string_view pattern, HttpHandler handler) {
  if (!handler) throw std::invalid_argument("route " + std::string(pattern) + " has no handler");
  add_async(method, pattern, make_async_handler(std::move(handler)));
}

void Router::add_async(HttpMethod method, std::string_view pattern, AsyncHttpHandler handler,
                       RouteOptions options) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern '" + std::string(pattern) + "' must start with '/'");
  }
  if (!handler) throw std::invalid_argument("route " + std::string(pattern) + " has no handler");
  Route route{method, std::string(pattern), {}, 0, std::move(handler), std::move(options)};
  for (std::string_view segment : split_path(pattern)) {
    bool has_brace = segment.find_first_of("{}") != std::string_view::npos;
    if (has_brace && !is_parameter(segment)) {
      throw std::invalid_argument("route pattern '" + std::string(pattern) +
                                  "': a parameter must be a whole segment like {name}");
    }
    if (!has_brace) ++route.literal_count;
    route.segments.emplace_back(segment);
  }
  // Two patterns that differ only in parameter names are the same route.
  auto shape = [](const Route& r) {
    std::vector<std::string> s;
    for (const auto& seg : r.segments) s.push_back(is_parameter(seg) ? "{}" : seg);
    return s;
  };
  for (const auto& existing : routes_) {
    if (existing.method == method && shape(existing) == shape(route)) {
      throw std::invalid_argument("route " + std::string(to_string(method)) + " " + route.pattern +
                                  " is registered twice");
    }
  }
  routes_.push_back(std::move(route));
}

void Router::dispatch(HttpRequest& request, HttpResponder respond, const HandlerPool& pool) const {
  std::optional<HttpResponse> answer;
  const Route* route = match(request, answer);
  const std::string route_label = route ? route->pattern : std::string("unmatched");
  // One span per request, named as OpenTelemetry's HTTP semantic conventions name server
  // spans; the DAP ids in the path are attributes.
  std::shared_ptr<tracing::Span> span;  // none when tracing is off: no allocation
  if (tracing::enabled()) {
    span = std::make_shared<tracing::Span>(tracing::Span::start(
        std::string(to_string(request.method)) + " " + route_label, tracing::SpanKind::Server));
    span->set_attribute("http.request.method", to_string(request.method));
    span->set_attribute("http.route", route_label);
    span->set_attribute("url.path", request.path);
    for (const char* id : {"task_id", "aggregation_job_id", "collection_job_id"}) {
      if (auto value = request.path_param(id)) span->set_attribute(id, *value);
    }
  }
  // OpenTelemetry's HTTP server metric, as Janus exports it to Prometheus, recorded when
  // the answer is sent (an asynchronous handler answers later, from another thread).
  HttpResponder recorded([respond, started = std::chrono::steady_clock::now(),
                          method = request.method, route_label, span](HttpResponse response) {
    if (span) {
      span->set_attribute("http.response.status_code", std::int64_t{response.status});
      if (response.status >= 500) span->set_error("HTTP " + std::to_string(response.status));
      span->end();
    }
    metrics::registry()
        .histogram("http_server_request_duration_seconds", "Duration of HTTP server requests.",
                   metrics::duration_buckets(),
                   {{"http_request_method", std::string(to_string(method))},
                    {"http_route", route_label},
                    {"http_response_status_code", std::to_string(response.status)}})
        .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    respond(std::move(response));
  });
  if (!route) {
    recorded(std::move(*answer));
    return;
  }
  // The handler runs in the span's scope, so the transactions it runs are its children.
  auto run = [this, route, &request, recorded, span]() {
    std::optional<tracing::Span::Scope> scope;
    if (span) scope.emplace(span->activate());
    try {
      // For HEAD the server sends the GET handler's headers (Content-Length
      // included) without the body.
      route->handler(request, recorded);
      return;
    } catch (const std::exception& e) {
      if (logger_) {
        logger_->error("handler for {} {} failed: {}", to_string(request.method), route->pattern,
                       e.what());
      }
    } catch (...) {
      if (logger_) {
        logger_->error("handler for {} {} failed with a non-standard exception",
                       to_string(request.method), route->pattern);
      }
    }
    recorded(HttpResponse::empty(500));  // ignored if the handler answered before throwing
  };
  // In the caller's thread: without a pool (tests), or when the route says this request
  // neither blocks nor runs long (the caller is then the event loop).
  bool run_here = !pool;
  if (!run_here && route->options.run_on_event_loop) {
    try {
      run_here = route->options.run_on_event_loop(request);
    } catch (const std::exception& e) {
      if (logger_)
        logger_->warn("route {}: run_on_event_loop failed: {}", route->pattern, e.what());
    }
  }
  if (run_here) {
    run();
  } else {
    pool(std::move(run));
  }
}

HttpResponse Router::dispatch(HttpRequest& request) const {
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> answer = promise->get_future();
  dispatch(request, HttpResponder([promise](HttpResponse response) {
             promise->set_value(std::move(response));
           }));
  return answer.get();
}

const Router::Route* Router::match(HttpRequest& request,
                                   std::optional<HttpResponse>& answer) const {
  std::vector<std::string_view> parts = split_path(request.path);
  const Route* best = nullptr;
  std::map<std::string, std::string> best_params;
  std::vector<HttpMethod> allowed;
  for (int pass = 0; pass < 2 && !best; ++pass) {
    // Pass 0: routes for the request's method; pass 1: GET routes for HEAD.
    HttpMethod wanted = request.method;
    if (pass == 1) {
      if (request.method != HttpMethod::Head) break;
      wanted = HttpMethod::Get;
    }
    for (const auto& route : routes_) {
      if (route.segments.size() != parts.size()) continue;
      std::map<std::string, std::string> params;
      bool matched = true;
      for (std::size_t i = 0; i < parts.size() && matched; ++i) {
        const std::string& segment = route.segments[i];
        if (is_parameter(segment)) {
          auto decoded = parts[i].empty() ? std::nullopt : percent_decode(parts[i]);
          if (!decoded) {
            matched = false;
          } else {
            params[segment.substr(1, segment.size() - 2)] = *decoded;
          }
        } else if (segment != parts[i]) {
          matched = false;
        }
      }
      if (!matched) continue;
      if (pass == 0 && std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
        allowed.push_back(route.method);
      }
      if (route.method != wanted) continue;
      if (!best || route.literal_count > best->literal_count) {
        best = &route;
        best_params = std::move(params);
      }
    }
  }
  if (!best) {
    if (allowed.empty()) {
      answer = HttpResponse::empty(404);
      return nullptr;
    }
    answer = HttpResponse::empty(405);
    std::string allow;
    for (HttpMethod method : allowed) {
      if (!allow.empty()) allow += ", ";
      allow += to_string(method);
    }
    answer->headers.set("Allow", allow);
    return nullptr;
  }
  request.path_params = std::move(best_params);
  request.query_params = parse_query(request.raw_query);
  return best;
}

}  // namespace janus
