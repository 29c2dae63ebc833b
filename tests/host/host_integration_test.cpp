// The real `janus` process: serving a test plugin end to end, and every
// bad-input case of the host failing with one clear line and a non-zero exit
// (never a crash).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "janus/plugin.h"
#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

const std::string kJanus = JANUS_EXECUTABLE;
const std::string kPluginDir = JANUS_TEST_PLUGIN_DIR;
const std::string kSamples = std::string(JANUS_SHARED_DIR) + "/reference/janus-0.7-samples";

std::string host_config(std::uint16_t health_port, std::uint16_t plugin_port,
                        const std::string& extra_plugin_config = "",
                        std::uint16_t metrics_port = 0) {
  std::string metrics =
      metrics_port == 0 ? ""
                        : "metrics_config:\n  exporter:\n    prometheus:\n      host: 127.0.0.1\n"
                          "      port: " +
                              std::to_string(metrics_port) + "\n";
  return metrics + "health_check_listen_address: 127.0.0.1:" + std::to_string(health_port) +
         "\nshutdown_grace_period_s: 10\nplugins:\n  - plugin: host_test\n    config:\n"
         "      listen_address: 127.0.0.1:" +
         std::to_string(plugin_port) + "\n      greeting: hi\n      worker_interval_ms: 20\n" +
         extra_plugin_config;
}

// Runs janus expecting a startup failure; returns stderr.
std::string expect_startup_failure(const std::vector<std::string>& args, int expected_code = 1,
                                   const std::map<std::string, std::string>& env = {}) {
  Process janus(kJanus, args, env);
  ExitStatus status = janus.wait(20s);
  EXPECT_FALSE(status.timed_out) << "janus kept running: " << janus.stdout_text();
  EXPECT_TRUE(status.exited) << "janus was killed by signal " << status.signal;
  EXPECT_EQ(status.exit_code, expected_code);
  std::string err = janus.stderr_text();
  // One line, naming the cause.
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(err.rfind("janus: error: ", 0), 0u) << err;
  return err;
}

TEST(JanusProcess, ServesTestPluginRunsWorkerAndStopsOnSigterm) {
  std::uint16_t health = free_port(), port = free_port(), metrics = free_port();
  std::string config = write_file("serve.yaml", host_config(health, port, "", metrics));
  Process janus(kJanus, {"--config-file", config, "--plugin-dir", kPluginDir},
                {{"RUST_LOG", "info,janus::host_test=debug"}});

  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }))
      << janus.stdout_text() << janus.stderr_text();
  EXPECT_EQ(http(health, "HEAD", "/healthz").status, 200);
  Reply hello = http(port, "GET", "/hello/world");
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hi world");
  EXPECT_EQ(http(port, "GET", "/nothing/here").status, 404);
  EXPECT_EQ(http(port, "POST", "/hello/world").status, 405);
  EXPECT_TRUE(eventually([&] { return std::stoi(http(port, "GET", "/worker/passes").body) >= 3; }));

  // Prometheus metrics, with the HTTP server's request durations by route.
  Reply scraped = http(metrics, "GET", "/metrics");
  EXPECT_EQ(scraped.status, 200);
  EXPECT_NE(scraped.body.find("http_server_request_duration_seconds_count{http_request_method="
                              "\"GET\",http_response_status_code=\"200\",http_route=\"/hello/"
                              "{name}\"} 1"),
            std::string::npos)
      << scraped.body;

  // The log filter can be read and changed at run time.
  Reply filter = http(health, "GET", "/traceconfigz");
  EXPECT_EQ(filter.status, 200);
  EXPECT_EQ(filter.body, "info,janus::host_test=debug");
  Reply changed = http(health, "PUT", "/traceconfigz", "warn,janus::host=info");
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.body, "warn,janus::host=info");
  EXPECT_EQ(http(health, "GET", "/traceconfigz").body, "warn,janus::host=info");
  EXPECT_EQ(http(health, "PUT", "/traceconfigz", "janus=loud").status, 400);

  EXPECT_TRUE(stops_cleanly(janus, 20s));
  EXPECT_EQ(janus.stderr_text(), "");

  // stdout is not a TTY: JSON lines, starting with the version line, and the
  // worker's debug lines from before the filter change.
  std::string out = janus.stdout_text();
  std::istringstream lines(out);
  std::string line;
  int json_lines = 0;
  bool saw_version = false, saw_worker = false, saw_stopped = false;
  while (std::getline(lines, line)) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    ++json_lines;
    std::string message = parsed["fields"]["message"];
    saw_version |= message.find("git revision") != std::string::npos;
    saw_worker |= message.rfind("worker pass", 0) == 0 && parsed["target"] == "janus::host_test";
    saw_stopped |= message == "stopped";
  }
  EXPECT_GT(json_lines, 3);
  EXPECT_TRUE(saw_version) << out;
  EXPECT_TRUE(saw_worker) << out;
  EXPECT_TRUE(saw_stopped) << out;
}

TEST(JanusProcess, SigintDrainsAnInFlightRequest) {
  std::uint16_t health = free_port(), port = free_port();
  std::string config = write_file("drain.yaml", host_config(health, port));
  Process janus(kJanus, {"--config-file", config, "--plugin-dir", kPluginDir});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }))
      << janus.stderr_text();
  auto slow = std::async(std::launch::async, [&] { return http(port, "GET", "/slow?ms=700"); });
  ASSERT_TRUE(eventually([&] { return http(port, "GET", "/slow/in-flight").body == "1"; }));
  janus.signal(SIGINT);
  Reply reply = slow.get();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "slow done");
  ExitStatus status = janus.wait(20s);
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 0) << janus.stderr_text();
}

// Two instances of one plugin share a listen address; they start in order
// and stop in reverse order.
TEST(JanusProcess, PluginsShareAListenerAndStopInReverseOrder) {
  std::uint16_t health = free_port(), port = free_port();
  std::string address = "127.0.0.1:" + std::to_string(port);
  std::string config =
      write_file("shared.yaml", "health_check_listen_address: 127.0.0.1:" + std::to_string(health) +
                                    "\nplugins:\n"
                                    "  - plugin: host_test\n    name: first\n    config:\n"
                                    "      listen_address: " +
                                    address +
                                    "\n      route_prefix: /a\n"
                                    "  - plugin: host_test\n    name: second\n    config:\n"
                                    "      listen_address: " +
                                    address +
                                    "\n      route_prefix: /b\n"
                                    "      greeting: hey\n");
  Process janus(kJanus, {"--config-file", config, "--plugin-dir", kPluginDir});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }))
      << janus.stdout_text() << janus.stderr_text();
  EXPECT_EQ(http(port, "GET", "/a/hello/x").body, "hello x");
  EXPECT_EQ(http(port, "GET", "/b/hello/x").body, "hey x");
  EXPECT_TRUE(stops_cleanly(janus, 20s));
  std::string out = janus.stdout_text();
  auto first_started = out.find("plugin first started");
  auto second_started = out.find("plugin second started");
  auto first_stopping = out.find("plugin first stopping");
  auto second_stopping = out.find("plugin second stopping");
  ASSERT_NE(first_stopping, std::string::npos) << out;
  ASSERT_NE(second_stopping, std::string::npos) << out;
  EXPECT_LT(first_started, second_started);
  EXPECT_LT(second_stopping, first_stopping);
}

// A request that outlives shutdown_grace_period_s: the drain is bounded, the
// exit is non-zero but clean (no signal, no core).
TEST(JanusProcess, DrainIsBoundedByTheGracePeriod) {
  std::uint16_t health = free_port(), port = free_port();
  std::string text = host_config(health, port);
  text.replace(text.find("shutdown_grace_period_s: 10"), 27, "shutdown_grace_period_s: 1");
  std::string config = write_file("bounded.yaml", text);
  Process janus(kJanus, {"--config-file", config, "--plugin-dir", kPluginDir});
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }))
      << janus.stderr_text();
  auto slow = std::async(std::launch::async, [&] {
    try {
      return http(port, "GET", "/slow?ms=8000");
    } catch (const std::exception&) {
      return Reply{};
    }
  });
  ASSERT_TRUE(eventually([&] { return http(port, "GET", "/slow/in-flight").body == "1"; }));
  auto signalled = std::chrono::steady_clock::now();
  janus.signal(SIGTERM);
  ExitStatus status = janus.wait(20s);
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 5s);
  EXPECT_TRUE(status.exited) << "signal " << status.signal;
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_NE(janus.stdout_text().find("graceful drain did not finish within 1 s"), std::string::npos)
      << janus.stdout_text();
  slow.wait();
}

TEST(JanusProcess, HelpAndVersion) {
  Process help(kJanus, {"--help"});
  EXPECT_EQ(help.wait(10s).exit_code, 0);
  std::string text = help.stdout_text();
  for (const char* expected : {"--config-file", "--plugin-dir", "--database-password",
                               "--datastore-keys", "aggregation_job_driver", "RUST_LOG"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
  }
  Process version(kJanus, {"--version"});
  EXPECT_EQ(version.wait(10s).exit_code, 0);
  EXPECT_EQ(version.stdout_text().rfind("janus 0.", 0), 0u) << version.stdout_text();
  EXPECT_NE(version.stdout_text().find("git revision"), std::string::npos);
}

TEST(JanusProcess, UsageErrors) {
  EXPECT_NE(expect_startup_failure({"--bogus"}, 2).find("unknown argument '--bogus'"),
            std::string::npos);
  EXPECT_NE(expect_startup_failure({"frobnicate"}, 2).find("unknown command 'frobnicate'"),
            std::string::npos);
  EXPECT_NE(expect_startup_failure({}, 2, {{"CONFIG_FILE", ""}}).find("--config-file is required"),
            std::string::npos);
  EXPECT_NE(expect_startup_failure({"--config-file"}, 2).find("--config-file needs a value"),
            std::string::npos);
}

TEST(JanusProcess, MissingConfigFile) {
  std::string missing = scratch_dir() + "/no_such.yaml";
  std::string err = expect_startup_failure({"--config-file", missing});
  EXPECT_NE(err.find(missing + ": cannot read config file"), std::string::npos) << err;
}

TEST(JanusProcess, YamlSyntaxError) {
  std::string config = write_file("syntax.yaml", "plugins:\n  - plugin: [unclosed\n");
  std::string err = expect_startup_failure({"--config-file", config});
  EXPECT_NE(err.find(config + ":"), std::string::npos) << err;
  EXPECT_NE(err.find("YAML syntax error"), std::string::npos) << err;
}

TEST(JanusProcess, WrongTypeForKey) {
  std::string config =
      write_file("wrong_type.yaml",
                 "database:\n  url: postgres://u@h/d\nmax_transaction_retries: many\n"
                 "plugins: []\n");
  std::string err = expect_startup_failure({"--config-file", config});
  EXPECT_NE(err.find(config + ":3: key 'max_transaction_retries': expected an unsigned 64-bit "
                              "integer, found 'many'"),
            std::string::npos)
      << err;
}

TEST(JanusProcess, UnknownHostKey) {
  std::string config = write_file("unknown_key.yaml", "plugins: []\nhealth_check_address: x\n");
  std::string err = expect_startup_failure({"--config-file", config});
  EXPECT_NE(err.find(config + ":2: unknown key 'health_check_address'"), std::string::npos) << err;
}

TEST(JanusProcess, UnknownPluginConfigKey) {
  std::string config = write_file("unknown_plugin_key.yaml",
                                  host_config(free_port(), free_port(), "      colour: blue\n"));
  std::string err = expect_startup_failure({"--config-file", config, "--plugin-dir", kPluginDir});
  EXPECT_NE(err.find("plugin 'host_test': " + config + ":9: unknown key 'colour'"),
            std::string::npos)
      << err;
}

TEST(JanusProcess, UnknownPlugin) {
  std::string config = write_file("unknown_plugin.yaml", "health_check_listen_address: 127.0.0.1:" +
                                                             std::to_string(free_port()) +
                                                             "\nplugins:\n  - plugin: nope\n");
  std::string err = expect_startup_failure({"--config-file", config, "--plugin-dir", kPluginDir});
  EXPECT_NE(err.find("plugin 'nope' not found: " + kPluginDir + "/libjanus_nope.so does not exist"),
            std::string::npos)
      << err;
}

// `janus <component> --config-file FILE` with Janus's own sample against a plugin directory
// without the component plugins: the common keys parse, and the component is reported as
// not part of this build, plainly, before anything starts.
TEST(JanusProcess, JanusComponentFormWithSampleConfig) {
  for (const char* component : {"aggregation_job_driver", "garbage_collector"}) {
    std::string sample = kSamples + "/basic_config/" + component + ".yaml";
    // The sample's health address (0.0.0.0:8000) may be taken on a test machine:
    // use a copy with a free loopback port.
    std::ifstream in(sample);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto at = text.find("0.0.0.0:8000");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 12, "127.0.0.1:" + std::to_string(free_port()));
    std::string config = write_file(std::string(component) + ".yaml", text);
    std::string err =
        expect_startup_failure({component, "--config-file", config, "--plugin-dir", kPluginDir});
    EXPECT_EQ(err.rfind("janus: error: component '" + std::string(component) +
                            "' is not part of this build; available: none (no " + kPluginDir +
                            "/libjanus_",
                        0),
              0u)
        << err;
  }
}

TEST(JanusProcess, PortAlreadyInUse) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  std::uint16_t busy = ntohs(address.sin_port);

  // Taken by the health listener...
  std::string config = write_file("busy_health.yaml", host_config(busy, free_port()));
  std::string err = expect_startup_failure({"--config-file", config, "--plugin-dir", kPluginDir});
  EXPECT_NE(err.find("listen address 127.0.0.1:" + std::to_string(busy) + ": cannot listen"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  // ...and by a plugin's listener.
  config = write_file("busy_plugin.yaml", host_config(free_port(), busy));
  err = expect_startup_failure({"--config-file", config, "--plugin-dir", kPluginDir});
  EXPECT_NE(err.find("plugin 'host_test': listen address 127.0.0.1:" + std::to_string(busy)),
            std::string::npos)
      << err;
  ::close(fd);
}

TEST(JanusProcess, UnreadablePluginDirectory) {
  std::string config = write_file("plugin_dir.yaml", host_config(free_port(), free_port()));
  std::string missing = scratch_dir() + "/no_plugins_here";
  std::string err = expect_startup_failure({"--config-file", config, "--plugin-dir", missing});
  EXPECT_NE(err.find("plugin directory " + missing + " does not exist"), std::string::npos) << err;
  err = expect_startup_failure({"--config-file", config, "--plugin-dir", config});
  EXPECT_NE(err.find("plugin directory " + config + " is not a directory"), std::string::npos)
      << err;
}

TEST(JanusProcess, LibraryThatIsNotAJanusPlugin) {
  std::string config = write_file(
      "not_plugin.yaml", "health_check_listen_address: 127.0.0.1:" + std::to_string(free_port()) +
                             "\nplugins:\n  - plugin: not_a_plugin\n");
  std::string err = expect_startup_failure({"--config-file", config, "--plugin-dir", kPluginDir});
  EXPECT_NE(err.find("is not a janus plugin"), std::string::npos) << err;
  std::string junk = write_file("libjanus_junk.so", "not an ELF file");
  config = write_file("junk_plugin.yaml",
                      "health_check_listen_address: 127.0.0.1:" + std::to_string(free_port()) +
                          "\nplugins:\n  - plugin: junk\n    path: " + junk + "\n");
  err = expect_startup_failure({"--config-file", config});
  EXPECT_NE(err.find("plugin 'junk': cannot load " + junk), std::string::npos) << err;
}

TEST(JanusProcess, PluginAbiMismatch) {
  std::string config = write_file(
      "abi.yaml", "health_check_listen_address: 127.0.0.1:" + std::to_string(free_port()) +
                      "\nplugins:\n  - plugin: abi_mismatch\n");
  std::string err = expect_startup_failure({"--config-file", config, "--plugin-dir", kPluginDir});
  // The test plugin claims kPluginAbiVersion + 1000.
  const std::string host_abi = std::to_string(kPluginAbiVersion);
  EXPECT_NE(err.find("was built for plugin ABI " + std::to_string(kPluginAbiVersion + 1000) +
                     ", this host has ABI " + host_abi),
            std::string::npos)
      << err;
}

TEST(JanusProcess, BadRustLogAndBadDatastoreKeys) {
  std::string config = write_file("plain.yaml", host_config(free_port(), free_port()));
  std::string err = expect_startup_failure({"--config-file", config, "--plugin-dir", kPluginDir}, 1,
                                           {{"RUST_LOG", "janus=loud"}});
  EXPECT_NE(err.find("RUST_LOG: "), std::string::npos) << err;
  err = expect_startup_failure(
      {"--config-file", config, "--plugin-dir", kPluginDir, "--datastore-keys", "short"});
  EXPECT_NE(err.find("datastore key #1"), std::string::npos) << err;
}

// Removes the scratch directory (configs, captured output) after the run.
class ScratchCleanup : public ::testing::Environment {
 public:
  void TearDown() override { std::filesystem::remove_all(scratch_dir()); }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

}  // namespace
}  // namespace janus::testing
