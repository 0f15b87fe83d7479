// Shared by the browser tests (web/tests/*.test.mjs), started by
// scripts/browser-tests.sh, which builds everything, starts `wrangler dev`
// with the example tenants published and passes:
//   VANE_URL        base URL of the worker (which serves the playground)
//   VANE_BIN        the `vane` CLI, for the expected answers (`vane eval`)
//   VANE_SNAPSHOTS  directory of the published example snapshots ({tenant}.cbor)
//   VANE_ARTIFACTS  directory for screenshots (git-ignored)
//   VANE_ADMIN_TOKEN the worker's admin token
//   VANE_STATE      wrangler dev's --persist-to directory (local KV and R2)
//
// Chromium: /usr/bin/chromium through playwright-core, headless, with the
// switches of chromium-flags.json (no sandbox as root, no outside calls).

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run scripts/browser-tests.sh`);
  return v;
};

export const ROOT = new URL("../../", import.meta.url).pathname;
export const WORKER = env("VANE_URL");
export const SNAPSHOTS = env("VANE_SNAPSHOTS");
export const ARTIFACTS = env("VANE_ARTIFACTS");
const VANE = env("VANE_BIN");

/** The example tenants (scripts/examples.json): tenant, rules, client key. */
export const EXAMPLES = JSON.parse(readFileSync(`${ROOT}scripts/examples.json`, "utf8"));
export const example = (tenant) => EXAMPLES.find((e) => e.tenant === tenant);

const FLAGS = JSON.parse(readFileSync(new URL("./chromium-flags.json", import.meta.url), "utf8"));

/** Headless Chromium, as every browser test runs it, plus `extraArgs`. */
export function launch(extraArgs = []) {
  return chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: [...FLAGS.args, ...extraArgs] });
}

/** `vane eval` of a published example snapshot: the bulk body, keyed by flag. */
export function vaneEval(tenant, context) {
  const out = spawnSync(VANE, ["eval", `${SNAPSHOTS}/${tenant}.cbor`, "--context", JSON.stringify(context)], {
    encoding: "utf8",
  });
  if (out.status !== 0) throw new Error(`vane eval failed: ${out.stderr}`);
  return Object.fromEntries(JSON.parse(out.stdout).flags.map((f) => [f.key, f]));
}

/**
 * Records what a page logs at level "error" and every uncaught exception,
 * as "console: …" / "pageerror: …" lines.
 */
export function watchConsole(page) {
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}
