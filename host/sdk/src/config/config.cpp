#include "janus/config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

namespace janus {
namespace {

const char* node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

[[noreturn]] void type_error(const YAML::Node& node, const std::string& file,
                             const std::string& key_path, const std::string& expected) {
  std::string found = node.IsScalar() ? "'" + node.Scalar() + "'" : node_kind(node);
  throw ConfigError(config_location(file, node) + ": key '" + key_path + "': expected " + expected +
                    ", found " + found);
}

const std::string& scalar_of(const YAML::Node& node, const std::string& file,
                             const std::string& key_path, const std::string& expected) {
  if (!node.IsScalar()) type_error(node, file, key_path, expected);
  return node.Scalar();
}

template <typename Int>
Int parse_integer(const YAML::Node& node, const std::string& file, const std::string& key_path,
                  const std::string& expected) {
  const std::string& text = scalar_of(node, file, key_path, expected);
  // A quoted scalar is a string in YAML even when it looks like a number.
  if (node.Tag() == "!") type_error(node, file, key_path, expected);
  Int value{};
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (std::is_unsigned_v<Int> && begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) {
    throw ConfigError(config_location(file, node) + ": key '" + key_path + "': " + text +
                      " is out of range for " + expected);
  }
  if (ec != std::errc() || ptr != end || begin == end) type_error(node, file, key_path, expected);
  return value;
}

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Whether `typed` is close enough to `known` to be a misspelling of it: a few
// edits, fewer for short keys.
bool resembles(const std::string& typed, const std::string& known) {
  const std::size_t limit = std::clamp<std::size_t>(known.size() / 4, 1, 3);
  return edit_distance(typed, known) <= limit;
}

}  // namespace

std::string config_location(const std::string& file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return file;
  return file + ":" + std::to_string(mark.line + 1);
}

template <>
std::string config_value<std::string>(const YAML::Node& node, const std::string& file,
                                      const std::string& key_path) {
  return scalar_of(node, file, key_path, "a string");
}

template <>
bool config_value<bool>(const YAML::Node& node, const std::string& file,
                        const std::string& key_path) {
  const std::string& text = scalar_of(node, file, key_path, "true or false");
  if (node.Tag() != "!") {
    if (text == "true") return true;
    if (text == "false") return false;
  }
  type_error(node, file, key_path, "true or false");
}

template <>
std::int64_t config_value<std::int64_t>(const YAML::Node& node, const std::string& file,
                                        const std::string& key_path) {
  return parse_integer<std::int64_t>(node, file, key_path, "an integer");
}

template <>
std::uint64_t config_value<std::uint64_t>(const YAML::Node& node, const std::string& file,
                                          const std::string& key_path) {
  return parse_integer<std::uint64_t>(node, file, key_path, "an unsigned 64-bit integer");
}

template <>
std::uint32_t config_value<std::uint32_t>(const YAML::Node& node, const std::string& file,
                                          const std::string& key_path) {
  return parse_integer<std::uint32_t>(node, file, key_path, "an unsigned 32-bit integer");
}

template <>
std::uint16_t config_value<std::uint16_t>(const YAML::Node& node, const std::string& file,
                                          const std::string& key_path) {
  return parse_integer<std::uint16_t>(node, file, key_path, "an unsigned 16-bit integer");
}

template <>
double config_value<double>(const YAML::Node& node, const std::string& file,
                            const std::string& key_path) {
  const std::string& text = scalar_of(node, file, key_path, "a number");
  if (node.Tag() == "!") type_error(node, file, key_path, "a number");
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    type_error(node, file, key_path, "a number");
  }
  return value;
}

template <>
std::vector<std::string> config_value<std::vector<std::string>>(const YAML::Node& node,
                                                                const std::string& file,
                                                                const std::string& key_path) {
  if (!node.IsSequence()) type_error(node, file, key_path, "a sequence of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(
        config_value<std::string>(node[i], file, key_path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

ConfigMap::ConfigMap(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {
  // A missing key is an invalid node in yaml-cpp; read it as an empty map.
  if (!node_.IsDefined()) node_ = YAML::Node();
  if (node_.IsMap()) {
    // YAML forbids duplicate keys but yaml-cpp keeps both; Janus (serde) rejects them.
    std::set<std::string> seen;
    for (const auto& item : node_) {
      if (item.first.IsScalar() && !seen.insert(item.first.Scalar()).second) {
        throw ConfigError(config_location(file_, item.first) + ": duplicate key '" +
                          key_path(item.first.Scalar()) + "'");
      }
    }
  }
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    std::string where = path_.empty() ? "the top level" : "key '" + path_ + "'";
    throw ConfigError(config_location(file_, node_) + ": " + where +
                      ": expected a mapping, found " + node_kind(node_));
  }
}

bool ConfigMap::has(const std::string& key) const {
  if (!node_.IsMap()) return false;
  const YAML::Node& const_node = node_;
  return const_node[key].IsDefined();
}

YAML::Node ConfigMap::take(const std::string& key) {
  consumed_.insert(key);
  if (!node_.IsMap()) return YAML::Node();
  const YAML::Node& const_node = node_;
  YAML::Node value = const_node[key];
  // Absent keys come back as null nodes (yaml-cpp's invalid nodes throw on use).
  return value.IsDefined() ? value : YAML::Node();
}

ConfigMap ConfigMap::section(const std::string& key) {
  return ConfigMap(take(key), file_, key_path(key));
}

YAML::Node ConfigMap::raw(const std::string& key) { return take(key); }

void ConfigMap::unimplemented(const std::string& key, const ConfigWarningSink& warn) {
  YAML::Node value = take(key);
  if (!value.IsDefined() || value.IsNull()) return;
  if (value.IsScalar() && value.Scalar() == "false") return;
  if (value.IsMap() && value.size() == 0) return;
  if (warn) {
    warn(config_location(file_, value) + ": key '" + key_path(key) +
         "' is accepted for Janus compatibility but not implemented yet; it has no effect");
  }
}

std::vector<std::string> ConfigMap::unread_keys() const {
  std::vector<std::string> out;
  if (!node_.IsMap()) return out;
  for (const auto& item : node_) {
    std::string key = item.first.IsScalar() ? item.first.Scalar() : std::string();
    if (!consumed_.count(key)) out.push_back(key);
  }
  return out;
}

void ConfigMap::finish() const {
  if (!node_.IsMap()) return;
  for (const auto& item : node_) {
    if (!item.first.IsScalar()) {
      throw ConfigError(config_location(file_, item.first) + ": a key in '" + path_ +
                        "' is not a plain scalar");
    }
    const std::string& key = item.first.Scalar();
    if (consumed_.count(key)) continue;
    // The closest key that was asked for but is not in the file.
    std::string suggestion;
    std::size_t best = std::string::npos;
    for (const std::string& known : consumed_) {
      if (has(known) || !resembles(key, known)) continue;
      const std::size_t distance = edit_distance(key, known);
      if (distance < best) best = distance, suggestion = known;
    }
    throw ConfigError(
        config_location(file_, item.first) + ": unknown key '" + key_path(key) + "'" +
        (suggestion.empty() ? "" : " (did you mean '" + key_path(suggestion) + "'?)"));
  }
}

void ConfigMap::missing_required(const std::string& key) const {
  if (node_.IsMap()) {
    for (const auto& item : node_) {
      if (!item.first.IsScalar() || consumed_.count(item.first.Scalar())) continue;
      if (resembles(item.first.Scalar(), key)) {
        throw ConfigError(config_location(file_, item.first) + ": unknown key '" +
                          key_path(item.first.Scalar()) + "' (did you mean '" + key_path(key) +
                          "'?)");
      }
    }
  }
  throw ConfigError(config_location(file_, node_) + ": missing required key '" + key_path(key) +
                    "'");
}

YAML::Node load_yaml_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file + ": cannot read config file: " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw ConfigError(file + ": cannot read config file");
  try {
    return YAML::Load(buffer.str());
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? file : file + ":" + std::to_string(e.mark.line + 1);
    throw ConfigError(where + ": YAML syntax error: " + e.msg);
  }
}

std::uint64_t read_positive(ConfigMap& map, const std::string& key,
                            std::optional<std::uint64_t> fallback) {
  const std::uint64_t value =
      fallback ? map.get<std::uint64_t>(key, *fallback) : map.required<std::uint64_t>(key);
  if (value == 0) {
    throw ConfigError(config_location(map.file(), map.node()[key]) + ": key '" + map.key_path(key) +
                      "': must be greater than 0");
  }
  return value;
}

}  // namespace janus
