#!/usr/bin/env bash
# A deployment build (-DJANUS_BUILD_TESTS=OFF -DJANUS_BUILD_BENCHMARKS=OFF, as scripts/run
# configures it) has the host, the SDK and the in-tree plugins as targets, and no test plugin,
# test or benchmark. Configures only (nothing is compiled).
# Usage: deployment_build_test.sh SOURCE_DIR (ctest: Packaging.DeploymentBuildHasNoTests).
set -euo pipefail
source="$(cd "${1:?usage: deployment_build_test.sh SOURCE_DIR}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake -S "$source" -B "$work" -G Ninja -DCMAKE_BUILD_TYPE=Release -DJANUS_BUILD_TESTS=OFF \
  -DJANUS_BUILD_BENCHMARKS=OFF >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; exit 1; }
cmake --build "$work" --target help | sed -n 's/^\([A-Za-z0-9_]*\): .*/\1/p' | sort >"$work/targets"
plugins="$(grep '^janus_plugin_' "$work/targets" | tr '\n' ' ')"
echo "plugin targets: $plugins"
# Every plugin the tree declares (janus_add_plugin under plugins/), and nothing else.
expected="$(grep -rhoE 'janus_add_plugin\([a-z0-9_]+' "$source/plugins" --include=CMakeLists.txt |
  sed 's/^janus_add_plugin(/janus_plugin_/' | sort -u | tr '\n' ' ')"
echo "expected:       $expected"
[ -n "$expected" ] && [ "$plugins" = "$expected" ] || {
  echo "FAIL: expected exactly the in-tree plugins" >&2
  exit 1
}
grep -qx janus "$work/targets" || { echo "FAIL: no janus target" >&2; exit 1; }
if grep -E '_test$|_bench|^bench' "$work/targets"; then
  echo "FAIL: a deployment build has test or benchmark targets" >&2
  exit 1
fi
echo "deployment build: janus, the SDK and the in-tree plugins, no tests"
