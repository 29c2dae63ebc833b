// The `interop_client` plugin: the DAP interop test API of the client role (README.md).
// Test-only: loaded only when a host config names it.
#include "client_role.h"
#include "interop_plugin.h"

namespace janus::interop {
namespace {

std::unique_ptr<InteropClient> make_client(PluginContext& context) {
  return std::make_unique<InteropClient>(
      parse_interop_config(context.config(), context.config_file(), false), context.vdafs());
}

using InteropClientPlugin = InteropPlugin<InteropClient, &make_client>;

}  // namespace
}  // namespace janus::interop

JANUS_PLUGIN(janus::interop::InteropClientPlugin)
