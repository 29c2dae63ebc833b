// Test support: a PluginContext that offers only a VDAF registry, for tests
// that configure a VDAF plugin without a host (no routes, workers or database).
#pragma once

#include <stdexcept>
#include <string>

#include <yaml-cpp/yaml.h>

#include "janus/clock.h"
#include "janus/plugin.h"
#include "janus/vdaf_registry.h"

namespace janus::testing {

class VdafPluginContext final : public PluginContext {
 public:
  explicit VdafPluginContext(VdafRegistry& vdafs, YAML::Node config = YAML::Node(),
                             std::string instance_name = "vdaf")
      : vdafs_(vdafs), config_(std::move(config)), name_(std::move(instance_name)) {}

  const std::string& instance_name() const override { return name_; }
  const YAML::Node& config() const override { return config_; }
  const std::string& config_file() const override { return file_; }
  std::shared_ptr<spdlog::logger> logger() const override { return nullptr; }
  RouteRegistrar& routes() override { throw std::logic_error("no routes in a VDAF-only test"); }
  WorkerRegistrar& workers() override { throw std::logic_error("no workers in a VDAF-only test"); }
  VdafRegistry& vdafs() override { return vdafs_; }
  const Clock& clock() const override { return clock_; }
  Datastore* datastore() override { return nullptr; }
  CommandRegistrar& commands() override {
    throw std::logic_error("no commands in a VDAF-only test");
  }

 private:
  VdafRegistry& vdafs_;
  YAML::Node config_;
  std::string name_;
  std::string file_ = "test.yaml";
  RealClock clock_;
};

}  // namespace janus::testing
