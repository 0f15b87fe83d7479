// The queue behind the worker's `EXPOSURES` producer binding when the built
// worker runs on plain workerd (bench/http/workerd-config.mjs). workerd sends
// `send()` as `POST /message` (the body in the message's format) and
// `sendBatch()` as `POST /batch` (`{"messages": [...]}`) to the bound service
// and expects 200. No consumer runs in the benchmark (exposure delivery is
// measured elsewhere, docs/exposures.md), so this service accepts and counts
// the messages; `GET /count` (on its own loopback socket) returns
// `{"messages": N, "requests": M}`, which scripts/bench.sh checks against the
// requests that had to send one, so none is lost unnoticed.
let messages = 0;
let requests = 0;
const accepted = () =>
  Response.json({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: 0 } } });

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname === "/message") {
      await request.arrayBuffer();
      messages += 1;
      requests += 1;
      return accepted();
    }
    if (request.method === "POST" && pathname === "/batch") {
      messages += (await request.json()).messages.length;
      requests += 1;
      return accepted();
    }
    if (request.method === "GET" && pathname === "/count") return Response.json({ messages, requests });
    return new Response(`queue-sink: ${request.method} ${pathname} is not served`, { status: 404 });
  },
};
