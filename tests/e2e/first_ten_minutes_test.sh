#!/usr/bin/env bash
# A new user's first ten minutes (README.md "Run it"), against a scripts/run deployment in a
# scratch state folder: the banner's upload and collect commands run exactly as printed and
# collect what was uploaded; a second scripts/run started meanwhile exits 1 and leaves the
# running one's files alone; `scripts/run --demo` uses the running deployment and gets an
# exact result; after a restart (`scripts/run --demo` starting it again) the same task serves
# and every earlier report is still stored. Run by ctest as E2E.FirstTenMinutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="$(cd "${1:?usage: first_ten_minutes_test.sh BUILD_DIR}" && pwd)"
cd "$root"

# shellcheck source=deployment.sh
. tests/e2e/deployment.sh
trap deployment_stop EXIT
deployment_start first10 "$build_dir"
banner="$state/run.out"
url="$(scripts/pg url)"
leader_sql() { psql -tAq "${url%/*}/${JANUS_RUN_DB_PREFIX}_leader" -c "$1"; }
fail() {
  echo "FAIL: $*" >&2
  echo "--- scripts/run output" >&2
  cat "$banner" >&2
  echo "--- leader log (end)" >&2
  tail -n 30 "$JANUS_RUN_DIR/leader.log" >&2 || true
  exit 1
}
# Startup says only what the user needs: no tool's chatter (curl progress or errors, psql,
# createdb or server NOTICE/WARNING lines, openssl or shell errors) reaches the terminal.
noise="$(grep -En '^(curl:|  % Total|psql:|createdb:|dropdb:|NOTICE:|WARNING:|ERROR:|openssl:|[^ ]*\.sh: line [0-9]+:|.*: command not found)' "$banner" || true)"
[ -z "$noise" ] || fail "tool noise in scripts/run's output: $noise"

# 1. A second scripts/run while this one runs: exit 1, a message, no file touched (the
#    running aggregators only append to their logs).
cp -a "$JANUS_RUN_DIR" "$state/before"
second_rc=0
scripts/run --no-build >"$state/second.out" 2>&1 || second_rc=$?
[ "$second_rc" = 1 ] || fail "a second scripts/run exited $second_rc, not 1: $(cat "$state/second.out")"
grep -q "is already serving" "$state/second.out" || fail "no message: $(cat "$state/second.out")"
diff <(ls -A "$state/before") <(ls -A "$JANUS_RUN_DIR") >&2 || fail "files came or went"
for file in "$state/before"/*; do
  name="${file##*/}"
  if [[ "$name" == *.log ]]; then
    cmp -s -n "$(stat -c %s "$file")" "$file" "$JANUS_RUN_DIR/$name" ||
      fail "the second scripts/run rewrote $name"
  else
    cmp -s "$file" "$JANUS_RUN_DIR/$name" || fail "the second scripts/run changed $name"
  fi
done
kill -0 "$run_pid" 2>/dev/null || fail "the running scripts/run died"

# 2. The banner's upload command, exactly as printed (from the repository root).
upload_line="$(grep -A1 '^Upload 10 measurements' "$banner" | tail -n 1)"
[[ "$upload_line" == *"scripts/upload 10" ]] || fail "no upload command in the banner"
uploaded="$(eval "$upload_line" 2>"$state/upload.err" | tail -n 1)" ||
  fail "the banner's upload command failed: $(cat "$state/upload.err")"
trues="$(sed -n 's/^uploaded 10 reports, \([0-9]*\) true$/\1/p' <<<"$uploaded")"
[ -n "$trues" ] || fail "unexpected upload output: $uploaded"
echo "banner upload: $uploaded"

# 3. Wait as the banner says (the reports aggregated), then its collect command as printed.
for _ in $(seq 600); do
  [ "$(leader_sql "SELECT coalesce(sum(report_count), 0) FROM batch_aggregations")" = 10 ] && break
  sleep 0.1
done
collect_command="$(sed -n '/janus_cli collect --task-id/,/--batch-interval-start/p' "$banner")"
grep -q -- "--batch-interval-start [0-9]* --batch-interval-duration [0-9]*$" <<<"$collect_command" ||
  fail "the collect command has no interval: $collect_command"
collected="$(eval "$collect_command")" || fail "the banner's collect command failed"
echo "$collected"
grep -qx "Number of reports: 10" <<<"$collected" || fail "collected the wrong number of reports"
grep -qx "Aggregation result: $trues" <<<"$collected" || fail "expected the aggregate $trues"

# 4. The demo, using the running deployment.
demo_line="$(grep -A1 '^All of it in one command' "$banner" | tail -n 1)"
[[ "$demo_line" == *"scripts/run --demo 50" ]] || fail "no demo command in the banner"
demo_out="$(eval "${demo_line% 50} 7" 2>&1)" || fail "the demo failed: $demo_out"
echo "$demo_out"
grep -q "using the deployment that is already running" <<<"$demo_out" || fail "the demo started anew"
last="$(tail -n 1 <<<"$demo_out")"
[[ "$last" =~ ^demo:\ collected\ 7\ reports:\ ([0-9]+)\ \(expected\ ([0-9]+)\)$ ]] ||
  fail "unexpected last line: $last"
[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] || fail "inexact demo result: $last"

# 5. Restart: stop it, then `scripts/run --demo` starts it again on the same state. The task
#    row and every report stored so far survive.
task_row="$(leader_sql "SELECT id FROM tasks")"
leader_sql "SELECT count(*) FROM client_reports" | grep -qx 17 || fail "expected 17 stored reports"
kill -TERM "$run_pid"
wait "$run_pid" || true
run_pid=""
[ ! -e "$JANUS_RUN_DIR/run.env" ] || fail "run.env left behind by a stopped scripts/run"
restart_out="$(scripts/run --no-build --demo 3 2>&1)" || fail "the restarted demo failed: $restart_out"
echo "$restart_out"
tail -n 1 <<<"$restart_out" | grep -Eq '^demo: collected 3 reports: ([0-9]+) \(expected \1\)$' ||
  fail "unexpected last line after the restart: $(tail -n 1 <<<"$restart_out")"
[ "$(leader_sql "SELECT id FROM tasks")" = "$task_row" ] || fail "the task was provisioned again"
leader_sql "SELECT count(*) FROM client_reports" | grep -qx 20 ||
  fail "the earlier reports are gone after the restart"
leader_sql "SELECT count(*) FROM collection_jobs" | grep -qx 3 || fail "collection jobs are gone"
echo "first ten minutes: banner commands, single instance, demo and restart all work"
