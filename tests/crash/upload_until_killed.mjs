// Uploads many reports concurrently with the real DAP client (@divviup/dap 0.9.1) and records
// which ones the leader acknowledged, so that a test can kill the leader mid-run and then check
// that every acknowledged report was committed.
//
// Usage: node upload_until_killed.mjs <leader-url> <helper-url> <task-id> <time-precision-s>
//          <acked-file> <failed-file> [max-reports] [max-seconds] [concurrency] [pregenerated]
//          [max-failures]
//
// The client builds each report (generateReport), but this script PUTs it itself, so it knows
// the report id behind every HTTP 200. Output files, appended as events happen (one write(2)
// per line, so a reader polling them concurrently — the test — sees every ack the moment it
// arrives, and nothing recorded is lost if this process dies):
//   <acked-file>   the hex report id of every upload answered 200
//   <failed-file>  "<start-ms> <end-ms> <kind> <report-id> <detail>" for every failed upload
//                  (epoch milliseconds when the request started and when it failed), where kind
//                  is `refused` (no connection), `broken` (the connection broke with the
//                  request sent), `timeout`, `http-<status>` or `other`
// Failures do not stop the run: it ends once max-reports uploads were attempted, max-seconds
// passed or max-failures uploads failed (after a kill every attempt fails, so going on would only
// burn time generating reports), and prints a one-line summary. Exit code 0 unless the
// arguments or the setup (fetching the HPKE configurations, generating reports) fail.
import { openSync, writeSync } from "node:fs";
import { Task } from "@divviup/dap";

const usage =
  "usage: node upload_until_killed.mjs <leader> <helper> <task-id> <time-precision-s> " +
  "<acked-file> <failed-file> [max-reports] [max-seconds] [concurrency] [pregenerated] " +
  "[max-failures]";
const args = process.argv.slice(2);
if (args.length < 6 || args.length > 11) {
  console.error(usage);
  process.exit(2);
}
const [leader, helper, taskId, timePrecision, ackedPath, failedPath] = args;
const [maxReports, maxSeconds, concurrency, pregenerated, maxFailures] = [
  [args[6], 3000],
  [args[7], 90],
  [args[8], 32],
  [args[9], 600],
  [args[10], 256],
].map(([value, fallback]) => {
  const number = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    console.error(`not a positive integer: ${value}\n${usage}`);
    process.exit(2);
  }
  return number;
});
// A request the leader neither answers nor breaks must not hang the run.
const requestTimeoutMs = 30_000;

const task = new Task({
  type: "count",
  id: taskId,
  leader,
  helper,
  timePrecisionSeconds: Number(timePrecision),
});
const uploadUrl = new URL(`tasks/${task.id.toString()}/reports`, leader).toString();
const acked = openSync(ackedPath, "a");
const failed = openSync(failedPath, "a");

let measurements = 0;
const generate = () => task.generateReport(measurements++ % 2 === 0);

// Reports are built before any upload starts (the pure-JS HPKE costs ~10 ms each), so the
// uploads run at the leader's pace and are really in flight when the test kills it.
const pool = [];
for (let i = 0; i < Math.min(pregenerated, maxReports); i++) pool.push(await generate());

// Why a fetch failed: undici reports the socket error as the TypeError's cause.
function failureKind(error) {
  if (error?.name === "TimeoutError") return "timeout";
  const code = error?.cause?.code ?? error?.code;
  if (code === "ECONNREFUSED") return "refused";
  if (["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"].includes(code)) return "broken";
  return "other";
}

const started = Date.now();
const deadline = started + maxSeconds * 1000;
let attempts = 0;
let acks = 0;
let failures = 0;
const kinds = {};

function recordFailure(start, kind, id, detail) {
  failures++;
  kinds[kind] = (kinds[kind] ?? 0) + 1;
  const line = `${start} ${Date.now()} ${kind} ${id} ${String(detail).replace(/\s+/g, " ")}`;
  writeSync(failed, `${line}\n`);
}

async function uploadOne(report) {
  const id = Buffer.from(report.metadata.reportId.bytes).toString("hex");
  const start = Date.now();
  let response;
  try {
    response = await fetch(uploadUrl, {
      method: "PUT",
      headers: { "Content-Type": "application/dap-report" },
      body: report.encode(),
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
  } catch (error) {
    const detail = error?.cause?.message ?? error?.message ?? error;
    recordFailure(start, failureKind(error), id, detail);
    return;
  }
  // The status alone is the promise under test: record the ack before reading the body.
  if (response.status === 200) {
    acks++;
    writeSync(acked, `${id}\n`);
  }
  let body = "";
  try {
    body = await response.text();
  } catch {
    // A body cut off by the kill changes nothing: the status has been received.
  }
  if (response.status !== 200) {
    recordFailure(start, `http-${response.status}`, id, body.slice(0, 200));
  }
}

async function worker() {
  while (attempts < maxReports && failures < maxFailures && Date.now() < deadline) {
    attempts++;
    await uploadOne(pool.length > 0 ? pool.pop() : await generate());
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));

const seconds = ((Date.now() - started) / 1000).toFixed(1);
const kindList = Object.entries(kinds).map(([kind, count]) => ` ${kind}=${count}`).join("");
console.log(`attempted=${attempts} acked=${acks} failed=${failures} seconds=${seconds}${kindList}`);
