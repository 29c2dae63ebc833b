// Helpers for the Prio3 tests: vector files are read at run time from
// ../shared (JANUS_SHARED_DIR), and every field of a vector must be consumed.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include <janus/bytes.h>
#include <nlohmann/json.hpp>

namespace janus::prio3::testing {

inline std::string shared_path(const std::string& relative) {
  return std::string(JANUS_SHARED_DIR) + "/" + relative;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline nlohmann::json read_json(const std::string& relative) {
  return nlohmann::json::parse(read_text(shared_path(relative)));
}

inline Bytes unhex(const std::string& text) {
  auto bytes = hex_decode(text);
  if (!bytes) throw std::runtime_error("bad hex in vector: " + text.substr(0, 40));
  return *bytes;
}

// A JSON object whose fields must all be read before it is destroyed, so a
// vector field the test forgot to check fails the test.
class Fields {
 public:
  Fields(const nlohmann::json& object, std::string where)
      : object_(object), where_(std::move(where)) {}
  Fields(const Fields&) = delete;
  ~Fields() {
    for (const auto& [key, value] : object_.items()) {
      EXPECT_TRUE(used_.count(key)) << where_ << ": vector field '" << key << "' was not checked";
    }
  }
  const nlohmann::json& operator[](const std::string& key) {
    used_.insert(key);
    if (!object_.contains(key)) throw std::runtime_error(where_ + ": missing field " + key);
    return object_.at(key);
  }
  bool contains(const std::string& key) const { return object_.contains(key); }
  // Marks a field as deliberately belonging to another layer's tests.
  void belongs_elsewhere(const std::string& key) { used_.insert(key); }

 private:
  const nlohmann::json& object_;
  std::string where_;
  std::set<std::string> used_;
};

}  // namespace janus::prio3::testing
