// Logging for the host and plugins, on spdlog. Loggers are named by target
// ("janus::aggregator"); which levels are shown is decided by a filter in
// RUST_LOG syntax, as Janus operators already write it:
//   info,janus::aggregator=debug,janus::datastore=warn
// Each comma-separated directive is `level`, `target` (all levels) or
// `target=level`; the directive with the longest target that is a prefix of a
// logger's target wins, a bare level is the default, and a target no
// directive matches is off. Levels: trace, debug, info, warn, error, off.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

namespace janus::log {

class LogFilter {
 public:
  // Throws std::invalid_argument with a one-line cause on a bad directive.
  static LogFilter parse(std::string_view spec);

  spdlog::level::level_enum level_for(std::string_view target) const;
  // The normalised filter, as GET /traceconfigz prints it.
  const std::string& spec() const { return spec_; }

 private:
  struct Directive {
    std::string target;  // empty: the default
    spdlog::level::level_enum level;
  };
  std::vector<Directive> directives_;  // longest target first
  std::string spec_;
};

enum class LogFormat { Human, Json };

// The format the host picks: JSON when asked to or when stdout is not a TTY.
LogFormat choose_format(bool force_json_output);

// Sets the output format (logs go to stdout, like Janus) and the filter.
// Loggers created before and after follow both.
void configure(LogFormat format, const LogFilter& filter);

// The logger for `target`, created on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& target);

// Changes the filter of every logger at run time (PUT /traceconfigz).
void set_filter(const LogFilter& filter);
LogFilter current_filter();

}  // namespace janus::log
