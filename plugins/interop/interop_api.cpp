#include "interop_api.h"

#include <charconv>

#include <yaml-cpp/yaml.h>

#include "janus/codec.h"
#include "janus/config.h"

namespace janus::interop {

const nlohmann::json& field(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) throw BadRequest("expected a JSON object");
  auto it = object.find(key);
  if (it == object.end()) throw BadRequest("missing field \"" + std::string(key) + "\"");
  return *it;
}

std::uint64_t number_field(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = field(object, key);
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  throw BadRequest("\"" + std::string(key) + "\": expected a non-negative integer");
}

std::uint64_t decimal(const nlohmann::json& value, const std::string& what) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    std::uint64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return number;
  }
  throw BadRequest(what + ": expected a non-negative integer as a base-10 string");
}

std::string string_field(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = field(object, key);
  if (!value.is_string()) throw BadRequest("\"" + std::string(key) + "\": expected a string");
  return value.get<std::string>();
}

Bytes base64url_field(const nlohmann::json& object, std::string_view key) {
  auto decoded = base64url_decode(string_field(object, key));
  if (!decoded) throw BadRequest("\"" + std::string(key) + "\": expected unpadded base64url");
  return *decoded;
}

TaskId task_id_field(const nlohmann::json& object, std::string_view key) {
  auto id = TaskId::from_base64url(string_field(object, key));
  if (!id) throw BadRequest("\"" + std::string(key) + "\": expected 32 bytes of base64url");
  return *id;
}

VdafDescription vdaf_from_object(const nlohmann::json& object) {
  const std::string type = string_field(object, "type");
  VdafDescription vdaf{type, nlohmann::json::object()};
  // Every other member is a parameter, a base-10 string (our VDAFs take integers), but for
  // the fixed-point vector's bitsize name and any dp_strategy object.
  for (const auto& [key, value] : object.items()) {
    if (key == "type") continue;
    if (key == "bitsize") {
      vdaf.parameters[key] = string_field(object, key);
    } else if (key == "dp_strategy") {
      if (!value.is_object()) throw BadRequest("\"vdaf.dp_strategy\": expected an object");
      vdaf.parameters[key] = value;
    } else {
      vdaf.parameters[key] = decimal(value, "vdaf." + key);
    }
  }
  if (type == "Prio3FixedPointBoundedL2VecSum" && !vdaf.parameters.contains("dp_strategy")) {
    vdaf.parameters["dp_strategy"] = {{"dp_strategy", "NoDifferentialPrivacy"}};
  }
  return vdaf;
}

QueryType query_type_from_json(const nlohmann::json& value) {
  if (value.is_number_integer()) {
    if (value.get<std::int64_t>() == 1) return QueryType::TimeInterval;
    if (value.get<std::int64_t>() == 2) return QueryType::FixedSize;
  }
  // Only a scalar is quoted back: dumping a nested value would recurse as deep as the
  // request nests.
  throw BadRequest("query type: expected 1 (time_interval) or 2 (fixed_size), not " +
                   (value.is_primitive() ? value.dump() : std::string("a ") + value.type_name()));
}

Query query_from_object(const nlohmann::json& object) {
  if (query_type_from_json(field(object, "type")) == QueryType::TimeInterval) {
    return Query::time_interval({number_field(object, "batch_interval_start"),
                                 number_field(object, "batch_interval_duration")});
  }
  switch (number_field(object, "subtype")) {
    case 0: {
      auto id = BatchId::from_base64url(string_field(object, "batch_id"));
      if (!id) throw BadRequest("\"batch_id\": expected 32 bytes of base64url");
      return Query::fixed_size(FixedSizeQuery::by_batch_id(*id));
    }
    case 1:
      return Query::fixed_size(FixedSizeQuery::current_batch());
    default:
      throw BadRequest("\"subtype\": expected 0 (by_batch_id) or 1 (current_batch)");
  }
}

namespace {

// [+-]digits.digits: a decimal fraction, left for the VDAF to parse.
bool is_decimal_fraction(const std::string& text) {
  std::size_t i = text.empty() || (text[0] != '-' && text[0] != '+') ? 0 : 1;
  const std::size_t point = text.find('.', i);
  if (point == std::string::npos || text.size() > 100) return false;
  std::size_t digits = 0;
  for (; i < text.size(); ++i) {
    if (i == point) continue;
    if (text[i] < '0' || text[i] > '9') return false;
    ++digits;
  }
  return digits > 0;
}

nlohmann::json scalar_measurement(const nlohmann::json& measurement) {
  if (measurement.is_boolean()) return measurement;
  if (measurement.is_string() && (is_decimal_fraction(measurement.get<std::string>()) ||
                                  measurement.get<std::string>().starts_with('-'))) {
    return measurement;
  }
  return decimal(measurement, "measurement");
}

}  // namespace

nlohmann::json measurement_from_json(const nlohmann::json& measurement) {
  // One level of array at most (Prio3SumVec's strings, Poplar1's Booleans): a measurement
  // nested deeper is refused here rather than walked recursively.
  if (!measurement.is_array()) return scalar_measurement(measurement);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : measurement) {
    if (item.is_array() || item.is_object()) {
      throw BadRequest("measurement: expected a base-10 string or an array of them");
    }
    out.push_back(scalar_measurement(item));
  }
  return out;
}

nlohmann::json result_to_json(const nlohmann::json& aggregate) {
  if (aggregate.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : aggregate) out.push_back(result_to_json(item));
    return out;
  }
  if (aggregate.is_number_unsigned()) return std::to_string(aggregate.get<std::uint64_t>());
  if (aggregate.is_number_integer()) return std::to_string(aggregate.get<std::int64_t>());
  if (aggregate.is_number_float()) {
    char text[400];
    const auto [end, ec] =
        std::to_chars(text, text + sizeof text, aggregate.get<double>(), std::chars_format::fixed);
    if (ec != std::errc()) return aggregate;
    return std::string(text, end);
  }
  // Our Prio3 gives integers beyond 64 bits as decimal strings already.
  return aggregate;
}

nlohmann::json success() { return {{"status", "success"}}; }

nlohmann::json error(const std::string& message) {
  return {{"status", "error"}, {"error", message}};
}

namespace {

HttpResponse json_response(int status, const nlohmann::json& body) {
  // Error messages may quote a peer's answer, which need not be UTF-8: replaced, not thrown.
  const std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return HttpResponse::bytes(status, "application/json", Bytes(text.begin(), text.end()));
}

}  // namespace

HttpResponse run_json_command(const HttpRequest& request, const JsonCommand& command) {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(request.body.begin(), request.body.end());
  } catch (const nlohmann::json::exception& e) {
    return json_response(400, error(std::string("malformed JSON: ") + e.what()));
  }
  try {
    return json_response(200, command(parsed));
  } catch (const BadRequest& e) {
    return json_response(400, error(e.what()));
  } catch (const std::exception& e) {
    return json_response(200, error(e.what()));
  }
}

void add_command(RouteRegistrar& routes, const std::string& listen_address, std::string_view path,
                 JsonCommand command) {
  routes.add_route(listen_address, HttpMethod::Post, path,
                   [command = std::move(command)](const HttpRequest& request) {
                     return run_json_command(request, command);
                   });
}

void add_ready(RouteRegistrar& routes, const std::string& listen_address) {
  routes.add_route(listen_address, HttpMethod::Post, "/internal/test/ready",
                   [](const HttpRequest&) { return json_response(200, nlohmann::json::object()); });
}

InteropConfig parse_interop_config(const YAML::Node& node, const std::string& file,
                                   bool aggregator_role) {
  ConfigMap map(node, file);
  InteropConfig config;
  config.listen_address = map.required<std::string>("listen_address");
  if (aggregator_role) config.dap_endpoint = map.get<std::string>("dap_endpoint", "/");
  map.finish();
  return config;
}

}  // namespace janus::interop
