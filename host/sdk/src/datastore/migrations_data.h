// The migrations of db/, embedded at build time (see this folder's CMakeLists.txt).
#pragma once

#include <string_view>
#include <vector>

namespace janus::migrations_data {

struct EmbeddedMigration {
  std::string_view name;  // e.g. "0001_tasks_and_keys"
  std::string_view sql;
};

// In file-name order.
const std::vector<EmbeddedMigration>& all();

}  // namespace janus::migrations_data
