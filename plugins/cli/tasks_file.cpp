#include "tasks_file.h"

#include <filesystem>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "janus/codec.h"
#include "janus/config.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "janus/vdaf.h"

namespace janus::cli {
namespace {

[[noreturn]] void fail(const std::string& file, const YAML::Node& node, const std::string& key_path,
                       const std::string& cause) {
  throw ConfigError(config_location(file, node) + ": key '" + key_path + "': " + cause);
}

// The node of a key that must be present and not null (marks it as read).
YAML::Node required_node(ConfigMap& map, const std::string& key) {
  YAML::Node node = map.raw(key);
  if (!node.IsDefined() || node.IsNull()) {
    throw ConfigError(config_location(map.file(), map.node()) + ": missing required key '" +
                      map.key_path(key) + "'");
  }
  return node;
}

bool present(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

Bytes base64url_value(const YAML::Node& node, const std::string& file, const std::string& path) {
  std::string text = config_value<std::string>(node, file, path);
  auto decoded = base64url_decode(text);
  if (!decoded) fail(file, node, path, "expected unpadded base64url");
  return *decoded;
}

template <typename Id>
Id named_id(ConfigMap& map, const std::string& key, std::optional<Id> (*parse)(std::string_view),
            const char* expected) {
  YAML::Node node = required_node(map, key);
  std::string name = config_value<std::string>(node, map.file(), map.key_path(key));
  auto id = parse(name);
  if (!id)
    fail(map.file(), node, map.key_path(key), "unknown '" + name + "' (expected " + expected + ")");
  return *id;
}

HpkeConfig parse_hpke_config(ConfigMap map) {
  HpkeConfig config;
  YAML::Node id_node = required_node(map, "id");
  std::uint64_t id = config_value<std::uint64_t>(id_node, map.file(), map.key_path("id"));
  if (id > 255) fail(map.file(), id_node, map.key_path("id"), "expected a config id from 0 to 255");
  config.id = static_cast<HpkeConfigId>(id);
  config.kem_id =
      named_id<HpkeKemId>(map, "kem_id", parse_hpke_kem_id, "X25519HkdfSha256 or P256HkdfSha256");
  config.kdf_id =
      named_id<HpkeKdfId>(map, "kdf_id", parse_hpke_kdf_id, "HkdfSha256, HkdfSha384 or HkdfSha512");
  config.aead_id = named_id<HpkeAeadId>(map, "aead_id", parse_hpke_aead_id,
                                        "Aes128Gcm, Aes256Gcm or ChaCha20Poly1305");
  config.public_key =
      base64url_value(required_node(map, "public_key"), map.file(), map.key_path("public_key"));
  map.finish();
  return config;
}

AuthTokenType token_type(ConfigMap& map) {
  YAML::Node node = required_node(map, "type");
  std::string name = config_value<std::string>(node, map.file(), map.key_path("type"));
  auto type = parse_auth_token_type(name);
  if (!type) {
    fail(map.file(), node, map.key_path("type"),
         "unknown '" + name + "' (expected Bearer or DapAuth)");
  }
  return *type;
}

AuthToken parse_auth_token(ConfigMap map) {
  AuthTokenType type = token_type(map);
  YAML::Node node = required_node(map, "token");
  std::string value = config_value<std::string>(node, map.file(), map.key_path("token"));
  auto token = AuthToken::create(type, value);
  if (!token) {
    fail(map.file(), node, map.key_path("token"),
         type == AuthTokenType::Bearer
             ? "not a valid Bearer token (allowed: letters, digits, -._~+/ then optional '=')"
             : "not a valid DAP-Auth-Token (printable ASCII, no surrounding spaces)");
  }
  map.finish();
  return *token;
}

AuthTokenHash parse_auth_token_hash(ConfigMap map) {
  AuthTokenType type = token_type(map);
  YAML::Node node = required_node(map, "hash");
  std::string text = config_value<std::string>(node, map.file(), map.key_path("hash"));
  auto hash = AuthTokenHash::from_base64url(type, text);
  if (!hash) {
    fail(map.file(), node, map.key_path("hash"),
         "expected the unpadded base64url SHA-256 of the token (32 bytes)");
  }
  map.finish();
  return *hash;
}

// `TimeInterval`, `!FixedSize {max_batch_size, batch_time_window_size}`, or
// the untagged map forms `{TimeInterval: null}` / `{FixedSize: {...}}`.
TaskQueryType parse_query_type(const YAML::Node& node, const std::string& file,
                               const std::string& path) {
  std::string name;
  YAML::Node body;
  if (node.IsScalar() && (node.Tag() == "?" || node.Tag() == "!" || node.Tag().empty())) {
    name = node.Scalar();
  } else if (!node.Tag().empty() && node.Tag() != "?" && node.Tag() != "!") {
    name = node.Tag().substr(node.Tag().rfind('!') + 1);
    body = node;
  } else if (node.IsMap() && node.size() == 1) {
    name = node.begin()->first.as<std::string>("");
    body = node.begin()->second;
  } else {
    fail(file, node, path, "expected TimeInterval or !FixedSize {max_batch_size, ...}");
  }
  TaskQueryType query_type;
  if (name == "TimeInterval") {
    if (body.IsDefined() && !body.IsNull() && !(body.IsScalar() && body.Scalar().empty())) {
      fail(file, node, path, "TimeInterval takes no parameters");
    }
    return query_type;
  }
  if (name != "FixedSize") {
    fail(file, node, path,
         "unknown query type '" + name + "' (expected TimeInterval or FixedSize)");
  }
  if (!body.IsDefined() || !(body.IsMap() || body.IsNull())) {
    fail(file, node, path, "FixedSize needs a map {max_batch_size, batch_time_window_size}");
  }
  query_type.kind = TaskQueryType::Kind::FixedSize;
  ConfigMap map(body.IsNull() ? YAML::Node() : body, file, path);
  query_type.max_batch_size = map.optional<std::uint64_t>("max_batch_size");
  query_type.batch_time_window_size = map.optional<std::uint64_t>("batch_time_window_size");
  map.finish();
  return query_type;
}

Role parse_role(const YAML::Node& node, const std::string& file, const std::string& path) {
  std::string name = config_value<std::string>(node, file, path);
  if (name == "Leader") return Role::Leader;
  if (name == "Helper") return Role::Helper;
  fail(file, node, path, "expected Leader or Helper, not '" + name + "'");
}

std::string parse_endpoint(const YAML::Node& node, const std::string& file,
                           const std::string& path) {
  std::string url = config_value<std::string>(node, file, path);
  std::size_t scheme_end = url.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if ((scheme != "https" && scheme != "http") || url.size() == scheme_end + 3 ||
      url[scheme_end + 3] == '/' || url.find_first_of(" \t\r\n") != std::string::npos) {
    fail(file, node, path, "expected an http:// or https:// URL, not '" + url + "'");
  }
  // Janus joins DAP paths onto the endpoint, so it always ends with '/'.
  if (url.back() != '/') url += '/';
  return url;
}

std::size_t verify_key_size_of(const VdafDescription& vdaf, const VdafRegistry& vdafs,
                               const YAML::Node& node, const std::string& file,
                               const std::string& path) {
  try {
    return vdafs.create(vdaf)->verify_key_size();
  } catch (const std::exception& e) {
    fail(file, node, path, e.what());
  }
}

ProvisionedTask parse_task(const YAML::Node& node, const std::string& file, std::size_t index,
                           const VdafRegistry& vdafs, const TasksFileOptions& options) {
  const std::string path = "tasks[" + std::to_string(index) + "]";
  if (!node.IsMap()) {
    throw ConfigError(config_location(file, node) + ": " + path +
                      ": expected a map of task fields");
  }
  ConfigMap map(node, file, path);
  ProvisionedTask out;
  AggregatorTask& task = out.task;

  YAML::Node task_id_node = map.raw("task_id");
  if (present(task_id_node)) {
    auto id = TaskId::from_base64url(
        config_value<std::string>(task_id_node, file, map.key_path("task_id")));
    if (!id)
      fail(file, task_id_node, map.key_path("task_id"), "expected unpadded base64url of 32 bytes");
    task.task_id = *id;
  } else if (options.generate_missing_parameters) {
    task.task_id = TaskId::random();
  } else {
    required_node(map, "task_id");
  }

  task.peer_aggregator_endpoint = parse_endpoint(required_node(map, "peer_aggregator_endpoint"),
                                                 file, map.key_path("peer_aggregator_endpoint"));
  task.query_type =
      parse_query_type(required_node(map, "query_type"), file, map.key_path("query_type"));

  YAML::Node vdaf_node = required_node(map, "vdaf");
  try {
    task.vdaf = vdaf_from_yaml(vdaf_node);
  } catch (const std::exception& e) {
    fail(file, vdaf_node, map.key_path("vdaf"), e.what());
  }
  const std::size_t verify_key_size =
      verify_key_size_of(task.vdaf, vdafs, vdaf_node, file, map.key_path("vdaf"));

  task.role = parse_role(required_node(map, "role"), file, map.key_path("role"));

  YAML::Node verify_key_node = map.raw("vdaf_verify_key");
  if (present(verify_key_node)) {
    task.vdaf_verify_key = base64url_value(verify_key_node, file, map.key_path("vdaf_verify_key"));
    if (task.vdaf_verify_key.size() != verify_key_size) {
      fail(file, verify_key_node, map.key_path("vdaf_verify_key"),
           "the VDAF " + task.vdaf.name + " needs a " + std::to_string(verify_key_size) +
               "-byte key, this one has " + std::to_string(task.vdaf_verify_key.size()));
    }
  } else if (options.generate_missing_parameters) {
    task.vdaf_verify_key.resize(verify_key_size);
    random_bytes(task.vdaf_verify_key);
  } else {
    required_node(map, "vdaf_verify_key");
  }

  task.max_batch_query_count = map.required<std::uint64_t>("max_batch_query_count");
  task.task_expiration = map.optional<std::uint64_t>("task_expiration");
  task.report_expiry_age = map.optional<std::uint64_t>("report_expiry_age");
  task.min_batch_size = map.required<std::uint64_t>("min_batch_size");
  YAML::Node precision_node = required_node(map, "time_precision");
  task.time_precision =
      config_value<std::uint64_t>(precision_node, file, map.key_path("time_precision"));
  if (task.time_precision == 0) {
    fail(file, precision_node, map.key_path("time_precision"), "must be at least 1 second");
  }
  task.tolerable_clock_skew = map.required<std::uint64_t>("tolerable_clock_skew");

  if (task.query_type.kind == TaskQueryType::Kind::FixedSize) {
    const YAML::Node query_node = map.raw("query_type");
    if (task.query_type.max_batch_size && *task.query_type.max_batch_size < task.min_batch_size) {
      fail(file, query_node, map.key_path("query_type.max_batch_size"),
           "must not be smaller than min_batch_size (" + std::to_string(task.min_batch_size) + ")");
    }
    if (task.query_type.batch_time_window_size &&
        (*task.query_type.batch_time_window_size == 0 ||
         *task.query_type.batch_time_window_size % task.time_precision != 0)) {
      fail(file, query_node, map.key_path("query_type.batch_time_window_size"),
           "must be a non-zero multiple of time_precision (" + std::to_string(task.time_precision) +
               ")");
    }
  }

  HpkeConfig collector_config = parse_hpke_config(ConfigMap(
      required_node(map, "collector_hpke_config"), file, map.key_path("collector_hpke_config")));
  task.collector_hpke_config = encode_message(collector_config);

  YAML::Node token_node = map.raw("aggregator_auth_token");
  YAML::Node token_hash_node = map.raw("aggregator_auth_token_hash");
  YAML::Node collector_hash_node = map.raw("collector_auth_token_hash");
  std::optional<AuthToken> aggregator_token;
  if (present(token_node)) {
    aggregator_token =
        parse_auth_token(ConfigMap(token_node, file, map.key_path("aggregator_auth_token")));
  }
  std::optional<AuthTokenHash> aggregator_token_hash;
  if (present(token_hash_node)) {
    aggregator_token_hash = parse_auth_token_hash(
        ConfigMap(token_hash_node, file, map.key_path("aggregator_auth_token_hash")));
  }
  std::optional<AuthTokenHash> collector_token_hash;
  if (present(collector_hash_node)) {
    collector_token_hash = parse_auth_token_hash(
        ConfigMap(collector_hash_node, file, map.key_path("collector_auth_token_hash")));
  }
  if (task.role == Role::Leader) {
    // The leader sends the token to the helper and checks the collector's.
    if (!aggregator_token) required_node(map, "aggregator_auth_token");
    if (!collector_token_hash) required_node(map, "collector_auth_token_hash");
    if (aggregator_token_hash) {
      fail(file, token_hash_node, map.key_path("aggregator_auth_token_hash"),
           "belongs to Helper tasks (a Leader task has aggregator_auth_token)");
    }
    task.aggregator_auth_token = aggregator_token;
    task.collector_auth_token_hash = collector_token_hash;
  } else {
    // The helper keeps only the hash of the token the leader must send.
    if (collector_token_hash) {
      fail(file, collector_hash_node, map.key_path("collector_auth_token_hash"),
           "belongs to Leader tasks (the helper never sees the collector)");
    }
    if (!aggregator_token && !aggregator_token_hash && options.generate_missing_parameters) {
      aggregator_token = AuthToken::generate(AuthTokenType::Bearer);
    }
    if (aggregator_token && aggregator_token_hash &&
        !(aggregator_token->hash() == *aggregator_token_hash)) {
      fail(file, token_hash_node, map.key_path("aggregator_auth_token_hash"),
           "does not match aggregator_auth_token (give one of them)");
    }
    if (aggregator_token) aggregator_token_hash = aggregator_token->hash();
    if (!aggregator_token_hash) required_node(map, "aggregator_auth_token_hash");
    task.aggregator_auth_token_hash = aggregator_token_hash;
    out.helper_aggregator_auth_token = aggregator_token;
  }

  YAML::Node keys_node = map.raw("hpke_keys");
  if (present(keys_node)) {
    if (!keys_node.IsSequence()) {
      fail(file, keys_node, map.key_path("hpke_keys"),
           "expected a sequence of {config, private_key}");
    }
    std::map<HpkeConfigId, std::size_t> seen_ids;
    for (std::size_t k = 0; k < keys_node.size(); ++k) {
      ConfigMap entry(keys_node[k], file,
                      map.key_path("hpke_keys") + "[" + std::to_string(k) + "]");
      HpkeConfig config = parse_hpke_config(entry.section("config"));
      YAML::Node private_node = required_node(entry, "private_key");
      Bytes private_key = base64url_value(private_node, file, entry.key_path("private_key"));
      entry.finish();
      try {
        (void)DapHpkeKeyPair::from_config(config, private_key);
      } catch (const std::exception& e) {
        fail(file, private_node, entry.key_path("private_key"),
             std::string("does not fit its config: ") + e.what());
      }
      if (!seen_ids.emplace(config.id, k).second) {
        fail(file, keys_node[k], entry.key_path("config.id"),
             "config id " + std::to_string(config.id) + " is used twice in this task");
      }
      task.hpke_keys.push_back({config.id, encode_message(config), private_key});
    }
  }
  if (task.hpke_keys.empty()) {
    if (!options.generate_missing_parameters) {
      required_node(map, "hpke_keys");  // throws (absent or null) ...
      fail(file, keys_node, map.key_path("hpke_keys"), "needs at least one keypair");
    }
    std::uint8_t id;
    random_bytes(std::span<std::uint8_t>(&id, 1));
    DapHpkeKeyPair generated = DapHpkeKeyPair::generate(id, kDapMandatorySuite);
    task.hpke_keys.push_back(
        {id, encode_message(generated.config), generated.key_pair.private_key()});
  }
  map.finish();
  return out;
}

// JSON (VDAF parameters) as YAML, integers staying integers.
void emit_json(YAML::Emitter& out, const nlohmann::json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      emit_json(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : value) emit_json(out, item);
    out << YAML::EndSeq;
  } else if (value.is_number_unsigned()) {
    out << value.get<std::uint64_t>();
  } else if (value.is_number_integer()) {
    out << value.get<std::int64_t>();
  } else if (value.is_number_float()) {
    out << value.get<double>();
  } else if (value.is_boolean()) {
    out << value.get<bool>();
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else {
    out << YAML::Null;
  }
}

template <typename T>
void emit_optional(YAML::Emitter& out, const std::optional<T>& value) {
  if (value) {
    out << *value;
  } else {
    out << YAML::Null;
  }
}

void emit_hpke_config(YAML::Emitter& out, const HpkeConfig& config) {
  out << YAML::BeginMap;
  out << YAML::Key << "id" << YAML::Value << static_cast<unsigned>(config.id);
  out << YAML::Key << "kem_id" << YAML::Value << std::string(hpke_kem_id_name(config.kem_id));
  out << YAML::Key << "kdf_id" << YAML::Value << std::string(hpke_kdf_id_name(config.kdf_id));
  out << YAML::Key << "aead_id" << YAML::Value << std::string(hpke_aead_id_name(config.aead_id));
  out << YAML::Key << "public_key" << YAML::Value << base64url_encode(config.public_key);
  out << YAML::EndMap;
}

void emit_token(YAML::Emitter& out, const AuthToken& token) {
  out << YAML::BeginMap << YAML::Key << "type" << YAML::Value
      << std::string(auth_token_type_name(token.type())) << YAML::Key << "token" << YAML::Value
      << YAML::DoubleQuoted << token.value() << YAML::EndMap;
}

void emit_token_hash(YAML::Emitter& out, const std::optional<AuthTokenHash>& hash) {
  if (!hash) {
    out << YAML::Null;
    return;
  }
  out << YAML::BeginMap << YAML::Key << "type" << YAML::Value
      << std::string(auth_token_type_name(hash->type())) << YAML::Key << "hash" << YAML::Value
      << hash->to_base64url() << YAML::EndMap;
}

}  // namespace

std::vector<ProvisionedTask> parse_tasks(const YAML::Node& root, const std::string& file,
                                         const VdafRegistry& vdafs,
                                         const TasksFileOptions& options) {
  if (!root.IsSequence()) {
    throw ConfigError(config_location(file, root) +
                      ": expected a YAML sequence of tasks (see Janus's docs/samples/tasks.yaml)");
  }
  // A task id may come more than once: as in Janus, each entry is written in turn over the
  // previous one, so the later entry wins.
  std::vector<ProvisionedTask> tasks;
  for (std::size_t i = 0; i < root.size(); ++i) {
    tasks.push_back(parse_task(root[i], file, i, vdafs, options));
  }
  return tasks;
}

std::vector<ProvisionedTask> load_tasks_file(const std::string& file, const VdafRegistry& vdafs,
                                             const TasksFileOptions& options) {
  std::error_code error;
  if (std::filesystem::is_directory(file, error)) {
    throw ConfigError(file + ": cannot read tasks file: it is a directory");
  }
  return parse_tasks(load_yaml_file(file), file, vdafs, options);
}

std::string task_summary(const AggregatorTask& task) {
  std::ostringstream out;
  out << task.task_id.to_base64url() << ": " << (task.role == Role::Leader ? "Leader" : "Helper")
      << ", " << task.vdaf.name;
  if (!task.vdaf.parameters.empty()) out << " " << task.vdaf.parameters.dump();
  if (task.query_type.kind == TaskQueryType::Kind::TimeInterval) {
    out << ", TimeInterval";
  } else {
    out << ", FixedSize (max_batch_size "
        << (task.query_type.max_batch_size ? std::to_string(*task.query_type.max_batch_size)
                                           : "none")
        << ")";
  }
  out << ", peer " << task.peer_aggregator_endpoint << ", time_precision " << task.time_precision
      << " s, min_batch_size " << task.min_batch_size << ", max_batch_query_count "
      << task.max_batch_query_count << ", "
      << (task.task_expiration ? "expires " + std::to_string(*task.task_expiration)
                               : std::string("no expiration"))
      << ", " << task.hpke_keys.size() << " HPKE key(s)";
  return out.str();
}

std::string tasks_to_yaml(const std::vector<ProvisionedTask>& tasks) {
  YAML::Emitter out;
  out << YAML::BeginSeq;
  for (const auto& provisioned : tasks) {
    const AggregatorTask& task = provisioned.task;
    out << YAML::BeginMap;
    out << YAML::Key << "task_id" << YAML::Value << task.task_id.to_base64url();
    out << YAML::Key << "peer_aggregator_endpoint" << YAML::Value << task.peer_aggregator_endpoint;
    out << YAML::Key << "query_type" << YAML::Value;
    if (task.query_type.kind == TaskQueryType::Kind::TimeInterval) {
      out << "TimeInterval";
    } else {
      out << YAML::LocalTag("FixedSize") << YAML::BeginMap;
      out << YAML::Key << "max_batch_size" << YAML::Value;
      emit_optional(out, task.query_type.max_batch_size);
      out << YAML::Key << "batch_time_window_size" << YAML::Value;
      emit_optional(out, task.query_type.batch_time_window_size);
      out << YAML::EndMap;
    }
    out << YAML::Key << "vdaf" << YAML::Value;
    if (task.vdaf.parameters.empty()) {
      out << task.vdaf.name;
    } else {
      out << YAML::LocalTag(task.vdaf.name);
      emit_json(out, task.vdaf.parameters);
    }
    out << YAML::Key << "role" << YAML::Value << (task.role == Role::Leader ? "Leader" : "Helper");
    out << YAML::Key << "vdaf_verify_key" << YAML::Value << base64url_encode(task.vdaf_verify_key);
    out << YAML::Key << "max_batch_query_count" << YAML::Value << task.max_batch_query_count;
    out << YAML::Key << "task_expiration" << YAML::Value;
    emit_optional(out, task.task_expiration);
    out << YAML::Key << "report_expiry_age" << YAML::Value;
    emit_optional(out, task.report_expiry_age);
    out << YAML::Key << "min_batch_size" << YAML::Value << task.min_batch_size;
    out << YAML::Key << "time_precision" << YAML::Value << task.time_precision;
    out << YAML::Key << "tolerable_clock_skew" << YAML::Value << task.tolerable_clock_skew;
    out << YAML::Key << "collector_hpke_config" << YAML::Value;
    if (task.collector_hpke_config) {
      emit_hpke_config(out, decode_message<HpkeConfig>(*task.collector_hpke_config));
    } else {
      out << YAML::Null;
    }
    const std::optional<AuthToken>& token = task.role == Role::Leader
                                                ? task.aggregator_auth_token
                                                : provisioned.helper_aggregator_auth_token;
    if (token) {
      out << YAML::Key << "aggregator_auth_token" << YAML::Value;
      emit_token(out, *token);
    }
    if (task.role == Role::Helper) {
      out << YAML::Key << "aggregator_auth_token_hash" << YAML::Value;
      emit_token_hash(out, task.aggregator_auth_token_hash);
    } else {
      out << YAML::Key << "collector_auth_token_hash" << YAML::Value;
      emit_token_hash(out, task.collector_auth_token_hash);
    }
    out << YAML::Key << "hpke_keys" << YAML::Value << YAML::BeginSeq;
    for (const auto& key : task.hpke_keys) {
      out << YAML::BeginMap << YAML::Key << "config" << YAML::Value;
      emit_hpke_config(out, decode_message<HpkeConfig>(key.config));
      out << YAML::Key << "private_key" << YAML::Value << base64url_encode(key.private_key);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  return std::string(out.c_str()) + "\n";
}

}  // namespace janus::cli
