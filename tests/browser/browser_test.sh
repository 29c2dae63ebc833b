#!/usr/bin/env bash
# The real client (@divviup/dap 0.9.1) in a real browser (Debian's headless Chromium, driven by
# puppeteer-core) uploads reports to the deployment that scripts/run starts. The page is served
# from another origin than the leader's, so Chromium sends a CORS preflight (OPTIONS without a
# body or Content-Length) before the first upload, as on any site embedding the client. Every
# upload must succeed within 5 s (a server that waits for the preflight's body stalls it for
# its receive timeout), and the leader must store every report. Run by ctest as
# E2E.RealBrowserUploads.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Absolute: scripts/run writes it into configs that are read relative to their own folder.
build_dir="$(cd "${1:?usage: browser_test.sh BUILD_DIR}" && pwd)"
cd "$root"
here=tests/browser
[ -x /usr/bin/chromium ] || {
  echo "/usr/bin/chromium is missing: install Debian's chromium (scripts/bootstrap does)" >&2
  exit 1
}
if [ ! -d "$here/node_modules/puppeteer-core" ] || [ ! -d "$here/node_modules/@divviup/dap" ]; then
  echo "$here/node_modules is missing: run 'PUPPETEER_SKIP_DOWNLOAD=1 npm ci' in $here" \
    "(scripts/test does)" >&2
  exit 1
fi

reports=10
bound_ms=5000

page_pid=""
cleanup() {
  if [ -n "$page_pid" ]; then
    kill -TERM "$page_pid" 2>/dev/null || true
    wait "$page_pid" 2>/dev/null || true
  fi
  deployment_stop
}
# shellcheck source=../e2e/deployment.sh
. tests/e2e/deployment.sh
trap cleanup EXIT
# One more free port, for the page's server (another origin than the leader's).
deployment_start browser "$build_dir" 1
page_port=${extra_ports[0]}

# The page: index.html and the client bundled for the browser.
mkdir -p "$state/page"
cp "$here/page/index.html" "$state/page/"
"$here/node_modules/.bin/esbuild" "$here/page/upload.mjs" --bundle --platform=browser \
  --format=esm --outfile="$state/page/bundle.js" --log-level=warning
node "$here/serve.mjs" "$state/page" "$page_port" >"$state/serve.log" 2>&1 &
page_pid=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$page_port/bundle.js" 2>/dev/null && break
  kill -0 "$page_pid" 2>/dev/null || break
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$page_port/bundle.js" || {
  echo "the page server did not come up:" >&2
  cat "$state/serve.log" >&2
  exit 1
}

# localhost for the page, 127.0.0.1 for the aggregators: two origins, so CORS applies.
# TMPDIR keeps Chromium's throw-away profile inside $state, removed even if Chromium is killed.
mkdir -p "$state/tmp"
driver_ok=1
TMPDIR="$state/tmp" timeout -k 5 120 node "$here/driver.mjs" "http://localhost:$page_port/" \
  "http://127.0.0.1:$leader_port/" "http://127.0.0.1:$helper_port/" "$TASK_ID" 300 \
  "$reports" "$bound_ms" || driver_ok=0

# Counted whatever the driver said: it tells a slow upload (stored) from a lost one.
url="$(scripts/pg url)"
stored=$(psql -tA "${url%/*}/${JANUS_RUN_DB_PREFIX}_leader" -c "SELECT count(*) FROM client_reports")
echo "reports stored by the leader: $stored"
if [ "$driver_ok" = 0 ] || [ "$stored" != "$reports" ]; then
  [ "$stored" = "$reports" ] || echo "expected $reports stored reports" >&2
  echo "--- leader log" >&2
  tail -n 30 "$JANUS_RUN_DIR/leader.log" >&2
  exit 1
fi
