// What the exposure log holds, for the end-to-end tests under `wrangler dev`
// (scripts/e2e.sh): the worker's summary endpoint and the local R2 bucket's
// objects (Miniflare's blobs, copied out by scripts/exposures-duckdb.py).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { URL_BASE, TOKEN, DIR, KV_STATE, ROOT } from './env.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The tenant's exposure summary (`GET /admin/v1/tenants/{t}/exposures`). */
export async function summary(tenant, query = '') {
  const response = await fetch(`${URL_BASE}/admin/v1/tenants/${tenant}/exposures${query}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

/** Polls the summary until `done(summary)` holds (at most `ms`). */
export async function summaryWhen(tenant, done, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await summary(tenant);
    if (done(s)) return s;
    if (Date.now() > deadline) assert.fail(`summary of ${tenant} never got there: ${JSON.stringify(s)}`);
    await sleep(250);
  }
}

/** The objects under `prefix` in the local bucket, copied out of Miniflare's
 * files by scripts/exposures-duckdb.py; with `query`, DuckDB's counts too. */
export function localR2({ prefix = 'exposures/v1/', query = false } = {}) {
  const out = mkdtempSync(join(DIR, 'r2-'));
  const args = [join(ROOT, 'scripts/exposures-duckdb.py'), '--state', KV_STATE, '--out', out, '--prefix', prefix];
  if (!query) args.push('--export-only');
  const r = spawnSync('python3', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `exposures-duckdb.py exited ${r.status}:\n${r.stderr}`);
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push({ key: relative(out, path), bytes: readFileSync(path) });
    }
  };
  walk(out);
  return { result: JSON.parse(r.stdout), files };
}

/** Every event line of the local objects of `tenant`. */
export function storedEvents(tenant) {
  const { files } = localR2();
  return files
    .filter((f) => f.key.startsWith(`exposures/v1/tenant=${tenant}/`))
    .flatMap((f) => gunzipSync(f.bytes).toString('utf8').split('\n').filter(Boolean).map((l) => ({ key: f.key, event: JSON.parse(l) })));
}

