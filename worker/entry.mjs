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

// The two synchronous exports, called directly rather than through the
// instance worker-build's default export constructs per request: that one
// is a Proxy over a new WorkerEntrypoint whose every method read makes
// another Proxy (about 20 us of a single-flag answer's CPU on workerd,
// docs/benchmarks.md "HTTP per core"). Neither export reads `this`. What
// that Proxy adds is its recovery from a trapped (panicked) instance, kept
// here: a WebAssembly.RuntimeError from either export marks the module for
// reinitialisation in worker-build's own state (as its Proxy does), and
// while it is marked (by a trap here or on the workers-rs side) requests go
// to the workers-rs `fetch`, whose construction reinitialises the module
// before any call; the exports' glue would copy a request's bytes into the
// trapped instance's memory first.
const ofrepCached = Vane.prototype.ofrepCached;
const ofrepAfter = Vane.prototype.ofrepAfter;
const INIT_STATE = globalThis.__worker_init_state;
if (typeof ofrepCached !== "function" || typeof ofrepAfter !== "function" || typeof INIT_STATE !== "object") {
  throw new Error("entry.mjs: index.js lacks ofrepCached, ofrepAfter or worker-build's __worker_init_state");
}

/** `ofrepAfter`, a trap in it (thrown or rejected) marked as one. */
async function after(env) {
  try {
    return await ofrepAfter(env);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) INIT_STATE.criticalError = true;
    throw e;
  }
}

export default {
  async fetch(request, env, ctx) {
    const method = request.method;
    if ((method !== "POST" && method !== "OPTIONS") || INIT_STATE.criticalError) {
      return new Vane(ctx, env).fetch(request);
    }
    const headers = request.headers;
    const length = headers.get("content-length");
    let body = NO_BODY;
    if (request.body !== null) {
      if (length === null || !(Number(length) <= BODY_LIMIT)) return new Vane(ctx, env).fetch(request);
      body = new Uint8Array(await request.arrayBuffer());
    }
    let answer;
    try {
      answer = ofrepCached(
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
    } catch (e) {
      // A trap: the workers-rs entry, reinitialised, answers instead.
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      INIT_STATE.criticalError = true;
    }
    if (answer === undefined) {
      // The body was read: the asynchronous path gets the same bytes.
      const vane = new Vane(ctx, env);
      return vane.fetch(body === NO_BODY ? request : new Request(request, { body }));
    }
    if (answer[1]) ctx.waitUntil(after(env));
    // The headers as one record for the Response to take in one conversion:
    // on workerd a record is read as a dictionary, cheaper than an array of
    // pairs (read through the iterator protocol, one step per header) or a
    // Headers object filled by one call per header. A reply's header names
    // are unique (Reply::set_header replaces), so the record loses none.
    const text = answer[3].split("\n");
    const record = {};
    for (let i = 0; i < text.length; i += 2) record[text[i]] = text[i + 1];
    return new Response(answer[2], { status: answer[0], headers: record });
  },

  queue(batch, env, ctx) {
    return new Vane(ctx, env).queue(batch);
  },
};
