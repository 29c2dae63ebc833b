// The three interop plugins differ only in the role they serve: each makes its role from
// the plugin context and registers the role's routes.
#pragma once

#include <janus/plugin.h>

#include <memory>

namespace janus::interop {

template <typename Role, std::unique_ptr<Role> (*make_role)(PluginContext&)>
class InteropPlugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    role_ = make_role(context);
    role_->register_routes(context.routes());
  }

 private:
  std::unique_ptr<Role> role_;
};

}  // namespace janus::interop
