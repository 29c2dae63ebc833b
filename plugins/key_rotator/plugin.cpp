// The `key_rotator` component plugin. `janus key_rotator --config-file F` (Janus's
// key_rotator binary, a cron job) runs one pass and exits: the host calls the plugin's
// `key_rotator` command. Inside the aggregator (its `key_rotator:` section, with
// frequency_s) or in a native host config it runs every frequency_s, the first pass while
// it is configured, so that keys bootstrapped on an empty table are there when the
// aggregator first reads them.
#include <janus/plugin.h>
#include <janus/worker.h>

#include <memory>
#include <ostream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "janus/config.h"
#include "key_rotator.h"

namespace janus::key_rotator {
namespace {

class KeyRotatorPlugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    ConfigMap map(context.config(), context.config_file());
    if (!map.has("key_rotator")) {
      throw ConfigError(config_location(context.config_file(), context.config()) +
                        ": missing required key 'key_rotator'");
    }
    const KeyRotatorConfig config =
        parse_key_rotator_config(map.raw("key_rotator"), context.config_file(), "key_rotator");
    map.finish();
    Datastore* datastore = context.datastore();
    if (!datastore) {
      throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                  "' (key_rotator) needs a 'database' section");
    }
    logger_ = context.logger();
    rotator_ = std::make_unique<KeyRotator>(config, *datastore, logger_);
    config_file_ = context.config_file();
    periodic_ = config.frequency.has_value();

    KeyRotator* rotator = rotator_.get();
    context.commands().add(
        "key_rotator", "one key rotation pass",
        [rotator](const std::vector<std::string>& args, std::ostream&, std::ostream& err) {
          if (!args.empty()) {
            err << "key_rotator: unexpected argument '" << args[0] << "'\n";
            return 2;
          }
          rotator->run_once();
          return 0;
        });
    if (!periodic_) return;
    try {
      rotator_->run_once();
    } catch (const std::exception& e) {
      logger_->error("key rotator error: {}", e.what());
    }
    PeriodicWorkerOptions options;
    options.name = context.instance_name() + " key rotation";
    options.interval = *config.frequency;
    options.run_at_start = false;
    context.workers().add_periodic(
        options, [rotator] { rotator->run_once(); }, logger_);
  }

  void start() override {
    if (!periodic_) {
      throw std::invalid_argument(
          config_file_ +
          ": key 'key_rotator.frequency_s' is required to run the key rotator as a service "
          "(`janus key_rotator --config-file FILE` runs one pass and exits)");
    }
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<KeyRotator> rotator_;
  std::string config_file_;
  bool periodic_ = false;
};

}  // namespace
}  // namespace janus::key_rotator

JANUS_PLUGIN(janus::key_rotator::KeyRotatorPlugin)
