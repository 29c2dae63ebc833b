// The `job_creator` component plugin: Janus 0.7's `aggregation_job_creator` binary. A
// periodic worker creates aggregation jobs every aggregation_job_creation_interval_s.
#include <janus/plugin.h>
#include <janus/worker.h>

#include <memory>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "job_creator.h"

namespace janus::job_creator {
namespace {

class JobCreatorPlugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    const JobCreatorConfig config =
        parse_job_creator_config(context.config(), context.config_file());
    Datastore* datastore = context.datastore();
    if (!datastore) {
      throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                  "' (job_creator) needs a 'database' section");
    }
    creator_ = std::make_unique<JobCreator>(config, *datastore, context.vdafs(), context.logger());
    PeriodicWorkerOptions options;
    options.name = context.instance_name() + " aggregation job creation";
    options.interval = config.aggregation_job_creation_interval;
    options.run_at_start = true;
    JobCreator* creator = creator_.get();
    context.workers().add_periodic(
        options, [creator] { creator->run_once(); }, context.logger());
  }

 private:
  std::unique_ptr<JobCreator> creator_;
};

}  // namespace
}  // namespace janus::job_creator

JANUS_PLUGIN(janus::job_creator::JobCreatorPlugin)
