// Writing provisioned tasks, shared by `janus_cli provision-tasks` and the interop test
// aggregator (plugins/interop).
#pragma once

#include <string>
#include <vector>

#include "janus/datastore.h"

namespace janus::cli {

// Writes every task in one transaction named `tx_name` (all or none). A task whose id
// already exists is deleted with everything belonging to it and written again, as Janus
// does. Returns the tasks as read back from the datastore.
std::vector<AggregatorTask> replace_tasks(Datastore& datastore,
                                          const std::vector<AggregatorTask>& tasks,
                                          const std::string& tx_name);

}  // namespace janus::cli
