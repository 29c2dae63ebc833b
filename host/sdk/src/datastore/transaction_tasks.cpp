// Transaction methods: tasks, their HPKE keys, global HPKE keys, per-task counters.
#include <map>

#include "tx_util.h"

namespace janus {

using namespace tx_util;
using db_enums::to_db;

namespace {

constexpr std::string_view kTasksTable = "tasks";
constexpr std::string_view kTaskHpkeKeysTable = "task_hpke_keys";
constexpr std::string_view kGlobalHpkeKeysTable = "global_hpke_keys";

constexpr std::string_view kTaskColumns =
    "task_id, aggregator_role, peer_aggregator_endpoint, query_type, vdaf, "
    "max_batch_query_count, task_expiration, report_expiry_age, min_batch_size, "
    "time_precision, tolerable_clock_skew, collector_hpke_config, vdaf_verify_key, "
    "aggregator_auth_token_type, aggregator_auth_token, aggregator_auth_token_hash_type, "
    "aggregator_auth_token_hash, collector_auth_token_hash_type, collector_auth_token_hash, id, "
    "taskprov_task_config";

// A token hash is its type column followed by its 32-byte digest column.
AuthTokenHash read_token_hash(const pg::Result& r, int row, int type_column, const char* what) {
  Bytes digest = r.bytea(row, type_column + 1);
  AuthTokenHash::Digest fixed;
  if (digest.size() != fixed.size()) {
    throw DatastoreError(std::string("stored ") + what + " is not a SHA-256 digest");
  }
  std::copy(digest.begin(), digest.end(), fixed.begin());
  return AuthTokenHash(db_enums::token_type_from_db(r.text(row, type_column)), fixed);
}

AggregatorTask read_task(const pg::Result& r, int row, const Crypter& crypter) {
  AggregatorTask task;
  task.task_id = id_from<TaskId>(r, row, 0, "task id");
  task.role = db_enums::role_from_db(r.text(row, 1));
  task.peer_aggregator_endpoint = r.text(row, 2);
  try {
    task.query_type = TaskQueryType::from_json(nlohmann::json::parse(r.text(row, 3)));
    task.vdaf = vdaf_from_json(nlohmann::json::parse(r.text(row, 4)));
  } catch (const std::exception& error) {
    throw DatastoreError("task " + task.task_id.to_base64url() + ": " + error.what());
  }
  task.max_batch_query_count = r.uint8(row, 5);
  task.task_expiration = r.opt_uint8(row, 6);
  task.report_expiry_age = r.opt_uint8(row, 7);
  task.min_batch_size = r.uint8(row, 8);
  task.time_precision = r.uint8(row, 9);
  task.tolerable_clock_skew = r.uint8(row, 10);
  task.collector_hpke_config = r.opt_bytea(row, 11);
  task.vdaf_verify_key =
      crypter.decrypt(kTasksTable, task.task_id.span(), "vdaf_verify_key", r.bytea(row, 12));
  if (!r.is_null(row, 13)) {
    Bytes token = crypter.decrypt(kTasksTable, task.task_id.span(), "aggregator_auth_token",
                                  r.bytea(row, 14));
    task.aggregator_auth_token = AuthToken::create(db_enums::token_type_from_db(r.text(row, 13)),
                                                   std::string(token.begin(), token.end()));
    if (!task.aggregator_auth_token) {
      throw DatastoreError("task " + task.task_id.to_base64url() +
                           ": stored aggregator_auth_token is not a valid token of its type");
    }
  }
  if (!r.is_null(row, 15)) {
    task.aggregator_auth_token_hash = read_token_hash(r, row, 15, "aggregator_auth_token_hash");
  }
  if (!r.is_null(row, 17)) {
    task.collector_auth_token_hash = read_token_hash(r, row, 17, "collector_auth_token_hash");
  }
  task.taskprov_task_config = r.opt_bytea(row, 20);
  return task;
}

Bytes task_key_row(const TaskId& task_id, std::uint8_t config_id) {
  Bytes row(task_id.bytes.begin(), task_id.bytes.end());
  row.push_back(config_id);
  return row;
}

void validate_keypair(const StoredHpkeKeypair& keypair) {
  if (keypair.config.empty() || keypair.config.front() != keypair.config_id) {
    throw std::invalid_argument("HPKE keypair: the encoded config does not start with config id " +
                                std::to_string(keypair.config_id));
  }
}

GlobalHpkeKeypair read_global_keypair(const pg::Result& r, int row, const Crypter& crypter) {
  GlobalHpkeKeypair keypair;
  keypair.keypair.config_id = static_cast<std::uint8_t>(r.int8(row, 0));
  keypair.keypair.config = r.bytea(row, 1);
  Bytes row_id{keypair.keypair.config_id};
  keypair.keypair.private_key =
      crypter.decrypt(kGlobalHpkeKeysTable, row_id, "private_key", r.bytea(row, 2));
  keypair.state = db_enums::hpke_key_state_from_db(r.text(row, 3));
  keypair.last_state_change_at = r.uint8(row, 4);
  return keypair;
}

}  // namespace

void Transaction::put_aggregator_task(const AggregatorTask& task) {
  if (task.role != Role::Leader && task.role != Role::Helper) {
    throw std::invalid_argument("a task's role must be Leader or Helper");
  }
  for (const auto& keypair : task.hpke_keys) validate_keypair(keypair);
  const auto row = task.task_id.span();
  pg::Params params;
  params.bytea(row)
      .text(to_db(task.role))
      .text(task.peer_aggregator_endpoint)
      .text(task.query_type.to_json().dump())
      .text(vdaf_to_json(task.vdaf).dump())
      .uint8(task.max_batch_query_count)
      .uint8(task.task_expiration)
      .uint8(task.report_expiry_age)
      .uint8(task.min_batch_size)
      .uint8(task.time_precision)
      .uint8(task.tolerable_clock_skew)
      .bytea(task.collector_hpke_config)
      .bytea(crypter_.encrypt(kTasksTable, row, "vdaf_verify_key", task.vdaf_verify_key));
  if (task.aggregator_auth_token) {
    params.text(to_db(task.aggregator_auth_token->type()))
        .bytea(crypter_.encrypt(kTasksTable, row, "aggregator_auth_token",
                                as_bytes(task.aggregator_auth_token->value())));
  } else {
    params.text(std::optional<std::string>()).bytea(std::optional<Bytes>());
  }
  for (const auto* hash : {&task.aggregator_auth_token_hash, &task.collector_auth_token_hash}) {
    if (*hash) {
      params.text(to_db((*hash)->type())).bytea(ByteSpan((*hash)->digest()));
    } else {
      params.text(std::optional<std::string>()).bytea(std::optional<Bytes>());
    }
  }
  params.text(name_).bytea(task.taskprov_task_config);
  auto inserted = connection_.exec(
      "INSERT INTO tasks (task_id, aggregator_role, peer_aggregator_endpoint, query_type, vdaf, "
      "max_batch_query_count, task_expiration, report_expiry_age, min_batch_size, "
      "time_precision, tolerable_clock_skew, collector_hpke_config, vdaf_verify_key, "
      "aggregator_auth_token_type, aggregator_auth_token, aggregator_auth_token_hash_type, "
      "aggregator_auth_token_hash, collector_auth_token_hash_type, collector_auth_token_hash, "
      "updated_by, taskprov_task_config) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
      "$12, $13, $14, $15, $16, $17, $18, $19, $20, $21) ON CONFLICT (task_id) DO NOTHING "
      "RETURNING id",
      params);
  if (inserted.rows() == 0) {
    throw MutationTargetAlreadyExists("task " + task.task_id.to_base64url() + " already exists");
  }
  std::int64_t task_row_id = inserted.int8(0, 0);
  for (const auto& keypair : task.hpke_keys) {
    connection_.exec(
        "INSERT INTO task_hpke_keys (task_id, config_id, config, private_key, updated_by) "
        "VALUES ($1, $2, $3, $4, $5)",
        pg::Params()
            .int8(task_row_id)
            .int8(keypair.config_id)
            .bytea(keypair.config)
            .bytea(crypter_.encrypt(kTaskHpkeKeysTable,
                                    task_key_row(task.task_id, keypair.config_id), "private_key",
                                    keypair.private_key))
            .text(name_));
  }
}

std::optional<AggregatorTask> Transaction::get_aggregator_task(const TaskId& task_id) {
  auto r =
      connection_.exec("SELECT " + std::string(kTaskColumns) + " FROM tasks WHERE task_id = $1",
                       pg::Params().bytea(task_id.span()));
  if (r.rows() == 0) return std::nullopt;
  AggregatorTask task = read_task(r, 0, crypter_);
  auto keys = connection_.exec(
      "SELECT config_id, config, private_key FROM task_hpke_keys WHERE task_id = $1 "
      "ORDER BY config_id",
      pg::Params().int8(r.int8(0, 19)));
  for (int row = 0; row < keys.rows(); ++row) {
    StoredHpkeKeypair keypair;
    keypair.config_id = static_cast<std::uint8_t>(keys.int8(row, 0));
    keypair.config = keys.bytea(row, 1);
    keypair.private_key =
        crypter_.decrypt(kTaskHpkeKeysTable, task_key_row(task_id, keypair.config_id),
                         "private_key", keys.bytea(row, 2));
    task.hpke_keys.push_back(std::move(keypair));
  }
  return task;
}

std::vector<AggregatorTask> Transaction::get_aggregator_tasks() {
  auto r = connection_.exec("SELECT " + std::string(kTaskColumns) + " FROM tasks ORDER BY id");
  std::vector<AggregatorTask> tasks;
  std::map<std::int64_t, std::size_t> index_by_row_id;
  for (int row = 0; row < r.rows(); ++row) {
    tasks.push_back(read_task(r, row, crypter_));
    index_by_row_id[r.int8(row, 19)] = tasks.size() - 1;
  }
  auto keys = connection_.exec(
      "SELECT task_id, config_id, config, private_key FROM task_hpke_keys "
      "ORDER BY task_id, config_id");
  for (int row = 0; row < keys.rows(); ++row) {
    auto it = index_by_row_id.find(keys.int8(row, 0));
    if (it == index_by_row_id.end()) continue;  // cannot happen within one snapshot
    AggregatorTask& task = tasks[it->second];
    StoredHpkeKeypair keypair;
    keypair.config_id = static_cast<std::uint8_t>(keys.int8(row, 1));
    keypair.config = keys.bytea(row, 2);
    keypair.private_key =
        crypter_.decrypt(kTaskHpkeKeysTable, task_key_row(task.task_id, keypair.config_id),
                         "private_key", keys.bytea(row, 3));
    task.hpke_keys.push_back(std::move(keypair));
  }
  return tasks;
}

std::vector<TaskId> Transaction::get_task_ids(const std::optional<TaskId>& after,
                                              std::optional<std::size_t> limit) {
  // bytea compares bytewise, as TaskId's operator< does. A NULL bound or limit is none.
  std::optional<Bytes> bound;
  if (after) bound = Bytes(after->span().begin(), after->span().end());
  std::optional<std::int64_t> max_rows;
  if (limit) max_rows = static_cast<std::int64_t>(*limit);
  auto r = connection_.exec(
      "SELECT task_id FROM tasks WHERE $1::BYTEA IS NULL OR task_id > $1 ORDER BY task_id "
      "LIMIT $2",
      pg::Params().bytea(bound).int8(max_rows));
  std::vector<TaskId> ids;
  for (int row = 0; row < r.rows(); ++row) ids.push_back(id_from<TaskId>(r, row, 0, "task id"));
  return ids;
}

void Transaction::delete_task(const TaskId& task_id) {
  auto r =
      connection_.exec("DELETE FROM tasks WHERE task_id = $1", pg::Params().bytea(task_id.span()));
  if (r.affected_rows() == 0) throw_task_not_found(task_id);
}

void Transaction::update_task_expiration(const TaskId& task_id,
                                         std::optional<Time> task_expiration) {
  auto r = connection_.exec(
      "UPDATE tasks SET task_expiration = $2, updated_at = now(), updated_by = $3 "
      "WHERE task_id = $1",
      pg::Params().bytea(task_id.span()).uint8(task_expiration).text(name_));
  if (r.affected_rows() == 0) throw_task_not_found(task_id);
}

// ---- global HPKE keys ----

void Transaction::put_global_hpke_keypair(const StoredHpkeKeypair& keypair) {
  validate_keypair(keypair);
  Bytes row_id{keypair.config_id};
  auto r = connection_.exec(
      "INSERT INTO global_hpke_keys (config_id, config, private_key, state, "
      "last_state_change_at, updated_by) VALUES ($1, $2, $3, 'PENDING', $4, $5) "
      "ON CONFLICT (config_id) DO NOTHING",
      pg::Params()
          .int8(keypair.config_id)
          .bytea(keypair.config)
          .bytea(crypter_.encrypt(kGlobalHpkeKeysTable, row_id, "private_key", keypair.private_key))
          .uint8(now_)
          .text(name_));
  if (r.affected_rows() == 0) {
    throw MutationTargetAlreadyExists("global HPKE key " + std::to_string(keypair.config_id) +
                                      " already exists");
  }
}

std::vector<GlobalHpkeKeypair> Transaction::get_global_hpke_keypairs() {
  auto r = connection_.exec(
      "SELECT config_id, config, private_key, state, last_state_change_at FROM global_hpke_keys "
      "ORDER BY config_id");
  std::vector<GlobalHpkeKeypair> keypairs;
  for (int row = 0; row < r.rows(); ++row)
    keypairs.push_back(read_global_keypair(r, row, crypter_));
  return keypairs;
}

std::optional<GlobalHpkeKeypair> Transaction::get_global_hpke_keypair(std::uint8_t config_id) {
  auto r = connection_.exec(
      "SELECT config_id, config, private_key, state, last_state_change_at FROM global_hpke_keys "
      "WHERE config_id = $1",
      pg::Params().int8(config_id));
  if (r.rows() == 0) return std::nullopt;
  return read_global_keypair(r, 0, crypter_);
}

void Transaction::set_global_hpke_keypair_state(std::uint8_t config_id, HpkeKeyState state) {
  auto r = connection_.exec(
      "UPDATE global_hpke_keys SET state = $2, last_state_change_at = $3, updated_at = now(), "
      "updated_by = $4 WHERE config_id = $1",
      pg::Params().int8(config_id).text(to_db(state)).uint8(now_).text(name_));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("no global HPKE key " + std::to_string(config_id));
  }
}

void Transaction::delete_global_hpke_keypair(std::uint8_t config_id) {
  auto r = connection_.exec("DELETE FROM global_hpke_keys WHERE config_id = $1",
                            pg::Params().int8(config_id));
  if (r.affected_rows() == 0) {
    throw MutationTargetNotFound("no global HPKE key " + std::to_string(config_id));
  }
}

void Transaction::lock_global_hpke_keypairs() {
  connection_.exec("LOCK TABLE global_hpke_keys IN EXCLUSIVE MODE");
}

// ---- counters ----

void Transaction::increment_task_upload_counter(const TaskId& task_id, std::uint64_t ord,
                                                const TaskUploadCounter& delta) {
  auto r = connection_.exec(
      "INSERT INTO task_upload_counters (task_id, ord, interval_collected, "
      "report_decode_failure, report_decrypt_failure, report_expired, report_outdated_key, "
      "report_success, report_too_early, task_expired) "
      "SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM tasks WHERE task_id = $1 "
      "ON CONFLICT (task_id, ord) DO UPDATE SET "
      "interval_collected = task_upload_counters.interval_collected + EXCLUDED.interval_collected, "
      "report_decode_failure = task_upload_counters.report_decode_failure + "
      "EXCLUDED.report_decode_failure, "
      "report_decrypt_failure = task_upload_counters.report_decrypt_failure + "
      "EXCLUDED.report_decrypt_failure, "
      "report_expired = task_upload_counters.report_expired + EXCLUDED.report_expired, "
      "report_outdated_key = task_upload_counters.report_outdated_key + "
      "EXCLUDED.report_outdated_key, "
      "report_success = task_upload_counters.report_success + EXCLUDED.report_success, "
      "report_too_early = task_upload_counters.report_too_early + EXCLUDED.report_too_early, "
      "task_expired = task_upload_counters.task_expired + EXCLUDED.task_expired",
      pg::Params()
          .bytea(task_id.span())
          .uint8(ord)
          .uint8(delta.interval_collected)
          .uint8(delta.report_decode_failure)
          .uint8(delta.report_decrypt_failure)
          .uint8(delta.report_expired)
          .uint8(delta.report_outdated_key)
          .uint8(delta.report_success)
          .uint8(delta.report_too_early)
          .uint8(delta.task_expired));
  if (r.affected_rows() == 0) throw_task_not_found(task_id);
}

TaskUploadCounter Transaction::get_task_upload_counter(const TaskId& task_id) {
  auto r = connection_.exec(
      "SELECT COALESCE(sum(interval_collected), 0)::BIGINT, "
      "COALESCE(sum(report_decode_failure), 0)::BIGINT, "
      "COALESCE(sum(report_decrypt_failure), 0)::BIGINT, "
      "COALESCE(sum(report_expired), 0)::BIGINT, COALESCE(sum(report_outdated_key), 0)::BIGINT, "
      "COALESCE(sum(report_success), 0)::BIGINT, COALESCE(sum(report_too_early), 0)::BIGINT, "
      "COALESCE(sum(task_expired), 0)::BIGINT FROM task_upload_counters "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1)",
      pg::Params().bytea(task_id.span()));
  return TaskUploadCounter{r.uint8(0, 0), r.uint8(0, 1), r.uint8(0, 2), r.uint8(0, 3),
                           r.uint8(0, 4), r.uint8(0, 5), r.uint8(0, 6), r.uint8(0, 7)};
}

void Transaction::increment_task_aggregation_counter(const TaskId& task_id, std::uint64_t ord,
                                                     std::uint64_t success_delta) {
  auto r = connection_.exec(
      "INSERT INTO task_aggregation_counters (task_id, ord, success) "
      "SELECT id, $2, $3 FROM tasks WHERE task_id = $1 "
      "ON CONFLICT (task_id, ord) DO UPDATE SET "
      "success = task_aggregation_counters.success + EXCLUDED.success",
      pg::Params().bytea(task_id.span()).uint8(ord).uint8(success_delta));
  if (r.affected_rows() == 0) throw_task_not_found(task_id);
}

std::uint64_t Transaction::get_task_aggregation_counter(const TaskId& task_id) {
  auto r = connection_.exec(
      "SELECT COALESCE(sum(success), 0)::BIGINT FROM task_aggregation_counters "
      "WHERE task_id = (SELECT id FROM tasks WHERE task_id = $1)",
      pg::Params().bytea(task_id.span()));
  return r.uint8(0, 0);
}

// ---- datastore-key rotation ----

const std::vector<std::string>& Transaction::encrypted_columns() {
  static const std::vector<std::string> columns = {"tasks.vdaf_verify_key",
                                                   "tasks.aggregator_auth_token",
                                                   "task_hpke_keys.private_key",
                                                   "global_hpke_keys.private_key",
                                                   "taskprov_peer_aggregators.verify_key_init",
                                                   "taskprov_aggregator_auth_tokens.token",
                                                   "taskprov_collector_auth_tokens.token"};
  return columns;
}

DatastoreKeyRotationBatch Transaction::rotate_datastore_key_batch(std::string_view column,
                                                                  std::int64_t after_row,
                                                                  std::uint64_t limit) {
  // Per column: the rows in order with their associated-data row id, and the update. The
  // row id is what put_aggregator_task / put_global_hpke_keypair bind the value to.
  std::string select, update;
  std::string_view table, name;
  if (column == "tasks.vdaf_verify_key" || column == "tasks.aggregator_auth_token") {
    table = kTasksTable;
    name = column.substr(column.find('.') + 1);
    select = "SELECT id, task_id, " + std::string(name) + " FROM tasks WHERE id > $1 AND " +
             std::string(name) + " IS NOT NULL ORDER BY id LIMIT $2 FOR UPDATE";
    update = "UPDATE tasks SET " + std::string(name) +
             " = $2, updated_at = now(), updated_by = $3 WHERE id = $1";
  } else if (column == "task_hpke_keys.private_key") {
    table = kTaskHpkeKeysTable;
    name = "private_key";
    select =
        "SELECT k.id, t.task_id, k.private_key, k.config_id FROM task_hpke_keys k "
        "JOIN tasks t ON t.id = k.task_id WHERE k.id > $1 ORDER BY k.id LIMIT $2 FOR UPDATE OF k";
    update = "UPDATE task_hpke_keys SET private_key = $2, updated_by = $3 WHERE id = $1";
  } else if (column == "global_hpke_keys.private_key") {
    table = kGlobalHpkeKeysTable;
    name = "private_key";
    select =
        "SELECT config_id, NULL::BYTEA, private_key FROM global_hpke_keys WHERE config_id > $1 "
        "ORDER BY config_id LIMIT $2 FOR UPDATE";
    update =
        "UPDATE global_hpke_keys SET private_key = $2, updated_at = now(), updated_by = $3 "
        "WHERE config_id = $1";
  } else if (column == "taskprov_peer_aggregators.verify_key_init") {
    table = kPeerTable;
    name = "verify_key_init";
    select =
        "SELECT id, endpoint, verify_key_init FROM taskprov_peer_aggregators WHERE id > $1 "
        "ORDER BY id LIMIT $2 FOR UPDATE";
    update =
        "UPDATE taskprov_peer_aggregators SET verify_key_init = $2, updated_by = $3 WHERE id = $1";
  } else if (column == "taskprov_aggregator_auth_tokens.token" ||
             column == "taskprov_collector_auth_tokens.token") {
    const std::string tokens(column.substr(0, column.find('.')));
    table = tokens == kAggregatorTokensTable ? kAggregatorTokensTable : kCollectorTokensTable;
    name = "token";
    select = "SELECT t.id, p.endpoint, t.token, t.ord, p.role FROM " + tokens +
             " t JOIN taskprov_peer_aggregators p ON p.id = t.peer_aggregator_id "
             "WHERE t.id > $1 ORDER BY t.id LIMIT $2 FOR UPDATE OF t";
    update = "UPDATE " + tokens + " SET token = $2, updated_by = $3 WHERE id = $1";
  } else {
    throw DatastoreError("no encrypted column " + std::string(column));
  }
  auto r = connection_.exec(select, pg::Params().int8(after_row).uint8(limit));
  DatastoreKeyRotationBatch batch;
  for (int row = 0; row < r.rows(); ++row) {
    const std::int64_t id = r.int8(row, 0);
    Bytes row_id;
    if (table == kTasksTable) {
      row_id = r.bytea(row, 1);
    } else if (table == kTaskHpkeKeysTable) {
      row_id = task_key_row(id_from<TaskId>(r, row, 1, "task id"),
                            static_cast<std::uint8_t>(r.int8(row, 3)));
    } else if (table == kPeerTable) {
      row_id = text_bytes(r.text(row, 1));
    } else if (table == kAggregatorTokensTable || table == kCollectorTokensTable) {
      row_id = taskprov_token_row(r.text(row, 1), db_enums::role_from_db(r.text(row, 4)),
                                  r.int8(row, 3));
    } else {
      row_id = Bytes{static_cast<std::uint8_t>(id)};
    }
    ++batch.examined;
    batch.last_row = id;
    if (auto fresh = crypter_.reencrypt(table, row_id, name, r.bytea(row, 2))) {
      connection_.exec(update, pg::Params().int8(id).bytea(*fresh).text(name_));
      ++batch.reencrypted;
    }
  }
  return batch;
}

}  // namespace janus
