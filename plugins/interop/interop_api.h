// The DAP interop test API's common parts (draft-dcook-ppm-dap-interop-test-design, as
// Janus 0.7's interop binaries implement it for DAP-09): the JSON conventions (binary blobs
// in unpadded base64url, VDAF parameters, measurements and results as base-10 strings), the
// VDAF and query objects, and the POST routes that take and answer JSON objects.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "janus/bytes.h"
#include "janus/http.h"
#include "janus/ids.h"
#include "janus/messages.h"
#include "janus/vdaf_registry.h"

namespace YAML {
class Node;
}

namespace janus::interop {

// A request the API cannot parse (malformed JSON, a missing or mistyped field): answered
// 400 with {"status": "error", "error": message}. Every other failure of a command that
// was parsed is answered 200 with that body, as the draft asks.
class BadRequest : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The field `key` of a JSON object; BadRequest when the request is not an object or the
// field is missing (null counts as present).
const nlohmann::json& field(const nlohmann::json& object, std::string_view key);
// A non-negative integer given as a JSON number.
std::uint64_t number_field(const nlohmann::json& object, std::string_view key);
// A non-negative integer given as a base-10 string (the draft's encoding inside VDAF
// objects and measurements). `what` names the value in errors.
std::uint64_t decimal(const nlohmann::json& value, const std::string& what);
std::string string_field(const nlohmann::json& object, std::string_view key);
Bytes base64url_field(const nlohmann::json& object, std::string_view key);
TaskId task_id_field(const nlohmann::json& object, std::string_view key = "task_id");

// The VDAF object ({"type": "Prio3Sum", "bits": "8"}, …) as our VDAF description. Unknown
// types are left to the registry to refuse. As Janus's interop binaries take them,
// "bitsize" is a string ("BitSize16") and "dp_strategy" an object, defaulting to
// NoDifferentialPrivacy for Prio3FixedPointBoundedL2VecSum (which requires one).
VdafDescription vdaf_from_object(const nlohmann::json& object);
// The query object: {"type": 1, "batch_interval_start": S, "batch_interval_duration": D}
// or {"type": 2, "subtype": 0, "batch_id": B64URL} / {"type": 2, "subtype": 1}.
Query query_from_object(const nlohmann::json& object);
// A query type number (1 time_interval, 2 fixed_size).
QueryType query_type_from_json(const nlohmann::json& value);
// A measurement as the draft writes it (base-10 strings, arrays of them) as our VDAFs take
// it (integers). Decimal fractions ("-0.25", Janus's fixed-point vectors) stay strings,
// which the VDAF parses exactly.
nlohmann::json measurement_from_json(const nlohmann::json& measurement);
// An aggregate result as the draft writes it: every number as a base-10 string (floats as
// Rust's Display writes them: the shortest digits that round-trip, never an exponent).
nlohmann::json result_to_json(const nlohmann::json& aggregate);

nlohmann::json success();
nlohmann::json error(const std::string& message);

// A command: takes the request object, returns the response object.
using JsonCommand = std::function<nlohmann::json(const nlohmann::json& request)>;
// Answers `request` with `command` (BadRequest → 400, other exceptions → 200 with status
// "error", anything else → 200 with the command's object), as application/json.
HttpResponse run_json_command(const HttpRequest& request, const JsonCommand& command);
// POST `path` on `listen_address` answered by `command`.
void add_command(RouteRegistrar& routes, const std::string& listen_address, std::string_view path,
                 JsonCommand command);
// POST /internal/test/ready: 200 with {} once the process serves.
void add_ready(RouteRegistrar& routes, const std::string& listen_address);

// The plugins' config section: where the test API listens, and (aggregator role) the DAP
// endpoint that /internal/test/endpoint_for_task returns.
struct InteropConfig {
  std::string listen_address;
  std::string dap_endpoint = "/";
};
InteropConfig parse_interop_config(const YAML::Node& node, const std::string& file,
                                   bool aggregator_role);

}  // namespace janus::interop
