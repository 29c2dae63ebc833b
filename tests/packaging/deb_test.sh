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
cleanup() {
  if [ "$installed" = 1 ]; then dpkg --purge janus >/dev/null 2>&1 || true; fi
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
  /usr/lib/janus/plugins/libjanus_prio3.so /usr/share/janus/db/0001_tasks_and_keys.up.sql \
  /usr/share/janus/config/aggregator.yaml /usr/share/janus/config/tasks.yaml \
  /usr/share/janus/config/host.yaml /usr/lib/systemd/system/janus@.service; do
  grep -qx "$path" "$work/contents" || fail "the package lacks $path"
done
if grep -E 'host_test|abi_mismatch|not_a_plugin|_test$' "$work/contents"; then
  fail "the package holds test files"
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
  dpkg --purge janus >/dev/null
  installed=0
  [ ! -e /usr/bin/janus ] || fail "/usr/bin/janus is still there after dpkg --purge"
  echo "installed with apt-get, ran from /usr/bin, purged"
fi
