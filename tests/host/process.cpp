#include "process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

extern char** environ;

namespace janus::testing {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

Reply http(std::uint16_t port, const std::string& method, const std::string& uri,
           const std::string& body) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!body.empty()) request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  Poco::StreamCopier::copyToString(in, reply.body);
  reply.status = response.getStatus();
  return reply;
}

bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (check()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string scratch_dir() {
  static const std::string dir = [] {
    std::string path = std::filesystem::temp_directory_path().string() + "/janus_host_test_" +
                       std::to_string(::getpid());
    std::filesystem::create_directories(path);
    return path;
  }();
  return dir;
}

std::string write_file(const std::string& name, const std::string& contents) {
  std::string path = scratch_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

Process::Process(const std::string& executable, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env) {
  static std::atomic<int> counter{0};
  int n = counter++;
  out_path_ = scratch_dir() + "/proc" + std::to_string(n) + ".out";
  err_path_ = scratch_dir() + "/proc" + std::to_string(n) + ".err";

  // Build argv and envp before fork (no allocation in the child).
  std::vector<std::string> argv_strings{executable};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : env) {
    if (value.empty()) {
      merged.erase(key);
    } else {
      merged[key] = value;
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out_fd = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err_fd = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out_fd < 0 || err_fd < 0) throw std::runtime_error("cannot create output files");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    // gtest may run us with signals blocked or ignored; give the child defaults.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
}

::testing::AssertionResult stops_cleanly(Process& process, std::chrono::milliseconds timeout) {
  process.signal(SIGTERM);
  const ExitStatus status = process.wait(timeout);
  if (status.exited && status.exit_code == 0) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  if (status.timed_out) {
    failure << "still running " << timeout.count() << " ms after SIGTERM";
  } else if (status.exited) {
    failure << "exit code " << status.exit_code;
  } else {
    failure << "killed by signal " << status.signal;
  }
  return failure << "; stderr:\n"
                 << process.stderr_text() << "\nstdout:\n"
                 << process.stdout_text();
}

Process::~Process() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void Process::signal(int signal_number) {
  if (!reaped_) ::kill(pid_, signal_number);
}

ExitStatus Process::wait(std::chrono::milliseconds timeout) {
  ExitStatus status;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int raw = 0;
    pid_t done = ::waitpid(pid_, &raw, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      if (WIFEXITED(raw)) {
        status.exited = true;
        status.exit_code = WEXITSTATUS(raw);
      } else if (WIFSIGNALED(raw)) {
        status.signal = WTERMSIG(raw);
      }
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      status.timed_out = true;
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      reaped_ = true;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Process::stdout_text() const { return read_all(out_path_); }
std::string Process::stderr_text() const { return read_all(err_path_); }

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a probe socket");
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string runnable_sample_config(const std::string& flavour, const std::string& component,
                                   const std::string& database_url, std::uint16_t health_port,
                                   std::uint16_t metrics_port, std::uint16_t listen_port,
                                   const std::string& otlp_endpoint) {
  const std::string sample =
      flavour == "config"
          ? JANUS_SOURCE_DIR "/config/" + component + ".yaml"
          : JANUS_SHARED_DIR "/reference/janus-0.7-samples/" + flavour + "/" + component + ".yaml";
  std::ifstream in(sample);
  if (!in) throw std::runtime_error("cannot read " + sample);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  replace_all(text, "postgres://postgres:postgres@localhost:5432/postgres", database_url);
  replace_all(text, "0.0.0.0:8000", "127.0.0.1:" + std::to_string(health_port));
  if (listen_port != 0) {
    replace_all(text, "0.0.0.0:8080", "127.0.0.1:" + std::to_string(listen_port));
  }
  replace_all(text, "port: 9464", "port: " + std::to_string(metrics_port));
  // The advanced aggregator's aggregator API listener.
  replace_all(text, "0.0.0.0:8081", "127.0.0.1:" + std::to_string(free_port()));
  replace_all(text, "tls_trust_store_path: /path/to/file.pem", "");
  // The advanced samples' OTLP endpoint: the test's receiver, or a loopback port nothing
  // listens on (tests reach loopback addresses only).
  replace_all(text, "endpoint: \"https://example.com\"",
              "endpoint: \"" +
                  (otlp_endpoint.empty() ? "http://127.0.0.1:" + std::to_string(free_port())
                                         : otlp_endpoint) +
                  "\"");
  return text;
}

}  // namespace janus::testing
