#include <stdexcept>

#include "janus/vdaf_registry.h"

namespace janus {

void VdafRegistry::add(const std::string& name, VdafFactory factory) {
  std::lock_guard lock(mutex_);
  if (!factories_.emplace(name, std::move(factory)).second) {
    throw std::invalid_argument("VDAF '" + name + "' is registered twice");
  }
}

void VdafRegistry::clear() {
  std::lock_guard lock(mutex_);
  factories_.clear();
}

std::shared_ptr<const Vdaf> VdafRegistry::create(const VdafDescription& description) const {
  VdafFactory factory;
  {
    std::lock_guard lock(mutex_);
    auto it = factories_.find(description.name);
    if (it == factories_.end()) {
      throw std::invalid_argument("unknown VDAF '" + description.name +
                                  "' (no loaded plugin registers it)");
    }
    factory = it->second;
  }
  return factory(description);
}

bool VdafRegistry::contains(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return factories_.count(name) != 0;
}

std::vector<std::string> VdafRegistry::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

}  // namespace janus
