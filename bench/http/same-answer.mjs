// Vane's answer without Vane, for scripts/bench.sh's `workerd` stage: a
// JavaScript worker on the same workerd process as Vane
// (bench/http/workerd-config.mjs) that does what worker/entry.mjs does
// around its wasm call and nothing else. Every request reads the method,
// the URL, the six request headers and the body the entry reads, and is
// answered with a kept answer: the status, headers and body Vane gave the
// first request to the same URL with the same Authorization (asked through
// the VANE service binding, that request as it came), its headers as one
// record as the entry passes them. The kept answer depends on nothing else
// (not the body, Origin or If-None-Match): right for wrk, which sends one
// request over and over, not a stand-in for Vane otherwise. Beside
// the floor (a constant with one header), it measures what Vane's
// single-flag answer costs on workerd before any evaluation: the most
// requests per second the worker could reach with an evaluation that took
// no time at all.
const kept = new Map();

/** The headers the entry reads (worker/entry.mjs). */
const READ = ["content-length", "authorization", "x-api-key", "origin", "user-agent", "if-none-match"];

export default {
  async fetch(request, env) {
    const method = request.method;
    const url = request.url;
    const headers = request.headers;
    const read = READ.map((name) => headers.get(name));
    const body = new Uint8Array(await request.arrayBuffer());
    const id = `${url} ${read[1]}`;
    let answer = kept.get(id);
    if (answer === undefined) {
      const vane = await env.VANE.fetch(url, { method, headers, body });
      const record = {};
      // The runtime frames the body itself, as it does for the entry's Response.
      for (const [name, value] of vane.headers) if (name !== "content-length") record[name] = value;
      answer = { status: vane.status, headers: record, body: new Uint8Array(await vane.arrayBuffer()) };
      kept.set(id, answer);
    }
    // A fresh buffer per answer, as the entry's is (copied out of wasm memory).
    return new Response(answer.body.slice(), { status: answer.status, headers: answer.headers });
  },
};
