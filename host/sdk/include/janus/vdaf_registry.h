// VDAF factories by name. VDAF plugins add factories while they are
// configured; components create VDAF instances from a task's description.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace YAML {
class Node;
}

namespace janus {

class Vdaf;  // <janus/vdaf.h>

// A VDAF as a task names it. Janus writes `!Prio3Sum {bits: 8}` in YAML and
// {"Prio3Sum":{"bits":8}} in its database; both become
// {name = "Prio3Sum", parameters = {"bits": 8}}. `Prio3Count` has no parameters.
struct VdafDescription {
  std::string name;
  nlohmann::json parameters = nlohmann::json::object();
};

// Janus's database form: "Prio3Count" or {"Prio3Sum":{"bits":16}}.
nlohmann::json vdaf_to_json(const VdafDescription& vdaf);
// Throws std::invalid_argument unless `json` is a string or a one-member
// object whose value is an object.
VdafDescription vdaf_from_json(const nlohmann::json& json);
// Janus's YAML form (tasks.yaml, serde_yaml tags): `Prio3Count` or
// `!Prio3Sum {bits: 16}`; also the untagged `{Prio3Sum: {bits: 16}}`.
// Parameter values become JSON (plain integers become numbers, quoted
// scalars stay strings, maps and sequences nest). Throws std::invalid_argument
// naming the line for anything else.
VdafDescription vdaf_from_yaml(const YAML::Node& node);

using VdafFactory = std::function<std::shared_ptr<const Vdaf>(const VdafDescription&)>;

class VdafRegistry {
 public:
  // Throws std::invalid_argument if `name` is already registered.
  void add(const std::string& name, VdafFactory factory);
  // Removes every factory (the host calls this before unloading plugins, so
  // no factory outlives the library that made it).
  void clear();
  // Throws std::invalid_argument naming the VDAF if it is unknown or its
  // parameters are invalid.
  std::shared_ptr<const Vdaf> create(const VdafDescription& description) const;
  bool contains(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, VdafFactory> factories_;
};

}  // namespace janus
