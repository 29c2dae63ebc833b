// HttpClient on Poco's HTTP(S)ClientSession.
#include <algorithm>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <openssl/x509v3.h>

#include "janus/http_client.h"

namespace janus {
namespace {

Poco::Timespan to_timespan(std::chrono::milliseconds ms) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000);
}

void check_certificate_names(const Poco::Net::X509Certificate& certificate,
                             const std::string& host) {
  const X509* x509 = certificate.certificate();
  Poco::Net::IPAddress address;
  const bool matches =
      Poco::Net::IPAddress::tryParse(host, address)
          ? X509_check_ip_asc(const_cast<X509*>(x509), host.c_str(), 0) == 1
          : X509_check_host(const_cast<X509*>(x509), host.data(), host.size(), 0, nullptr) == 1;
  if (!matches) {
    throw Poco::Net::CertificateValidationException("the certificate is not issued for " + host);
  }
}

// An HTTPS session whose TLS handshake runs under the connect timeout. Poco's own runs it under
// the receive (request) timeout and retries it, so a peer that accepted and stayed silent held a
// request for minutes.
class BoundedHandshakeSession : public Poco::Net::HTTPSClientSession {
 public:
  BoundedHandshakeSession(const std::string& host, std::uint16_t port,
                          Poco::Net::Context::Ptr context, Poco::Timespan handshake_timeout)
      : HTTPSClientSession(host, port, std::move(context)), handshake_timeout_(handshake_timeout) {}

 protected:
  void connect(const Poco::Net::SocketAddress& address) override {
    Poco::Net::SecureStreamSocket secure(socket());
    secure.setPeerHostName(getHost());
    secure.setLazyHandshake(true);
    HTTPSession::connect(address);  // TCP only, under the connect timeout
    const Poco::Timespan receive = secure.getReceiveTimeout();
    const Poco::Timespan send = secure.getSendTimeout();
    secure.setReceiveTimeout(handshake_timeout_);
    secure.setSendTimeout(handshake_timeout_);
    secure.completeHandshake();
    // The handshake checked the chain; the name is checked here, by OpenSSL's RFC 6125 rules.
    // (Poco's verifyPeerCertificate() also accepts any certificate name that resolves to the
    // peer's address.)
    check_certificate_names(secure.peerCertificate(), getHost());
    secure.setReceiveTimeout(receive);
    secure.setSendTimeout(send);
  }

 private:
  Poco::Timespan handshake_timeout_;
};

}  // namespace

struct HttpClient::Impl {
  HttpClientOptions options;
  std::once_flag tls_once;
  Poco::Net::Context::Ptr tls_context;
  // Idle keep-alive sessions by "scheme://host:port": a job driver sends every request of a
  // task to the same peer, so reusing its connections saves a TCP (and TLS) handshake per
  // request and the peer's accept. Bounded per peer; the newest is reused first.
  static constexpr std::size_t kMaxIdlePerPeer = 32;
  std::mutex idle_mutex;
  std::map<std::string, std::vector<std::unique_ptr<Poco::Net::HTTPClientSession>>> idle;

  explicit Impl(HttpClientOptions opts) : options(std::move(opts)) {}

  std::unique_ptr<Poco::Net::HTTPClientSession> take_idle(const std::string& peer) {
    std::lock_guard lock(idle_mutex);
    auto it = idle.find(peer);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto session = std::move(it->second.back());
    it->second.pop_back();
    return session;
  }

  void give_back(const std::string& peer, std::unique_ptr<Poco::Net::HTTPClientSession> session) {
    std::lock_guard lock(idle_mutex);
    auto& sessions = idle[peer];
    if (sessions.size() < kMaxIdlePerPeer) sessions.push_back(std::move(session));
  }

  // Made on first https use: loading the system CAs takes a while.
  Poco::Net::Context::Ptr tls() {
    std::call_once(tls_once, [&] {
      // Verify the peer against the system CAs (plus ca_file) and its name.
      tls_context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "",
                                           options.ca_file.value_or(""),
                                           Poco::Net::Context::VERIFY_RELAXED, 9, true);
    });
    return tls_context;
  }
};

namespace {

// One request and its whole response on `session` (whose connection is then ready for the
// next request, unless the peer asked to close it: Poco reconnects then).
HttpClientResponse exchange_on(Poco::Net::HTTPClientSession& session,
                               const HttpClientOptions& options, HttpMethod method,
                               const Poco::URI& uri, const HttpHeaders& headers, ByteSpan body,
                               const std::string& where) {
  // Not `target = "/"` after the fact: g++ 12 -O3 warns about that assignment (-Wrestrict).
  const std::string path_and_query = uri.getPathAndQuery();
  const std::string target = path_and_query.empty() ? std::string("/") : path_and_query;
  Poco::Net::HTTPRequest request(std::string(to_string(method)), target,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("User-Agent", options.user_agent);
  for (const auto& [name, value] : headers.entries()) request.add(name, value);
  if (!body.empty() || method == HttpMethod::Put || method == HttpMethod::Post ||
      method == HttpMethod::Patch) {
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  std::ostream& out = session.sendRequest(request);
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  out.flush();

  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpClientResponse result;
  result.status = static_cast<int>(response.getStatus());
  for (const auto& [name, value] : response) result.headers.add(name, value);
  if (response.hasContentLength() &&
      response.getContentLength64() > static_cast<Poco::Int64>(options.max_response_body_bytes)) {
    throw HttpClientError(HttpClientError::Kind::BodyTooLarge,
                          where + ": response body larger than " +
                              std::to_string(options.max_response_body_bytes) + " bytes");
  }
  char buffer[16384];
  while (in) {
    in.read(buffer, sizeof buffer);
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    if (result.body.size() + static_cast<std::size_t>(n) > options.max_response_body_bytes) {
      throw HttpClientError(HttpClientError::Kind::BodyTooLarge,
                            where + ": response body larger than " +
                                std::to_string(options.max_response_body_bytes) + " bytes");
    }
    result.body.insert(result.body.end(), buffer, buffer + n);
  }
  return result;
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;

const HttpClientOptions& HttpClient::options() const { return impl_->options; }

HttpClientResponse HttpClient::send(HttpMethod method, const std::string& url,
                                    const HttpHeaders& headers, ByteSpan body) const {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw HttpClientError(HttpClientError::Kind::InvalidUrl,
                          "invalid URL '" + url + "': " + e.displayText());
  }
  const std::string scheme = uri.getScheme();
  if ((scheme != "http" && scheme != "https") || uri.getHost().empty()) {
    throw HttpClientError(HttpClientError::Kind::InvalidUrl,
                          "invalid URL '" + url + "': expected http:// or https://");
  }
  const std::string where = std::string(to_string(method)) + " " + url;
  const std::string peer = scheme + "://" + uri.getHost() + ":" + std::to_string(uri.getPort());
  auto new_session = [&]() -> std::unique_ptr<Poco::Net::HTTPClientSession> {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (scheme == "https") {
      session = std::make_unique<BoundedHandshakeSession>(
          uri.getHost(), uri.getPort(), impl_->tls(), to_timespan(impl_->options.connect_timeout));
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setKeepAlive(true);
    session->setTimeout(to_timespan(impl_->options.connect_timeout),
                        to_timespan(impl_->options.request_timeout),
                        to_timespan(impl_->options.request_timeout));
    return session;
  };
  try {
    // A reused connection the peer closed while it sat idle fails before any response;
    // then the request goes once more on a new connection. That is safe for DAP's
    // requests, which the peer answers the same way when repeated.
    std::unique_ptr<Poco::Net::HTTPClientSession> session = impl_->take_idle(peer);
    const bool reused = session != nullptr;
    if (!session) session = new_session();
    std::optional<HttpClientResponse> result;
    try {
      result = exchange_on(*session, impl_->options, method, uri, headers, body, where);
    } catch (const Poco::Net::NoMessageException&) {
      if (!reused) throw;
    } catch (const Poco::Net::MessageException&) {
      throw;  // the peer answered, wrongly
    } catch (const Poco::IOException&) {
      if (!reused) throw;  // reset, broken pipe, …
    }
    if (!result) {
      session = new_session();
      result = exchange_on(*session, impl_->options, method, uri, headers, body, where);
    }
    impl_->give_back(peer, std::move(session));
    return std::move(*result);
  } catch (const HttpClientError&) {
    throw;
  } catch (const Poco::TimeoutException&) {
    throw HttpClientError(HttpClientError::Kind::Timeout, where + ": timed out");
  } catch (const Poco::Net::NoMessageException&) {
    throw HttpClientError(HttpClientError::Kind::Connect,
                          where + ": connection closed without a response");
  } catch (const Poco::Net::MessageException& e) {
    throw HttpClientError(HttpClientError::Kind::Protocol, where + ": " + e.displayText());
  } catch (const Poco::Net::SSLException& e) {
    throw HttpClientError(HttpClientError::Kind::Connect, where + ": TLS: " + e.displayText());
  } catch (const Poco::Net::NetException& e) {
    throw HttpClientError(HttpClientError::Kind::Connect, where + ": " + e.displayText());
  } catch (const Poco::IOException& e) {
    throw HttpClientError(HttpClientError::Kind::Connect, where + ": " + e.displayText());
  } catch (const Poco::Exception& e) {
    throw HttpClientError(HttpClientError::Kind::Protocol, where + ": " + e.displayText());
  }
}

bool is_retryable_status(int status) {
  return status == 429 || (status >= 500 && status <= 599 && status != 501);
}

std::optional<std::chrono::seconds> retry_after(const HttpClientResponse& response) {
  auto value = response.headers.get("Retry-After");
  if (!value || value->empty() || value->size() > 9) return std::nullopt;
  std::int64_t seconds = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') return std::nullopt;  // an HTTP-date: not honoured
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::seconds(seconds);
}

HttpClientResponse send_with_retry(const HttpClient& client, HttpMethod method,
                                   const std::string& url, const HttpHeaders& headers,
                                   ByteSpan body, const RetryPolicy& policy,
                                   const std::function<bool()>& cancelled) {
  auto sleep = policy.sleep ? policy.sleep
                            : [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  std::chrono::milliseconds interval = policy.initial_interval;
  std::chrono::milliseconds elapsed_waiting{0};
  const auto started = std::chrono::steady_clock::now();
  while (true) {
    std::optional<HttpClientResponse> response;
    std::optional<HttpClientError> error;
    try {
      response = client.send(method, url, headers, body);
      if (!is_retryable_status(response->status)) return *response;
    } catch (const HttpClientError& e) {
      if (!e.retryable()) throw;
      error = e;
    }
    // Elapsed time counts both real time and (injected) waits.
    auto elapsed = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started),
                            elapsed_waiting);
    // A server that says how long to wait (429 or 503 with Retry-After) is not asked sooner;
    // when that is past the budget the answer goes back to the caller (a job driver then
    // tries again on a later lease).
    std::chrono::milliseconds wait = interval;
    if (response) {
      if (auto asked = retry_after(*response))
        wait = std::max<std::chrono::milliseconds>(wait, *asked);
    }
    bool out_of_budget = elapsed + wait > policy.max_elapsed;
    if (out_of_budget || (cancelled && cancelled())) {
      if (response) return *response;
      throw *error;
    }
    sleep(wait);
    elapsed_waiting += wait;
    interval = std::min(policy.max_interval,
                        std::chrono::milliseconds(static_cast<std::int64_t>(
                            static_cast<double>(interval.count()) * policy.multiplier)));
  }
}

}  // namespace janus
