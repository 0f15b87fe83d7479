// A real OpenFeature web client (@openfeature/web-sdk +
// @openfeature/ofrep-web-provider, web/ofrep-client) against the worker
// under `wrangler dev` (scripts/browser-tests.sh), from its own origin.
//
// The page is served by its own HTTP server (static-server.mjs, a free
// loopback port) under the origin http://localhost:8080, one of the shop
// tenant's CORS origins (examples/shop.yaml); Chromium maps that host and
// port to the server (--host-resolver-rules), so no fixed port is needed.
// The worker is at http://127.0.0.1:PORT: a cross-origin client, so the
// browser enforces CORS on every answer. Every OFREP request is observed on
// the wire.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ROOT, WORKER, example, launch, vaneEval, watchConsole } from "./support.mjs";
import { serveStatic } from "./static-server.mjs";

const ALLOWED_ORIGIN = "http://localhost:8080";
const OTHER_ORIGIN = "http://elsewhere.example:8080";
const BULK = `${WORKER}/ofrep/v1/evaluate/flags`;
const KEY = example("shop").client_key;

/** Pro customer on the web, not staff: splits for two flags, rules for two. */
const CUSTOMER = { targetingKey: "user-7", email: "bo@example.org", plan: "pro", age: 30, country: "DE", platform: "web" };
/** The same user, now recognised as staff. */
const STAFF = { ...CUSTOMER, email: "bo@shop.example" };

let browser;
let server;
before(async () => {
  server = await serveStatic(`${ROOT}web/ofrep-client`);
  const host = (origin) => new URL(origin).host;
  browser = await launch([
    `--host-resolver-rules=MAP ${host(ALLOWED_ORIGIN)} 127.0.0.1:${server.port}, ` +
      `MAP ${host(OTHER_ORIGIN)} 127.0.0.1:${server.port}`,
  ]);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * A page of the client at `origin`, plus the OFREP bulk requests it makes
 * as seen on the wire: status, If-None-Match sent, ETag received.
 */
async function openClient(t, origin, key, context) {
  const browserContext = await browser.newContext();
  t.after(() => browserContext.close());
  const page = await browserContext.newPage();
  const errors = watchConsole(page);
  const wire = [];
  page.on("response", async (response) => {
    const request = response.request();
    if (request.url() !== BULK || request.method() !== "POST") return;
    const entry = { status: response.status() };
    wire.push(entry);
    Object.assign(entry, {
      ifNoneMatch: (await request.allHeaders())["if-none-match"] ?? null,
      etag: (await response.allHeaders()).etag ?? null,
      context: JSON.parse(request.postData()).context,
      // The revalidation answer must come without a body (Playwright may
      // refuse to hand out a body for a 304: none was sent).
      bodyLength: response.status() === 304 ? await response.body().then((b) => b.length, () => 0) : null,
    });
  });
  page.on("requestfailed", (request) => {
    if (request.url() === BULK) wire.push({ status: "failed", error: request.failure()?.errorText });
  });
  const query = new URLSearchParams({ worker: WORKER, key, context: JSON.stringify(context) });
  await page.goto(`${origin}/index.html?${query}`);
  await page.waitForSelector("body[data-started]");
  return { page, errors, wire };
}

const details = (page) => page.evaluate(() => window.vaneClient.details());
const status = (page) => page.evaluate(() => window.vaneClient.status());

/** Waits until `count` bulk requests have been seen on the wire. */
async function requests(wire, count) {
  const complete = () => wire.length >= count && wire.every((w) => "bodyLength" in w || w.status === "failed");
  for (let i = 0; i < 100 && !complete(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(wire.length, count, JSON.stringify(wire));
  return wire;
}

/** Each flag the client returns equals the worker's own evaluation, as `vane eval` gives it. */
function assertMatchesVaneEval(got, context) {
  const expected = vaneEval("shop", context);
  for (const d of got) {
    const e = expected[d.key];
    assert.deepEqual(
      { value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode },
      { value: e.value, variant: e.variant, reason: e.reason, errorCode: null },
      d.key,
    );
  }
}

test("the OpenFeature web client gets typed flags, refetches on a context change, and revalidates with a 304", async (t) => {
  const { page, errors, wire } = await openClient(t, ALLOWED_ORIGIN, KEY, CUSTOMER);
  assert.equal(await status(page), "READY");
  const first = await details(page);
  assert.deepEqual(first.map((d) => [d.key, typeof d.value]), [
    ["new-search", "boolean"],
    ["checkout-flow", "string"],
    ["free-shipping-threshold", "number"],
    ["recommendations", "object"],
  ]);
  const byKey = (list) => Object.fromEntries(list.map((d) => [d.key, d]));
  const f = byKey(first);
  assert.equal(f["free-shipping-threshold"].value, 29.9);
  assert.equal(f["free-shipping-threshold"].reason, "TARGETING_MATCH");
  assert.deepEqual(f.recommendations.value, { layout: "grid", slots: 8, sources: ["bought-together", "trending"] });
  assert.equal(f.recommendations.variant, "rich");
  assert.equal(f["checkout-flow"].reason, "SPLIT");
  assert.equal(f["new-search"].reason, "SPLIT");
  assertMatchesVaneEval(first, CUSTOMER);
  const [initial] = await requests(wire, 1);
  assert.equal(initial.status, 200);
  assert.equal(initial.ifNoneMatch, null);
  assert.match(initial.etag, /^"[0-9a-f]{12}-[0-9a-f]{32}"$/);

  // A context change: the provider refetches, revalidating with the ETag it
  // holds; the context differs, so the answer is new.
  assert.equal(await page.evaluate((c) => window.vaneClient.setContext(c), STAFF), "READY");
  const [, changed] = await requests(wire, 2);
  assert.deepEqual(changed.context, STAFF);
  assert.equal(changed.ifNoneMatch, initial.etag);
  assert.equal(changed.status, 200);
  assert.notEqual(changed.etag, initial.etag);
  const staff = byKey(await details(page));
  assert.deepEqual([staff["checkout-flow"].value, staff["checkout-flow"].reason], ["one-page", "TARGETING_MATCH"]);
  assert.deepEqual([staff["new-search"].value, staff["new-search"].reason], [true, "TARGETING_MATCH"]);
  assertMatchesVaneEval(await details(page), STAFF);

  // The same context again: an unchanged refetch is a 304 with no body, and
  // the client keeps serving what it has.
  assert.equal(await page.evaluate((c) => window.vaneClient.setContext(c), { ...STAFF }), "READY");
  const [, , unchanged] = await requests(wire, 3);
  assert.equal(unchanged.ifNoneMatch, changed.etag);
  assert.equal(unchanged.status, 304);
  assert.equal(unchanged.bodyLength, 0);
  assertMatchesVaneEval(await details(page), STAFF);

  // The page rendered the values, and nothing was logged as an error.
  assert.equal(await page.textContent("#status"), "READY");
  assert.equal(await page.$$eval("#flags tr", (rows) => rows.length), 4);
  assert.deepEqual(errors, []);
});

test("with a wrong client key the provider is in an error state and hands out only fallbacks", async (t) => {
  const { page, errors, wire } = await openClient(t, ALLOWED_ORIGIN, "wrong-key", CUSTOMER);
  const [refused] = await requests(wire, 1);
  assert.equal(refused.status, 401);
  assert.ok(["ERROR", "FATAL"].includes(await status(page)), await status(page));
  for (const d of await details(page)) {
    assert.equal(d.reason, "ERROR", d.key);
    assert.ok(d.errorCode, d.key);
    assert.equal(d.variant, null, d.key);
  }
  assert.deepEqual((await details(page)).map((d) => d.value), [false, "code-default", -1, {}]);
  // Chromium logs the refused request; anything else logged is the SDK
  // reporting the provider's failure.
  assert.ok(errors.some((e) => /status of 401 \(Unauthorized\)/.test(e)), errors.join("\n"));
  assert.deepEqual(errors.filter((e) => !/status of 401 \(Unauthorized\)|Unauthorized|initializ/i.test(e)), []);
});

test("from an origin the tenant does not list, the browser withholds the answer and the provider fails", async (t) => {
  const { page, errors, wire } = await openClient(t, OTHER_ORIGIN, KEY, CUSTOMER);
  await requests(wire, 1);
  assert.ok(["ERROR", "FATAL"].includes(await status(page)), await status(page));
  assert.deepEqual((await details(page)).map((d) => d.value), [false, "code-default", -1, {}]);
  assert.ok(errors.some((e) => /blocked by CORS policy/.test(e)), errors.join("\n"));
});
