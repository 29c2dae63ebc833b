// Report files of gen-reports.mjs (records `u32 length || Report`), for scripts/bench-upload:
//   node slice_reports.mjs count FILE                   prints the number of records
//   node slice_reports.mjs slice FILE OUT START COUNT   writes records [START, START+COUNT) to OUT
// so that every benchmark phase replays its own disjoint slice of one cached pool of reports.
import { readFileSync, writeFileSync } from "node:fs";

const [mode, file, out, startArg, countArg] = process.argv.slice(2);
const data = readFileSync(file);
const offsets = [];
let pos = 0;
while (pos + 4 <= data.length) {
  const len = data.readUInt32BE(pos);
  if (pos + 4 + len > data.length) break; // a truncated last record is not a report
  offsets.push(pos);
  pos += 4 + len;
}
offsets.push(pos);
const records = offsets.length - 1;
if (mode === "count") {
  console.log(records);
} else if (mode === "slice") {
  const start = Number(startArg), count = Number(countArg);
  if (!(start >= 0 && count > 0 && start + count <= records)) {
    console.error(`slice_reports: records [${start}, ${start + count}) not in a file of ${records}`);
    process.exit(1);
  }
  writeFileSync(out, data.subarray(offsets[start], offsets[start + count]));
} else {
  console.error("usage: slice_reports.mjs count FILE | slice FILE OUT START COUNT");
  process.exit(2);
}
