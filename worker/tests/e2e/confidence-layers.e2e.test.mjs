// End-to-end test, under `wrangler dev` (scripts/e2e.sh), of what the
// Confidence endpoints answer beyond Confidence's own states
// (docs/confidence.md):
//
// - a Vane YAML tenant with layers and a holdout (the shop example, as its
//   own tenant with its own key): POST /v1/flags:resolve answers exactly
//   what `vane resolve` prints for the same request — no flag, since only
//   flags built from a Confidence state are Confidence flags — for units in
//   each experiment of the layer, held-out units and units in none, while
//   OFREP serves the same units the layered flags as `vane eval` does;
// - numbers in variant values are spelled as proto3 JSON writes doubles,
//   the same text from the worker and from `vane resolve`.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { URL_BASE, TOKEN, VANE, DIR, ROOT, sha256 } from './env.mjs';

const TENANT = 'confweb-layers';
const KEY = 'confweb-layers-key-7b2e';
const NUMBERS = 'confweb-numbers';
const UNITS = Array.from({ length: 60 }, (_, i) => `u${i}`);
const LAYERED = ['reviews-first', 'sticky-buy-button'];

function vane(args) {
  const r = spawnSync(VANE, args, { encoding: 'utf8', env: { ...process.env, VANE_ADMIN_TOKEN: TOKEN } });
  assert.equal(r.status, 0, `vane ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

async function post(path, body, headers = {}) {
  const res = await fetch(URL_BASE + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${res.status} ${text}`);
  return text;
}

const snapshots = {};
before(() => {
  // The shop example under another tenant name, with its own client keys
  // (KEY for storefront-web).
  const shop = readFileSync(join(ROOT, 'examples/shop.yaml'), 'utf8');
  const keys = [KEY, `${KEY}-backend`];
  const rules = shop.replace(/^tenant: shop$/m, `tenant: ${TENANT}`)
    .replace(/\b[0-9a-f]{64}\b/g, () => sha256(keys.shift()));
  assert.notEqual(rules, shop);
  writeFileSync(join(DIR, `${TENANT}.yaml`), rules);
  snapshots[TENANT] = join(DIR, `${TENANT}.cbor`);
  vane(['build', join(DIR, `${TENANT}.yaml`), '-o', snapshots[TENANT]]);
  vane(['publish', snapshots[TENANT], '--url', URL_BASE]);

  // A Confidence state whose variant value holds doubles of every spelling.
  const state = JSON.parse(readFileSync(join(ROOT, 'conformance/confidence/state.json'), 'utf8'));
  const flag = state.flags['flags/simple-flag'];
  state.account = { name: `accounts/${NUMBERS}` };
  state.flags = { 'flags/simple-flag': flag };
  state.clients = { [`${NUMBERS}-secret`]: state.clients['test-secret'] };
  state.clients[`${NUMBERS}-secret`].clientCredential.clientSecret.secret = `${NUMBERS}-secret`;
  flag.variants[0].value = 'NUMBERS';
  const text = JSON.stringify(state).replace('"NUMBERS"',
    '{"a":1e21,"b":1.5e300,"c":1e-7,"d":-0.0,"e":1152921504606846976,"f":1e20,"g":0.000001}');
  writeFileSync(join(DIR, `${NUMBERS}.json`), text);
  snapshots[NUMBERS] = join(DIR, `${NUMBERS}.cbor`);
  vane(['build', join(DIR, `${NUMBERS}.json`), '--format', 'confidence', '-o', snapshots[NUMBERS]]);
  vane(['publish', snapshots[NUMBERS], '--url', URL_BASE]);
});

/** The resolve body without the per-request resolve id and token. */
const stable = (text) => text.replace(/"resolveToken":"[^"]*"/, '"resolveToken":""').replace(/"resolveId":"[^"]*"/, '"resolveId":""');

test('flags:resolve on a tenant with layers and a holdout answers as `vane resolve`; OFREP serves its layered flags as `vane eval`', async () => {
  const seen = new Set();
  for (const unit of UNITS) {
    for (const flags of [[], LAYERED.map((f) => `flags/${f}`)]) {
      const request = { clientSecret: KEY, evaluationContext: { targeting_key: unit }, flags };
      const worker = stable(await post('/v1/flags:resolve', request));
      const cli = vane(['resolve', snapshots[TENANT], '--request', JSON.stringify(request)]).trim();
      assert.equal(worker, cli, `${unit} ${JSON.stringify(flags)}`);
      assert.deepEqual(JSON.parse(worker).resolvedFlags, []);
    }
    for (const flag of LAYERED) {
      const context = { targetingKey: unit };
      const ofrep = JSON.parse(await post(`/ofrep/v1/evaluate/flags/${flag}`, { context }, { authorization: `Bearer ${KEY}` }));
      const want = JSON.parse(vane(['eval', snapshots[TENANT], '--context', JSON.stringify(context), '--flag', flag]));
      assert.deepEqual(ofrep, want, `${unit} ${flag}`);
      seen.add(ofrep.metadata?.holdout ? 'held out' : `${flag}:${ofrep.reason}`);
    }
  }
  // The units cover both experiments, units in neither and held-out units.
  for (const s of ['reviews-first:SPLIT', 'sticky-buy-button:SPLIT', 'reviews-first:DEFAULT', 'held out']) {
    assert.ok(seen.has(s), `${s} not among ${[...seen].join(', ')}`);
  }
});

test('variant values: the worker spells doubles as `vane resolve` does, as proto3 JSON writes them', async () => {
  const request = { clientSecret: `${NUMBERS}-secret`, evaluationContext: { targeting_key: 'user1', country: 'SE' }, flags: [] };
  const worker = stable(await post('/v1/flags:resolve', request));
  assert.equal(worker, vane(['resolve', snapshots[NUMBERS], '--request', JSON.stringify(request)]).trim());
  assert.ok(worker.includes(
    '"value":{"a":1e+21,"b":1.5e+300,"c":1e-7,"d":0,"e":1152921504606847000,"f":100000000000000000000,"g":0.000001}'), worker);
});
