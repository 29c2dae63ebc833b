#include "janus/log.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <nlohmann/json.hpp>

namespace janus::log {
namespace {

std::string trim(std::string_view text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "trace") return spdlog::level::trace;
  if (lower == "debug") return spdlog::level::debug;
  if (lower == "info") return spdlog::level::info;
  if (lower == "warn") return spdlog::level::warn;
  if (lower == "error") return spdlog::level::err;
  if (lower == "off") return spdlog::level::off;
  return std::nullopt;
}

const char* level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
    case spdlog::level::critical:
      return "error";
    default:
      return "off";
  }
}

bool valid_target(std::string_view target) {
  return !target.empty() && std::all_of(target.begin(), target.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '-' ||
           c == '.';
  });
}

void append_timestamp(const spdlog::details::log_msg& msg, std::string& out) {
  auto since_epoch = msg.time.time_since_epoch();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - seconds);
  std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[40];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buffer, n);
  std::snprintf(buffer, sizeof buffer, ".%06lldZ", static_cast<long long>(micros.count()));
  out += buffer;
}

// One JSON object per line, in the shape of tracing-subscriber's JSON output
// that Janus writes: timestamp, level, fields.message, target.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string timestamp;
    append_timestamp(msg, timestamp);
    std::string level = level_name(msg.level);
    std::transform(level.begin(), level.end(), level.begin(), ::toupper);
    nlohmann::json line = {
        {"timestamp", timestamp},
        {"level", level},
        {"fields", {{"message", std::string(msg.payload.data(), msg.payload.size())}}},
        {"target", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"threadId", msg.thread_id},
    };
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

struct State {
  std::mutex mutex;
  LogFormat format = LogFormat::Human;
  LogFilter filter = LogFilter::parse("info");
  spdlog::sink_ptr sink;
  std::map<std::string, std::shared_ptr<spdlog::logger>> loggers;

  void rebuild_sink() {
    if (format == LogFormat::Json) {
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
      sink->set_formatter(std::make_unique<JsonFormatter>());
    } else {
      sink = std::make_shared<spdlog::sinks::stdout_color_sink_mt>();
      sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
          "%Y-%m-%dT%H:%M:%S.%fZ %^%5l%$ %n: %v", spdlog::pattern_time_type::utc));
    }
  }
};

State& state() {
  static State* instance = [] {
    auto* s = new State;  // never destroyed: loggers may log during static teardown
    s->rebuild_sink();
    return s;
  }();
  return *instance;
}

}  // namespace

LogFilter LogFilter::parse(std::string_view spec) {
  LogFilter filter;
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    std::string directive = trim(spec.substr(start, comma - start));
    start = comma + 1;
    if (directive.empty()) continue;
    if (directive.find_first_of("[]{}/") != std::string::npos) {
      throw std::invalid_argument("log filter directive '" + directive +
                                  "': span, field and regex filters are not supported");
    }
    Directive parsed;
    auto equals = directive.find('=');
    if (equals == std::string::npos) {
      if (auto level = parse_level(directive)) {
        parsed = {"", *level};
      } else if (valid_target(directive)) {
        parsed = {directive, spdlog::level::trace};
      } else {
        throw std::invalid_argument("log filter directive '" + directive + "' is not valid");
      }
    } else {
      std::string target = trim(std::string_view(directive).substr(0, equals));
      std::string level_text = trim(std::string_view(directive).substr(equals + 1));
      auto level = parse_level(level_text);
      if (!level) {
        throw std::invalid_argument("log filter directive '" + directive + "': unknown level '" +
                                    level_text + "'");
      }
      if (!valid_target(target)) {
        throw std::invalid_argument("log filter directive '" + directive + "': invalid target '" +
                                    target + "'");
      }
      parsed = {target, *level};
    }
    // A later directive for the same target replaces an earlier one.
    std::erase_if(filter.directives_,
                  [&](const Directive& d) { return d.target == parsed.target; });
    filter.directives_.push_back(parsed);
    if (start > spec.size()) break;
  }
  std::stable_sort(
      filter.directives_.begin(), filter.directives_.end(),
      [](const Directive& a, const Directive& b) { return a.target.size() > b.target.size(); });
  for (auto it = filter.directives_.rbegin(); it != filter.directives_.rend(); ++it) {
    if (!filter.spec_.empty()) filter.spec_ += ',';
    filter.spec_ += it->target.empty() ? std::string(level_name(it->level))
                                       : it->target + "=" + level_name(it->level);
  }
  return filter;
}

spdlog::level::level_enum LogFilter::level_for(std::string_view target) const {
  for (const auto& directive : directives_) {
    if (target.substr(0, directive.target.size()) == directive.target) return directive.level;
  }
  return spdlog::level::off;
}

LogFormat choose_format(bool force_json_output) {
  return force_json_output || !::isatty(STDOUT_FILENO) ? LogFormat::Json : LogFormat::Human;
}

void configure(LogFormat format, const LogFilter& filter) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.format = format;
  s.filter = filter;
  s.rebuild_sink();
  for (auto& [target, logger] : s.loggers) {
    logger->sinks().assign({s.sink});
    logger->set_level(s.filter.level_for(target));
  }
}

std::shared_ptr<spdlog::logger> logger(const std::string& target) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.loggers.find(target);
  if (it != s.loggers.end()) return it->second;
  auto created = std::make_shared<spdlog::logger>(target, s.sink);
  created->set_level(s.filter.level_for(target));
  created->flush_on(spdlog::level::trace);  // line-by-line, so pipes and tests see every line
  s.loggers.emplace(target, created);
  return created;
}

void set_filter(const LogFilter& filter) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.filter = filter;
  for (auto& [target, logger] : s.loggers) logger->set_level(s.filter.level_for(target));
}

LogFilter current_filter() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.filter;
}

}  // namespace janus::log
