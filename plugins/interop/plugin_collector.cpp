// The `interop_collector` plugin: the DAP interop test API of the collector role (README.md).
// Test-only: loaded only when a host config names it.
#include "collector_role.h"
#include "interop_plugin.h"

namespace janus::interop {
namespace {

std::unique_ptr<InteropCollector> make_collector(PluginContext& context) {
  return std::make_unique<InteropCollector>(
      parse_interop_config(context.config(), context.config_file(), false), context.vdafs());
}

using InteropCollectorPlugin = InteropPlugin<InteropCollector, &make_collector>;

}  // namespace
}  // namespace janus::interop

JANUS_PLUGIN(janus::interop::InteropCollectorPlugin)
