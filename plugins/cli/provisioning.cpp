#include "provisioning.h"

namespace janus::cli {

std::vector<AggregatorTask> replace_tasks(Datastore& datastore,
                                          const std::vector<AggregatorTask>& tasks,
                                          const std::string& tx_name) {
  return datastore.run_tx(tx_name, [&](Transaction& tx) {
    std::vector<AggregatorTask> read_back;
    for (const auto& task : tasks) {
      try {
        tx.delete_task(task.task_id);
      } catch (const MutationTargetNotFound&) {
      }
      tx.put_aggregator_task(task);
      auto stored = tx.get_aggregator_task(task.task_id);
      if (!stored) throw DatastoreError("task vanished right after it was written");
      read_back.push_back(std::move(*stored));
    }
    return read_back;
  });
}

}  // namespace janus::cli
