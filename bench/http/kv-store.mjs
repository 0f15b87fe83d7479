// The KV namespace behind the worker's `SNAPSHOTS` binding when the built
// worker runs on plain workerd (bench/http/workerd-config.mjs). workerd turns
// a KV binding's get/put/delete into HTTP requests to the service it is bound
// to: `GET|PUT|DELETE /<key>?urlencoded=true` (the key URL-encoded, the
// value as the body, 404 for a missing key). This service keeps each value
// as one file of a writable workerd disk directory (`env.DISK`), named by
// the hex of the key's UTF-8 bytes so that any key is a valid file name.
// Listing, metadata and expiration are not served: the worker uses none.
const hex = (text) =>
  Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const raw = url.pathname.slice(1);
    const key = url.searchParams.get("urlencoded") === "true" ? decodeURIComponent(raw) : raw;
    if (key === "") return new Response("kv-store: listing is not served", { status: 501 });
    const file = `http://disk/${hex(key)}`;
    switch (request.method) {
      case "GET": {
        const stored = await env.DISK.fetch(file);
        if (stored.status === 404) return new Response(null, { status: 404 });
        return stored.ok ? new Response(stored.body) : stored;
      }
      case "PUT": {
        const written = await env.DISK.fetch(file, { method: "PUT", body: await request.arrayBuffer() });
        return written.ok ? new Response(null) : written;
      }
      case "DELETE": {
        const removed = await env.DISK.fetch(file, { method: "DELETE" });
        return removed.ok || removed.status === 404 ? new Response(null) : removed;
      }
      default:
        return new Response(`kv-store: ${request.method} is not served`, { status: 405 });
    }
  },
};
