// Spawning the real `janus` executable in tests: stdout and stderr go to
// files, the exit status is collected with a timeout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace janus::testing {

struct ExitStatus {
  bool exited = false;     // exited normally (not killed by a signal)
  int exit_code = -1;      // when exited
  int signal = 0;          // when killed by a signal
  bool timed_out = false;  // still running at the deadline (then killed)
};

class Process {
 public:
  // Starts `executable args...`; `env` entries are added to (or, with an
  // empty value, removed from) the inherited environment.
  Process(const std::string& executable, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env = {});
  ~Process();

  pid_t pid() const { return pid_; }
  void signal(int signal_number);
  ExitStatus wait(std::chrono::milliseconds timeout);
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string out_path_, err_path_;
};

// Sends SIGTERM and waits up to `timeout`: success when the process exited on its own with
// status 0; the failure names what happened instead, with the process's stderr and stdout.
::testing::AssertionResult stops_cleanly(
    Process& process, std::chrono::milliseconds timeout = std::chrono::seconds(30));

struct Reply {
  int status = 0;
  std::string body;
};

// One HTTP/1.1 request to 127.0.0.1:`port` (10 s timeout); throws on
// connection errors.
Reply http(std::uint16_t port, const std::string& method, const std::string& uri,
           const std::string& body = "");

// Polls until `check` holds or `timeout` passes; exceptions from `check` (a
// process still starting) count as "not yet".
bool eventually(const std::function<bool()>& check,
                std::chrono::milliseconds timeout = std::chrono::seconds(15));

// A loopback port that was free a moment ago.
std::uint16_t free_port();

// A scratch directory unique to this test process.
std::string scratch_dir();
std::string write_file(const std::string& name, const std::string& contents);

void replace_all(std::string& text, const std::string& from, const std::string& to);

// The text of a Janus 0.7 sample component config
// (../shared/reference/janus-0.7-samples/<flavour>/<component>.yaml, or with the flavour
// "config" the project's own sample config/<component>.yaml) made runnable here: its
// database URL, health address (0.0.0.0:8000), DAP listen address (0.0.0.0:8080, when
// `listen_port` is given) and Prometheus port (9464) replaced, and the placeholder TLS trust
// store removed, and its OTLP endpoint (https://example.com) replaced by `otlp_endpoint` or
// a closed loopback port. Throws if the sample cannot be read.
std::string runnable_sample_config(const std::string& flavour, const std::string& component,
                                   const std::string& database_url, std::uint16_t health_port,
                                   std::uint16_t metrics_port, std::uint16_t listen_port = 0,
                                   const std::string& otlp_endpoint = "");

}  // namespace janus::testing
