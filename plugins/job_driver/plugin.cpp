// The `job_driver` component plugin: Janus 0.7's `aggregation_job_driver` binary. A lease
// worker runner steps the leased aggregation jobs.
#include <janus/plugin.h>
#include <janus/worker.h>

#include <memory>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "job_driver.h"

namespace janus::job_driver {
namespace {

class JobDriverPlugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    auto logger = context.logger();
    const AggregationJobDriverConfig config = parse_job_driver_config(
        context.config(), context.config_file(), [&](const std::string& message) {
          if (logger) logger->warn("{}", message);
        });
    Datastore* datastore = context.datastore();
    if (!datastore) {
      throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                  "' (job_driver) needs a 'database' section");
    }
    driver_ = std::make_unique<JobDriver>(config, *datastore, context.vdafs(), logger);
    context.workers().add(std::make_unique<LeaseWorkerRunner>(
        driver_->worker_options(context.instance_name() + " aggregation job driver"),
        driver_->worker_functions(), context.clock(), logger));
  }

 private:
  std::unique_ptr<JobDriver> driver_;
};

}  // namespace
}  // namespace janus::job_driver

JANUS_PLUGIN(janus::job_driver::JobDriverPlugin)
