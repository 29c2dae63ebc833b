// Small checks shared by the leader's upload and the helper's aggregation job init, which
// validate the same report fields.
#pragma once

#include <limits>
#include <set>
#include <vector>

#include "janus/http.h"
#include "janus/ids.h"
#include "janus/messages.h"

namespace janus::aggregator {

// a + b, capped instead of wrapping (tasks may carry huge skews or expiry ages).
inline Time saturating_add(Time a, Duration b) {
  return a > std::numeric_limits<Time>::max() - b ? std::numeric_limits<Time>::max() : a + b;
}

// DAP: an input share repeating an extension type is invalid.
inline bool has_duplicate_extension(const std::vector<Extension>& extensions) {
  std::set<ExtensionType> seen;
  for (const Extension& extension : extensions) {
    if (!seen.insert(extension.type).second) return true;
  }
  return false;
}

// Taskprov §4 and §6: a taskprov task's report shares carry the taskprov extension with
// empty data; as in Janus 0.7, any other task's shares must not carry it at all.
inline bool taskprov_extension_as_expected(const std::vector<Extension>& extensions,
                                           bool taskprov_task) {
  for (const Extension& extension : extensions) {
    if (extension.type == ExtensionType::Taskprov) return taskprov_task && extension.data.empty();
  }
  return !taskprov_task;
}

}  // namespace janus::aggregator
