// Exports the plugin symbols with a wrong ABI version: the host must refuse it
// before calling the factory.
#include <janus/plugin.h>

namespace {
class NeverCreated final : public janus::Plugin {
 public:
  void configure(janus::PluginContext&) override {}
};
std::unique_ptr<janus::Plugin> create() { return std::make_unique<NeverCreated>(); }
const std::uint32_t wrong_abi_version = janus::kPluginAbiVersion + 1000;
}  // namespace

BOOST_DLL_ALIAS(create, janus_plugin_create)
BOOST_DLL_ALIAS(wrong_abi_version, janus_plugin_abi_version)
