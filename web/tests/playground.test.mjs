// The playground, served by the worker at /playground under `wrangler dev`
// (scripts/browser-tests.sh): it loads, evaluates an example tenant exactly
// as `vane eval` does, updates as the context changes, locates a broken
// rule's diagnostic, inspects a .cbor file, and its "compare with edge"
// finds no difference for the published tenants. No console errors.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ARTIFACTS, SNAPSHOTS, WORKER, example, launch, vaneEval, watchConsole } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A fresh page on the playground, ready (wasm loaded, first example built). */
async function openPlayground(t) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors = watchConsole(page);
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));
  const response = await page.goto(`${WORKER}/playground`);
  assert.equal(response.status(), 200);
  await page.waitForSelector("body[data-ready]");
  return { page, errors, requested, context };
}

/** The results table: flag key → {value, variant, reason} as shown. */
async function results(page) {
  return page.$$eval("#results tbody tr", (rows) =>
    Object.fromEntries(rows.map((r) => {
      const [key, value, variant, reason] = [...r.cells].map((c) => c.textContent);
      return [key, { value, variant, reason }];
    })));
}

/** What the page should show for a `vane eval` result. */
function shown(r) {
  return {
    value: r.errorCode ?? ("value" in r ? JSON.stringify(r.value) : "—"),
    variant: r.variant ?? "—",
    reason: r.errorCode ? "ERROR" : r.reason,
  };
}

async function setContext(page, context) {
  await page.fill("#context", JSON.stringify(context, null, 2));
  // Evaluation is debounced; wait until the table reflects the new context.
  await page.waitForFunction(
    (expected) => JSON.stringify(JSON.parse(document.getElementById("context").value)) === expected,
    JSON.stringify(context),
  );
  await page.waitForTimeout(250);
}

async function contextOf(page) {
  return JSON.parse(await page.inputValue("#context"));
}

test("loads, builds the shop example and evaluates every flag as vane eval does", async (t) => {
  const { page, errors, requested } = await openPlayground(t);
  // Everything comes from the worker: no fonts, scripts or CDNs elsewhere.
  assert.deepEqual(requested.filter((u) => !u.startsWith(`${WORKER}/playground`)), []);
  assert.ok(requested.some((u) => u.endsWith("/playground/pkg/vane_bg.wasm")), requested.join("\n"));
  assert.equal(await page.textContent("#status"), "built");
  assert.match(await page.textContent("#snapshot-info"), /^shop · v\d+ · [0-9a-f]{12} · \d+ B · 9 flags$/);
  const expected = vaneEval("shop", await contextOf(page));
  const table = await results(page);
  assert.deepEqual(Object.keys(table), Object.keys(expected));
  for (const [key, r] of Object.entries(expected)) assert.deepEqual(table[key], shown(r), key);
  assert.deepEqual(errors, []);
});

test("results and the explanation update when the context changes, offline once loaded", async (t) => {
  const { page, errors, context } = await openPlayground(t);
  await context.setOffline(true);
  await page.click('tr[data-flag="checkout-flow"]');
  const before = await contextOf(page);
  assert.equal((await results(page))["checkout-flow"].reason, "SPLIT");
  await page.waitForSelector("#explanation .o-matched .splitbar .marker");

  const staff = { ...before, email: "ana@shop.example", plan: "pro" };
  await setContext(page, staff);
  const table = await results(page);
  assert.deepEqual(table["checkout-flow"], { value: '"one-page"', variant: "one-page", reason: "TARGETING_MATCH" });
  assert.deepEqual(table["free-shipping-threshold"], { value: "29.9", variant: "low", reason: "TARGETING_MATCH" });
  const expected = vaneEval("shop", staff);
  for (const [key, r] of Object.entries(expected)) assert.deepEqual(table[key], shown(r), key);
  // Rule 1 (internal staff) now serves; the split is not reached.
  const outcomes = await page.$$eval("#explanation .rule .outcome", (els) => els.map((e) => e.textContent));
  assert.deepEqual(outcomes, ["matched", "not reached"]);
  assert.match(await page.textContent("#explanation .rule"), /email = "ana@shop.example"/);

  // A context that is not an object is refused with the resolver's message.
  await page.fill("#context", "[1, 2]");
  await page.waitForSelector("#context-error:not([hidden])");
  assert.equal(await page.textContent("#context-error"), "context must be a JSON object, found array");
  assert.deepEqual(errors, []);
});

test("the explanation draws each layer as a bar of its experiments and marks the unit's bucket", async (t) => {
  const { page, errors } = await openPlayground(t);
  // u5's bucket in product-page-2026 is 572265 of 1,000,000 (vane eval --explain).
  await setContext(page, { targetingKey: "u5" });
  await page.click('tr[data-flag="sticky-buy-button"]');
  await page.waitForSelector('#explanation .o-matched .layerbar[data-space="product-page"] .marker');
  const bar = await page.$eval('#explanation .o-matched .layerbar[data-space="product-page"]', (b) => ({
    slots: [...b.querySelectorAll(".slot")].map((s) => [s.textContent, s.style.left, s.style.width, s.classList.contains("hit")]),
    marker: b.querySelector(".marker").style.left,
    label: b.getAttribute("aria-label"),
  }));
  assert.deepEqual(bar.slots, [["reviews-first", "0%", "30%", false], ["sticky-buy-button", "50%", "30%", true]]);
  // (572265 + 0.5) / 1,000,000, as the browser rounds a CSS percentage.
  assert.ok(Math.abs(parseFloat(bar.marker) - 57.22655) < 0.001, bar.marker);
  assert.equal(bar.label, "product-page: buckets 0 to 1000000, this unit at 572265");
  assert.match(await page.textContent("#explanation .o-matched .layer .placement"), /fell into sticky-buy-button/);
  assert.deepEqual(errors, []);
});

test("a broken rule shows a located diagnostic and marks its line", async (t) => {
  const { page, errors } = await openPlayground(t);
  const rules = await page.inputValue("#rules");
  const broken = rules.replace("default: classic", "default: classik");
  const line = broken.slice(0, broken.indexOf("classik")).split("\n").length;
  await page.fill("#rules", broken);
  const item = await page.waitForSelector("#diagnostics li.error");
  assert.equal(
    await item.textContent(),
    `error shop.yaml:${line}:14 flag 'checkout-flow' at flags.checkout-flow.default: ` +
      "unknown variant 'classik'; variants: classic, one-page",
  );
  assert.deepEqual(await page.$$eval("#gutter .err", (els) => els.map((e) => e.textContent)), [String(line)]);
  assert.equal(await page.textContent("#status"), "rules have errors: showing the last good build");
  assert.ok(await page.$("#results.stale"), "results are marked as the last good build");

  // Clicking the diagnostic selects the line in the editor.
  await page.click("#diagnostics a.where");
  const selected = await page.$eval("#rules", (a) => ({
    line: a.value.slice(0, a.selectionStart).split("\n").length,
    text: a.value.slice(a.selectionStart, a.selectionEnd),
  }));
  assert.deepEqual(selected, { line, text: "classik" });

  // Fixing it rebuilds.
  await page.fill("#rules", rules);
  await page.waitForFunction(() => document.getElementById("status").textContent === "built");
  assert.equal(await page.$$eval("#diagnostics li", (l) => l.length), 0);
  assert.deepEqual(errors, []);
});

for (const tenant of ["shop", "media"]) {
  test(`compare with edge shows no difference for the published ${tenant} tenant`, async (t) => {
    const { page, errors } = await openPlayground(t);
    const index = await page.$$eval("#example option", (os, name) => os.findIndex((o) => o.textContent.startsWith(`${name} `)), tenant);
    await page.selectOption("#example", String(index));
    await page.waitForFunction((name) => document.getElementById("snapshot-info").textContent.startsWith(`${name} `), tenant);
    assert.equal(await page.inputValue("#client-key"), example(tenant).client_key);
    assert.equal(await page.inputValue("#edge-url"), WORKER);
    if (tenant === "shop") await page.click('tr[data-flag="checkout-flow"]');
    await page.click("#compare button");
    const summary = await page.waitForSelector("#compare-summary");
    const flags = (await page.$$("#results tbody tr")).length;
    assert.equal(await summary.textContent(), `No difference: all ${flags} flags match the edge.`);
    // The rules compiled in the page are the ones the edge serves.
    assert.match(await page.textContent("#compare-result"), /\(same rules\)/);
    if (tenant === "shop") {
      await page.screenshot({ path: `${ARTIFACTS}/playground.png`, fullPage: true });
    }

    // A wrong key is reported, not compared.
    await page.fill("#client-key", "not-a-key");
    await page.click("#compare button");
    await page.waitForSelector("#compare-result p.bad");
    assert.match(await page.textContent("#compare-result"), /^The worker answered 401 \(UNAUTHORIZED: /);
    // Chromium logs the refused request itself; nothing else may be logged.
    assert.deepEqual(errors.filter((e) => !/status of 401 \(Unauthorized\)/.test(e)), []);
    assert.equal(errors.length, 1, errors.join("\n"));
  });
}

test("a .cbor snapshot loads and is inspected; a damaged one is refused with the resolver's message", async (t) => {
  const { page, errors } = await openPlayground(t);
  const bytes = readFileSync(`${SNAPSHOTS}/media.cbor`);
  await page.setInputFiles("#cbor", { name: "media.cbor", mimeType: "application/cbor", buffer: bytes });
  await page.waitForSelector("#inspection:not([hidden]) table.facts");
  const facts = await page.$$eval("#inspection table.facts tr", (rows) =>
    Object.fromEntries(rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent])));
  assert.equal(facts.tenant, "media");
  assert.equal(facts.size, `${bytes.length} bytes`);
  assert.equal(facts.clients, "tv-app (1 key), web-player (1 key)");
  assert.match(facts.digest, /^[0-9a-f]{64}$/);
  assert.equal(await page.textContent("#status"), "snapshot file");
  const table = await results(page);
  const expected = vaneEval("media", await contextOf(page));
  for (const [key, r] of Object.entries(expected)) assert.deepEqual(table[key], shown(r), key);

  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 1] ^= 1;
  await page.setInputFiles("#cbor", { name: "damaged.cbor", mimeType: "application/cbor", buffer: damaged });
  await page.waitForFunction(() => document.getElementById("status").dataset.state === "error");
  assert.match(await page.textContent("#status"), /^damaged\.cbor: snapshot digest mismatch: recorded sha256 [0-9a-f]{64}, body hashes to [0-9a-f]{64}$/);
  assert.deepEqual(errors, []);
});
