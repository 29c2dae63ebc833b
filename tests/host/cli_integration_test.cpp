// The real `janus_cli` (a link to `janus`) and `janus janus_cli` against a real
// PostgreSQL: subcommand listing, usage errors, provisioning Janus's sample
// tasks.yaml and the global HPKE key commands, as an operator runs them.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

#include "janus/datastore/keys.h"
#include "janus/testing/test_database.h"
#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

const std::string kJanus = JANUS_EXECUTABLE;
const std::string kJanusCli = JANUS_CLI_EXECUTABLE;
// The project's samples (config/: Janus 0.7's own, as README.md uses them).
const std::string kSampleTasks = JANUS_SOURCE_DIR "/config/tasks.yaml";

std::string datastore_keys() {
  auto key = DatastoreKeys::generate_key();
  return base64url_encode(ByteSpan(key.data(), key.size()));
}

struct CommandRun {
  ExitStatus status;
  std::string out, err;
};

CommandRun run(const std::string& executable, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env = {}) {
  Process process(executable, args, env);
  CommandRun result;
  result.status = process.wait(60s);
  result.out = process.stdout_text();
  result.err = process.stderr_text();
  return result;
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(JanusCli, HelpListsTheSubcommandsUnderBothNames) {
  for (const auto& [executable, arguments] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{
           {kJanusCli, {"--help"}}, {kJanus, {"janus_cli", "--help"}}}) {
    CommandRun help = run(executable, arguments);
    ASSERT_TRUE(help.status.exited) << help.err;
    EXPECT_EQ(help.status.exit_code, 0) << help.err;
    for (const char* command :
         {"provision-tasks", "generate-global-hpke-key", "set-global-hpke-key-state"}) {
      EXPECT_NE(help.out.find(command), std::string::npos) << help.out;
    }
  }
  CommandRun sub_help = run(kJanusCli, {"provision-tasks", "--help"});
  EXPECT_EQ(sub_help.status.exit_code, 0) << sub_help.err;
  EXPECT_NE(sub_help.out.find("--generate-missing-parameters"), std::string::npos);
  // The host's own --help mentions the janus_cli command.
  EXPECT_NE(run(kJanus, {"--help"}).out.find("janus_cli"), std::string::npos);
}

TEST(JanusCli, MistakesAreOneLineAndNonZero) {
  CommandRun unknown = run(kJanusCli, {"frobnicate"});
  EXPECT_EQ(unknown.status.exit_code, 2);
  EXPECT_EQ(lines(unknown.err), 1u) << unknown.err;
  EXPECT_EQ(unknown.err.rfind("janus_cli: error: unknown subcommand 'frobnicate'", 0), 0u)
      << unknown.err;
  CommandRun unknown_via_janus = run(kJanus, {"janus_cli", "frobnicate"});
  EXPECT_EQ(unknown_via_janus.status.exit_code, 2);
  EXPECT_EQ(unknown_via_janus.err.rfind("janus: error: unknown subcommand", 0), 0u)
      << unknown_via_janus.err;

  CommandRun missing_config = run(
      kJanusCli, {"provision-tasks", kSampleTasks, "--config-file", "/nonexistent/janus_cli.yaml"});
  EXPECT_EQ(missing_config.status.exit_code, 1);
  EXPECT_EQ(lines(missing_config.err), 1u) << missing_config.err;
  EXPECT_NE(missing_config.err.find("/nonexistent/janus_cli.yaml"), std::string::npos);

  CommandRun no_config = run(kJanusCli, {"provision-tasks", kSampleTasks}, {{"CONFIG_FILE", ""}});
  EXPECT_EQ(no_config.status.exit_code, 2);
  EXPECT_NE(no_config.err.find("--config-file"), std::string::npos) << no_config.err;

  CommandRun kubernetes =
      run(kJanusCli, {"provision-tasks", kSampleTasks, "--secrets-k8s-namespace", "janus"});
  EXPECT_EQ(kubernetes.status.exit_code, 2);
  EXPECT_NE(kubernetes.err.find("not supported; give --datastore-keys"), std::string::npos)
      << kubernetes.err;

  CommandRun no_subcommand = run(kJanusCli, {});
  EXPECT_EQ(no_subcommand.status.exit_code, 2);
  EXPECT_EQ(lines(no_subcommand.err), 1u) << no_subcommand.err;

  // A dry run checks the file without any database.
  CommandRun dry = run(kJanusCli, {"provision-tasks", kSampleTasks, "--dry-run", "--echo-tasks"});
  EXPECT_EQ(dry.status.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("D-hCKPuqL2oTf7ZVRVyMP5VGt43EAEA8q34mDf6p1JE"), std::string::npos);
}

TEST(JanusCli, ProvisionsAndManagesGlobalKeysInTheDatabase) {
  TestDatabase db;
  const std::string config =
      write_file(db.name() + "_janus_cli.yaml", "database:\n  url: " + db.url() +
                                                    "\n  connection_pool_timeouts_s: 5\n"
                                                    "logging_config:\n  force_json_output: true\n");
  const std::map<std::string, std::string> env = {{"DATASTORE_KEYS", datastore_keys()}};

  CommandRun provision = run(
      kJanusCli, {"provision-tasks", kSampleTasks, "--echo-tasks", "--config-file", config}, env);
  ASSERT_TRUE(provision.status.exited) << provision.err;
  ASSERT_EQ(provision.status.exit_code, 0) << provision.err << provision.out;
  EXPECT_NE(provision.out.find("G9YKXjoEjfoU7M_fi_o2H0wmzavRb2sBFHeykeRhDMk"), std::string::npos)
      << provision.out;
  EXPECT_EQ(provision.out.find("\"level\""), std::string::npos) << "log lines in the echo";
  EXPECT_EQ(db.query("SELECT count(*) FROM tasks"), "2");

  // Provisioning again replaces the tasks rather than failing.
  CommandRun again =
      run(kJanus, {"janus_cli", "provision-tasks", kSampleTasks, "--config-file", config}, env);
  EXPECT_EQ(again.status.exit_code, 0) << again.err;
  EXPECT_EQ(db.query("SELECT count(*) FROM tasks"), "2");

  CommandRun generate = run(kJanusCli,
                            {"generate-global-hpke-key", "--id", "3", "--kem", "x25519", "--kdf",
                             "hkdf-sha256", "--aead", "aes-128-gcm", "--config-file", config},
                            env);
  ASSERT_EQ(generate.status.exit_code, 0) << generate.err;
  EXPECT_EQ(db.query("SELECT count(*) FROM global_hpke_keys"), "1");
  CommandRun activate =
      run(kJanusCli,
          {"set-global-hpke-key-state", "--id", "3", "--state", "active", "--config-file", config},
          env);
  ASSERT_EQ(activate.status.exit_code, 0) << activate.err;

  // Janus's own sample janus_cli.yaml (config/janus_cli.yaml) works as it is (only the URL
  // changed).
  std::ifstream sample_in(JANUS_SOURCE_DIR "/config/janus_cli.yaml");
  std::string sample((std::istreambuf_iterator<char>(sample_in)), std::istreambuf_iterator<char>());
  const std::string sample_url = "postgres://postgres:postgres@localhost:5432/postgres";
  ASSERT_NE(sample.find(sample_url), std::string::npos);
  sample.replace(sample.find(sample_url), sample_url.size(), db.url());
  const std::string janus_sample = write_file(db.name() + "_sample_janus_cli.yaml", sample);
  CommandRun with_sample =
      run(kJanusCli, {"provision-tasks", kSampleTasks, "--config-file", janus_sample}, env);
  EXPECT_EQ(with_sample.status.exit_code, 0) << with_sample.err;

  CommandRun no_keys = run(kJanusCli, {"provision-tasks", kSampleTasks, "--config-file", config},
                           {{"DATASTORE_KEYS", ""}});
  EXPECT_EQ(no_keys.status.exit_code, 1);
  EXPECT_NE(no_keys.err.find("DATASTORE_KEYS"), std::string::npos) << no_keys.err;

  const std::string typo = write_file(db.name() + "_typo.yaml",
                                      "database:\n  url: " + db.url() + "\nlisten_adress: x\n");
  CommandRun bad_config =
      run(kJanusCli, {"provision-tasks", kSampleTasks, "--config-file", typo}, env);
  EXPECT_EQ(bad_config.status.exit_code, 1);
  EXPECT_NE(bad_config.err.find("listen_adress"), std::string::npos) << bad_config.err;
}

}  // namespace
}  // namespace janus::testing
