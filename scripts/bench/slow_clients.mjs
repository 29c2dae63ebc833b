// Slow-client probe for scripts/bench-upload: how does the server answer fresh requests while
// idle keep-alive connections and slow-header (slowloris-style) connections are held open?
//
//   node slow_clients.mjs --port P --task TASK_ID [--host 127.0.0.1] [--idle 1000] [--slow 100]
//        [--requests 200] [--header-interval-ms 5000] [--deadline-s 55]
//
// 1. opens --idle connections, sends each one complete `GET /hpke_config?task_id=…` and leaves it
//    open (keep-alive) after the answer;
// 2. opens --slow connections that send `GET /hpke_config HTTP/1.1\r\n`, then one header line
//    every --header-interval-ms, never finishing the request;
// 3. times --requests fresh requests one after another (a new connection each,
//    `Connection: close`), each bounded by a timeout;
// 4. keeps holding the connections until --hold-s after they were opened (default 12 s: two
//    header lines), to see whether the server closes idle or never-finished requests;
// then prints one JSON line with the latencies and the counts, then the same in words, and
// closes everything.
// Everything is bounded: a hard deadline ends the process (the remaining requests count as
// `not_run`). Only loopback addresses are accepted.
import net from "node:net";

const args = { host: "127.0.0.1", idle: "1000", slow: "100", requests: "200", "hold-s": "12",
  "header-interval-ms": "5000", "deadline-s": "55", "request-timeout-ms": "5000",
  "connect-timeout-ms": "3000" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, "");
  if (!(key in args) && key !== "port" && key !== "task") {
    console.error(`slow_clients: unknown option ${argv[i]}`);
    process.exit(2);
  }
  args[key] = argv[i + 1];
}
const host = args.host;
if (host !== "127.0.0.1" && host !== "localhost" && host !== "::1") {
  console.error("slow_clients: only loopback targets are allowed");
  process.exit(2);
}
const port = Number(args.port);
const task = args.task;
const nIdle = Number(args.idle), nSlow = Number(args.slow), nRequests = Number(args.requests);
const headerInterval = Number(args["header-interval-ms"]);
const requestTimeout = Number(args["request-timeout-ms"]);
const connectTimeout = Number(args["connect-timeout-ms"]);
const start = Date.now();
const deadline = start + Number(args["deadline-s"]) * 1000;
// Opening the held connections gets at most a third of the time (a server that stops
// accepting would otherwise use all of it on connect timeouts).
const setupDeadline = start + Number(args["deadline-s"]) * 1000 / 3;
const sockets = new Set();
const timers = new Set();

const result = {
  idle: { opened: 0, answered: 0, connect_failed: 0, closed_by_server: 0 },
  slow: { opened: 0, connect_failed: 0, closed_by_server: 0, header_lines_sent: 0 },
  requests: { ok: 0, bad_status: 0, refused: 0, reset: 0, timeout: 0, other_error: 0, not_run: 0 },
  latency_ms: { p50: null, p99: null, max: null },
};

const idleSockets = new Set(), slowSockets = new Set();

function finish(reason) {
  result.idle.still_open = [...idleSockets].filter((s) => !s.destroyed).length;
  result.slow.still_open = [...slowSockets].filter((s) => !s.destroyed).length;
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
  result.wall_s = Number(((Date.now() - start) / 1000).toFixed(1));
  if (reason) result.stopped = reason;
  const r = result, q = r.requests, l = r.latency_ms;
  const ms = (x) => (x === null ? "-" : `${x} ms`);
  const failed = q.bad_status + q.reset + q.timeout + q.other_error;
  console.log(JSON.stringify(result));
  console.log(
    `probe: ${nRequests} fresh GET /hpke_config, ${r.idle.opened} idle + ${r.slow.opened} slow-header ` +
    `connections held: p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, max ${ms(l.max)}; ok ${q.ok}, ` +
    `failed ${failed} (timeout ${q.timeout}, reset ${q.reset}, non-200 ${q.bad_status}, ` +
    `other ${q.other_error}), refused ${q.refused}, not run ${q.not_run}`);
  console.log(
    `       idle: ${r.idle.answered_before_requests ?? r.idle.answered}/${r.idle.opened} answered ` +
    `before the timed requests, ${r.idle.connect_failed} could not connect, ` +
    `${r.idle.closed_by_server} closed by the server` +
    (r.idle.not_opened ? `, ${r.idle.not_opened} not opened in time` : "") +
    `; slow: ${r.slow.connect_failed} could not ` +
    `connect, ${r.slow.closed_by_server} closed by the server` +
    (r.slow.not_opened ? `, ${r.slow.not_opened} not opened in time` : "") +
    `; ${r.idle.still_open} idle and ${r.slow.still_open} slow still open at the end ` +
    `(${r.slow.header_lines_sent} slow header lines sent); probe took ${r.wall_s} s` +
    (r.stopped ? ` (stopped: ${r.stopped})` : ""));
  process.exit(0);
}
// The hard bound on the whole probe.
setTimeout(() => finish("deadline"), Math.max(0, deadline - Date.now())).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hpkeRequest = (connection) =>
  `GET /hpke_config?task_id=${task} HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
  `Connection: ${connection}\r\n\r\n`;

// Opens one connection; resolves to the socket or to null when it cannot connect in time.
function open(onClose) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let settled = false;
    const timer = setTimeout(() => { if (!settled) { settled = true; s.destroy(); resolve(null); } },
      connectTimeout);
    s.once("connect", () => {
      if (settled) return;
      settled = true; clearTimeout(timer); sockets.add(s); resolve(s);
    });
    s.on("error", () => {});
    s.once("close", () => {
      sockets.delete(s);
      if (!settled) { settled = true; clearTimeout(timer); resolve(null); return; }
      onClose?.();
    });
  });
}

// Parses one HTTP response from `buf`; returns {status, complete} (complete once the
// Content-Length body, or the whole stream for a close-delimited one, has arrived).
function parseResponse(buf, ended) {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return { status: null, complete: false };
  const head = buf.subarray(0, end).toString("latin1");
  const status = Number(head.split(" ")[1]);
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (m) return { status, complete: buf.length >= end + 4 + Number(m[1]) };
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    return { status, complete: buf.subarray(end).includes("\r\n0\r\n\r\n") || ended };
  }
  return { status, complete: ended };
}

async function openIdle() {
  // In batches, so that the probe measures the server, not a SYN flood against its backlog.
  const batch = 50;
  for (let i = 0; i < nIdle; i += batch) {
    if (Date.now() >= setupDeadline) { result.idle.not_opened = nIdle - i; break; }
    const n = Math.min(batch, nIdle - i);
    await Promise.all(Array.from({ length: n }, async () => {
      let closedEarly = false;
      const s = await open(() => { closedEarly = true; result.idle.closed_by_server++; });
      if (!s) { result.idle.connect_failed++; return; }
      if (closedEarly) return;
      result.idle.opened++;
      idleSockets.add(s);
      let buf = Buffer.alloc(0), answered = false;
      s.on("data", (d) => {
        if (answered) return;
        buf = Buffer.concat([buf, d]);
        if (parseResponse(buf, false).complete) { answered = true; result.idle.answered++; }
      });
      s.write(hpkeRequest("keep-alive"));
    }));
  }
}

async function openSlow() {
  const batch = 50;
  for (let i = 0; i < nSlow; i += batch) {
    if (Date.now() >= setupDeadline) { result.slow.not_opened = nSlow - i; break; }
    const n = Math.min(batch, nSlow - i);
    await Promise.all(Array.from({ length: n }, async () => {
      const s = await open(() => { result.slow.closed_by_server++; });
      if (!s) { result.slow.connect_failed++; return; }
      result.slow.opened++;
      slowSockets.add(s);
      s.write("GET /hpke_config HTTP/1.1\r\n");
      let line = 0;
      const t = setInterval(() => {
        if (s.destroyed) { clearInterval(t); timers.delete(t); return; }
        s.write(`X-Slow-${line++}: ${"a".repeat(16)}\r\n`);
        result.slow.header_lines_sent++;
      }, headerInterval);
      timers.add(t);
    }));
  }
}

// One fresh request: resolves to {ok, ms} or {error}.
function freshRequest() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const s = net.connect({ host, port });
    let buf = Buffer.alloc(0), done = false;
    const settle = (r) => {
      if (done) return;
      done = true; clearTimeout(timer); s.destroy(); resolve(r);
    };
    const timer = setTimeout(() => settle({ error: "timeout" }), requestTimeout);
    s.once("connect", () => s.write(hpkeRequest("close")));
    const check = (ended) => {
      const r = parseResponse(buf, ended);
      if (r.complete) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        settle(r.status === 200 ? { ok: true, ms } : { error: "bad_status", ms });
      } else if (ended) {
        settle({ error: "reset" });
      }
    };
    s.on("data", (d) => { buf = Buffer.concat([buf, d]); check(false); });
    s.once("end", () => check(true));
    s.on("error", (e) => {
      if (e.code === "ECONNREFUSED") settle({ error: "refused" });
      else if (e.code === "ECONNRESET" || e.code === "EPIPE") settle({ error: "reset" });
      else settle({ error: "other_error" });
    });
    s.once("close", () => check(true));
  });
}

const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null;

await openIdle();
await openSlow();
const heldSince = Date.now();
// A moment for the idle connections' answers to arrive (bounded; the probe goes on either way).
for (let i = 0; i < 20 && result.idle.answered < result.idle.opened; i++) await sleep(250);
result.idle.answered_before_requests = result.idle.answered;

const latencies = [];
for (let i = 0; i < nRequests; i++) {
  if (Date.now() + requestTimeout > deadline) { result.requests.not_run = nRequests - i; break; }
  const r = await freshRequest();
  if (r.ok) { result.requests.ok++; latencies.push(r.ms); }
  else result.requests[r.error]++;
}
const holdUntil = Math.min(heldSince + Number(args["hold-s"]) * 1000, deadline - 1000);
while (Date.now() < holdUntil) await sleep(250);
latencies.sort((a, b) => a - b);
const round = (x) => (x === null ? null : Number(x.toFixed(2)));
result.latency_ms = { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)),
  max: round(latencies.length ? latencies[latencies.length - 1] : null) };
finish(null);
