// Transaction methods: taskprov peer aggregators and their tokens (Janus 0.7's tables, and its
// associated data for the encrypted columns, so that one database reads the same in both).
#include <map>

#include "janus/messages.h"
#include "janus/taskprov.h"
#include "tx_util.h"

namespace janus {

using db_enums::to_db;

namespace {

using tx_util::kAggregatorTokensTable;
using tx_util::kCollectorTokensTable;
using tx_util::kPeerTable;

void check_peer_role(Role role) {
  if (role != Role::Leader && role != Role::Helper) {
    throw std::invalid_argument("a taskprov peer's role must be Leader or Helper");
  }
}

}  // namespace

void Transaction::put_taskprov_peer_aggregator(const TaskprovPeerAggregator& peer) {
  check_peer_role(peer.role);
  if (peer.verify_key_init.size() != taskprov::kVerifyKeyInitLength) {
    throw std::invalid_argument("a taskprov peer's verify_key_init must be 32 bytes");
  }
  decode_message<HpkeConfig>(peer.collector_hpke_config);  // throws DecodeError if malformed
  if (peer.aggregator_auth_tokens.empty()) {
    throw std::invalid_argument("a taskprov peer needs at least one aggregator auth token");
  }
  const std::string endpoint = taskprov::normalize_endpoint(peer.endpoint);
  auto inserted = connection_.exec(
      "INSERT INTO taskprov_peer_aggregators (endpoint, role, verify_key_init, "
      "tolerable_clock_skew, report_expiry_age, collector_hpke_config, updated_by) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (endpoint, role) DO NOTHING RETURNING id",
      pg::Params()
          .text(endpoint)
          .text(to_db(peer.role))
          .bytea(crypter_.encrypt(kPeerTable, tx_util::text_bytes(endpoint), "verify_key_init",
                                  peer.verify_key_init))
          .uint8(peer.tolerable_clock_skew)
          .uint8(peer.report_expiry_age)
          .bytea(peer.collector_hpke_config)
          .text(name_));
  if (inserted.rows() == 0) {
    throw MutationTargetAlreadyExists("taskprov peer aggregator " + endpoint + " (" +
                                      std::string(to_db(peer.role)) + ") already exists");
  }
  const std::int64_t peer_id = inserted.int8(0, 0);
  auto put_tokens = [&](std::string_view table, const std::vector<AuthToken>& tokens) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const auto ord = static_cast<std::int64_t>(i);
      connection_.exec(
          "INSERT INTO " + std::string(table) +
              " (peer_aggregator_id, ord, token, type, updated_by) "
              "VALUES ($1, $2, $3, $4, $5)",
          pg::Params()
              .int8(peer_id)
              .int8(ord)
              .bytea(crypter_.encrypt(table, tx_util::taskprov_token_row(endpoint, peer.role, ord),
                                      "token", as_bytes(tokens[i].value())))
              .text(to_db(tokens[i].type()))
              .text(name_));
    }
  };
  put_tokens(kAggregatorTokensTable, peer.aggregator_auth_tokens);
  put_tokens(kCollectorTokensTable, peer.collector_auth_tokens);
}

std::vector<TaskprovPeerAggregator> Transaction::get_taskprov_peer_aggregators() {
  auto peers = connection_.exec(
      "SELECT id, endpoint, role, verify_key_init, tolerable_clock_skew, report_expiry_age, "
      "collector_hpke_config FROM taskprov_peer_aggregators ORDER BY id");
  std::vector<TaskprovPeerAggregator> out;
  std::map<std::int64_t, std::size_t> index_of;
  for (int row = 0; row < peers.rows(); ++row) {
    TaskprovPeerAggregator peer;
    peer.endpoint = peers.text(row, 1);
    peer.role = db_enums::role_from_db(peers.text(row, 2));
    peer.verify_key_init = crypter_.decrypt(kPeerTable, tx_util::text_bytes(peer.endpoint),
                                            "verify_key_init", peers.bytea(row, 3));
    peer.tolerable_clock_skew = peers.uint8(row, 4);
    peer.report_expiry_age = peers.opt_uint8(row, 5);
    peer.collector_hpke_config = peers.bytea(row, 6);
    index_of[peers.int8(row, 0)] = out.size();
    out.push_back(std::move(peer));
  }
  for (auto [table, member] :
       {std::pair{kAggregatorTokensTable, &TaskprovPeerAggregator::aggregator_auth_tokens},
        std::pair{kCollectorTokensTable, &TaskprovPeerAggregator::collector_auth_tokens}}) {
    auto tokens = connection_.exec("SELECT peer_aggregator_id, ord, type, token FROM " +
                                   std::string(table) + " ORDER BY peer_aggregator_id, ord");
    for (int row = 0; row < tokens.rows(); ++row) {
      auto it = index_of.find(tokens.int8(row, 0));
      if (it == index_of.end()) continue;  // a peer added after the first read
      TaskprovPeerAggregator& peer = out[it->second];
      Bytes value = crypter_.decrypt(
          table, tx_util::taskprov_token_row(peer.endpoint, peer.role, tokens.int8(row, 1)),
          "token", tokens.bytea(row, 3));
      auto token = AuthToken::create(db_enums::token_type_from_db(tokens.text(row, 2)),
                                     std::string(value.begin(), value.end()));
      if (!token) {
        throw DatastoreError("taskprov peer " + peer.endpoint +
                             ": a stored token is not a valid token of its type");
      }
      (peer.*member).push_back(std::move(*token));
    }
  }
  return out;
}

std::optional<TaskprovPeerAggregator> Transaction::get_taskprov_peer_aggregator(
    std::string_view endpoint, Role role) {
  check_peer_role(role);
  const std::string normalized = taskprov::normalize_endpoint(endpoint);
  // Peers are few (one per partner); reading them all keeps one way of decoding them.
  for (TaskprovPeerAggregator& peer : get_taskprov_peer_aggregators()) {
    if (peer.endpoint == normalized && peer.role == role) return std::move(peer);
  }
  return std::nullopt;
}

void Transaction::delete_taskprov_peer_aggregator(std::string_view endpoint, Role role) {
  check_peer_role(role);
  auto deleted =
      connection_.exec("DELETE FROM taskprov_peer_aggregators WHERE endpoint = $1 AND role = $2",
                       pg::Params().text(taskprov::normalize_endpoint(endpoint)).text(to_db(role)));
  if (deleted.affected_rows() == 0) {
    throw MutationTargetNotFound("no taskprov peer aggregator " + std::string(endpoint));
  }
}

}  // namespace janus
