// The real `janus` process against a real PostgreSQL: `janus db status|migrate`,
// the schema-version check at startup, the datastore keys requirement, and a
// plugin receiving the host's datastore.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "janus/datastore/keys.h"
#include "janus/datastore/schema.h"
#include "janus/testing/test_database.h"
#include "process.h"

namespace janus::testing {
namespace {

using namespace std::chrono_literals;

const std::string kJanus = JANUS_EXECUTABLE;
const std::string kPluginDir = JANUS_TEST_PLUGIN_DIR;

std::string datastore_keys() {
  auto key = DatastoreKeys::generate_key();
  return base64url_encode(ByteSpan(key.data(), key.size()));
}

class JanusDatabase : public ::testing::Test {
 protected:
  JanusDatabase() : db_(/*migrate=*/false) {}

  std::string write_config(std::uint16_t health, std::uint16_t port) {
    return write_file(db_.name() + ".yaml", "database:\n  url: " + db_.url() +
                                                "\n  connection_pool_timeouts_s: 5\n"
                                                "health_check_listen_address: 127.0.0.1:" +
                                                std::to_string(health) +
                                                "\nplugins:\n  - plugin: host_test\n    config:\n"
                                                "      listen_address: 127.0.0.1:" +
                                                std::to_string(port) + "\n");
  }

  TestDatabase db_;
};

TEST_F(JanusDatabase, StatusMigrateThenServeWithTheDatastore) {
  std::uint16_t health = free_port(), port = free_port();
  std::string config = write_config(health, port);
  const std::map<std::string, std::string> env = {{"DATASTORE_KEYS", datastore_keys()}};

  // An empty database: the version check refuses to start, naming both versions.
  {
    Process janus(kJanus, {"--config-file", config, "--plugin-dir", kPluginDir}, env);
    ExitStatus status = janus.wait(30s);
    ASSERT_TRUE(status.exited) << janus.stderr_text();
    EXPECT_EQ(status.exit_code, 1);
    EXPECT_NE(janus.stderr_text().find(std::to_string(supported_schema_version())),
              std::string::npos)
        << janus.stderr_text();
  }
  {
    Process status_cmd(kJanus, {"db", "status", "--config-file", config});
    ExitStatus status = status_cmd.wait(30s);
    ASSERT_TRUE(status.exited) << status_cmd.stderr_text();
    EXPECT_EQ(status.exit_code, 0) << status_cmd.stderr_text();
    EXPECT_NE(status_cmd.stdout_text().find("pending"), std::string::npos)
        << status_cmd.stdout_text();
  }
  {
    Process migrate(kJanus, {"db", "migrate", "--config-file", config});
    ExitStatus status = migrate.wait(60s);
    ASSERT_TRUE(status.exited) << migrate.stderr_text();
    EXPECT_EQ(status.exit_code, 0) << migrate.stderr_text();
  }
  EXPECT_EQ(db_.query("SELECT max(version) FROM schema_migrations"),
            std::to_string(supported_schema_version()));

  // Migrated: the host starts, and the plugin received a datastore.
  Process janus(kJanus, {"--config-file", config, "--plugin-dir", kPluginDir}, env);
  ASSERT_TRUE(eventually([&] { return http(health, "GET", "/healthz").status == 200; }, 20s))
      << janus.stderr_text() << janus.stdout_text();
  EXPECT_EQ(http(port, "GET", "/datastore").body, "connected");
  EXPECT_TRUE(stops_cleanly(janus));
}

TEST_F(JanusDatabase, DatabaseWithoutDatastoreKeysIsOneClearError) {
  std::string config = write_config(free_port(), free_port());
  Process janus(kJanus, {"--config-file", config, "--plugin-dir", kPluginDir},
                {{"DATASTORE_KEYS", ""}});
  ExitStatus status = janus.wait(30s);
  ASSERT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 1);
  std::string err = janus.stderr_text();
  EXPECT_EQ(err.rfind("janus: error: ", 0), 0u) << err;
  EXPECT_NE(err.find("DATASTORE_KEYS"), std::string::npos) << err;
}

TEST(JanusDbCommand, UnknownSubcommandAndMissingDatabaseAreUsageErrors) {
  std::string no_database = write_file("no_database.yaml", "plugins: []\n");
  Process janus(kJanus, {"db", "status", "--config-file", no_database});
  ExitStatus status = janus.wait(30s);
  ASSERT_TRUE(status.exited);
  EXPECT_NE(status.exit_code, 0);
  EXPECT_NE(janus.stderr_text().find("database"), std::string::npos) << janus.stderr_text();

  TestDatabase db;
  std::string config = write_file("bad_sub.yaml", "database:\n  url: " + db.url() + "\n");
  Process bad(kJanus, {"db", "frobnicate", "--config-file", config});
  status = bad.wait(30s);
  ASSERT_TRUE(status.exited);
  EXPECT_EQ(status.exit_code, 2) << bad.stderr_text();
}

}  // namespace
}  // namespace janus::testing
