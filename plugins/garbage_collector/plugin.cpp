// The `garbage_collector` component plugin: Janus 0.7's `garbage_collector` binary (its
// config's `garbage_collection:` section), also loaded by the host beside the aggregator
// when an aggregator config has that section. A periodic worker runs the collector every
// gc_frequency_s, the first time at start.
#include <janus/plugin.h>
#include <janus/worker.h>

#include <memory>
#include <stdexcept>

#include "garbage_collector.h"
#include "janus/config.h"

namespace janus::garbage_collector {
namespace {

class GarbageCollectorPlugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    ConfigMap map(context.config(), context.config_file());
    if (!map.has("garbage_collection")) {
      throw ConfigError(config_location(context.config_file(), context.config()) +
                        ": missing required key 'garbage_collection'");
    }
    const GarbageCollectorConfig config = parse_garbage_collection(
        map.raw("garbage_collection"), context.config_file(), "garbage_collection");
    map.finish();
    Datastore* datastore = context.datastore();
    if (!datastore) {
      throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                  "' (garbage_collector) needs a 'database' section");
    }
    collector_ = std::make_unique<GarbageCollector>(config, *datastore, context.logger());
    PeriodicWorkerOptions options;
    options.name = context.instance_name() + " garbage collection";
    options.interval = config.gc_frequency;
    options.run_at_start = true;
    GarbageCollector* collector = collector_.get();
    context.workers().add_periodic(
        options, [collector] { collector->run_once(); }, context.logger());
  }

 private:
  std::unique_ptr<GarbageCollector> collector_;
};

}  // namespace
}  // namespace janus::garbage_collector

JANUS_PLUGIN(janus::garbage_collector::GarbageCollectorPlugin)
