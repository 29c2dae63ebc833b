// The argument conventions every janus_cli subcommand shares.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace janus::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `--flag`, `--option VALUE` / `--option=VALUE` and positional words.
struct Arguments {
  std::set<std::string> flags;
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;

  bool flag(const std::string& name) const { return flags.count(name) > 0; }
  std::optional<std::string> option(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
  }
  std::string required(const std::string& name) const {
    auto value = option(name);
    if (!value) throw UsageError("missing required option " + name);
    return *value;
  }
};

Arguments parse_arguments(const std::vector<std::string>& args,
                          const std::set<std::string>& flag_names,
                          const std::set<std::string>& option_names);

// Runs a command body: usage mistakes exit 2, every other failure 1, each as
// one line naming the command.
template <typename Body>
int run_command(const std::string& command, const std::string& usage,
                const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                Body&& body) {
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      out << usage;
      return 0;
    }
  }
  try {
    return body();
  } catch (const UsageError& e) {
    err << "janus_cli " << command << ": error: " << e.what() << " (see janus_cli " << command
        << " --help)" << std::endl;
    return 2;
  } catch (const std::exception& e) {
    err << "janus_cli " << command << ": error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace janus::cli
