// The `interop_aggregator` plugin: the DAP interop test API of the aggregator role, beside
// the `aggregator` plugin (README.md). Test-only: loaded only when a host config names it.
#include <stdexcept>

#include "aggregator_role.h"
#include "interop_plugin.h"

namespace janus::interop {
namespace {

std::unique_ptr<InteropAggregator> make_aggregator(PluginContext& context) {
  InteropConfig config = parse_interop_config(context.config(), context.config_file(), true);
  Datastore* datastore = context.datastore();
  if (!datastore) {
    throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                "' (interop_aggregator) needs a 'database' section");
  }
  return std::make_unique<InteropAggregator>(std::move(config), *datastore, context.vdafs());
}

using InteropAggregatorPlugin = InteropPlugin<InteropAggregator, &make_aggregator>;

}  // namespace
}  // namespace janus::interop

JANUS_PLUGIN(janus::interop::InteropAggregatorPlugin)
