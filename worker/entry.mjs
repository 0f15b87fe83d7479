// The worker's entry module: what wrangler.toml's `main` names
// (build/entry.mjs; scripts/build-worker.sh copies it beside the
// worker-build output, build/index.js, which it imports).
//
// An OFREP request of a tenant the isolate has cached is answered by one
// synchronous wasm call (`ofrepCached`, worker/src/runtime.rs): no
// workers-rs Request/Response conversion, no Rust future, no promise but
// the body's. Everything else, and any request that call does not answer,
// goes to the workers-rs `fetch` unchanged. Every decision (routes, keys,
// CORS, statuses, bodies, the log line, exposures, counters) is the Rust
// pipeline's; this file only moves bytes and builds the Response.
import Vane from "./index.js";

// The Durable Object classes.
export * from "./index.js";

// A body is read here only when its declared length is within the OFREP
// limit; a larger or chunked one is left to the asynchronous path, which
// refuses it without reading it whole.
const BODY_LIMIT = Vane.prototype.ofrepBodyLimit();
const NO_BODY = new Uint8Array(0);

export default {
  async fetch(request, env, ctx) {
    // The entrypoint worker-build generates (its panic recovery included).
    const vane = new Vane(ctx, env);
    const method = request.method;
    if (method !== "POST" && method !== "OPTIONS") return vane.fetch(request);
    const headers = request.headers;
    const length = headers.get("content-length");
    let body = NO_BODY;
    if (request.body !== null) {
      if (length === null || !(Number(length) <= BODY_LIMIT)) return vane.fetch(request);
      body = new Uint8Array(await request.arrayBuffer());
    }
    const answer = vane.ofrepCached(
      env,
      method,
      request.url,
      headers.get("authorization"),
      headers.get("x-api-key"),
      headers.get("origin"),
      headers.get("user-agent"),
      headers.get("if-none-match"),
      length,
      body,
    );
    if (answer === undefined) {
      // The body was read: the asynchronous path gets the same bytes.
      return vane.fetch(body === NO_BODY ? request : new Request(request, { body }));
    }
    if (answer[1]) ctx.waitUntil(vane.ofrepAfter(env));
    const out = new Headers();
    const pairs = answer[3].split("\n");
    for (let i = 0; i < pairs.length; i += 2) out.set(pairs[i], pairs[i + 1]);
    return new Response(answer[2], { status: answer[0], headers: out });
  },

  queue(batch, env, ctx) {
    return new Vane(ctx, env).queue(batch);
  },
};
