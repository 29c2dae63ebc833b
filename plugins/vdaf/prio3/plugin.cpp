// The prio3 plugin: registers the four Prio3 VDAFs of VDAF-08 and the two
// libprio 0.16 variants Janus 0.7 adds (prio3.h) by the names Janus uses in
// task YAML and in its database.
#include <janus/plugin.h>
#include <janus/vdaf.h>
#include <janus/vdaf_registry.h>

#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "prio3.h"

namespace janus::prio3 {
namespace {

class Prio3Plugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    const YAML::Node& config = context.config();
    if (config.IsDefined() && !config.IsNull() && !(config.IsMap() && config.size() == 0)) {
      throw std::invalid_argument(context.config_file() + ": plugin '" + context.instance_name() +
                                  "' (prio3) takes no configuration");
    }
    for (const std::string& name : prio3_vdaf_names()) {
      context.vdafs().add(
          name, [](const VdafDescription& description) { return make_prio3(description); });
    }
  }
};

}  // namespace
}  // namespace janus::prio3

JANUS_PLUGIN(janus::prio3::Prio3Plugin)
