#!/usr/bin/env bash
# Global HPKE key rotation with the real client (@divviup/dap 0.9.1, under Node.js): a leader
# and a helper (`janus aggregator` with a `key_rotator:` section, which bootstraps each one's
# global key, and require_global_hpke_keys) serve a Prio3Count task. The client uploads once,
# caching both HPKE configs; then `janus key_rotator` (Janus's one-pass form) rotates the
# leader's key until the cached one is deleted; the client's next upload gets outdatedConfig,
# it fetches the configs again and its retry is stored. Run by ctest as
# E2E.RealClientRetriesAfterKeyRotation.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="$(cd "${1:?usage: key_rotation_test.sh BUILD_DIR}" && pwd)"
cd "$root"
[ -d tests/e2e/node_modules/@divviup/dap ] || {
  echo "tests/e2e/node_modules is missing: run 'npm ci' in tests/e2e (scripts/test does)" >&2
  exit 1
}
janus="$build_dir/bin/janus"
state="$(mktemp -d)"
db_prefix="janus_rotation_$$"
server_url="$(scripts/pg start)"
server_url="${server_url%/*}"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for role in leader helper; do
    psql -q "$server_url/postgres" -c "DROP DATABASE IF EXISTS ${db_prefix}_${role} WITH (FORCE)" \
      >/dev/null 2>&1 || true
  done
  rm -rf "$state"
}
trap cleanup EXIT

read -r leader_port helper_port leader_health helper_health < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(4)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))')
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
random_b64url() { head -c "$1" /dev/urandom | b64url; }
sha256_b64url() { printf '%s' "$1" | openssl dgst -sha256 -binary | b64url; }
x25519_public() { openssl pkey -pubout -outform DER <<<"$1" | tail -c 32 | b64url; }
x25519_private() { openssl pkey -outform DER <<<"$1" | tail -c 32 | b64url; }
export DATASTORE_KEYS="$(random_b64url 16)"
task_id="$(random_b64url 32)" verify_key="$(random_b64url 16)"
leader_token="$(random_b64url 24)" collector_token="$(random_b64url 24)"
collector_pem="$(openssl genpkey -algorithm X25519 2>/dev/null)"

hpke_config_yaml() { # indent id public_key
  printf '%sid: %s\n%skem_id: X25519HkdfSha256\n%skdf_id: HkdfSha256\n%saead_id: Aes128Gcm\n%spublic_key: %s\n' \
    "$1" "$2" "$1" "$1" "$1" "$1" "$3"
}
for role in leader helper; do
  psql -q "$server_url/postgres" -c "CREATE DATABASE ${db_prefix}_${role}" >/dev/null
  if [ $role = leader ]; then port=$leader_port health=$leader_health; else
    port=$helper_port health=$helper_health; fi
  # The key rotator's durations are 0: any key older than a second moves on when it runs.
  cat >"$state/$role.yaml" <<YAML
database:
  url: "$server_url/${db_prefix}_${role}"
health_check_listen_address: "127.0.0.1:$health"
listen_address: "127.0.0.1:$port"
max_upload_batch_size: 10
max_upload_batch_write_delay_ms: 10
batch_aggregation_shard_count: 4
require_global_hpke_keys: true
global_hpke_configs_refresh_interval: 500
key_rotator:
  frequency_s: 3600
  hpke:
    pending_duration_s: 0
    active_duration_s: 0
    expired_duration_s: 0
YAML
  cat >"$state/$role-cli.yaml" <<YAML
database:
  url: "$server_url/${db_prefix}_${role}"
YAML
  cat >"$state/$role-rotator.yaml" <<YAML
database:
  url: "$server_url/${db_prefix}_${role}"
key_rotator:
  hpke:
    pending_duration_s: 0
    active_duration_s: 0
    expired_duration_s: 0
YAML
  pem="$(openssl genpkey -algorithm X25519 2>/dev/null)"
  if [ $role = leader ]; then
    peer="http://127.0.0.1:$helper_port/"
    auth="  aggregator_auth_token: {type: Bearer, token: $leader_token}
  collector_auth_token_hash: {type: Bearer, hash: $(sha256_b64url "$collector_token")}"
  else
    peer="http://127.0.0.1:$leader_port/"
    auth="  aggregator_auth_token_hash: {type: Bearer, hash: $(sha256_b64url "$leader_token")}"
  fi
  cat >"$state/tasks-$role.yaml" <<YAML
- task_id: $task_id
  peer_aggregator_endpoint: "$peer"
  query_type: TimeInterval
  vdaf: Prio3Count
  role: ${role^}
  vdaf_verify_key: $verify_key
  max_batch_query_count: 1
  task_expiration: null
  report_expiry_age: null
  min_batch_size: 1
  time_precision: 300
  tolerable_clock_skew: 60
  collector_hpke_config:
$(hpke_config_yaml "    " 1 "$(x25519_public "$collector_pem")")
  hpke_keys:
  - config:
$(hpke_config_yaml "      " 200 "$(x25519_public "$pem")")
    private_key: $(x25519_private "$pem")
$auth
YAML
  "$janus" db migrate --config-file "$state/$role.yaml" >"$state/$role-migrate.log" 2>&1 ||
    { cat "$state/$role-migrate.log" >&2; exit 1; }
  "$janus" janus_cli provision-tasks "$state/tasks-$role.yaml" --config-file "$state/$role-cli.yaml" \
    >"$state/$role-provision.log" 2>&1 || { cat "$state/$role-provision.log" >&2; exit 1; }
  RUST_LOG=info "$janus" aggregator --config-file "$state/$role.yaml" >"$state/$role.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$leader_health/healthz" 2>/dev/null &&
    curl -fsS -o /dev/null "http://127.0.0.1:$helper_health/healthz" 2>/dev/null && break
  sleep 0.1
done
leader_sql() { psql -tA "$server_url/${db_prefix}_leader" -c "$1"; }
keys() { leader_sql "SELECT string_agg(config_id || ':' || state, ' ' ORDER BY config_id) FROM global_hpke_keys"; }
echo "leader's global keys at start: $(keys)"
first_key=$(leader_sql "SELECT config_id FROM global_hpke_keys WHERE state = 'ACTIVE'")

node tests/e2e/rotation_upload.mjs "http://127.0.0.1:$leader_port/" \
  "http://127.0.0.1:$helper_port/" "$task_id" 300 "$state/go" >"$state/client.log" 2>&1 &
client=$!
for _ in $(seq 300); do
  grep -q "first upload done" "$state/client.log" && break
  kill -0 "$client" 2>/dev/null || break
  sleep 0.1
done
grep -q "first upload done" "$state/client.log" || {
  cat "$state/client.log" >&2; tail -n 20 "$state/leader.log" >&2; exit 1; }

# Rotate until the key the client holds is gone: a pending successor, its promotion (the
# first key expires), then the expired key's deletion.
for _ in 1 2 3; do
  sleep 1.1
  "$janus" key_rotator --config-file "$state/leader-rotator.yaml" >>"$state/rotator.log" 2>&1 ||
    { cat "$state/rotator.log" >&2; exit 1; }
done
echo "leader's global keys after rotation: $(keys)"
[ -z "$(leader_sql "SELECT 1 FROM global_hpke_keys WHERE config_id = $first_key")" ] || {
  echo "the first key ($first_key) was not deleted" >&2; cat "$state/rotator.log" >&2; exit 1; }
sleep 1.5 # the leader rereads its global keys every 500 ms
touch "$state/go"
wait "$client" || { cat "$state/client.log" >&2; tail -n 20 "$state/leader.log" >&2; exit 1; }
cat "$state/client.log"

outdated=""
for _ in $(seq 100); do
  outdated=$(leader_sql "SELECT coalesce(sum(report_outdated_key), 0) FROM task_upload_counters")
  [ "$outdated" = 1 ] && break
  sleep 0.1
done
stored=$(leader_sql "SELECT count(*) FROM client_reports")
echo "reports stored: $stored; uploads rejected as outdatedConfig: $outdated"
[ "$stored" = 2 ] && [ "$outdated" = 1 ] || exit 1
