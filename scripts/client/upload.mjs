// Uploads Prio3Count measurements with the real DAP client (@divviup/dap 0.9.1); run by
// scripts/upload. Usage:
//   node upload.mjs <leader-url> <helper-url> <task-id> <time-precision-s> <count> [timestamp]
// Each measurement is a fair coin toss (true or false). With a timestamp (Unix seconds), every
// report carries it (the client rounds it down to the time precision); otherwise the current
// time. Progress goes to stderr; the last stdout line is "uploaded <count> reports, <trues>
// true". Exits non-zero, with the client's error, on the first failed upload.
import { Task } from "@divviup/dap";

const [leader, helper, id, timePrecision, countText, timestampText] = process.argv.slice(2);
const count = Number(countText);
if (!Number.isInteger(count) || count < 0 || (timestampText && !/^\d+$/.test(timestampText))) {
  console.error(
    "usage: node upload.mjs <leader> <helper> <task-id> <time-precision-s> <count> [timestamp]",
  );
  process.exit(2);
}
const options = timestampText ? { timestamp: new Date(Number(timestampText) * 1000) } : {};
const task = new Task({
  type: "count",
  id,
  leader,
  helper,
  timePrecisionSeconds: Number(timePrecision),
});
const tty = process.stderr.isTTY;
let trues = 0;
for (let i = 0; i < count; i++) {
  const measurement = Math.random() < 0.5;
  try {
    await task.sendMeasurement(measurement, options);
  } catch (error) {
    if (tty) process.stderr.write("\n");
    console.error(`upload ${i + 1} of ${count} failed:`, error.message ?? error);
    process.exit(1);
  }
  if (measurement) trues++;
  const done = i + 1;
  if (tty) {
    process.stderr.write(`\ruploading: ${done}/${count}`);
  } else if (done % 10 === 0 || done === count) {
    process.stderr.write(`uploading: ${done}/${count}\n`);
  }
}
if (tty && count > 0) process.stderr.write("\n");
console.log(`uploaded ${count} reports, ${trues} true`);
