// The exposures page (web/exposures/, served by the worker at /exposures/)
// under `wrangler dev` (scripts/browser-tests.sh): exposures are made with
// real OFREP single evaluations of the shop example — checkout-flow for 400
// units (a fair 50/50 split) and new-search for every unit served `on` but
// only a quarter of those served `off` (a client that loses exposures of one
// variant) — and, once the consumer has written them, the page must draw
// each variant's observed and expected share as the summary endpoint gives
// them, and the SRM verdict: no mismatch for checkout-flow, a mismatch for
// new-search. No console errors.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ARTIFACTS, WORKER, env, launch, watchConsole } from "./support.mjs";

const TOKEN = env("VANE_ADMIN_TOKEN");
// The shop example's backend key (examples/shop.yaml, client order-service).
const KEY = "shop-backend-key-9a4f3e6d0c17";

const post = async (path, context) => {
  const r = await fetch(`${WORKER}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ context }),
  });
  assert.equal(r.status, 200);
  return r.json();
};

async function summary() {
  const r = await fetch(`${WORKER}/admin/v1/tenants/shop/exposures`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  return r.json();
}

let browser;
let expected;
before(async () => {
  browser = await launch();
  let sent = 0;
  let off = 0;
  for (let i = 0; i < 400; i += 1) {
    const context = { targetingKey: `page-unit-${i}`, platform: "web" };
    await post("/ofrep/v1/evaluate/flags/checkout-flow", context);
    const bulk = await post("/ofrep/v1/evaluate/flags", context);
    const variant = bulk.flags.find((f) => f.key === "new-search").variant;
    if (variant === "on" || off++ % 4 === 0) {
      await post("/ofrep/v1/evaluate/flags/new-search", context);
      sent += 1;
    }
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    expected = await summary();
    if (expected.events >= 400 + sent) break;
    assert.ok(Date.now() < deadline, `exposures not written: ${JSON.stringify(expected.counters)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});
after(async () => {
  await browser?.close();
});

test("the exposures page draws observed against expected shares and the SRM verdict", async (t) => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors = watchConsole(page);
  const response = await page.goto(`${WORKER}/exposures/`);
  assert.equal(response.status(), 200);
  await page.fill("#tenant", "shop");
  await page.fill("#token", TOKEN);
  await page.click("button[type=submit]");
  await page.waitForSelector("body[data-ready]");

  const drawn = await page.$$eval("article.experiment", (blocks) => blocks.map((b) => ({
    flag: b.dataset.flag,
    srm: b.dataset.srm,
    verdict: b.querySelector(".verdict").textContent,
    variants: [...b.querySelectorAll("g.variant")].map((g) => ({
      variant: g.dataset.variant,
      observed: Number(g.dataset.observed),
      expected: Number(g.dataset.expected),
      units: Number(g.dataset.units),
      bar: Number(g.querySelector("rect.observed").getAttribute("width")),
      tick: Number(g.querySelector("line.expected").getAttribute("x1")),
    })),
  })));
  assert.deepEqual(drawn.map((d) => d.flag), expected.experiments.map((e) => e.flag));
  for (const e of expected.experiments) {
    const d = drawn.find((x) => x.flag === e.flag);
    assert.equal(d.srm, e.srm ? (e.srm.mismatch ? "mismatch" : "ok") : "none", e.flag);
    assert.deepEqual(d.variants.map((v) => [v.variant, v.observed, v.expected, v.units]),
      e.variants.map((v) => [v.variant, v.observed_share, v.expected_share, v.units]));
    for (const v of d.variants) {
      // 520 px bars after a 140 px label column (exposures.js).
      assert.ok(Math.abs(v.bar - v.observed * 520) < 0.01, `${e.flag}/${v.variant} bar`);
      assert.ok(Math.abs(v.tick - (140 + v.expected * 520)) < 0.01, `${e.flag}/${v.variant} tick`);
    }
  }
  // Every label fits inside its chart: the variant name before the bar,
  // the figures after it (they were clipped at the chart's edge once).
  const overflow = await page.$$eval("article.experiment svg", (svgs) => svgs.flatMap((svg) => {
    const width = svg.width.baseVal.value;
    return [...svg.querySelectorAll("text")]
      .map((t) => ({ text: t.textContent, right: t.getBBox().x + t.getBBox().width, width }))
      .filter((t) => t.right > t.width);
  }));
  assert.deepEqual(overflow, []);
  const checkout = drawn.find((d) => d.flag === "checkout-flow");
  assert.equal(checkout.srm, "ok");
  assert.match(checkout.verdict, /^No sample ratio mismatch: χ² = [0-9.]+, df 1, p = /);
  const search = drawn.find((d) => d.flag === "new-search");
  assert.equal(search.srm, "mismatch");
  assert.match(search.verdict, /^Sample ratio mismatch: /);
  assert.match(await page.textContent("#counters"), /dropped 0 · dead-lettered 0$/);
  await page.screenshot({ path: `${ARTIFACTS}/exposures.png`, fullPage: true });

  // A wrong token is shown as the worker's refusal.
  await page.fill("#token", "wrong");
  await page.click("button[type=submit]");
  await page.waitForSelector("#status[data-state=error]");
  assert.match(await page.textContent("#status"), /^401 UNAUTHORIZED: /);
  assert.deepEqual(errors.filter((e) => !e.includes("401")), []);
});
