#include "cli_arguments.h"

namespace janus::cli {

Arguments parse_arguments(const std::vector<std::string>& args,
                          const std::set<std::string>& flag_names,
                          const std::set<std::string>& option_names) {
  Arguments parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      if (arg.rfind("-", 0) == 0 && arg.size() > 1)
        throw UsageError("unknown option '" + arg + "'");
      parsed.positional.push_back(arg);
      continue;
    }
    std::size_t equals = arg.find('=');
    std::string name = arg.substr(0, equals);
    if (flag_names.count(name)) {
      if (equals != std::string::npos) throw UsageError(name + " takes no value");
      parsed.flags.insert(name);
    } else if (option_names.count(name)) {
      std::string value;
      if (equals != std::string::npos) {
        value = arg.substr(equals + 1);
      } else {
        if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
        value = args[++i];
      }
      if (!parsed.options.emplace(name, value).second) {
        throw UsageError(name + " is given twice");
      }
    } else {
      throw UsageError("unknown option '" + arg + "'");
    }
  }
  return parsed;
}

}  // namespace janus::cli
