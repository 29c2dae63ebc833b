#!/usr/bin/env bash
# Installs the tree into a scratch prefix, builds tests/sdk_install/external_plugin
# against that prefix alone, and has the installed janus serve it.
# Usage: run.sh <build dir> <source dir of this test>
set -euo pipefail
build="$1"
here="$2"
work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null

# The installed tree runs on its own: every in-tree plugin lands in lib/janus/plugins (the
# installed host's default plugin directory), the test plugins do not, and the installed
# janus_cli finds its plugins there.
for plugin in aggregator cli collection_driver job_creator job_driver poplar1 prio3; do
  test -f "$work/prefix/lib/janus/plugins/libjanus_$plugin.so" ||
    { echo "cmake --install did not install the $plugin plugin"; exit 1; }
done
if ls "$work/prefix/lib/janus/plugins" | grep -E 'host_test|abi_mismatch|not_a_plugin'; then
  echo "cmake --install installed a test plugin"
  exit 1
fi
test -f "$work/prefix/share/janus/db/0001_tasks_and_keys.up.sql"
test -f "$work/prefix/share/janus/config/tasks.yaml"
test -f "$work/prefix/lib/systemd/system/janus@.service"
"$work/prefix/bin/janus_cli" --help >"$work/cli-help.txt" 2>&1 ||
  { cat "$work/cli-help.txt"; exit 1; }
grep -q "provision-tasks" "$work/cli-help.txt" || { cat "$work/cli-help.txt"; exit 1; }
cmake -S "$here/external_plugin" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
test -f "$work/build/libjanus_external_greeter.so"
# Poplar1's plugin is written as a third party's: it builds from its own folder against the
# installed SDK alone.
cmake -S "$here/../../plugins/vdaf/poplar1" -B "$work/poplar1" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/poplar1.log" 2>&1 &&
  cmake --build "$work/poplar1" >>"$work/poplar1.log" 2>&1 || { cat "$work/poplar1.log"; exit 1; }
test -f "$work/poplar1/libjanus_poplar1.so"

# Two loopback ports nobody answers on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}
health="$(free_port)"
port="$(free_port)"
cat >"$work/host.yaml" <<YAML
health_check_listen_address: 127.0.0.1:$health
plugins:
  - plugin: external_greeter
    config:
      listen_address: 127.0.0.1:$port
YAML

"$work/prefix/bin/janus" --config-file "$work/host.yaml" --plugin-dir "$work/build" \
  >"$work/janus.out" 2>"$work/janus.err" &
pid=$!
for _ in $(seq 150); do
  curl -fsS "http://127.0.0.1:$health/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
body="$(curl -fsS "http://127.0.0.1:$port/greet/operator")" ||
  { cat "$work/janus.out" "$work/janus.err"; exit 1; }
if [ "$body" != "external plugin greets operator" ]; then
  echo "unexpected body: $body"
  exit 1
fi
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
if [ "$rc" -ne 0 ]; then
  echo "janus exited with $rc"
  cat "$work/janus.out" "$work/janus.err"
  exit 1
fi
echo "external plugin built against the installed SDK and served by the installed janus"
