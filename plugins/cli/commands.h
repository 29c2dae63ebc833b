// The janus_cli subcommands (janus-0.7.md §2): provision-tasks,
// generate-global-hpke-key, set-global-hpke-key-state, list-aggregation-jobs,
// list-collection-jobs, create-datastore-key, add-taskprov-peer-aggregator, and a collector
// (collect). Each takes the
// words after its name and returns the exit code: 0 done, 1 failed (one line on `err`), 2 a usage
// mistake.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "janus/datastore.h"
#include "janus/vdaf_registry.h"

namespace janus::cli {

// `datastore` may be null (no --config-file): the command then fails with a
// line saying what is missing.
int provision_tasks(const std::vector<std::string>& args, Datastore* datastore,
                    const VdafRegistry& vdafs, std::ostream& out, std::ostream& err);
int generate_global_hpke_key(const std::vector<std::string>& args, Datastore* datastore,
                             std::ostream& out, std::ostream& err);
int set_global_hpke_key_state(const std::vector<std::string>& args, Datastore* datastore,
                              std::ostream& out, std::ostream& err);
// A task's jobs with their leases, as a table or (--json) a JSON array.
int list_aggregation_jobs(const std::vector<std::string>& args, Datastore* datastore,
                          std::ostream& out, std::ostream& err);
int list_collection_jobs(const std::vector<std::string>& args, Datastore* datastore,
                         std::ostream& out, std::ostream& err);
// A new datastore key, printed or written to --out-file; needs no database.
int create_datastore_key(const std::vector<std::string>& args, std::ostream& out,
                         std::ostream& err);
// A DAP-09 collector (Janus's tools `collect`); needs no database.
int collect(const std::vector<std::string>& args, const VdafRegistry& vdafs, std::ostream& out,
            std::ostream& err);
// Adds a taskprov peer aggregator (taskprov_peer.cpp), with Janus's flags.
int add_taskprov_peer_aggregator(const std::vector<std::string>& args, Datastore* datastore,
                                 std::ostream& out, std::ostream& err);
// Re-encrypts every datastore secret under the first DATASTORE_KEYS key (rotate_keys.cpp).
int rotate_datastore_keys(const std::vector<std::string>& args, Datastore* datastore,
                          std::ostream& out, std::ostream& err);

}  // namespace janus::cli
