// A static HTTP server for the test page: serves index.html and bundle.js from one folder.
// Usage: node serve.mjs <folder> <port>
// It listens on 127.0.0.1 and the driver opens the page as http://localhost:<port>/, an
// origin other than the leader's (http://127.0.0.1:<leader-port>), so Chromium applies CORS to
// the uploads exactly as for a real site embedding the DAP client.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

const [folder, port] = process.argv.slice(2);
if (!port) {
  console.error("usage: node serve.mjs <folder> <port>");
  process.exit(2);
}

// Only these two files: nothing else in the folder (or outside it) is reachable.
const files = new Map([
  ["/", ["index.html", "text/html; charset=utf-8"]],
  ["/index.html", ["index.html", "text/html; charset=utf-8"]],
  ["/bundle.js", ["bundle.js", "text/javascript; charset=utf-8"]],
]);

const server = createServer(async (request, response) => {
  const file = files.get(new URL(request.url, "http://localhost").pathname);
  if (request.method !== "GET" || !file) {
    response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  try {
    const body = await readFile(join(folder, file[0]));
    response.writeHead(200, { "content-type": file[1], "cache-control": "no-store" }).end(body);
  } catch (error) {
    response.writeHead(500, { "content-type": "text/plain" }).end(`${error}\n`);
  }
});
server.listen(Number(port), "127.0.0.1", () => {
  console.log(`serving ${folder} on http://localhost:${port}/`);
});
// The test script stops it with SIGTERM; exit at once rather than wait for idle keep-alives.
process.on("SIGTERM", () => process.exit(0));
