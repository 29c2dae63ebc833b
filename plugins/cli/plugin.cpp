// The `cli` plugin: Janus's janus_cli subcommands, run by the host as
// `janus janus_cli <subcommand>` or through a `janus_cli` link to `janus`.
#include "janus/plugin.h"
#include "commands.h"
#include "janus/config.h"

namespace janus::cli {
namespace {

class CliPlugin final : public Plugin {
 public:
  void configure(PluginContext& context) override {
    // janus_cli.yaml has only the common keys the host reads: anything left
    // over is a mistake, as it is for Janus.
    ConfigMap(context.config(), context.config_file()).finish();
    Datastore* datastore = context.datastore();
    VdafRegistry* vdafs = &context.vdafs();
    CommandRegistrar& commands = context.commands();
    commands.add("provision-tasks", "write the tasks of a tasks.yaml file to the datastore",
                 [datastore, vdafs](const std::vector<std::string>& args, std::ostream& out,
                                    std::ostream& err) {
                   return provision_tasks(args, datastore, *vdafs, out, err);
                 });
    commands.add(
        "generate-global-hpke-key", "generate a global HPKE keypair (stored pending)",
        [datastore](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
          return generate_global_hpke_key(args, datastore, out, err);
        });
    commands.add(
        "set-global-hpke-key-state", "set a global HPKE keypair's state (active, pending, expired)",
        [datastore](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
          return set_global_hpke_key_state(args, datastore, out, err);
        });
    commands.add(
        "list-aggregation-jobs", "list a task's aggregation jobs and their leases",
        [datastore](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
          return list_aggregation_jobs(args, datastore, out, err);
        });
    commands.add(
        "list-collection-jobs", "list a task's collection jobs and their leases",
        [datastore](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
          return list_collection_jobs(args, datastore, out, err);
        });
    commands.add("create-datastore-key", "print a new datastore key (or write it to a file)",
                 [](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
                   return create_datastore_key(args, out, err);
                 });
    commands.add("collect",
                 "collect a batch from the leader and print the aggregate (a DAP collector)",
                 [vdafs](const std::vector<std::string>& args, std::ostream& out,
                         std::ostream& err) { return collect(args, *vdafs, out, err); });
    commands.add(
        "add-taskprov-peer-aggregator", "add a taskprov peer aggregator",
        [datastore](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
          return add_taskprov_peer_aggregator(args, datastore, out, err);
        });
    commands.add(
        "rotate-datastore-keys",
        "re-encrypt every datastore secret under the first DATASTORE_KEYS key (online)",
        [datastore](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
          return rotate_datastore_keys(args, datastore, out, err);
        });
  }
};

}  // namespace
}  // namespace janus::cli

JANUS_PLUGIN(janus::cli::CliPlugin)
