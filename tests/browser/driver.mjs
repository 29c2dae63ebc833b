// Drives Debian's Chromium (headless, through puppeteer-core) to the test page and has the
// page upload reports with the real DAP client, one after another.
// Usage: node driver.mjs <page-url> <leader-url> <helper-url> <task-id> <time-precision-s>
//                        <count> <bound-ms>
// Prints every upload's duration and exits non-zero if any upload failed, took longer than
// <bound-ms>, or if Chromium sent no CORS preflight to the leader (then the page was not
// cross-origin and the test would prove nothing about browsers). The whole run is bounded by
// DEADLINE_MS; Chromium is closed (or killed) on every path.
import puppeteer from "puppeteer-core";

const CHROMIUM = "/usr/bin/chromium";
// The test script gives the driver 120 s; leave room to print the results and close Chromium.
const DEADLINE_MS = 110_000;
const LAUNCH_TIMEOUT_MS = 30_000;
const PAGE_LOAD_TIMEOUT_MS = 20_000;
const CLOSE_TIMEOUT_MS = 5_000;
// When the uploads must be done (from the start), leaving time to close Chromium before the
// hard stop.
const UPLOADS_DEADLINE_MS = DEADLINE_MS - 10_000;

const [pageUrl, leader, helper, id, timePrecision, countArg, boundArg] = process.argv.slice(2);
if (!boundArg) {
  console.error(
    "usage: node driver.mjs <page-url> <leader-url> <helper-url> <task-id> " +
      "<time-precision-s> <count> <bound-ms>",
  );
  process.exit(2);
}
const count = Number(countArg);
const boundMs = Number(boundArg);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

let browser;
// Kills Chromium's whole process group: puppeteer starts it detached (its own group), and a
// SIGKILL to the browser process alone could leave renderer or zygote processes behind.
function killChromium() {
  const pid = browser?.process()?.pid;
  if (!pid) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
async function closeChromium() {
  if (!browser) return;
  await Promise.race([
    browser.close().catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref()),
  ]);
  // Also after a clean close: helpers such as the crash handler may still be exiting.
  killChromium();
  browser = undefined;
}

// A hard stop that does not depend on any promise settling, should Chromium or the DevTools
// connection hang past every other timeout (closing included).
const deadline = setTimeout(() => {
  console.error(`driver: FAIL: not finished after ${DEADLINE_MS / 1000} s; killing Chromium`);
  killChromium();
  process.exit(1);
}, DEADLINE_MS);

async function run() {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true, // the "new" headless mode in puppeteer-core 22 and later
    // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
    args: ["--no-sandbox", "--disable-gpu"],
    timeout: LAUNCH_TIMEOUT_MS,
    // Between the uploads' deadline and the driver's, so a hung DevTools call ends with its
    // own message before the hard stop.
    protocolTimeout: DEADLINE_MS - 5_000,
  });
  console.log(`driver: ${await browser.version()} started (${elapsed()})`);
  const page = await browser.newPage();

  // Forward the page's output: each upload's result as it completes, and any error.
  let finished = 0;
  page.on("console", (message) => {
    const text = message.text();
    if (!text.startsWith("upload-result ")) console.log(`page ${message.type()}: ${text}`);
    else {
      const r = JSON.parse(text.slice("upload-result ".length));
      finished++;
      console.log(
        `upload ${r.index} (${r.measurement}): ${r.ms} ms` +
          (r.error ? ` FAILED: ${r.error}` : "") +
          ` [${elapsed()}]`,
      );
    }
  });
  page.on("pageerror", (error) => console.log(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    // The client never reads an upload's (empty) response body, so Chromium reports every
    // answered PUT as aborted: only failures before a response say something.
    if (request.response() === null) {
      console.log(
        `request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`,
      );
    }
  });

  // Chromium reports CORS preflights only on the DevTools Network domain, not as puppeteer
  // request events: count the ones sent to the leader (the page itself sends no OPTIONS).
  const preflights = [];
  const cdp = await page.createCDPSession();
  cdp.on("Network.requestWillBeSent", (event) => {
    if (event.request.method === "OPTIONS" && event.request.url.startsWith(leader)) {
      preflights.push(event.request.url);
      console.log(`preflight: ${event.request.method} ${event.request.url} [${elapsed()}]`);
    }
  });
  await cdp.send("Network.enable");

  await page.goto(pageUrl, { waitUntil: "load", timeout: PAGE_LOAD_TIMEOUT_MS });
  await page.waitForFunction(() => typeof window.uploadReports === "function", {
    timeout: PAGE_LOAD_TIMEOUT_MS,
  });
  const origin = await page.evaluate(() => location.origin);
  if (new URL(leader).origin === origin) {
    throw new Error(`the page's origin ${origin} is the leader's: no CORS would be involved`);
  }
  console.log(`driver: page ${origin} loaded; uploading ${count} reports to ${leader}`);

  const uploads = page.evaluate((args) => window.uploadReports(args), {
    leader,
    helper,
    id,
    timePrecisionSeconds: Number(timePrecision),
    count,
  });
  // Settled by the race below; a rejection after it (closing Chromium) is expected.
  uploads.catch(() => {});
  // A stalled upload keeps page.evaluate pending: give up on it, saying which one, in time.
  const waitMs = UPLOADS_DEADLINE_MS - (performance.now() - started);
  let timer;
  const stalled = new Promise((_, reject) => {
    const stall = () =>
      new Error(`uploads not finished after ${elapsed()}: upload ${finished} pending`);
    timer = setTimeout(() => reject(stall()), waitMs);
  });
  const results = await Promise.race([uploads, stalled]).finally(() => clearTimeout(timer));

  const failures = [];
  if (results.length !== count) failures.push(`${results.length} results for ${count} uploads`);
  for (const r of results) {
    if (r.error) failures.push(`upload ${r.index} failed`);
    else if (r.ms > boundMs) failures.push(`upload ${r.index} took ${r.ms} ms (> ${boundMs} ms)`);
  }
  if (preflights.length === 0) failures.push("Chromium sent no CORS preflight to the leader");
  console.log(`durations (ms): ${results.map((r) => r.ms).join(" ")}`);
  return failures;
}

let failures;
try {
  failures = await run();
} catch (error) {
  failures = [`${error}`];
} finally {
  await closeChromium();
  clearTimeout(deadline);
}
if (failures.length > 0) {
  for (const failure of failures) console.error(`driver: FAIL: ${failure}`);
  process.exit(1);
}
console.log(`driver: ${count} uploads from Chromium, each within ${boundMs} ms (${elapsed()})`);
