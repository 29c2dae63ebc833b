// The real DAP client (@divviup/dap 0.9.1) across a global HPKE key rotation.
// Usage: node rotation_upload.mjs <leader-url> <helper-url> <task-id> <time-precision-s> <go-file>
// Uploads one Prio3Count measurement (the client fetches and caches both aggregators' HPKE
// configs), prints "first upload done", waits until <go-file> exists (the test has rotated
// the leader's key meanwhile), then uploads again with the cached, now outdated, config: the
// client must get outdatedConfig, fetch the configs again and succeed on its retry.
import { existsSync } from "node:fs";
import { Task } from "@divviup/dap";

const [leader, helper, id, timePrecision, goFile] = process.argv.slice(2);
if (!goFile) {
  console.error("usage: node rotation_upload.mjs <leader> <helper> <task-id> <time-precision-s> <go-file>");
  process.exit(2);
}
const task = new Task({
  type: "count",
  id,
  leader,
  helper,
  timePrecisionSeconds: Number(timePrecision),
});
try {
  await task.sendMeasurement(true);
  console.log("first upload done");
  for (let waited = 0; !existsSync(goFile); waited += 100) {
    if (waited > 60000) throw new Error("no go file after 60 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await task.sendMeasurement(false);
  console.log("second upload done");
} catch (error) {
  console.error("upload failed:", error);
  process.exit(1);
}
