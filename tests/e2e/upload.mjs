// Uploads measurements to a running deployment with the real DAP client (@divviup/dap 0.9.1).
// Usage: node upload.mjs <leader-url> <helper-url> <task-id> <time-precision-s> <count>
// Sends <count> Prio3Count measurements (alternately true and false); exits non-zero, with the
// client's error, on the first failure.
import { Task } from "@divviup/dap";

const [leader, helper, id, timePrecision, count] = process.argv.slice(2);
if (!count) {
  console.error("usage: node upload.mjs <leader> <helper> <task-id> <time-precision-s> <count>");
  process.exit(2);
}
const task = new Task({
  type: "count",
  id,
  leader,
  helper,
  timePrecisionSeconds: Number(timePrecision),
});
for (let i = 0; i < Number(count); i++) {
  try {
    await task.sendMeasurement(i % 2 === 0);
  } catch (error) {
    console.error(`upload ${i} failed:`, error);
    process.exit(1);
  }
}
console.log(`uploaded ${count} reports`);
