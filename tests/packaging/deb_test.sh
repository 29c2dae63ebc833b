#!/usr/bin/env bash
# Builds the Debian package from a build folder (cpack -G DEB), checks what it holds, and runs
# `janus --version` and `janus_cli --help` from its installed paths: from the unpacked
# package always, and, with JANUS_TEST_INSTALL_PACKAGE=1 (CI, as root: .ci/run sets it), from
# /usr/bin after `apt-get install ./janus_*.deb`, removing the package again afterwards.
# Usage: deb_test.sh BUILD_DIR (run by ctest as Packaging.DebianPackage).
set -euo pipefail
build="$(cd "${1:?usage: deb_test.sh BUILD_DIR}" && pwd)"
work="$(mktemp -d)"
installed=0
etc_created=0
db_url=""
cleanup() {
  if [ "$installed" = 1 ]; then dpkg --purge janus >/dev/null 2>&1 || true; fi
  if [ "$etc_created" = 1 ]; then rm -rf /etc/janus; fi
  if [ -n "$db_url" ]; then
    psql -q "${db_url%/*}/postgres" -c "DROP DATABASE IF EXISTS ${db_url##*/}" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb="$(ls "$work"/out/janus_*.deb)"
echo "package: ${deb##*/}"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
for path in /usr/bin/janus /usr/bin/janus_cli /usr/lib/libjanus_sdk.so \
  /usr/lib/janus/plugins/libjanus_aggregator.so /usr/lib/janus/plugins/libjanus_cli.so \
  /usr/lib/janus/plugins/libjanus_collection_driver.so \
  /usr/lib/janus/plugins/libjanus_job_creator.so /usr/lib/janus/plugins/libjanus_job_driver.so \
  /usr/lib/janus/plugins/libjanus_prio3.so /usr/lib/janus/plugins/libjanus_garbage_collector.so \
  /usr/lib/janus/plugins/libjanus_key_rotator.so /usr/share/janus/db/0001_tasks_and_keys.up.sql \
  /usr/share/janus/config/aggregator.yaml /usr/share/janus/config/tasks.yaml \
  /usr/share/janus/config/host.yaml /usr/lib/systemd/system/janus@.service; do
  grep -qx "$path" "$work/contents" || fail "the package lacks $path"
done
if grep -E 'host_test|abi_mismatch|not_a_plugin|_test$|libjanus_interop_' "$work/contents"; then
  fail "the package holds test files or the interop test API's plugins"
fi
depends="$(dpkg-deb -f "$deb" Depends)"
echo "depends: $depends"
for library in libc6 libyaml-cpp libpoco; do
  grep -q "$library" <<<"$depends" || fail "Depends lacks $library"
done
grep -q '^ExecStart=/usr/bin/janus %i --config-file /etc/janus/%i.yaml$' \
  <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/janus@.service) ||
  fail "janus@.service does not run /usr/bin/janus COMPONENT --config-file CONFIG"

# Run from the unpacked tree: the binaries find the SDK and the plugins relative to themselves.
run_installed() { # prefix_root
  local version help
  version="$("$1/usr/bin/janus" --version)" || fail "$1/usr/bin/janus --version failed"
  grep -Eq '^janus [0-9]+\.[0-9]+\.[0-9]+ ' <<<"$version" || fail "unexpected version: $version"
  help="$("$1/usr/bin/janus_cli" --help 2>&1)" || fail "$1/usr/bin/janus_cli --help failed: $help"
  for command in provision-tasks collect generate-global-hpke-key; do
    grep -q "$command" <<<"$help" || fail "janus_cli --help does not list $command: $help"
  done
  echo "$1/usr/bin/janus --version: $version"
}
# README "Install it": the sample config copied to /etc/janus and edited (this database, loopback
# ports), the database migrated, and the unit checked by systemd-analyze and its ExecStart
# line, read from the installed unit, run as systemd would run it (with janus.env's
# environment) until /healthz answers; SIGTERM (the unit's KillSignal) must end it with 0
# within TimeoutStopSec. systemctl itself needs a running systemd, which CI has not.
run_as_the_readme_deploys() {
  local url="${JANUS_TEST_DATABASE_URL:?JANUS_TEST_DATABASE_URL must name a PostgreSQL database}"
  local unit=/usr/lib/systemd/system/janus@.service db="janus_packaging_$$"
  [ ! -e /etc/janus ] || fail "/etc/janus exists already; not touching it"
  etc_created=1
  psql -q "$url" -c "CREATE DATABASE $db" >/dev/null || fail "cannot create database $db"
  db_url="${url%/*}/$db"
  mkdir -p /etc/janus && cp /usr/share/janus/config/aggregator.yaml /etc/janus/
  local port health
  port="$(free_port)" health="$(free_port)"
  sed -i -e "s|^\(  url: \).*|\1\"$db_url\"|" \
    -e "s|^health_check_listen_address: .*|health_check_listen_address: \"127.0.0.1:$health\"|" \
    -e "s|^listen_address: .*|listen_address: \"127.0.0.1:$port\"|" /etc/janus/aggregator.yaml
  printf 'DATASTORE_KEYS=%s\n' "$(openssl rand 16 | basenc --base64url | tr -d '=')" \
    >/etc/janus/janus.env
  chmod 600 /etc/janus/janus.env
  janus db migrate --config-file /etc/janus/aggregator.yaml >"$work/migrate.log" 2>&1 ||
    { cat "$work/migrate.log" >&2; fail "janus db migrate failed"; }
  if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify janus@aggregator.service >"$work/verify.log" 2>&1 ||
      { cat "$work/verify.log" >&2; fail "systemd-analyze verify janus@aggregator.service failed"; }
  else
    echo "no systemd-analyze on this machine: the unit file is not verified"
  fi
  local exec_start
  exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
  exec_start="${exec_start//%i/aggregator}"
  # shellcheck disable=SC2086 # ExecStart is split on spaces, as systemd splits it
  (set -a && . /etc/janus/janus.env && set +a && exec $exec_start) >"$work/service.log" 2>&1 &
  local pid=$! healthy=0
  for _ in $(seq 300); do
    if curl -fsS "http://127.0.0.1:$health/healthz" >/dev/null 2>&1; then
      healthy=1
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$healthy" = 1 ] || { cat "$work/service.log" >&2; kill "$pid" 2>/dev/null; fail "the unit's ExecStart never became healthy"; }
  curl -fsS "http://127.0.0.1:$port/hpke_config" >/dev/null 2>&1 ||
    curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/hpke_config" | grep -q '^4' ||
    fail "the aggregator does not answer DAP requests on 127.0.0.1:$port"
  kill -TERM "$pid"
  local rc=0 stopped=0
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || { stopped=1; break; }
    sleep 0.1
  done
  [ "$stopped" = 1 ] || { kill -KILL "$pid"; fail "SIGTERM did not stop it within 60 s"; }
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || { cat "$work/service.log" >&2; fail "SIGTERM ended it with $rc, not 0"; }
  echo "deployed as the README says: migrated, unit verified, ExecStart served /healthz, SIGTERM exit 0"
}
free_port() { # a random loopback port nothing listens on
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  fail "no free loopback port found"
}

dpkg-deb -x "$deb" "$work/root"
run_installed "$work/root"

if [ "${JANUS_TEST_INSTALL_PACKAGE:-0}" = 1 ]; then
  [ "$(id -u)" = 0 ] || fail "JANUS_TEST_INSTALL_PACKAGE=1 needs root"
  ! dpkg -s janus >/dev/null 2>&1 || fail "a janus package is installed already; not replacing it"
  installed=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" \
    >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get install failed"; }
  [ "$(command -v janus)" = /usr/bin/janus ] || fail "janus is not /usr/bin/janus after install"
  run_installed ""
  run_as_the_readme_deploys
  dpkg --purge janus >/dev/null
  installed=0
  [ ! -e /usr/bin/janus ] || fail "/usr/bin/janus is still there after dpkg --purge"
  echo "installed with apt-get, ran from /usr/bin, purged"
fi
