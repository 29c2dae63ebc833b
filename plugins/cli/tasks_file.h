// tasks.yaml as Janus 0.7's `janus_cli provision-tasks` reads it
// (janus-0.7.md §3.3, aggregator_core/src/task.rs SerializedAggregatorTask),
// and the YAML `--echo-tasks` prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "janus/auth.h"
#include "janus/datastore/records.h"
#include "janus/vdaf_registry.h"

namespace janus::cli {

// One task ready to be written, plus the helper's aggregator token when the
// file gave one (or it was generated): the database keeps only its hash, so
// --echo-tasks prints it here or nowhere.
struct ProvisionedTask {
  AggregatorTask task;
  std::optional<AuthToken> helper_aggregator_auth_token;
};

struct TasksFileOptions {
  // Fill task_id, vdaf_verify_key, the helper's aggregator_auth_token and one
  // X25519/HKDF-SHA256/AES-128-GCM HPKE keypair when they are missing.
  bool generate_missing_parameters = false;
};

// Parses a tasks file. `vdafs` knows the VDAFs (their parameters are checked
// and the verify key size comes from them). Throws janus::ConfigError with one
// line "FILE:LINE: key 'tasks[I].KEY': cause".
std::vector<ProvisionedTask> parse_tasks(const YAML::Node& root, const std::string& file,
                                         const VdafRegistry& vdafs,
                                         const TasksFileOptions& options);
std::vector<ProvisionedTask> load_tasks_file(const std::string& file, const VdafRegistry& vdafs,
                                             const TasksFileOptions& options);

// The tasks as a tasks.yaml document (a sequence in the file's own format,
// readable again by parse_tasks), with every secret in the clear: the
// operator asked for it with --echo-tasks.
std::string tasks_to_yaml(const std::vector<ProvisionedTask>& tasks);

// One line describing a task without its secrets, as `provision-tasks --dry-run` lists the
// tasks it would write: "<task id>: Leader, Prio3Sum {"bits":16}, TimeInterval, peer
// https://example.com/, time_precision 1800 s, min_batch_size 100, max_batch_query_count 1,
// expires 1704088800, N HPKE key(s)".
std::string task_summary(const AggregatorTask& task);

}  // namespace janus::cli
