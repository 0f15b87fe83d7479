// End-to-end test, under `wrangler dev` (scripts/e2e.sh), of what the
// Confidence endpoints answer beyond Confidence's own states
// (docs/confidence.md):
//
// - a Vane YAML tenant with layers and a holdout (the shop example, as its
//   own tenant with its own key): POST /v1/flags:resolve answers exactly
//   what `vane resolve` prints for the same request, and each flag as OFREP
//   and `vane eval` answer it under Confidence's names (`flags/{key}`, the
//   value as `{"value": v}`, RESOLVE_REASON_MATCH, `shouldApply` for an
//   exposure), for units in each experiment of the layer, held-out units
//   and units in none;
// - flags:apply of those flags logs the same exposures as OFREP: one per
//   flag the answer said to apply, with OFREP's variant, assignment, unit,
//   weights and holdout;
// - numbers in variant values are spelled as proto3 JSON writes doubles,
//   the same text from the worker and from `vane resolve`.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { URL_BASE, TOKEN, VANE, DIR, ROOT, sha256 } from './env.mjs';
import { storedEvents } from './exposure-log.mjs';

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

const ofrepEval = async (flag, unit) => JSON.parse(await post(`/ofrep/v1/evaluate/flags/${flag}`,
  { context: { targetingKey: unit } }, { authorization: `Bearer ${KEY}` }));

/** What flags:resolve answers for a flag OFREP evaluated as `ofrep`. */
const asConfidence = (flag, ofrep) => ({
  flag: `flags/${flag}`,
  variant: `flags/${flag}/variants/${ofrep.variant}`,
  value: { value: ofrep.value },
  flagSchema: { schema: { value: { [typeof ofrep.value === 'boolean' ? 'boolSchema' : 'stringSchema']: {} } } },
  reason: 'RESOLVE_REASON_MATCH',
  shouldApply: ofrep.reason === 'SPLIT' || ofrep.metadata?.holdout !== undefined,
});

test('flags:resolve on a tenant with layers and a holdout answers as `vane resolve`, and each layered flag as OFREP and `vane eval` do', async () => {
  const seen = new Set();
  for (const unit of UNITS) {
    const ofrep = {};
    for (const flag of LAYERED) {
      ofrep[flag] = await ofrepEval(flag, unit);
      const context = { targetingKey: unit };
      const want = JSON.parse(vane(['eval', snapshots[TENANT], '--context', JSON.stringify(context), '--flag', flag]));
      assert.deepEqual(ofrep[flag], want, `${unit} ${flag}`);
      seen.add(ofrep[flag].metadata?.holdout ? 'held out' : `${flag}:${ofrep[flag].reason}`);
    }
    for (const flags of [[], LAYERED.map((f) => `flags/${f}`)]) {
      const request = { clientSecret: KEY, evaluationContext: { targeting_key: unit }, flags };
      const worker = stable(await post('/v1/flags:resolve', request));
      const cli = vane(['resolve', snapshots[TENANT], '--request', JSON.stringify(request)]).trim();
      assert.equal(worker, cli, `${unit} ${JSON.stringify(flags)}`);
      const resolved = JSON.parse(worker).resolvedFlags;
      // Every active shop flag when none is named (gift-wrapping is disabled).
      assert.equal(resolved.length, flags.length || 8, worker);
      for (const flag of LAYERED) {
        assert.deepEqual(resolved.find((f) => f.flag === `flags/${flag}`), asConfidence(flag, ofrep[flag]), `${unit} ${flag}`);
      }
    }
  }
  // The units cover both experiments, units in neither and held-out units.
  for (const s of ['reviews-first:SPLIT', 'sticky-buy-button:SPLIT', 'reviews-first:DEFAULT', 'held out']) {
    assert.ok(seen.has(s), `${s} not among ${[...seen].join(', ')}`);
  }
});

test('flags:apply of layered and held-out flags logs the exposures OFREP logs for the same units', async () => {
  const units = Array.from({ length: 40 }, (_, i) => `apply-${i}`);
  let expected = 0;
  let notApplied = 0;
  for (const unit of units) {
    for (const flag of LAYERED) await ofrepEval(flag, unit);
    const resolved = JSON.parse(await post('/v1/flags:resolve', {
      clientSecret: KEY, evaluationContext: { targeting_key: unit }, flags: LAYERED.map((f) => `flags/${f}`),
      sdk: { id: 'SDK_ID_JS_WEB_PROVIDER', version: '0.0.3' },
    }));
    const now = new Date().toISOString();
    // Applying every resolved flag: those not to apply log nothing and are
    // counted as unassigned.
    const apply = { clientSecret: KEY, resolveToken: resolved.resolveToken, sendTime: now,
      flags: resolved.resolvedFlags.map((f) => ({ flag: f.flag, applyTime: now })) };
    const res = await fetch(`${URL_BASE}/v1/flags:apply`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(apply),
    });
    assert.equal(res.status, 200, await res.text());
    const applied = resolved.resolvedFlags.filter((f) => f.shouldApply).length;
    const unassigned = resolved.resolvedFlags.length - applied;
    assert.equal(res.headers.get('x-vane-apply'), `applied=${applied} unknown=0 unassigned=${unassigned} repeated=0`);
    expected += applied;
    notApplied += unassigned;
  }
  assert.ok(expected > 10 && notApplied > 10, `${expected} applied, ${notApplied} not`);
  // Both sources' events of these units, once the consumer wrote them all.
  const mine = (source) => storedEvents(TENANT).map((e) => e.event)
    .filter((e) => e.source === source && e.unit.startsWith('apply-'));
  const deadline = Date.now() + 30_000;
  while (mine('confidence-apply').length < expected || mine('ofrep').length < expected) {
    assert.ok(Date.now() < deadline, `events never arrived: ${mine('confidence-apply').length} applied, ${mine('ofrep').length} OFREP of ${expected}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const key = (e) => `${e.unit} ${e.flag}`;
  const fields = ({ flag, variant, assignment, unit, unit_source, weights, holdout, client }) =>
    ({ flag, variant, assignment, unit, unit_source, weights, holdout, client });
  const applies = mine('confidence-apply');
  const ofrep = new Map(mine('ofrep').map((e) => [key(e), e]));
  assert.equal(applies.length, expected);
  assert.equal(ofrep.size, expected, 'OFREP logs exactly the flags the resolve said to apply');
  for (const e of applies) {
    assert.deepEqual(fields(e), fields(ofrep.get(key(e))), key(e));
    assert.equal(e.reason, 'RESOLVE_REASON_MATCH');
    assert.equal(e.sdk, 'SDK_ID_JS_WEB_PROVIDER@0.0.3');
  }
  assert.ok(applies.some((e) => e.holdout === 'product-page-holdout'), 'a held-out unit among them');
});

test('variant values: the worker spells doubles as `vane resolve` does, as proto3 JSON writes them', async () => {
  const request = { clientSecret: `${NUMBERS}-secret`, evaluationContext: { targeting_key: 'user1', country: 'SE' }, flags: [] };
  const worker = stable(await post('/v1/flags:resolve', request));
  assert.equal(worker, vane(['resolve', snapshots[NUMBERS], '--request', JSON.stringify(request)]).trim());
  assert.ok(worker.includes(
    '"value":{"a":1e+21,"b":1.5e+300,"c":1e-7,"d":0,"e":1152921504606847000,"f":100000000000000000000,"g":0.000001}'), worker);
});
