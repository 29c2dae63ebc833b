// The one place that reads and writes a task's VDAF description in Janus's
// database (JSON) and YAML forms.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <stdexcept>

#include "janus/vdaf_registry.h"

namespace janus {
namespace {

std::string where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? " (line " + std::to_string(mark.line + 1) + ")" : "";
}

template <typename Int>
bool parse_integer(const std::string& text, Int& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// A YAML value as JSON: serde_yaml reads plain scalars by content, quoted ones
// as strings.
nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& entry : node) out[entry.first.Scalar()] = yaml_to_json(entry.second);
      return out;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted
  if (text == "~" || text == "null") return nullptr;
  if (text == "true") return true;
  if (text == "false") return false;
  if (std::uint64_t u; parse_integer(text, u)) return u;
  if (std::int64_t i; parse_integer(text, i)) return i;
  return text;
}

}  // namespace

nlohmann::json vdaf_to_json(const VdafDescription& vdaf) {
  if (vdaf.parameters.is_null() || vdaf.parameters.empty()) return vdaf.name;
  return {{vdaf.name, vdaf.parameters}};
}

VdafDescription vdaf_from_json(const nlohmann::json& json) {
  if (json.is_string()) return VdafDescription{json.get<std::string>()};
  if (json.is_object() && json.size() == 1 && json.begin().value().is_object()) {
    return VdafDescription{json.begin().key(), json.begin().value()};
  }
  throw std::invalid_argument("invalid VDAF " + json.dump());
}

VdafDescription vdaf_from_yaml(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  const bool tagged = !tag.empty() && tag != "?" && tag != "!";
  if (tagged) {
    // `!Name {…}` (or a bare `!Name`).
    if (tag[0] != '!' || tag.size() < 2) {
      throw std::invalid_argument("invalid VDAF tag '" + tag + "'" + where(node));
    }
    VdafDescription description{tag.substr(1)};
    if (node.IsMap()) {
      description.parameters = yaml_to_json(node);
    } else if (!(node.IsNull() || (node.IsScalar() && node.Scalar().empty()))) {
      throw std::invalid_argument("VDAF '" + description.name + "': parameters must be a map" +
                                  where(node));
    }
    return description;
  }
  if (node.IsScalar() && !node.Scalar().empty()) return VdafDescription{node.Scalar()};
  if (node.IsMap() && node.size() == 1) {
    const auto entry = *node.begin();
    if (entry.second.IsMap()) {
      return VdafDescription{entry.first.Scalar(), yaml_to_json(entry.second)};
    }
  }
  throw std::invalid_argument(
      "invalid VDAF: expected a name such as Prio3Count or a tagged map such as "
      "!Prio3Sum {bits: 16}" +
      where(node));
}

}  // namespace janus
