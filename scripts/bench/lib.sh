# shellcheck shell=bash disable=SC2034,SC2154
# (SC2034/SC2154: globals shared with the scripts that source this file.)
# The shared parts of the system benchmarks (scripts/bench-upload, scripts/bench-aggregate),
# sourced by them after `set -euo pipefail`. It defines functions and these globals:
#
#   root, state, run     the checkout, the benchmark's state folder, this run's folder in it
#   build_dir, janus     the build folder and its `janus` executable
#   pg_bin, psql_bin, pgdata, pg_port, pg_url, pg_settings      the private cluster
#   leader_port, helper_port, leader_health, helper_health      free loopback ports
#   leader_pid, helper_pid, leader_url, helper_url              the aggregators
#   TASK_ID, VDAF_VERIFY_KEY, LEADER_TOKEN, COLLECTOR_TOKEN, DATASTORE_KEYS,
#   {COLLECTOR,LEADER,HELPER}_{PUBLIC,PRIVATE}_KEY             the task's secrets (task.env)
#   load                 the writable copy of ../shared/load (npm-installed)
#   pids, janus_pids     what cleanup stops: helpers (TERM, 3 s) and janus processes (TERM,
#                        10 s, in reverse order of starting)
#
# A script sets bench_name (its name, for messages and the lock) and bench_default_state (its
# state folder below the checkout) before sourcing, then calls, in order: bench_build (unless
# --no-build), bench_check_tools, bench_lock_and_clean (lock, exit trap, stale-run cleanup, a
# new $run), bench_free_ports, bench_pg_start DB..., bench_task_secrets, bench_provision
# (configs, migration, task) and bench_start_aggregators; then bench_load_tools and
# bench_pool_ensure for the reports.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
build_dir="${JANUS_BENCH_BUILD_DIR:-$root/build-run}"
state="${JANUS_BENCH_DIR:-$root/$bench_default_state}"
run="$state/run" # this run's configs and logs (kept for a look afterwards)
janus="$build_dir/bin/janus"
pg_bin=/usr/lib/postgresql/15/bin
psql_bin="$pg_bin/psql"
clk_tck=$(getconf CLK_TCK)

log() { echo "$bench_name: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# --- Build -------------------------------------------------------------------------------------
bench_build() {
  local plugin_targets
  scripts/bootstrap
  if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  # Only what a deployment runs, as scripts/run builds it: the host and its plugins.
  plugin_targets=$(cmake --build "$build_dir" --target help | sed -n 's/^\(janus_plugin_[a-z0-9_]*\):.*/\1/p')
  # shellcheck disable=SC2086
  cmake --build "$build_dir" -j"${JANUS_BENCH_BUILD_JOBS:-$(nproc)}" --target janus $plugin_targets
}

bench_check_tools() { # extra tools...
  local tool
  [ -x "$janus" ] || die "no $janus (build first, or drop --no-build)"
  build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)"
  for tool in node npm openssl curl ss "$@"; do
    command -v "$tool" >/dev/null || die "no '$tool' on PATH (scripts/bootstrap installs it)"
  done
  [ -x "$pg_bin/postgres" ] || die "no PostgreSQL 15 in $pg_bin (scripts/bootstrap installs it)"
}

# --- One run at a time per state folder; cleanup at exit; what a killed run left behind --------
pids=()
janus_pids=()
pgdata=""
# Every background process is also listed in $run/pids, for the next run should this one be
# killed with SIGKILL (see bench_lock_and_clean).
remember() { echo "$1" >>"$run/pids"; }
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_pid() { # pid grace_tenths: TERM, wait up to grace, then KILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < $2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
bench_cleanup() {
  local status=$? pid i
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do stop_pid "$pid" 30; done
  # Janus processes drain in-flight work on SIGTERM; bound that wait. The last started (the
  # components, then the leader) stop first.
  for ((i = ${#janus_pids[@]} - 1; i >= 0; i--)); do stop_pid "${janus_pids[$i]}" 100; done
  if [ -n "$pgdata" ] && [ -d "$pgdata" ]; then
    if ! as_pg "$pg_bin/pg_ctl" stop -D "$pgdata" -m fast -w -t 30 >/dev/null 2>&1; then
      # Only this cluster's postmaster: its pid is the first line of its own postmaster.pid.
      pid="$(head -n 1 "$pgdata/postmaster.pid" 2>/dev/null || true)"
      if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    cp "$pgdata/server.log" "$run/postgres.log" 2>/dev/null || true
    rm -rf "$pgdata"
  fi
  rm -f "$run"/reports-*.bin "$run"/part-*.bin "$run/pgdata-path" "$run/pids"
  rm -rf "$lock"
  exit "$status"
}

bench_lock_and_clean() { # [extra command-line pattern of our helper processes]
  local other pid cmdline stale_pgdata extra=${1:-}
  # A lock folder holding our pid, not flock: a lock descriptor would be inherited by the
  # aggregators and PostgreSQL, and outlive a run killed with SIGKILL.
  mkdir -p "$state"
  lock="$state/running"
  if ! mkdir "$lock" 2>/dev/null; then
    other="$(cat "$lock/pid" 2>/dev/null || true)"
    if [ -n "$other" ] && tr '\0' ' ' <"/proc/$other/cmdline" 2>/dev/null | grep -q "$bench_name"; then
      die "another $bench_name (pid $other) is running on $state"
    fi
    log "taking over the lock of a run that did not finish"
  fi
  echo $$ >"$lock/pid"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # A run killed with SIGKILL cannot clean up: stop what it left behind before wiping its
  # folder. Its processes are in $run/pids; each is ended only if its command line is still
  # one of ours.
  while read -r pid; do
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    if [[ "$cmdline" == *"$state/"* ]] || { [ -n "$extra" ] && [[ "$cmdline" == *"$extra"* ]]; }; then
      log "stopping process $pid that a previous run left behind"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < <(cat "$run/pids" 2>/dev/null || true)
  stale_pgdata="$(cat "$run/pgdata-path" 2>/dev/null || true)"
  if [ -n "$stale_pgdata" ] && [ -f "$stale_pgdata/postmaster.pid" ]; then
    log "stopping the cluster a previous run left in $stale_pgdata"
    as_pg "$pg_bin/pg_ctl" stop -D "$stale_pgdata" -m immediate >/dev/null 2>&1 || true
  fi
  [ -n "$stale_pgdata" ] && rm -rf "$stale_pgdata"
  rm -rf "$run"
  mkdir -p "$run"
}

# --- Free loopback ports (below the ephemeral range, so clients never take them) ---------------
taken=" "
free_port() { # varname
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    [[ "$taken" == *" $p "* ]] && continue
    if [ -z "$(ss -Htan "( sport = :$p )")" ]; then
      taken+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free port found"
}
bench_free_ports() { # the cluster's and both aggregators' (DAP and health check) ports
  pg_port="" leader_port="" helper_port="" leader_health="" helper_health=""
  free_port pg_port
  free_port leader_port
  free_port helper_port
  free_port leader_health
  free_port helper_health
}

# --- PostgreSQL: private and durable ---------------------------------------------------------
psql_q() { # database sql
  "$psql_bin" -h 127.0.0.1 -p "$pg_port" -U postgres -d "$1" -v ON_ERROR_STOP=1 -tAq -c "$2"
}
bench_pg_start() { # databases to create...
  local db
  # initdb and postgres refuse to run as root: then they run as `postgres`, who must be able
  # to reach the data folder (a checkout under a private home is not: use a temporary folder).
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$state"; then
    pgdata="$(mktemp -d "${TMPDIR:-/tmp}/janus-bench-pg.XXXXXX")"
  else
    pgdata="$run/pg"
    mkdir -p "$pgdata"
  fi
  echo "$pgdata" >"$run/pgdata-path"
  chmod 700 "$pgdata"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pgdata"; fi
  log "PostgreSQL: new cluster in $pgdata, port $pg_port"
  as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --no-locale \
    >"$run/initdb.log" 2>&1 || {
    cat "$run/initdb.log" >&2
    die "initdb failed"
  }
  # Durability as a deployment has it (these are PostgreSQL's defaults; scripts/pg turns them
  # off): every COMMIT waits for its WAL flush.
  as_pg tee -a "$pgdata/postgresql.conf" >/dev/null <<EOF
# scripts/$bench_name: a private, durable cluster
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = ''
max_connections = 200
fsync = on
synchronous_commit = on
full_page_writes = on
log_min_messages = warning
EOF
  # Extra settings of the caller (e.g. a profiling run's pg_stat_statements), one a line.
  if [ -n "${bench_pg_extra_conf:-}" ]; then
    printf '%s\n' "$bench_pg_extra_conf" | as_pg tee -a "$pgdata/postgresql.conf" >/dev/null
  fi
  as_pg "$pg_bin/pg_ctl" start -D "$pgdata" -w -t 60 -l "$pgdata/server.log" >/dev/null || {
    tail -n 20 "$pgdata/server.log" >&2 || true
    die "PostgreSQL did not start"
  }
  pg_url="postgres://postgres@127.0.0.1:$pg_port"
  for db in "$@"; do psql_q postgres "CREATE DATABASE $db"; done
  pg_settings="$(psql_q postgres "SELECT 'PostgreSQL ' || current_setting('server_version') ||
    ', fsync=' || current_setting('fsync') || ', synchronous_commit=' ||
    current_setting('synchronous_commit') || ', full_page_writes=' ||
    current_setting('full_page_writes') || ', shared_buffers=' ||
    current_setting('shared_buffers')")"
}
pg_pids() { # the postmaster and its children (backends, checkpointer, WAL writer, …)
  local pm
  pm="$(head -n 1 "$pgdata/postmaster.pid")"
  echo "$pm"
  ps -o pid= --ppid "$pm" || true
}
cpu_ticks() { # pids...: utime+stime (+ reaped children's, which is how exited backends count)
  local p
  for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 } END { print s + 0 }'
}

# --- The task's secrets, made once (the cached reports are sealed to these keys) ---------------
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
random_b64url() { head -c "$1" /dev/urandom | b64url; }
sha256_b64url() { printf '%s' "$1" | openssl dgst -sha256 -binary | b64url; }
x25519_pair() { # NAME: NAME_PUBLIC_KEY / NAME_PRIVATE_KEY lines (raw keys end their DER forms)
  local pem
  pem="$(openssl genpkey -algorithm X25519 2>/dev/null)"
  echo "${1}_PUBLIC_KEY=$(openssl pkey -pubout -outform DER <<<"$pem" | tail -c 32 | b64url)"
  echo "${1}_PRIVATE_KEY=$(openssl pkey -outform DER <<<"$pem" | tail -c 32 | b64url)"
}
bench_task_secrets() {
  if [ ! -f "$state/task.env" ]; then
    {
      echo "TASK_ID=$(random_b64url 32)"
      echo "VDAF_VERIFY_KEY=$(random_b64url 16)"
      echo "LEADER_TOKEN=$(random_b64url 24)"
      echo "COLLECTOR_TOKEN=$(random_b64url 24)"
      echo "DATASTORE_KEYS=$(random_b64url 16)"
      x25519_pair COLLECTOR
      x25519_pair LEADER
      x25519_pair HELPER
    } >"$state/task.env.new"
    chmod 600 "$state/task.env.new"
    mv "$state/task.env.new" "$state/task.env"
  fi
  # shellcheck disable=SC1091
  . "$state/task.env"
  export DATASTORE_KEYS
  # Report pools belong to the task's keys: new secrets, new pools.
  task_hash="$(sha256sum "$state/task.env" | cut -c1-16)"
}

# --- Janus 0.7-format configs, migration, the task on both sides -------------------------------
# bench_shards: batch_aggregation_shard_count of the aggregators (and components);
# bench_vdaf_yaml: the task's `vdaf:` value in tasks.yaml form. Set them before bench_provision.
bench_shards=32
bench_vdaf_yaml=Prio3Count
# The task's time_precision and report_expiry_age (tasks.yaml values), and YAML lines added to
# both aggregators' configs (bench-gc's garbage_collection section).
bench_time_precision=3600
bench_report_expiry_age=null
bench_aggregator_extra=""
write_configs() { # role dap_port health_port
  local role=$1 port=$2 health=$3
  # The aggregator's keys are Janus's basic sample's (upload batching unchanged) plus the
  # advanced sample's task_counter_shard_count.
  cat >"$run/$role.yaml" <<EOF
# Written by scripts/$bench_name: the $role (Janus 0.7 aggregator.yaml form).
database:
  url: "$pg_url/janus_bench_$role"
health_check_listen_address: "127.0.0.1:$health"
listen_address: "127.0.0.1:$port"
max_upload_batch_size: 100
max_upload_batch_write_delay_ms: 250
batch_aggregation_shard_count: $bench_shards
task_counter_shard_count: 32
${bench_aggregator_extra}
${JANUS_BENCH_LEADER_EXTRA:+$([ "$role" = leader ] && printf '%b' "$JANUS_BENCH_LEADER_EXTRA")}
EOF
  cat >"$run/janus_cli-$role.yaml" <<EOF
database:
  url: "$pg_url/janus_bench_$role"
health_check_listen_address: "127.0.0.1:$health"
EOF
}
hpke_config_yaml() { # indent id public_key
  printf '%sid: %s\n%skem_id: X25519HkdfSha256\n%skdf_id: HkdfSha256\n%saead_id: Aes128Gcm\n%spublic_key: %s\n' \
    "$1" "$2" "$1" "$1" "$1" "$1" "$3"
}
write_tasks() { # role
  local role=$1 peer auth public private
  if [ "$role" = leader ]; then
    public=$LEADER_PUBLIC_KEY private=$LEADER_PRIVATE_KEY
    peer="http://127.0.0.1:$helper_port/"
    auth="  aggregator_auth_token:
    type: Bearer
    token: $LEADER_TOKEN
  collector_auth_token_hash:
    type: Bearer
    hash: $(sha256_b64url "$COLLECTOR_TOKEN")"
  else
    public=$HELPER_PUBLIC_KEY private=$HELPER_PRIVATE_KEY
    peer="http://127.0.0.1:$leader_port/"
    auth="  aggregator_auth_token_hash:
    type: Bearer
    hash: $(sha256_b64url "$LEADER_TOKEN")"
  fi
  # report_expiry_age null (the default): the cached reports (timestamps of the hour they
  # were made in) are never too old; reports are never from the future, so the skew only needs
  # to be sensible.
  cat >"$run/tasks-$role.yaml" <<EOF
- task_id: $TASK_ID
  peer_aggregator_endpoint: "$peer"
  query_type: TimeInterval
  vdaf: $bench_vdaf_yaml
  role: ${role^}
  vdaf_verify_key: $VDAF_VERIFY_KEY
  max_batch_query_count: 1
  task_expiration: null
  report_expiry_age: $bench_report_expiry_age
  min_batch_size: 1
  time_precision: $bench_time_precision
  tolerable_clock_skew: 600
  collector_hpke_config:
$(hpke_config_yaml "    " 1 "$COLLECTOR_PUBLIC_KEY")
  hpke_keys:
  - config:
$(hpke_config_yaml "      " 1 "$public")
    private_key: $private
$auth
EOF
}
bench_provision() { # both databases migrated with `janus db migrate`, the task provisioned
  local role
  write_configs leader "$leader_port" "$leader_health"
  write_configs helper "$helper_port" "$helper_health"
  for role in leader helper; do
    "$janus" db migrate --config-file "$run/$role.yaml" >"$run/$role-migrate.log" 2>&1 || {
      cat "$run/$role-migrate.log" >&2
      die "janus db migrate failed for the $role"
    }
    write_tasks "$role"
    "$janus" janus_cli provision-tasks "$run/tasks-$role.yaml" \
      --config-file "$run/janus_cli-$role.yaml" >"$run/$role-provision.log" 2>&1 || {
      cat "$run/$role-provision.log" >&2
      die "janus_cli provision-tasks failed for the $role"
    }
  done
}

# --- Janus processes -------------------------------------------------------------------------
start_janus() { # varname component config log: `janus COMPONENT --config-file CONFIG` in the background
  RUST_LOG="${RUST_LOG:-info}" "$janus" "$2" --config-file "$3" >"$4" 2>&1 &
  janus_pids+=($!)
  remember $!
  printf -v "$1" '%s' "$!"
}
healthy() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; }
wait_healthy() { # what timeout_tenths pid:port:log...: every health check answers, or die
  local what=$1 tenths=$2 i entry pid port file all
  shift 2
  for ((i = 0; i <= tenths; i++)); do
    all=1
    for entry in "$@"; do
      IFS=: read -r pid port file <<<"$entry"
      kill -0 "$pid" 2>/dev/null || {
        tail -n 20 "$file" >&2
        die "$what: a process exited during startup (see $file)"
      }
      healthy "$port" || all=0
    done
    [ "$all" = 1 ] && return 0
    sleep 0.1
  done
  die "$what: not healthy after $((tenths / 10)) s; see the logs in $run"
}
bench_start_aggregators() {
  start_janus helper_pid aggregator "$run/helper.yaml" "$run/helper.log"
  start_janus leader_pid aggregator "$run/leader.yaml" "$run/leader.log"
  wait_healthy aggregators 300 "$leader_pid:$leader_health:$run/leader.log" \
    "$helper_pid:$helper_health:$run/helper.log"
  leader_url="http://127.0.0.1:$leader_port/"
  helper_url="http://127.0.0.1:$helper_port/"
  log "leader $leader_url (pid $leader_pid), helper $helper_url (pid $helper_pid)"
}

# --- Reports: the load-test tools and a cached pool of real-client reports ---------------------
bench_load_tools() {
  local src="${JANUS_SHARED_DIR:-$root/../shared}/load"
  load="$state/load"
  [ -d "$src" ] || die "no $src (the shared load-test tools)"
  # A writable copy (the shared folder is read-only), installed once; refreshed when the
  # shared tools change.
  if [ ! -f "$load/.installed" ] || ! diff -q -x node_modules -x package-lock.json -x .installed \
    "$src" "$load" >/dev/null 2>&1; then
    rm -rf "$load"
    mkdir -p "$load"
    cp "$src"/* "$load"/
    chmod -R u+w "$load"
    log "npm install in $load (once)"
    (cd "$load" && npm install --no-audit --no-fund --loglevel=error >"$run/npm.log" 2>&1) || {
      cat "$run/npm.log" >&2
      die "npm install failed"
    }
    touch "$load/.installed"
  fi
}
# Removes the report pools ($state/reports-*) of other task secrets than the current ones.
bench_prune_pools() {
  local old
  for old in "$state"/reports-*; do
    [ -e "$old" ] || continue
    [[ "$old" == "$state/reports-$task_hash"* ]] || rm -rf "$old"
  done
}
pool_count() { node scripts/bench/slice_reports.mjs count "$1"; }
# Makes DIR/pool.bin hold at least NEEDED reports of the VDAF (gen-reports.mjs's --vdaf JSON),
# generating the missing ones with the real client against the running aggregators, and sets
# `have` to the number it holds. Each generated part's true aggregate (gen-reports.mjs's JSON
# line) is appended to DIR/parts.jsonl, in pool order. MIN_RATE (reports/s per generator)
# bounds the wait for each generator (default 100).
bench_pool_ensure() { # dir vdaf_json needed [min_rate]
  local dir=$1 vdaf=$2 needed=$3 min_rate=${4:-100} missing gens g count gen_pids=()
  local pool="$dir/pool.bin"
  mkdir -p "$dir"
  have=0
  [ -f "$pool" ] && have=$(pool_count "$pool")
  [ "$have" -ge "$needed" ] && return 0
  missing=$((needed - have))
  # Two generators side by side (about 1,100 Prio3Count reports/s each with native HPKE).
  gens=2
  [ "$missing" -lt 2000 ] && gens=1
  log "generating $missing reports with the real client ($gens processes; the pool keeps them)"
  for ((g = 0; g < gens; g++)); do
    count=$((missing / gens + (g < missing % gens ? 1 : 0)))
    # Bounded: even at min_rate reports/s a part finishes well within this.
    timeout -k 5 $((count / min_rate + 120)) node "$load/gen-reports.mjs" \
      --leader "$leader_url" --helper "$helper_url" --task "$TASK_ID" \
      --vdaf "$vdaf" --time-precision "$bench_time_precision" --count "$count" \
      --out "$run/part-$g.bin" --native-hpke 1 --seed "$RANDOM$g" >"$run/gen-$g.log" 2>&1 &
    gen_pids+=($!)
    pids+=($!)
    remember $!
  done
  for g in "${!gen_pids[@]}"; do
    wait "${gen_pids[$g]}" || {
      cat "$run/gen-$g.log" >&2
      die "report generation failed"
    }
  done
  # A new file, then a rename: an interrupted append never leaves a torn pool behind. The
  # parts' aggregates are recorded only once the pool holds them.
  if [ -f "$pool" ]; then
    cat "$pool" "$run"/part-*.bin >"$pool.new"
  else
    cat "$run"/part-*.bin >"$pool.new"
  fi
  mv "$pool.new" "$pool"
  for ((g = 0; g < gens; g++)); do grep '^{' "$run/gen-$g.log" | tail -n 1 >>"$dir/parts.jsonl"; done
  rm -f "$run"/part-*.bin
  have=$(pool_count "$pool")
  [ "$have" -ge "$needed" ] || die "the pool has $have reports, $needed needed"
}

# --- Summary helpers -------------------------------------------------------------------------------
# Sets summary_code and summary_binary: what identifies the server measured (the last commit
# of the code the binaries are built from, and whether a source file is newer than the binary).
bench_code_lines() {
  local git_desc server_commit janus_version stale=""
  git_desc="$(git describe --always --dirty 2>/dev/null || echo unknown)"
  server_commit="$(git log -1 --format='%h %cs' -- host plugins db CMakeLists.txt 2>/dev/null || echo unknown)"
  janus_version="$("$janus" --version 2>/dev/null || echo "unknown version")"
  if [ -n "$(find host plugins db -type f -newer "$janus" -print -quit 2>/dev/null)" ]; then
    stale="; WARNING: sources newer than the binary (rebuild?)"
  fi
  summary_machine="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))"
  summary_code="git $git_desc (host/plugins/db last changed in $server_commit)"
  summary_binary="$janus: $janus_version (${build_type:-unknown build type}, built $(date -u -r "$janus" '+%Y-%m-%d %H:%M UTC'))$stale"
}
