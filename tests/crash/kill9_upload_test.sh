#!/usr/bin/env bash
# "Every 200 means the report is committed": the real client (@divviup/dap 0.9.1, under Node.js)
# uploads reports concurrently to the deployment scripts/run starts, the leader is killed with
# SIGKILL while uploads are in flight, and every report the leader answered 200 must then be in
# its client_reports table. Run by ctest as E2E.AckedUploadsSurviveKill9.
#
# The test also proves it did not pass vacuously: at least 100 reports were acknowledged,
# no upload failed before the kill, uploads failed after it, and at least one of those failures
# was a request the kill cut off mid-flight (uploads are held in flight for the kill by a lock
# on the task's row, so this does not depend on the machine's pace).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Absolute, because scripts/run writes the plugin folder into configs read from elsewhere.
build_dir="$(cd "${1:?usage: kill9_upload_test.sh BUILD_DIR}" && pwd)"
cd "$root"
[ -d tests/crash/node_modules/@divviup/dap ] || {
  echo "tests/crash/node_modules is missing: run 'npm ci' in tests/crash (scripts/test does)" >&2
  exit 1
}

min_acks=100
# Kill after a varying number of acks (100–299), so runs hit the leader at different points of
# its upload batches.
kill_after=$((min_acks + RANDOM % 200))

uploader_pid=""
cleanup() {
  if [ -n "$uploader_pid" ]; then
    kill -TERM "$uploader_pid" 2>/dev/null || true
    wait "$uploader_pid" 2>/dev/null || true
  fi
  [ -z "${lock_pid:-}" ] || kill -TERM "$lock_pid" 2>/dev/null || true
  # scripts/run stops what is left of the deployment (the helper; the leader is dead).
  deployment_stop
}
leader_log() {
  echo "--- leader log" >&2
  tail -n 30 "$JANUS_RUN_DIR/leader.log" >&2 || true
}
# shellcheck source=../e2e/deployment.sh
. tests/e2e/deployment.sh
trap cleanup EXIT
deployment_start crash "$build_dir"

# scripts/run starts the leader as `janus --config-file $JANUS_RUN_DIR/leader.yaml` and records
# no pid; that command line names this test's private state folder, so it matches only our
# leader (the migrate and provision commands naming the same file have exited by now).
mapfile -t leader_pids < <(pgrep -f -x "[^ ]*/janus --config-file $JANUS_RUN_DIR/leader\.yaml")
[ "${#leader_pids[@]}" = 1 ] || {
  echo "expected one leader process, found: ${leader_pids[*]:-none}" >&2
  exit 1
}
leader_pid=${leader_pids[0]}

acked="$state/acked" failed="$state/failed"
: >"$acked"
: >"$failed"
# At most 3000 uploads, 90 s, 32 in flight, 600 reports built up front (more than the kill point
# needs, so uploads never wait for the client's HPKE), and the run ends after 256 failures.
node tests/crash/upload_until_killed.mjs "http://127.0.0.1:$leader_port/" \
  "http://127.0.0.1:$helper_port/" "$TASK_ID" 300 "$acked" "$failed" 3000 90 32 600 256 \
  >"$state/uploader.out" 2>&1 &
uploader_pid=$!

# Building 600 reports takes a few seconds; the acks then come in at the leader's pace.
for _ in $(seq 1200); do
  [ "$(wc -l <"$acked")" -ge "$kill_after" ] && break
  kill -0 "$uploader_pid" 2>/dev/null || break
  sleep 0.1
done
acks_at_kill=$(wc -l <"$acked")
if ! kill -0 "$uploader_pid" 2>/dev/null || [ "$acks_at_kill" -lt "$kill_after" ]; then
  echo "the uploader did not reach $kill_after acks while running (it has $acks_at_kill):" >&2
  cat "$state/uploader.out" "$failed" >&2
  leader_log
  exit 1
fi
# Failures before the kill would mean the leader rejected uploads on its own: the test would
# not be measuring the kill.
[ ! -s "$failed" ] || {
  echo "uploads failed before the kill:" >&2
  head -n 20 "$failed" >&2
  leader_log
  exit 1
}
# Make sure uploads are in flight when the kill lands, whatever the machine's pace: another
# transaction locks the task's row, so the leader's report transactions wait (the insert's
# foreign-key check) with their uploads unanswered; the lock ends by itself after 5 s.
leader_db="$(scripts/pg url)"
leader_db="${leader_db%/*}/${JANUS_RUN_DB_PREFIX}_leader"
psql -q "$leader_db" -c "BEGIN" -c "SELECT 1 FROM tasks FOR UPDATE" -c "SELECT pg_sleep(5)" \
  -c "COMMIT" >/dev/null 2>&1 &
lock_pid=$!
# Bounded: until the lock is held (its backend is sleeping), then a moment for uploads to pile up.
for _ in $(seq 50); do
  [ "$(psql -tA "$leader_db" -c "SELECT count(*) FROM pg_stat_activity \
    WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'")" = 1 ] && break
  sleep 0.1
done
sleep 0.5
kill -KILL "$leader_pid"
# Read right after the signal is sent, without a fork (a `date` under load can lag by tens of
# milliseconds, and requests that start meanwhile would not count as cut off): a request that
# started before this was sent to a live leader.
now_us=${EPOCHREALTIME//[!0-9]/}
kill_ms=$((now_us / 1000))
echo "killed the leader (pid $leader_pid) after $acks_at_kill acks"
for _ in $(seq 100); do
  kill -0 "$leader_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$leader_pid" 2>/dev/null; then
  echo "the leader (pid $leader_pid) survived SIGKILL" >&2
  exit 1
fi

# The uploader ends on its own (failure, count or time bound); 120 s is a generous ceiling.
uploader_status=0
for _ in $(seq 1200); do
  kill -0 "$uploader_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$uploader_pid" 2>/dev/null; then
  echo "the uploader did not finish within 120 s of the kill" >&2
  exit 1
fi
wait "$uploader_pid" || uploader_status=$?
uploader_pid=""
cat "$state/uploader.out"
[ "$uploader_status" = 0 ] || {
  echo "the uploader failed (exit $uploader_status)" >&2
  exit 1
}

# --- The kill happened mid-run -----------------------------------------------------------------
# Each failure line is "<start-ms> <end-ms> <kind> <report-id> <detail>".
failed_before=$(awk -v t="$kill_ms" '$2 < t' "$failed" | wc -l)
failed_after=$(awk -v t="$kill_ms" '$2 >= t' "$failed" | wc -l)
cut_off=$(awk -v t="$kill_ms" '$1 < t && $2 >= t' "$failed" | wc -l)
echo "failed uploads: $failed_before before the kill, $failed_after after it" \
  "($cut_off of them started before it: in flight when it landed)"
echo "failure kinds after the kill:" \
  "$(awk -v t="$kill_ms" '$2 >= t { print $3 }' "$failed" | sort | uniq -c | xargs)"
if [ "$failed_before" != 0 ] || [ "$failed_after" = 0 ] || [ "$cut_off" = 0 ]; then
  echo "the kill did not land mid-run: expected no failures before it, and failures after it" \
    "including requests it cut off in flight" >&2
  head -n 20 "$failed" >&2
  exit 1
fi

# --- Every acked report is committed -------------------------------------------------------------
wait "$lock_pid" 2>/dev/null || true
url="$(scripts/pg url)"
sort "$acked" >"$state/acked.sorted"
psql -tA "${url%/*}/${JANUS_RUN_DB_PREFIX}_leader" \
  -c "SELECT encode(report_id, 'hex') FROM client_reports" | sort >"$state/stored.sorted"
acked_count=$(wc -l <"$state/acked.sorted")
unique_acked=$(sort -u "$state/acked.sorted" | wc -l)
stored_count=$(wc -l <"$state/stored.sorted")
comm -23 "$state/acked.sorted" "$state/stored.sorted" >"$state/missing"
missing_count=$(wc -l <"$state/missing")
unacked_stored=$(comm -13 "$state/acked.sorted" "$state/stored.sorted" | wc -l)
echo "acked: $acked_count, stored by the leader: $stored_count," \
  "acked but missing: $missing_count, stored but not acked: $unacked_stored"
[ "$unique_acked" = "$acked_count" ] || {
  echo "the uploader recorded some report ids twice" >&2
  exit 1
}
[ "$acked_count" -ge "$min_acks" ] || {
  echo "only $acked_count reports were acked (expected at least $min_acks)" >&2
  exit 1
}
[ "$missing_count" = 0 ] || {
  echo "reports answered 200 but not in the leader's client_reports:" >&2
  cat "$state/missing" >&2
  leader_log
  exit 1
}
echo "every acked report survived the kill"
