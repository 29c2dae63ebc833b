// Typed reading of YAML config sections. Janus rejects unknown keys
// (serde's deny_unknown_fields); so do we: a ConfigMap remembers which keys were
// read, and finish() reports the first key nobody asked for, naming the file,
// the key's full path and its line.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace janus {

// A config problem. what() is one line: "FILE:LINE: key 'a.b': <cause>".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "FILE:LINE" for a node (just "FILE" when the node has no position).
std::string config_location(const std::string& file, const YAML::Node& node);

// Converts one YAML scalar to T, or throws ConfigError naming file, key and
// line. Defined for std::string, bool, std::int64_t, std::uint64_t,
// std::uint32_t, std::uint16_t, double and std::vector<std::string>.
// Integers are strict: no sign on unsigned types, no fraction, no overflow.
template <typename T>
T config_value(const YAML::Node& node, const std::string& file, const std::string& key_path);
template <>
std::string config_value<std::string>(const YAML::Node&, const std::string&, const std::string&);
template <>
bool config_value<bool>(const YAML::Node&, const std::string&, const std::string&);
template <>
std::int64_t config_value<std::int64_t>(const YAML::Node&, const std::string&, const std::string&);
template <>
std::uint64_t config_value<std::uint64_t>(const YAML::Node&, const std::string&,
                                          const std::string&);
template <>
std::uint32_t config_value<std::uint32_t>(const YAML::Node&, const std::string&,
                                          const std::string&);
template <>
std::uint16_t config_value<std::uint16_t>(const YAML::Node&, const std::string&,
                                          const std::string&);
template <>
double config_value<double>(const YAML::Node&, const std::string&, const std::string&);
template <>
std::vector<std::string> config_value<std::vector<std::string>>(const YAML::Node&,
                                                                const std::string&,
                                                                const std::string&);

// Called for every key that Janus accepts but this build does not implement
// yet (see ConfigMap::unimplemented). The host logs it as a warning.
using ConfigWarningSink = std::function<void(const std::string& message)>;

class ConfigMap {
 public:
  // `node` must be a mapping or null/absent (read as empty); otherwise throws.
  // `path` is the key path of this map inside the file ("" at the top).
  ConfigMap(YAML::Node node, std::string file, std::string path = "");

  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }

  bool has(const std::string& key) const;

  template <typename T>
  T required(const std::string& key) {
    YAML::Node value = take(key);
    if (!value.IsDefined() || value.IsNull()) missing_required(key);
    return config_value<T>(value, file_, key_path(key));
  }

  template <typename T>
  T get(const std::string& key, T default_value) {
    YAML::Node value = take(key);
    if (!value.IsDefined() || value.IsNull()) return default_value;
    return config_value<T>(value, file_, key_path(key));
  }

  template <typename T>
  std::optional<T> optional(const std::string& key) {
    YAML::Node value = take(key);
    if (!value.IsDefined() || value.IsNull()) return std::nullopt;
    return config_value<T>(value, file_, key_path(key));
  }

  // A nested mapping (empty when absent or null). Call finish() on it too.
  ConfigMap section(const std::string& key);
  // The raw node for a key, marking it as known (for shapes the helpers do not
  // cover, e.g. sequences of maps or tagged values).
  YAML::Node raw(const std::string& key);
  // Marks a key as known without reading it.
  void accept(const std::string& key) { consumed_.insert(key); }

  // A key Janus accepts but we do not implement: if present (and not null,
  // false, or an empty map), `warn` is called with a message naming it.
  void unimplemented(const std::string& key, const ConfigWarningSink& warn);

  // Throws ConfigError for the first key that was never read, suggesting the
  // closest known key ("unknown key 'x' (did you mean 'y'?)").
  void finish() const;

  // Keys never read, in file order (for callers that forward them elsewhere).
  std::vector<std::string> unread_keys() const;

  std::string key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

 private:
  YAML::Node take(const std::string& key);
  // A required key is absent. A key in the map that nobody read and that looks
  // like a misspelling of it is reported as unknown, naming its line and the
  // key it resembles; otherwise the key is reported missing.
  [[noreturn]] void missing_required(const std::string& key) const;

  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::set<std::string> consumed_;
};

// The integer at `key` (or `fallback` when absent and given), refused with a ConfigError
// naming file, line and key when it is 0 (a count, size or interval where 0 makes no sense).
std::uint64_t read_positive(ConfigMap& map, const std::string& key,
                            std::optional<std::uint64_t> fallback = std::nullopt);

// Loads a YAML file; throws ConfigError naming the file for an unreadable file
// or a syntax error (with its line).
YAML::Node load_yaml_file(const std::string& file);

}  // namespace janus
