#!/usr/bin/env bash
# The real client (@divviup/dap 0.9.1, under Node.js) uploads reports to the deployment that
# scripts/run starts (leader + helper on the private PostgreSQL); every report must land in
# the leader's database, the leader's job creator and driver must then aggregate every one
# with the helper, and a collector (janus_cli collect) must get the right aggregate through
# the collection job driver. Run by ctest as E2E.RealClientUploadsToScriptsRun.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Absolute: scripts/run writes it into configs that are read relative to their own folder.
build_dir="$(cd "${1:?usage: upload_test.sh BUILD_DIR}" && pwd)"
cd "$root"
[ -d tests/e2e/node_modules/@divviup/dap ] || {
  echo "tests/e2e/node_modules is missing: run 'npm ci' in tests/e2e (scripts/test does)" >&2
  exit 1
}

# shellcheck source=deployment.sh
. tests/e2e/deployment.sh
trap deployment_stop EXIT
deployment_start e2e "$build_dir"

reports=6
node tests/e2e/upload.mjs "http://127.0.0.1:$leader_port/" "http://127.0.0.1:$helper_port/" \
  "$TASK_ID" 300 "$reports" || {
  echo "--- leader log" >&2
  tail -n 30 "$JANUS_RUN_DIR/leader.log" >&2
  exit 1
}
url="$(scripts/pg url)"
stored=$(psql -tA "${url%/*}/${JANUS_RUN_DB_PREFIX}_leader" -c "SELECT count(*) FROM client_reports")
echo "reports stored by the leader: $stored"
[ "$stored" = "$reports" ] || {
  echo "expected $reports stored reports" >&2
  exit 1
}

# The leader's job creator and job driver aggregate them with the helper: both sides'
# batch aggregations count every report once the aggregation job is finished.
aggregated() { # role
  psql -tA "${url%/*}/${JANUS_RUN_DB_PREFIX}_$1" \
    -c "SELECT coalesce(sum(report_count), 0) FROM batch_aggregations"
}
for _ in $(seq 600); do
  [ "$(aggregated leader)" = "$reports" ] && [ "$(aggregated helper)" = "$reports" ] && break
  sleep 0.1
done
finished=$(psql -tA "${url%/*}/${JANUS_RUN_DB_PREFIX}_leader" \
  -c "SELECT count(*) FROM aggregation_jobs WHERE state <> 'FINISHED'")
echo "reports aggregated: leader $(aggregated leader), helper $(aggregated helper);" \
  "unfinished aggregation jobs: $finished"
[ "$(aggregated leader)" = "$reports" ] && [ "$(aggregated helper)" = "$reports" ] &&
  [ "$finished" = 0 ] || {
  echo "--- leader log" >&2
  tail -n 40 "$JANUS_RUN_DIR/leader.log" >&2
  exit 1
}

# A collector (janus_cli collect) collects the batch: 6 alternating true/false counts give 3.
collector_config=$(sed -n 's/^  collector HPKE    config //p' "$state/run.out")
start=$(( ($(date +%s) / 300 - 1) * 300 ))
result=$("$build_dir/bin/janus" janus_cli collect --task-id "$TASK_ID" \
  --leader "http://127.0.0.1:$leader_port/" --vdaf count \
  --authorization-bearer-token "$COLLECTOR_TOKEN" --hpke-config "$collector_config" \
  --hpke-private-key "$COLLECTOR_PRIVATE_KEY" --batch-interval-start "$start" \
  --batch-interval-duration 900 --timeout 120) || {
  echo "--- leader log" >&2
  tail -n 40 "$JANUS_RUN_DIR/leader.log" >&2
  exit 1
}
echo "$result"
grep -qx "Number of reports: $reports" <<<"$result" &&
  grep -qx "Aggregation result: $((reports / 2))" <<<"$result" || {
  echo "expected $reports reports and the aggregate $((reports / 2))" >&2
  exit 1
}
