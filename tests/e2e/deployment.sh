# Sourced by the end-to-end tests (tests/e2e, tests/browser, tests/crash): a `scripts/run`
# deployment (leader + helper on the private PostgreSQL) on free loopback ports, with its own
# state folder and databases, and its teardown. From the repository root:
#
#   . tests/e2e/deployment.sh
#   trap 'my_cleanup; deployment_stop' EXIT     # deployment_stop is safe to call at any point
#   deployment_start NAME BUILD_DIR [EXTRA_PORTS]
#
# deployment_start sets: state (a temporary folder, removed by deployment_stop),
# leader_port, helper_port, leader_health, helper_health, extra_ports (EXTRA_PORTS more free
# ports, e.g. for a page server), run_pid; exports JANUS_RUN_*; sources the demo task's
# task.env (TASK_ID, COLLECTOR_TOKEN, …). It exits 1, printing scripts/run's output, if the
# deployment does not come up within 60 s.

state=""
run_pid=""

deployment_start() { # name build_dir [extra_ports]
  local name=$1 build_dir=$2 extra=${3:-0} ports
  state="$(mktemp -d)"
  # Distinct free ports, held together while chosen.
  read -r -a ports < <(python3 -c '
import socket, sys
sockets = [socket.socket() for _ in range(4 + int(sys.argv[1]))]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))' "$extra")
  leader_port=${ports[0]} helper_port=${ports[1]} leader_health=${ports[2]}
  helper_health=${ports[3]}
  extra_ports=("${ports[@]:4}")
  export JANUS_RUN_DIR="$state/run" JANUS_RUN_BUILD_DIR="$build_dir" \
    JANUS_RUN_LEADER_PORT="$leader_port" JANUS_RUN_HELPER_PORT="$helper_port" \
    JANUS_RUN_LEADER_HEALTH_PORT="$leader_health" JANUS_RUN_HELPER_HEALTH_PORT="$helper_health" \
    JANUS_RUN_DB_PREFIX="janus_${name}_$$"
  scripts/run --no-build >"$state/run.out" 2>&1 &
  run_pid=$!
  for _ in $(seq 600); do
    grep -q "Ctrl-C stops both" "$state/run.out" 2>/dev/null && break
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "Ctrl-C stops both" "$state/run.out" || {
    echo "scripts/run did not come up:" >&2
    cat "$state/run.out" >&2
    exit 1
  }
  # shellcheck disable=SC1091
  . "$JANUS_RUN_DIR/task.env"
}

# Stops what is left of the deployment, drops its databases (ending any session a test left
# on them) and removes its state.
deployment_stop() {
  if [ -n "$run_pid" ]; then
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  if [ -n "${JANUS_RUN_DB_PREFIX:-}" ]; then
    local url role
    url="$(scripts/pg url)"
    for role in leader helper; do
      psql -q "${url%/*}/postgres" -c "DROP DATABASE IF EXISTS ${JANUS_RUN_DB_PREFIX}_${role} WITH (FORCE)" \
        >/dev/null 2>&1 || true
    done
  fi
  [ -z "$state" ] || rm -rf "$state"
}
