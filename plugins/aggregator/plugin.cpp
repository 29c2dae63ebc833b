// The `aggregator` component plugin: Janus 0.7's `aggregator` binary. Parses its config
// section, serves the DAP API on listen_address and refreshes the global HPKE keys.
#include <janus/config.h>
#include <janus/plugin.h>
#include <janus/worker.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "aggregator.h"
#include "aggregator_config.h"
#include "hpke_config_signer.h"

namespace janus::aggregator {
namespace {

class AggregatorPlugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    auto logger = context.logger();
    AggregatorConfig config = parse_aggregator_config(context.config(), context.config_file(),
                                                      [&](const std::string& message) {
                                                        if (logger) logger->warn("{}", message);
                                                      });
    if (const char* pem = std::getenv(kHpkeConfigSigningKeyEnv); pem && *pem) {
      config.hpke_config_signing_key = pem;
    }
    if (config.aggregator_api) {
      const char* tokens = std::getenv(kAggregatorApiAuthTokensEnv);
      config.aggregator_api->auth_tokens = parse_aggregator_api_auth_tokens(tokens ? tokens : "");
      if (config.aggregator_api->auth_tokens.empty() && logger) {
        logger->warn("aggregator_api is configured but {} is empty: every request gets 401",
                     kAggregatorApiAuthTokensEnv);
      }
    }
    Datastore* datastore = context.datastore();
    if (!datastore) {
      throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                  "' (aggregator) needs a 'database' section");
    }
    aggregator_ =
        std::make_unique<Aggregator>(config, *datastore, context.vdafs(), context.clock(), logger);
    // Janus loads the global keys before serving; a database that cannot be read now is
    // a startup error.
    aggregator_->refresh_global_hpke_keys();
    aggregator_->register_routes(context.routes());
    PeriodicWorkerOptions refresh;
    refresh.name = context.instance_name() + " global HPKE key refresh";
    refresh.interval = config.global_hpke_configs_refresh_interval;
    refresh.run_at_start = false;
    Aggregator* aggregator = aggregator_.get();
    context.workers().add_periodic(
        refresh, [aggregator] { aggregator->refresh_global_hpke_keys(); }, logger);
  }

  void start() override { aggregator_->start(); }
  void stop() override {
    if (aggregator_) aggregator_->stop();
  }

 private:
  std::unique_ptr<Aggregator> aggregator_;
};

}  // namespace
}  // namespace janus::aggregator

JANUS_PLUGIN(janus::aggregator::AggregatorPlugin)
