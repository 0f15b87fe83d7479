// A minimal static file server for the OpenFeature test client
// (web/ofrep-client): the client page needs an origin of its own, apart
// from the worker's. Serves GET/HEAD of files under `root` on 127.0.0.1.

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };

/** Starts the server on a free loopback port; resolves to {port, close}. */
export function serveStatic(root) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const type = TYPES[extname(path)];
    if (!["GET", "HEAD"].includes(req.method) || !type || path.includes("..")) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({ port: server.address().port, close: () => new Promise((r) => server.close(r)) }));
  });
}
