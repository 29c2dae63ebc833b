// The page's code: the real DAP client (@divviup/dap 0.9.1), bundled by esbuild for the
// browser, so the uploads go through Chromium's fetch with its CORS rules (a preflight before
// the first PUT of a report, since application/dap-report is not a simple content type).
import Task from "@divviup/dap";

// Uploads `count` Prio3Count measurements (alternately true and false) one after another and
// resolves to one { index, measurement, ms, error } per upload, error null on success. An
// upload's failure does not stop the later ones, so one run shows every upload's duration.
// Each result is also logged as it happens, so the driver can show progress (and what was
// done before a stall) even if it gives up waiting for the whole run.
async function uploadReports({ leader, helper, id, timePrecisionSeconds, count }) {
  const task = new Task({ type: "count", id, leader, helper, timePrecisionSeconds });
  const results = [];
  for (let index = 0; index < count; index++) {
    const measurement = index % 2 === 0;
    const start = performance.now();
    let error = null;
    try {
      await task.sendMeasurement(measurement);
    } catch (e) {
      error = String(e?.stack ?? e);
    }
    const result = { index, measurement, ms: Math.round(performance.now() - start), error };
    console.log(`upload-result ${JSON.stringify(result)}`);
    results.push(result);
  }
  return results;
}

window.uploadReports = uploadReports;
