// The host's command-line pieces that plugins' subcommands rely on: the
// command table and the split of common options from a subcommand's own.
#include <gtest/gtest.h>

#include <sstream>

#include "cli.h"
#include "host.h"

namespace janus::runtime {
namespace {

TEST(Commands, RegistersFindsAndRefusesDuplicates) {
  Commands commands;
  commands.add("hello", "say hello",
               [](const std::vector<std::string>& args, std::ostream& out, std::ostream&) {
                 out << "hello " << args.size();
                 return 3;
               });
  const Commands::Entry* entry = commands.find("hello");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->summary, "say hello");
  std::ostringstream out, err;
  EXPECT_EQ(entry->handler({"a", "b"}, out, err), 3);
  EXPECT_EQ(out.str(), "hello 2");
  EXPECT_EQ(commands.find("goodbye"), nullptr);

  auto noop = [](const std::vector<std::string>&, std::ostream&, std::ostream&) { return 0; };
  EXPECT_THROW(commands.add("hello", "again", noop), std::invalid_argument);
  EXPECT_THROW(commands.add("", "empty", noop), std::invalid_argument);
  EXPECT_THROW(commands.add("--flag", "looks like an option", noop), std::invalid_argument);
  EXPECT_THROW(commands.add("nothing", "no handler", nullptr), std::invalid_argument);
  commands.clear();
  EXPECT_EQ(commands.find("hello"), nullptr);
}

TEST(SplitCommonOptions, TakesCommonOptionsAnywhereAndKeepsTheRestInOrder) {
  std::vector<std::string> rest;
  CommonOptions options =
      split_common_options({"provision-tasks", "--config-file", "cli.yaml", "tasks.yaml",
                            "--echo-tasks", "--datastore-keys=abc", "--plugin-dir", "plugins"},
                           rest);
  EXPECT_EQ(options.config_file, "cli.yaml");
  EXPECT_EQ(options.datastore_keys, "abc");
  EXPECT_EQ(options.plugin_directory, "plugins");
  EXPECT_EQ(rest, (std::vector<std::string>{"provision-tasks", "tasks.yaml", "--echo-tasks"}));
  EXPECT_THROW(split_common_options({"x", "--config-file"}, rest), UsageError);
  // parse_common_options still refuses anything else.
  EXPECT_THROW(parse_common_options({"--config-file", "a.yaml", "--echo-tasks"}), UsageError);
}

}  // namespace
}  // namespace janus::runtime
