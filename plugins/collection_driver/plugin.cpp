// The `collection_driver` component plugin: Janus 0.7's `collection_job_driver` binary.
#include <janus/plugin.h>
#include <janus/worker.h>

#include <memory>
#include <stdexcept>

#include "collection_driver.h"
#include "driver_config.h"

namespace janus::collection_driver {
namespace {

class CollectionDriverPlugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    const CollectionDriverConfig config =
        parse_collection_driver_config(context.config(), context.config_file());
    Datastore* datastore = context.datastore();
    if (!datastore) {
      throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                  "' (collection_driver) needs a 'database' section");
    }
    driver_ =
        std::make_unique<CollectionDriver>(config, *datastore, context.vdafs(), context.logger());
    context.workers().add(std::make_unique<LeaseWorkerRunner>(
        driver_->options(context.instance_name() + " collection jobs"), driver_->functions(),
        context.clock(), context.logger()));
  }

 private:
  std::unique_ptr<CollectionDriver> driver_;
};

}  // namespace
}  // namespace janus::collection_driver

JANUS_PLUGIN(janus::collection_driver::CollectionDriverPlugin)
