// The floor of scripts/bench.sh's `workerd` stage: a JavaScript worker on
// the same workerd process (bench/http/workerd-config.mjs) that reads the
// request body and answers a constant JSON object, with no bindings. Driven
// with the same wrk settings as Vane and Unleash Edge, it measures what
// workerd itself costs per request on this machine: the most requests per
// second, and the least p99, any worker can have there.
export default {
  async fetch(request) {
    await request.arrayBuffer();
    return new Response('{"value":true}', { headers: { "content-type": "application/json" } });
  },
};
