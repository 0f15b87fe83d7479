// End-to-end test of the exposure log (docs/exposures.md) under `wrangler
// dev`: OFREP requests → Queue → the worker's consumer → local R2, read back
// three ways: the worker's summary endpoint, the local R2 files themselves
// (Miniflare's blobs, copied out by scripts/exposures-duckdb.py) and DuckDB
// over those files with Hive partitioning.
//
// Started by scripts/e2e.sh (same environment as worker.e2e.test.mjs), which
// runs wrangler dev with VANE_TEST_FAULTS=1: the admin API then has a test
// fault switch per tenant that makes the consumer refuse to write the
// tenant's objects (worker/src/exposure/runtime.rs), which the fault tests
// turn on and off.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { URL_BASE, TOKEN, VANE, DIR, WRANGLER_LOG, ROOT, sha256 } from './env.mjs';
import { localR2, storedEvents, summary, summaryWhen } from './exposure-log.mjs';


const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const validateEvent = new Ajv2020({ allErrors: true, strict: true })
  .compile(JSON.parse(readFileSync(join(ROOT, 'docs/exposure-event.v1.schema.json'), 'utf8')));

// ---------------------------------------------------------------- tenants

const KEY = (tenant) => `${tenant}-key-5d1e`;
const AGENT = 'vane-e2e/1.0 (exposures)';
// `top` goes at the top of the file; `expExposures` is the flag `exp`'s
// `exposures:` block (docs/rules.md, "Exposures").
const rules = (tenant, { top = '', expExposures = '' } = {}) => `tenant: ${tenant}
${top}
clients:
  backend:
    key_sha256: [${sha256(KEY(tenant))}]
flags:
  exp:
    type: string
    variants: {control: control, treatment: treatment}
    default: control
${expExposures}
    rules:
      - when: {staff: true}
        serve: treatment
      - split: {control: 50, treatment: 50}
        salt: exp-e2e
  by-account:
    type: boolean
    variants: {on: true, off: false}
    default: off
    rules:
      - split: {on: 30, off: 70}
        bucket_by: account.id
  skewed:
    type: string
    variants: {a: a, b: b}
    default: a
    rules:
      - split: {a: 50, b: 50}
  plain:
    type: string
    variants: {only: only}
    default: only
`;

const snapshots = {};
function vane(args) {
  const r = spawnSync(VANE, args, { encoding: 'utf8', env: { ...process.env, VANE_ADMIN_TOKEN: TOKEN } });
  assert.equal(r.status, 0, `vane ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

const TENANTS = {
  'expo-main': {}, 'expo-flaky': {}, 'expo-dead': {}, 'expo-load': {},
  'expo-quiet': { top: 'exposures: {enabled: false}' },
  'expo-attrs': { expExposures: '    exposures: {attributes: [country, app.version]}' },
  'expo-hold': { top: 'holdouts:\n  q4-holdout: {share: 50, from: [exp]}' },
};
// A Confidence tenant of its own: the real state (conformance/confidence)
// under another account and client secret, so its counters are this file's.
const CONF_TENANT = 'expo-conf';
const CONF_SECRET = 'expo-conf-secret-7f3a9c';
before(() => {
  for (const [tenant, options] of Object.entries(TENANTS)) {
    const file = join(DIR, `${tenant}.yaml`);
    writeFileSync(file, rules(tenant, options));
    const out = join(DIR, `${tenant}.cbor`);
    vane(['build', file, '-o', out, '--version', '1']);
    vane(['publish', out, '--url', URL_BASE]);
    snapshots[tenant] = JSON.parse(vane(['inspect', out]));
  }
  const state = readFileSync(join(ROOT, 'conformance/confidence/real-state/resolver_state.json'), 'utf8')
    .replace('mkjJruAATQWjeY7foFIWfVAcBWnci2YF', CONF_SECRET);
  const file = join(DIR, `${CONF_TENANT}.json`);
  writeFileSync(file, state);
  const out = join(DIR, `${CONF_TENANT}.cbor`);
  vane(['build', file, '--format', 'confidence', '--account', CONF_TENANT, '-o', out, '--version', '1']);
  vane(['publish', out, '--url', URL_BASE]);
  snapshots[CONF_TENANT] = JSON.parse(vane(['inspect', out]));
});

// ---------------------------------------------------------------- HTTP

async function post(tenant, path, context) {
  const response = await fetch(URL_BASE + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY(tenant)}`, 'content-type': 'application/json', 'user-agent': AGENT },
    body: JSON.stringify({ context }),
  });
  return { status: response.status, json: await response.json() };
}
const single = (tenant, flag, context) => post(tenant, `/ofrep/v1/evaluate/flags/${flag}`, context);
const bulk = (tenant, context) => post(tenant, '/ofrep/v1/evaluate/flags', context);

/** Runs `fn` over `items`, `width` at a time. The tests use width 1: with
 * SNAPSHOT_TTL_SECONDS=0 every request refreshes its tenant's snapshot, and
 * concurrent refreshes of one tenant currently hang under workerd (a
 * request waiting on another request's refresh is cancelled as hung; see
 * docs/exposures.md, "Known problems"). */
async function pool(items, width, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }));
  return results;
}

const experiment = (s, flag) => s.experiments.find((e) => e.flag === flag);

// The worker's log, for the fault switch's refusals.
const logText = () => readFileSync(WRANGLER_LOG, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
const count = (text, needle) => text.split(needle).length - 1;

// The test fault switch (VANE_TEST_FAULTS=1): refuse or allow R2 writes of
// a tenant's exposure objects.
async function faultSwitch(tenant, refuse) {
  const response = await fetch(`${URL_BASE}/admin/v1/tenants/${tenant}/exposures/test-fault?refuse_r2=${refuse}`, {
    method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(response.status, 200, await response.text());
}
const refuseR2 = (tenant) => faultSwitch(tenant, true);
const allowR2 = (tenant) => faultSwitch(tenant, false);

// ---------------------------------------------------------------- tests

test('OFREP single evaluations served by a split are exposures; bulk fetches, non-splits and errors are not', async () => {
  const tenant = 'expo-main';
  const snap = snapshots[tenant];
  const started = Date.now();
  const units = Array.from({ length: 120 }, (_, i) => `unit-${i}`);
  const accounts = Array.from({ length: 40 }, (_, i) => `acc-${i}`);
  const prefetched = Array.from({ length: 60 }, (_, i) => `prefetch-${i}`);
  // What each unit is served, from bulk answers (which log nothing).
  const served = {};
  await pool(prefetched.concat(units), 1, async (u) => {
    const r = await bulk(tenant, { targetingKey: u });
    assert.equal(r.status, 200);
    served[u] = Object.fromEntries(r.json.flags.map((f) => [f.key, f.variant]));
  });
  await pool(units, 1, async (u) => {
    const r = await single(tenant, 'exp', { targetingKey: u });
    assert.equal(r.status, 200);
    assert.equal(r.json.reason, 'SPLIT');
    assert.equal(r.json.variant, served[u].exp);
  });
  const accountVariant = {};
  await pool(accounts, 1, async (a, i) => {
    const r = await single(tenant, 'by-account', { targetingKey: `t-${i}`, account: { id: a } });
    assert.equal(r.json.reason, 'SPLIT');
    accountVariant[a] = r.json.variant;
  });
  // Not exposures: a targeting match, a static flag, a split without its
  // unit (TARGETING_KEY_MISSING), an unknown flag.
  assert.equal((await single(tenant, 'exp', { targetingKey: 'staff-1', staff: true })).json.reason, 'TARGETING_MATCH');
  assert.equal((await single(tenant, 'plain', { targetingKey: 'unit-0' })).json.reason, 'STATIC');
  assert.equal((await single(tenant, 'exp', {})).json.errorCode, 'TARGETING_KEY_MISSING');
  assert.equal((await single(tenant, 'nope', { targetingKey: 'unit-0' })).status, 404);

  const s = await summaryWhen(tenant, (x) => x.counters.written + x.counters.deduplicated >= 160);
  const ended = Date.now();
  assert.equal(s.events, 160);
  assert.deepEqual(s.counters, { accepted: 160, written: 160, deduplicated: 0, dropped: 0, dead_lettered: 0 });
  const exp = experiment(s, 'exp');
  assert.equal(exp.assignment, 'rules[1]');
  assert.equal(exp.snapshot_version, 1);
  assert.equal(exp.units, 120);
  const expected = { control: 0, treatment: 0 };
  for (const u of units) expected[served[u].exp] += 1;
  assert.deepEqual(exp.variants.map((v) => [v.variant, v.weight, v.expected_share, v.events, v.units]),
    [['control', 50, 0.5, expected.control, expected.control], ['treatment', 50, 0.5, expected.treatment, expected.treatment]]);
  assert.equal(exp.units_in_several_variants, 0);
  assert.equal(exp.zero_weight_exposures, 0);
  const byAccount = experiment(s, 'by-account');
  assert.equal(byAccount.units, 40);

  // The local R2 files: exactly these events, each valid and right.
  const stored = storedEvents(tenant);
  assert.equal(stored.length, 160);
  const resolveIds = new Set();
  for (const { key, event } of stored) {
    assert.ok(validateEvent(event), `${key}: ${JSON.stringify(validateEvent.errors)}`);
    const at = Date.parse(event.exposed_at);
    assert.ok(at >= started - 1000 && at <= ended, `${event.exposed_at} within the test`);
    assert.equal(event.evaluated_at, event.exposed_at);
    const d = new Date(at).toISOString();
    assert.ok(key.startsWith(`exposures/v1/tenant=${tenant}/date=${d.slice(0, 10)}/hour=${d.slice(11, 13)}/`), key);
    assert.ok(/\/[0-9a-f]{32}\.ndjson\.gz$/.test(key), key);
    const common = {
      schema: 1, tenant, source: 'ofrep', reason: 'SPLIT', snapshot_version: 1, snapshot_digest: snap.digest,
      client: 'backend', sdk: AGENT,
    };
    for (const [field, value] of Object.entries(common)) assert.equal(event[field], value, `${field} of ${JSON.stringify(event)}`);
    if (event.flag === 'exp') {
      assert.ok(units.includes(event.unit), event.unit);
      assert.equal(event.variant, served[event.unit].exp);
      assert.equal(event.unit_source, 'targetingKey');
      assert.equal(event.assignment, 'rules[1]');
      assert.deepEqual(event.weights, [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 50 }]);
    } else {
      assert.equal(event.flag, 'by-account');
      assert.equal(event.variant, accountVariant[event.unit]);
      assert.equal(event.unit_source, 'account.id');
      assert.equal(event.assignment, 'rules[0]');
      assert.deepEqual(event.weights, [{ variant: 'on', weight: 30 }, { variant: 'off', weight: 70 }]);
    }
    assert.equal(event.event_id.length, 32);
    resolveIds.add(event.resolve_id);
  }
  assert.equal(resolveIds.size, 160, 'every request has its own resolve id');
  assert.equal(new Set(stored.map((e) => e.event.event_id)).size, 160);
  assert.ok(!stored.some((e) => e.event.unit.startsWith('prefetch-') || e.event.unit === 'staff-1'));

  // `vane exposures` prints the same numbers.
  const table = vane(['exposures', '--tenant', tenant, '--url', URL_BASE]);
  assert.match(table, /^tenant expo-main: 160 distinct events$/m);
  assert.match(table, /^tenant counters, every flag: accepted 160, written 160, deduplicated 0, dropped 0, dead-lettered 0$/m);
  assert.match(table, new RegExp(`^exp  snapshot 1  rules\\[1\\]  120 events  120 units  SRM p = [0-9.]+  ok$`, 'm'));
  assert.match(table, new RegExp(`^  control +50 +50\\.0 % +${expected.control} +${expected.control} `, 'm'));
  const filtered = JSON.parse(vane(['exposures', '--tenant', tenant, '--flag', 'by-account', '--json', '--url', URL_BASE]));
  assert.deepEqual(filtered.experiments.map((e) => e.flag), ['by-account']);
});

test('SRM: a fair split is not flagged; a client that drops half of one variant\'s exposures is', async () => {
  const tenant = 'expo-main';
  const units = Array.from({ length: 600 }, (_, i) => `srm-${i}`);
  const variants = {};
  await pool(units, 1, async (u) => {
    variants[u] = (await bulk(tenant, { targetingKey: u })).json.flags.find((f) => f.key === 'skewed').variant;
  });
  let bSeen = 0;
  const sent = units.filter((u) => variants[u] === 'a' || (bSeen++ % 2 === 0));
  await pool(sent, 1, (u) => single(tenant, 'skewed', { targetingKey: u }));
  const s = await summaryWhen(tenant, (x) => (experiment(x, 'skewed')?.events ?? 0) >= sent.length);
  const skewed = experiment(s, 'skewed');
  assert.equal(skewed.events, sent.length);
  assert.ok(skewed.srm.mismatch, JSON.stringify(skewed));
  assert.ok(skewed.srm.p_value < 0.001);
  const fair = experiment(s, 'exp');
  assert.equal(fair.srm.mismatch, false, JSON.stringify(fair));
  assert.ok(fair.srm.p_value >= 0.001);
  const table = vane(['exposures', '--tenant', tenant, '--flag', 'skewed', '--url', URL_BASE]);
  assert.match(table, /^skewed  snapshot 1  rules\[0\]  \d+ events  \d+ units  SRM p = 0\.0000  MISMATCH \(p < 0\.001\)$/m);
});

test('DuckDB reads the local R2 files with Hive partitioning; its per-variant counts equal the summary\'s', async () => {
  const { result } = localR2({ query: true });
  assert.ok(result.objects > 0);
  assert.equal(result.lines, result.distinct_events, 'no event stored twice');
  for (const tenant of ['expo-main']) {
    const s = await summary(tenant);
    const fromSummary = s.experiments.flatMap((e) => e.variants.map((v) => [e.flag, e.snapshot_version, e.assignment, v.variant, v.events, v.units]));
    const fromDuckdb = result.rows.filter((r) => r.tenant === tenant)
      .map((r) => [r.flag, r.snapshot_version, r.assignment, r.variant, r.events, r.units]);
    const sort = (rows) => rows.filter((r) => r[4] > 0).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    assert.deepEqual(sort(fromDuckdb), sort(fromSummary));
  }
});

test('fault: R2 refuses a tenant\'s writes for a while, then recovers: nothing lost, nothing doubled', async () => {
  const tenant = 'expo-flaky';
  const needle = `refused by the test fault switch of tenant "${tenant}"`;
  const before = count(logText(), needle);
  await refuseR2(tenant);
  const units = Array.from({ length: 30 }, (_, i) => `flaky-${i}`);
  await pool(units, 1, (u) => single(tenant, 'exp', { targetingKey: u }));
  // Wait for two refused attempts (1 s and 2 s apart), then let R2 work.
  const deadline = Date.now() + 20_000;
  while (count(logText(), needle) - before < 2) {
    assert.ok(Date.now() < deadline, 'the consumer never tried to write');
    await sleep(200);
  }
  assert.equal((await summary(tenant)).events, 0, 'nothing written while refused');
  await allowR2(tenant);
  const s = await summaryWhen(tenant, (x) => x.counters.written >= 30);
  assert.equal(s.events, 30);
  assert.deepEqual(s.counters, { accepted: 30, written: 30, deduplicated: 0, dropped: 0, dead_lettered: 0 });
  const stored = storedEvents(tenant);
  assert.equal(stored.length, 30, 'each event stored once');
  assert.deepEqual(stored.map((e) => e.event.unit).sort(), [...units].sort());
});

test('a message that fails forever ends in the dead-letter queue, is kept and counted', async () => {
  const tenant = 'expo-dead';
  await refuseR2(tenant);
  const units = Array.from({ length: 8 }, (_, i) => `dead-${i}`);
  await pool(units, 1, (u) => single(tenant, 'exp', { targetingKey: u }));
  // 5 attempts 1, 2, 4 and 8 s apart (wrangler.toml max_retries = 4), then the DLQ.
  const s = await summaryWhen(tenant, (x) => x.counters.dead_lettered >= 8, 60_000);
  await allowR2(tenant);
  assert.equal(s.events, 0);
  assert.deepEqual(s.counters, { accepted: 8, written: 0, deduplicated: 0, dropped: 0, dead_lettered: 8 });
  const { files } = localR2({ prefix: `dead-letter/exposures/v1/tenant=${tenant}/` });
  const kept = files.flatMap((f) => JSON.parse(f.bytes.toString('utf8')).events);
  assert.deepEqual(kept.map((e) => e.unit).sort(), [...units].sort());
  assert.ok(kept.every((e) => validateEvent(e)));
  assert.match(logText(), new RegExp(`dead-lettered, kept at dead-letter/exposures/v1/tenant=${tenant}/`));
});

test('load, brief: 2,000 exposures through the local pipeline, none lost', async () => {
  const tenant = 'expo-load';
  const n = 2_000;
  const units = Array.from({ length: n }, (_, i) => `load-${i}`);
  await pool(units, 1, (u) => single(tenant, 'exp', { targetingKey: u }));
  // Wait for the stored events, not the `written` counter: a batch retried
  // after its object was written counts its events again (docs/exposures.md),
  // so `written` can reach n while a last batch is still in the queue.
  const s = await summaryWhen(tenant, (x) => x.events >= n, 60_000);
  assert.equal(s.events, n);
  const { accepted, written, dropped, dead_lettered } = s.counters;
  assert.deepEqual({ accepted, dropped, dead_lettered }, { accepted: n, dropped: 0, dead_lettered: 0 });
  assert.ok(written >= n, `written ${written} of ${n}`);
});

// ------------------------------------------------ tenant settings (issue 10)

test('a tenant that turned logging off yields no exposure; a flag\'s opted-in attributes appear on its events, and no other context attribute', async () => {
  const quiet = snapshots['expo-quiet'];
  assert.equal(quiet.exposures.enabled, false);
  const quietUnits = Array.from({ length: 20 }, (_, i) => `quiet-${i}`);
  await pool(quietUnits, 1, async (u) => {
    const r = await single('expo-quiet', 'exp', { targetingKey: u });
    assert.equal(r.json.reason, 'SPLIT', 'the answer is unchanged');
  });
  assert.deepEqual(snapshots['expo-attrs'].exposures.attributes, { exp: ['country', 'app.version'] });
  const contexts = [
    { targetingKey: 'attrs-0', country: 'DE', app: { version: '2.1.0', build: 77 }, email: 'a@shop.example', plan: 'pro' },
    { targetingKey: 'attrs-1', country: 'SE', email: 'b@shop.example' },
    { targetingKey: 'attrs-2', app: { version: null }, device: { os: 'ios' } },
  ];
  for (const c of contexts) assert.equal((await single('expo-attrs', 'exp', c)).json.reason, 'SPLIT');
  // The quiet tenant's requests came first: once the later tenant's events
  // are stored, the queue has carried whatever the quiet one sent.
  const s = await summaryWhen('expo-attrs', (x) => x.events >= 3);
  assert.equal(s.events, 3);
  const byUnit = Object.fromEntries(storedEvents('expo-attrs').map((e) => [e.event.unit, e.event]));
  assert.deepEqual(byUnit['attrs-0'].attributes, { country: 'DE', 'app.version': '2.1.0' });
  assert.deepEqual(byUnit['attrs-1'].attributes, { country: 'SE' });
  assert.ok(!('attributes' in byUnit['attrs-2']), JSON.stringify(byUnit['attrs-2']));
  // The schema admits no field but its own (additionalProperties: false), so
  // with `attributes` exactly as above nothing else of the context is there.
  for (const e of Object.values(byUnit)) assert.ok(validateEvent(e), JSON.stringify(validateEvent.errors));
  const q = await summary('expo-quiet');
  assert.equal(q.events, 0);
  assert.deepEqual(q.counters, { accepted: 0, written: 0, deduplicated: 0, dropped: 0, dead_lettered: 0 });
  assert.equal(storedEvents('expo-quiet').length, 0);
});

// ------------------------------------------------ Confidence applies and resolves

async function confidence(path, body) {
  const response = await fetch(URL_BASE + path, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  return { headers: response.headers, body: JSON.parse(text) };
}
const VISITOR = (id) => ({ visitor_id: id });

test('the same flags:apply sent twice is one event_id: stored once within a batch, counted once by the summary wherever it lands', async () => {
  const flag = 'flags/tutorial-feature';
  const resolved = await confidence('/v1/flags:resolve', { clientSecret: CONF_SECRET, evaluationContext: VISITOR('tutorial_visitor'), flags: [flag] });
  const f = resolved.body.resolvedFlags[0];
  assert.ok(f.variant, JSON.stringify(f));
  const now = new Date().toISOString();
  const body = (token) => ({ clientSecret: CONF_SECRET, resolveToken: token, sendTime: now, flags: [{ flag, applyTime: now }] });
  // Both at once: one queue batch (max_batch_timeout = 1 s), one object line.
  const pair = await Promise.all([1, 2].map(() => confidence('/v1/flags:apply', body(resolved.body.resolveToken))));
  for (const r of pair) assert.equal(r.headers.get('x-vane-apply'), 'applied=1 unknown=0 unassigned=0 repeated=0');
  let s = await summaryWhen(CONF_TENANT, (x) => x.counters.written + x.counters.deduplicated >= 2);
  assert.equal(s.events, 1);
  assert.deepEqual(s.counters, { accepted: 2, written: 1, deduplicated: 1, dropped: 0, dead_lettered: 0 }, 'both in one batch: one copy dropped');
  let stored = storedEvents(CONF_TENANT);
  assert.equal(stored.length, 1, 'stored once');
  const first = stored[0].event;
  assert.equal(first.source, 'confidence-apply');
  assert.equal(first.variant, f.variant);
  assert.equal(first.resolve_id, resolved.body.resolveId);
  assert.equal(first.snapshot_digest, snapshots[CONF_TENANT].digest);
  // The same apply alone in a later batch would be the same object again
  // (the batch id hashes the event ids), so it goes with another resolve's
  // apply: a batch of two events, another object, the first event stored a
  // second time. The summary still counts it once.
  const other = await confidence('/v1/flags:resolve', { clientSecret: CONF_SECRET, evaluationContext: VISITOR('tutorial_visitor'), flags: [flag] });
  await Promise.all([resolved, other].map((r) => confidence('/v1/flags:apply', body(r.body.resolveToken))));
  s = await summaryWhen(CONF_TENANT, (x) => x.events >= 2 && x.counters.written + x.counters.deduplicated >= 4);
  stored = storedEvents(CONF_TENANT);
  const copies = stored.filter((e) => e.event.event_id === first.event_id);
  assert.equal(copies.length, 2, 'stored again in the other batch');
  assert.equal(new Set(copies.map((e) => e.key)).size, 2, 'in two objects');
  assert.equal(s.events, 2, 'the summary counts distinct events: the first apply\'s once, the other resolve\'s once');
  assert.equal(experiment(s, flag).events, 2);
  for (const { event } of stored) assert.ok(validateEvent(event), JSON.stringify(validateEvent.errors));
});

test('flags:resolve with apply: true yields its exposures; with _confidence_skip_apply none', async () => {
  const before = (await summary(CONF_TENANT)).counters.accepted;
  const applied = await confidence('/v1/flags:resolve', { clientSecret: CONF_SECRET, evaluationContext: VISITOR('resolve-apply'), flags: [], apply: true });
  const assigned = applied.body.resolvedFlags.filter((f) => f.variant);
  assert.ok(assigned.length >= 1, JSON.stringify(applied.body.resolvedFlags));
  await confidence('/v1/flags:resolve', {
    clientSecret: CONF_SECRET, flags: [], apply: true,
    evaluationContext: { ...VISITOR('resolve-skip'), _confidence_skip_apply: true },
  });
  await confidence('/v1/flags:resolve', { clientSecret: CONF_SECRET, evaluationContext: VISITOR('resolve-no-apply'), flags: [], apply: false });
  const s = await summaryWhen(CONF_TENANT, (x) => x.counters.accepted >= before + assigned.length
    && storedEvents(CONF_TENANT).some((e) => e.event.resolve_id === applied.body.resolveId));
  const events = storedEvents(CONF_TENANT).map((e) => e.event).filter((e) => e.source === 'confidence-resolve');
  assert.deepEqual(events.map((e) => [e.flag, e.variant, e.resolve_id]).sort(),
    assigned.map((f) => [f.flag, f.variant, applied.body.resolveId]).sort());
  for (const e of events) {
    assert.ok(validateEvent(e), JSON.stringify(validateEvent.errors));
    assert.equal(e.unit, 'resolve-apply');
    assert.equal(e.evaluated_at, e.exposed_at);
  }
  assert.equal(s.counters.accepted, before + assigned.length, 'nothing from the skipped or unapplied resolves');
});

test('a unit held out of an experiment logs an exposure marked with its holdout; the others log the split', async () => {
  const tenant = 'expo-hold';
  const units = Array.from({ length: 40 }, (_, i) => `hold-${i}`);
  const got = {};
  await pool(units, 1, async (u) => {
    const r = await single(tenant, 'exp', { targetingKey: u });
    assert.equal(r.status, 200);
    got[u] = r.json;
  });
  const held = units.filter((u) => got[u].metadata?.holdout === 'q4-holdout');
  assert.ok(held.length > 5 && held.length < 35, `${held.length} of 40 held out at share 50`);
  for (const u of held) assert.deepEqual([got[u].reason, got[u].variant], ['DEFAULT', 'control']);
  const s = await summaryWhen(tenant, (x) => x.events >= units.length);
  assert.equal(s.events, units.length, 'every unit is an exposure: held out or split');
  const events = Object.fromEntries(storedEvents(tenant).map((e) => [e.event.unit, e.event]));
  for (const u of units) {
    const e = events[u];
    assert.ok(validateEvent(e), JSON.stringify(validateEvent.errors));
    if (held.includes(u)) {
      assert.deepEqual([e.holdout, e.reason, e.variant, e.assignment, e.unit_source],
        ['q4-holdout', 'DEFAULT', 'control', 'rules[1]', 'targetingKey']);
      assert.deepEqual(e.weights, [{ variant: 'control', weight: 500_000 }]);
    } else {
      assert.ok(!('holdout' in e));
      assert.deepEqual([e.reason, e.variant, e.assignment], ['SPLIT', got[u].variant, 'rules[2]']);
    }
  }
  const holdout = s.experiments.find((x) => x.assignment === 'rules[1]');
  assert.equal(holdout.units, held.length);
  assert.equal(holdout.srm, null, 'one variant: no SRM test');
});
