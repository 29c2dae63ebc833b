// The built aggregator module loads like any plugin: it reads its config, registers its
// routes and the periodic global-key refresh, and refuses to run without a database.
#define BOOST_DLL_USE_STD_FS
#include <gtest/gtest.h>

#include <boost/dll/shared_library.hpp>
#include <list>
#include <stdexcept>

#include "janus/config.h"
#include "janus/plugin.h"
#include "janus/worker.h"
#include "test_fixture.h"

namespace janus::aggregator {
namespace {

class TestContext final : public PluginContext, public WorkerRegistrar {
 public:
  TestContext(YAML::Node config, Datastore* datastore, const Clock& clock)
      : config_(std::move(config)), datastore_(datastore), clock_(clock) {}

  const std::string& instance_name() const override { return name_; }
  const YAML::Node& config() const override { return config_; }
  const std::string& config_file() const override { return file_; }
  std::shared_ptr<spdlog::logger> logger() const override { return nullptr; }
  RouteRegistrar& routes() override { return routes_; }
  WorkerRegistrar& workers() override { return *this; }
  VdafRegistry& vdafs() override { return vdafs_; }
  const Clock& clock() const override { return clock_; }
  Datastore* datastore() override { return datastore_; }
  CommandRegistrar& commands() override {
    throw std::logic_error("the aggregator plugin offers no subcommands");
  }
  Worker& add(std::unique_ptr<Worker> worker) override {
    registered_workers.push_back(std::move(worker));
    return *registered_workers.back();
  }

  HttpResponse get(const std::string& path) {
    HttpRequest request;
    request.path = path;
    return routes_.router.dispatch(request);
  }
  // Drops everything the plugin registered (before its library goes).
  void clear() {
    routes_.router.clear();
    registered_workers.clear();
  }

  std::list<std::unique_ptr<Worker>> registered_workers;

 private:
  YAML::Node config_;
  Datastore* datastore_;
  const Clock& clock_;
  std::string name_ = "aggregator", file_ = "aggregator.yaml";
  testing::RouterRegistrar routes_;
  VdafRegistry vdafs_;
};

const char* kConfig =
    "listen_address: 127.0.0.1:0\nmax_upload_batch_size: 10\n"
    "max_upload_batch_write_delay_ms: 5\nbatch_aggregation_shard_count: 4\n";

TEST(AggregatorPlugin, ServesAndRefreshesGlobalKeys) {
  janus::testing::TestDatabase database;
  MockClock clock(1'700'000'000);
  auto datastore = database.open_datastore(clock);
  boost::dll::shared_library library(std::filesystem::path(JANUS_AGGREGATOR_PLUGIN_PATH));
  EXPECT_EQ(library.get_alias<const std::uint32_t>("janus_plugin_abi_version"), kPluginAbiVersion);
  TestContext context(YAML::Load(kConfig), datastore.get(), clock);
  {
    auto plugin = library.get_alias<PluginFactory>("janus_plugin_create")();
    plugin->configure(context);
    plugin->start();
    EXPECT_EQ(context.get("/hpke_config").status, 400);  // missingTaskID: no global key yet

    DapHpkeKeyPair key = DapHpkeKeyPair::generate(4);
    datastore->run_tx("key", [&](Transaction& tx) {
      tx.put_global_hpke_keypair({4, encode_message(key.config), key.key_pair.private_key()});
      tx.set_global_hpke_keypair_state(4, HpkeKeyState::Active);
    });
    ASSERT_EQ(context.registered_workers.size(), 1u);
    auto* refresher = dynamic_cast<PeriodicWorker*>(context.registered_workers.front().get());
    ASSERT_NE(refresher, nullptr);
    refresher->run_once();
    HttpResponse response = context.get("/hpke_config");
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(decode_message<HpkeConfigList>(response.body).configs,
              std::vector<HpkeConfig>{key.config});
    plugin->stop();
    context.clear();
  }
}

TEST(AggregatorPlugin, NeedsADatabaseAndAValidConfig) {
  MockClock clock(1'700'000'000);
  boost::dll::shared_library library(std::filesystem::path(JANUS_AGGREGATOR_PLUGIN_PATH));
  {
    auto plugin = library.get_alias<PluginFactory>("janus_plugin_create")();
    TestContext context(YAML::Load(kConfig), nullptr, clock);
    try {
      plugin->configure(context);
      ADD_FAILURE() << "configured without a database";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("database"), std::string::npos) << e.what();
    }
    context.clear();
  }
  {
    auto plugin = library.get_alias<PluginFactory>("janus_plugin_create")();
    TestContext context(YAML::Load(std::string(kConfig) + "bogus: 1\n"), nullptr, clock);
    EXPECT_THROW(plugin->configure(context), ConfigError);
    context.clear();
  }
}

}  // namespace
}  // namespace janus::aggregator
