// The real Confidence web client (web/confidence-client: Spotify's
// @spotify-confidence/openfeature-web-provider 0.0.3 over client-http
// 0.0.2, in @openfeature/web-sdk 0.4) against the worker under `wrangler
// dev` (scripts/browser-tests.sh), from its own origin, with the tenant of
// Confidence's real demo state (conformance/confidence/real-state)
// published. The provider's baseUrl is the worker: it resolves every flag
// with POST /v1/flags:resolve, hands out typed values through OpenFeature,
// and applies each flag read in the background with POST /v1/flags:apply.
// Every request the page makes is observed on the wire. The applies must
// yield exactly one exposure event per assigned flag read (source
// `confidence-apply`), once the queue consumer has written them: in the
// admin summary and in the local R2 objects themselves. The same client
// pointed at the shop example (a Vane YAML tenant with a layer and a
// holdout) reads every flag as OFREP evaluates it, through the worker's
// mapping of Vane flags (docs/confidence.md), and its applies log the
// layer's and the holdout's exposures. That tenant is the shop example
// under its own name and key, without its one list-valued field: this
// client (0.0.3, the newest on npm) refuses every answer whose flagSchema
// has a `listSchema`, Confidence's own included (docs/confidence.md).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import Ajv2020 from "ajv/dist/2020.js";
import { ROOT, SNAPSHOTS, WORKER, env, launch, vaneEval, watchConsole } from "./support.mjs";
import { serveStatic } from "./static-server.mjs";

const TENANT = "confidence-demo-june";
const validateEvent = new Ajv2020({ allErrors: true, strict: true })
  .compile(JSON.parse(readFileSync(`${ROOT}docs/exposure-event.v1.schema.json`, "utf8")));

const ORIGIN = "http://confidence-app.example:8080";
/** An origin the shop example lets browsers call from (its `cors_origins`). */
const SHOP_ORIGIN = "http://localhost:8080";
const SECRET = "mkjJruAATQWjeY7foFIWfVAcBWnci2YF";
const VISITOR = { targetingKey: "browser-user-1", visitor_id: "tutorial_visitor" };
/** What the page reads: `flag.path` keys, as the provider takes them, one per type. */
const READ = [
  { key: "tutorial-feature.title", type: "string", fallback: "code-default" },
  { key: "tutorial-feature.message", type: "string", fallback: "code-default" },
  { key: "tutorial-feature", type: "object", fallback: {} },
  { key: "fallthrough-test-2.enabled", type: "boolean", fallback: false },
];

let browser;
let server;
before(async () => {
  server = await serveStatic(`${ROOT}web/confidence-client`);
  browser = await launch([`--host-resolver-rules=MAP ${new URL(ORIGIN).host} 127.0.0.1:${server.port}, ` +
    `MAP ${new URL(SHOP_ORIGIN).host} 127.0.0.1:${server.port}`]);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** The admin summary of the tenant's stored exposures (read from R2 by the worker). */
async function summary(tenant = TENANT) {
  const r = await fetch(`${WORKER}/admin/v1/tenants/${tenant}/exposures`,
    { headers: { authorization: `Bearer ${env("VANE_ADMIN_TOKEN")}` } });
  assert.equal(r.status, 200);
  return r.json();
}

/** Every event in the tenant's objects of the local R2 bucket (copied out of
 * wrangler dev's state by scripts/exposures-duckdb.py). */
function storedEvents(tenant = TENANT) {
  const out = mkdtempSync(join(tmpdir(), "vane-r2-"));
  try {
    const r = spawnSync("python3", [`${ROOT}scripts/exposures-duckdb.py`, "--state", env("VANE_STATE"),
      "--out", out, "--prefix", `exposures/v1/tenant=${tenant}/`, "--export-only"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return readdirSync(out, { recursive: true }).filter((f) => f.endsWith(".ndjson.gz"))
      .flatMap((f) => gunzipSync(readFileSync(join(out, f))).toString("utf8").split("\n").filter(Boolean))
      .map((line) => JSON.parse(line));
  } finally {
    rmSync(out, { recursive: true });
  }
}

/** `vane resolve` of the published snapshot: the body the worker must answer, by flag. */
function vaneResolve(context) {
  const request = { clientSecret: SECRET, evaluationContext: context, flags: [] };
  const out = spawnSync(env("VANE_BIN"),
    ["resolve", `${SNAPSHOTS}/${TENANT}.cbor`, "--request", JSON.stringify(request)],
    { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`vane resolve failed: ${out.stderr}`);
  return Object.fromEntries(JSON.parse(out.stdout).resolvedFlags.map((f) => [f.flag, f]));
}

/** A page in a fresh browser context (closed after `t`), its console
 * errors, and every exchange with the worker it makes: path, method, status,
 * request body, the resolve answer's text and the `X-Vane-Apply` header. */
async function openPage(t) {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  const errors = watchConsole(page);
  const wire = [];
  page.on("response", async (response) => {
    const request = response.request();
    if (!request.url().startsWith(WORKER)) return;
    wire.push({
      path: new URL(request.url()).pathname,
      method: request.method(),
      status: response.status(),
      request: request.postData(),
      response: request.url().includes("/v1/flags:resolve") ? await response.text() : null,
      apply: (await response.allHeaders())["x-vane-apply"] ?? null,
    });
  });
  return { page, errors, wire };
}

/** Waits (at most 5 s) for the client's background flags:apply on `wire`. */
async function applyArrives(wire) {
  for (let i = 0; i < 100 && !wire.some((w) => w.path === "/v1/flags:apply"); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("the Confidence web client resolves through the worker, reads typed values and applies them in the background", async (t) => {
  const { page, errors, wire } = await openPage(t);
  const query = new URLSearchParams({ worker: WORKER, secret: SECRET, context: JSON.stringify(VISITOR),
    read: JSON.stringify(READ) });
  await page.goto(`${ORIGIN}/index.html?${query}`);
  await page.waitForSelector("body[data-started]");
  assert.equal(await page.evaluate(() => window.confidenceClient.status()), "READY");

  // One resolve, of every flag, with the provider's context (targetingKey → targeting_key).
  const resolves = wire.filter((w) => w.path === "/v1/flags:resolve");
  assert.equal(resolves.length, 1, JSON.stringify(wire));
  assert.equal(resolves[0].status, 200);
  const sent = JSON.parse(resolves[0].request);
  assert.deepEqual(sent.evaluationContext, { targeting_key: "browser-user-1", visitor_id: "tutorial_visitor" });
  assert.equal(sent.clientSecret, SECRET);

  // Typed values through OpenFeature, as `vane resolve` gives them for the same request.
  const expected = vaneResolve(sent.evaluationContext);
  const tutorial = expected["flags/tutorial-feature"];
  assert.equal(tutorial.variant, "flags/tutorial-feature/variants/exciting-welcome");
  const got = await page.evaluate(() => window.confidenceClient.read());
  const byKey = Object.fromEntries(got.map((d) => [d.key, d]));
  assert.deepEqual(
    { value: byKey["tutorial-feature.title"].value, variant: byKey["tutorial-feature.title"].variant,
      reason: byKey["tutorial-feature.title"].reason, errorCode: byKey["tutorial-feature.title"].errorCode },
    { value: tutorial.value.title, variant: tutorial.variant, reason: "TARGETING_MATCH", errorCode: null });
  assert.equal(byKey["tutorial-feature.message"].value, tutorial.value.message);
  assert.deepEqual(byKey["tutorial-feature"].value, tutorial.value);
  const fallthrough = expected["flags/fallthrough-test-2"];
  assert.equal(typeof byKey["fallthrough-test-2.enabled"].value, "boolean");
  if (fallthrough.reason === "RESOLVE_REASON_MATCH") {
    assert.equal(byKey["fallthrough-test-2.enabled"].value, fallthrough.value.enabled);
    assert.equal(byKey["fallthrough-test-2.enabled"].variant, fallthrough.variant);
  }

  // The background apply (100 ms after the reads) reaches flags:apply with the resolve token.
  await applyArrives(wire);
  const applies = wire.filter((w) => w.path === "/v1/flags:apply");
  assert.ok(applies.length >= 1, JSON.stringify(wire));
  for (const a of applies) assert.equal(a.status, 200, JSON.stringify(a));
  const applied = applies.flatMap((a) => JSON.parse(a.request).flags.map((f) => f.flag));
  assert.ok(applied.includes("flags/tutorial-feature"), JSON.stringify(applied));
  assert.match(applies[0].apply, /^applied=[1-9]\d* unknown=0 /);

  // The exposures: one per flag applied with a variant, as `vane resolve`
  // assigned it, for this resolve. Waits for the queue consumer (at most 30 s).
  const { resolveId } = JSON.parse(resolves[0].response);
  const want = [...new Set(applied)].filter((flag) => expected[flag].variant).sort().map((flag) => ({
    tenant: TENANT, source: "confidence-apply", flag, variant: expected[flag].variant, unit: VISITOR.visitor_id,
    unit_source: "visitor_id", resolve_id: resolveId, reason: "RESOLVE_REASON_MATCH",
  }));
  assert.ok(want.some((e) => e.flag === "flags/tutorial-feature"), JSON.stringify(want));
  const deadline = Date.now() + 30_000;
  let summarised = await summary();
  while (summarised.events < want.length) {
    assert.ok(Date.now() < deadline, `exposures not stored: ${JSON.stringify(summarised)}`);
    await new Promise((r) => setTimeout(r, 250));
    summarised = await summary();
  }
  const stored = storedEvents();
  for (const event of stored) assert.ok(validateEvent(event), JSON.stringify(validateEvent.errors));
  const fields = ({ tenant, source, flag, variant, unit, unit_source, resolve_id, reason }) =>
    ({ tenant, source, flag, variant, unit, unit_source, resolve_id, reason });
  assert.deepEqual(stored.map(fields).sort((a, b) => (a.flag < b.flag ? -1 : 1)), want);
  for (const event of stored) {
    assert.ok(event.assignment.startsWith(`${expected[event.flag].assignmentOrigin}:`), event.assignment);
  }
  assert.deepEqual(summarised.experiments.map((e) => [e.flag, e.events, e.units,
    e.variants.filter((v) => v.events > 0).map((v) => v.variant)]),
  want.map((e) => [e.flag, 1, 1, [e.variant]]));
  assert.deepEqual([summarised.events, summarised.counters.dropped, summarised.counters.dead_lettered],
    [want.length, 0, 0]);

  // The page showed the values; nothing failed anywhere.
  assert.equal(await page.$$eval("#flags tr", (rows) => rows.length), READ.length);
  assert.deepEqual(wire.filter((w) => w.status >= 500), []);
  assert.deepEqual(errors, []);
});

const SHOP_TENANT = "shop-confidence";
const SHOP_KEY = "shop-confidence-web-key-41f0";

/** The shop example as tenant SHOP_TENANT with SHOP_KEY, its lists removed, built and published. */
function publishShop() {
  const shop = readFileSync(`${ROOT}examples/shop.yaml`, "utf8");
  const keys = [SHOP_KEY, `${SHOP_KEY}-backend`];
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const rules = shop.replace(/^tenant: shop$/m, `tenant: ${SHOP_TENANT}`)
    .replace(/\b[0-9a-f]{64}\b/g, () => sha256(keys.shift()))
    .replace(/, sources: \[[^\]]*\]/g, "");
  assert.equal(keys.length, 0);
  assert.ok(!rules.includes("sources") && rules.includes("slots: 8"), rules);
  const dir = mkdtempSync(join(tmpdir(), "vane-shop-"));
  writeFileSync(join(dir, "rules.yaml"), rules);
  const run = (args) => {
    const out = spawnSync(env("VANE_BIN"), args, { encoding: "utf8",
      env: { ...process.env, VANE_ADMIN_TOKEN: env("VANE_ADMIN_TOKEN") } });
    assert.equal(out.status, 0, `vane ${args.join(" ")}: ${out.stderr}`);
  };
  run(["build", join(dir, "rules.yaml"), "-o", `${SNAPSHOTS}/${SHOP_TENANT}.cbor`]);
  run(["publish", `${SNAPSHOTS}/${SHOP_TENANT}.cbor`, "--url", WORKER]);
  rmSync(dir, { recursive: true });
}

test("the Confidence web client reads a Vane YAML tenant's layered and held-out flags as OFREP evaluates them, and applies their exposures", async (t) => {
  publishShop();
  // apply-36 is held out of reviews-first; apply-3 takes part in the layer.
  for (const unit of ["apply-36", "apply-3"]) {
    const { page, errors, wire } = await openPage(t);
    const read = [
      { key: "reviews-first.value", type: "boolean", fallback: true },
      { key: "sticky-buy-button.value", type: "string", fallback: "code-default" },
      { key: "checkout-flow.value", type: "string", fallback: "code-default" },
      { key: "free-shipping-threshold.value", type: "number", fallback: -1 },
      { key: "recommendations.slots", type: "number", fallback: -1 },
      { key: "recommendations", type: "object", fallback: {} },
    ];
    const query = new URLSearchParams({ worker: WORKER, secret: SHOP_KEY,
      context: JSON.stringify({ targetingKey: unit }), read: JSON.stringify(read) });
    await page.goto(`${SHOP_ORIGIN}/index.html?${query}`);
    await page.waitForSelector("body[data-started]");
    assert.equal(await page.evaluate(() => window.confidenceClient.status()), "READY", JSON.stringify(wire));
    const got = Object.fromEntries((await page.evaluate(() => window.confidenceClient.read())).map((d) => [d.key, d]));

    // Every value is OFREP's (`vane eval` of the published snapshot).
    const ofrep = vaneEval(SHOP_TENANT, { targetingKey: unit });
    for (const { key } of read) {
      const [flag, path] = key.split(".");
      const want = path === undefined || path === "value" ? ofrep[flag].value : ofrep[flag].value[path];
      assert.deepEqual([got[key].value, got[key].variant, got[key].errorCode],
        [want, `flags/${flag}/variants/${ofrep[flag].variant}`, null], `${unit} ${key}`);
    }

    // The background apply: the layer's experiments and the holdout are
    // exposures, the other flags read are not.
    await applyArrives(wire);
    const resolved = JSON.parse(wire.find((w) => w.path === "/v1/flags:resolve").response);
    const exposures = resolved.resolvedFlags.filter((f) => f.shouldApply).map((f) => f.flag.slice("flags/".length));
    const readFlags = new Set(read.map((r) => r.key.split(".")[0]));
    const applies = wire.filter((w) => w.path === "/v1/flags:apply");
    assert.ok(applies.length >= 1 && applies.every((a) => a.status === 200), JSON.stringify(wire));
    const expectedExposures = exposures.filter((f) => readFlags.has(f));
    // The client applies each read, so a flag read twice (recommendations)
    // comes twice in its batch: counted as repeated, applied once.
    const sentFlags = JSON.parse(applies[0].request).flags.map((f) => f.flag);
    assert.deepEqual([...new Set(sentFlags)].sort(), [...readFlags].map((f) => `flags/${f}`).sort());
    assert.equal(applies[0].apply, `applied=${expectedExposures.length} unknown=0 ` +
      `unassigned=${readFlags.size - expectedExposures.length} repeated=${sentFlags.length - readFlags.size}`);
    const deadline = Date.now() + 30_000;
    let stored = [];
    while ((stored = storedEvents(SHOP_TENANT).filter((e) => e.resolve_id === resolved.resolveId)).length < expectedExposures.length) {
      assert.ok(Date.now() < deadline, `exposures of ${unit} not stored: ${JSON.stringify(stored)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const event of stored) assert.ok(validateEvent(event), JSON.stringify(validateEvent.errors));
    assert.deepEqual(stored.map((e) => [e.flag, e.variant, e.unit, e.source, e.holdout ?? null]).sort(),
      expectedExposures.map((f) => [f, ofrep[f].variant, unit, "confidence-apply", ofrep[f].metadata?.holdout ?? null]).sort());
    if (unit === "apply-36") assert.ok(stored.some((e) => e.holdout === "product-page-holdout"), JSON.stringify(stored));
    else assert.ok(stored.length >= 1 && stored.every((e) => e.holdout === undefined), JSON.stringify(stored));
    assert.deepEqual(wire.filter((w) => w.status >= 500), []);
    assert.deepEqual(errors, []);
  }
});
