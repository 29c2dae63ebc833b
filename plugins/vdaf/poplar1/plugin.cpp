// The poplar1 plugin: registers Poplar1 (VDAF-08 §8) by the name Janus uses in
// task YAML and in its database, `Poplar1 {bits}`. Built against the SDK's
// public headers and libjanus_sdk.so alone, as a third party's plugin is.
#include <janus/plugin.h>
#include <janus/vdaf.h>
#include <janus/vdaf_registry.h>

#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "poplar1.h"

namespace janus::poplar1 {
namespace {

class Poplar1Plugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    const YAML::Node& config = context.config();
    if (config.IsDefined() && !config.IsNull() && !(config.IsMap() && config.size() == 0)) {
      throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                  "' (poplar1) takes no configuration");
    }
    context.vdafs().add(
        kName, [](const VdafDescription& description) { return make_poplar1(description); });
  }
};

}  // namespace
}  // namespace janus::poplar1

JANUS_PLUGIN(janus::poplar1::Poplar1Plugin)
