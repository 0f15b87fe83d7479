// End-to-end test of the Confidence-compatible edge (docs/confidence.md)
// on the worker under `wrangler dev`, started by scripts/e2e.sh (same
// environment as worker.e2e.test.mjs: VANE_URL, VANE_ADMIN_TOKEN, VANE_BIN,
// VANE_E2E_DIR).
//
// - The 111 cases of Confidence's resolver spec
//   (conformance/confidence/resolver-spec.json) through POST
//   /v1/flags:resolve, each case's sticky assignments seeded through the
//   store's admin endpoint first, agree with expectedResult.general.
// - The real state (conformance/confidence/real-state/) serves through
//   flags:resolve and OFREP; its resolve token applies, and forged, other
//   tenants' and empty tokens are answered as documented.
// - Sticky assignments survive a republish that changes the weights.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createDecipheriv, createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { env, URL_BASE, TOKEN, VANE, DIR, ROOT, logEnd, logLine } from './env.mjs';

const RESOLVE_TOKEN_KEY = env('VANE_RESOLVE_TOKEN_KEY');
const CONF = join(ROOT, 'conformance/confidence');

function vane(args) {
  const r = spawnSync(VANE, args, { encoding: 'utf8', env: { ...process.env, VANE_ADMIN_TOKEN: TOKEN } });
  if (r.status !== 0) throw new Error(`vane ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Builds a Confidence state and publishes it; returns `vane inspect` of the snapshot. */
function buildAndPublish(state, out, extra = []) {
  vane(['build', state, '--format', 'confidence', '-o', out, ...extra]);
  vane(['publish', out, '--url', URL_BASE]);
  return JSON.parse(vane(['inspect', out]));
}

/** POST with a JSON body; the status, headers and parsed body. */
async function post(path, body, headers = {}) {
  const res = await fetch(URL_BASE + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  assert.notEqual(res.status, 500, `${path}: 500 ${text}`);
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const resolve = (request) => post('/v1/flags:resolve', request);
const apply = (request) => post('/v1/flags:apply', request);
const admin = { authorization: `Bearer ${TOKEN}` };

/** Replaces the sticky records of the units named (`{}` deletes a unit's). */
async function seed(tenant, units) {
  const res = await fetch(`${URL_BASE}/admin/v1/tenants/${tenant}/materializations`, {
    method: 'PUT',
    headers: admin,
    body: JSON.stringify(units),
  });
  assert.equal(res.status, 200, await res.text());
}

/** The stored sticky records of `unit`. */
async function stored(tenant, unit) {
  const res = await fetch(
    `${URL_BASE}/admin/v1/tenants/${tenant}/materializations?unit=${encodeURIComponent(unit)}`,
    { headers: admin },
  );
  assert.equal(res.status, 200);
  return (await res.json())[unit] ?? {};
}

/**
 * Waits until the sticky writes a resolve announced (`X-Vane-Sticky-Writes`,
 * run after the answer) have changed the seeded records of `units`, so
 * that none lands after the next case's seed.
 */
async function writesLanded(tenant, res, seeded) {
  if (Number(res.headers.get('x-vane-sticky-writes') ?? 0) === 0) return;
  const now = async () => {
    const out = {};
    for (const unit of Object.keys(seeded)) out[unit] = await stored(tenant, unit);
    return JSON.stringify(out);
  };
  const before = JSON.stringify(seeded);
  for (let i = 0; i < 100; i++) {
    if ((await now()) !== before) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`announced sticky writes did not land within 2 s`);
}

// ------------------------------------------------------------ the token

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2): the subkey of XChaCha20 from a
 * 32-byte key and the first 16 bytes of the 24-byte nonce.
 */
function hchacha20(key, nonce16) {
  const s = new Uint32Array(16);
  s.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  for (let i = 0; i < 8; i++) s[4 + i] = key.readUInt32LE(4 * i);
  for (let i = 0; i < 4; i++) s[12 + i] = nonce16.readUInt32LE(4 * i);
  const rotl = (v, n) => (v << n) | (v >>> (32 - n));
  const qr = (a, b, c, d) => {
    s[a] += s[b]; s[d] = rotl(s[d] ^ s[a], 16);
    s[c] += s[d]; s[b] = rotl(s[b] ^ s[c], 12);
    s[a] += s[b]; s[d] = rotl(s[d] ^ s[a], 8);
    s[c] += s[d]; s[b] = rotl(s[b] ^ s[c], 7);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
    qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  [0, 1, 2, 3, 12, 13, 14, 15].forEach((w, i) => out.writeUInt32LE(s[w], 4 * i));
  return out;
}

/**
 * Opens a resolve token as docs/confidence.md describes it, with Node's
 * own ChaCha20-Poly1305 (XChaCha20 = HChaCha20 subkey + 12-byte nonce
 * 0000 ‖ nonce[16..24]): an independent check of the format, and the
 * only place the assignment ids of a resolve are visible.
 */
function openToken(token) {
  const raw = Buffer.from(token, 'base64');
  assert.equal(raw[0], 1, 'token format version');
  const nonce = raw.subarray(1, 25);
  const sealed = raw.subarray(25);
  const key = createHash('sha256').update(Buffer.concat([
    Buffer.from('vane resolve token v1\0'), Buffer.from(RESOLVE_TOKEN_KEY)])).digest();
  const decipher = createDecipheriv('chacha20-poly1305',
    hchacha20(key, nonce.subarray(0, 16)), Buffer.concat([Buffer.alloc(4), nonce.subarray(16)]),
    { authTagLength: 16 });
  decipher.setAAD(raw.subarray(0, 1));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  return JSON.parse(plain.toString('utf8'));
}

// ------------------------------------------------------------------ spec

const SPEC = JSON.parse(readFileSync(join(CONF, 'resolver-spec.json'), 'utf8'));
const SPEC_TENANT = 'test-account';

/** Every string unit the spec's cases use: their stores are reset before each case. */
const SPEC_UNITS = [...new Set(SPEC.flatMap((c) => {
  const key = c.resolveRequest.evaluationContext?.targeting_key;
  return typeof key === 'string' ? [key] : [];
}).concat(SPEC.flatMap((c) => Object.keys(c.materializations ?? {}))))];

/** An expected flag against the worker's: every field the case gives. */
function agrees(expected, got) {
  if (!got) return `missing from the answer`;
  for (const [field, want] of Object.entries(expected)) {
    const have = got[field] ?? null;
    if (JSON.stringify(have) !== JSON.stringify(want)) {
      return `${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(have)}`;
    }
  }
  return null;
}

let specSnapshot;
before(() => {
  specSnapshot = buildAndPublish(join(CONF, 'state.json'), join(DIR, 'confidence-spec.cbor'));
});

test('all 111 cases of the resolver spec through POST /v1/flags:resolve agree with expectedResult.general', async () => {
  assert.equal(specSnapshot.tenant, SPEC_TENANT);
  assert.equal(SPEC.length, 111);
  const failures = [];
  let agreed = 0;
  for (const c of SPEC) {
    const units = Object.fromEntries(SPEC_UNITS.map((u) => [u, c.materializations?.[u] ?? {}]));
    await seed(SPEC_TENANT, units);
    const res = await resolve(c.resolveRequest);
    const expected = c.expectedResult.general;
    if (expected.expectError) {
      if (res.status === 200) failures.push(`${c.name}: expected an error, got 200`);
      else agreed++;
      continue;
    }
    if (res.status !== 200) {
      failures.push(`${c.name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      continue;
    }
    // The assignment id is not part of Confidence's answer; the token names it.
    const claims = openToken(res.body.resolveToken);
    const got = res.body.resolvedFlags.map((f) => ({
      ...f, assignmentId: claims.a.find((a) => a.f === f.flag)?.j ?? null }));
    const problems = [];
    if (got.length !== expected.resolvedFlags.length) {
      problems.push(`${got.length} flags resolved, expected ${expected.resolvedFlags.length}`);
    }
    for (const want of expected.resolvedFlags) {
      const why = agrees(want, got.find((f) => f.flag === want.flag));
      if (why) problems.push(`${want.flag}: ${why}`);
    }
    if (problems.length) failures.push(`${c.name}: ${problems.join('; ')}`);
    else agreed++;
    assert.match(res.body.resolveId, /^[0-9a-f]{32}$/);
    assert.ok(res.body.resolveToken.length > 0);
    await writesLanded(SPEC_TENANT, res, units);
  }
  console.log(`confidence spec through the worker: ${agreed}/${SPEC.length}`);
  assert.deepEqual(failures, []);
});

// ------------------------------------------------------------ real state

const REAL_SECRET = 'mkjJruAATQWjeY7foFIWfVAcBWnci2YF';
const VISITOR = { visitor_id: 'tutorial_visitor' };

test('the real state builds from both files to one digest and serves through flags:resolve and OFREP', async () => {
  const pb = buildAndPublish(join(CONF, 'real-state/resolver_state.pb'), join(DIR, 'real-pb.cbor'),
    ['--account', 'confidence-demo-june']);
  const json = JSON.parse(vane(['inspect', join(DIR, 'real-pb.cbor')]));
  vane(['build', join(CONF, 'real-state/resolver_state.json'), '--format', 'confidence',
    '--account', 'confidence-demo-june', '-o', join(DIR, 'real-json.cbor')]);
  assert.equal(JSON.parse(vane(['inspect', join(DIR, 'real-json.cbor')])).digest, json.digest);

  const mark = logEnd();
  const res = await resolve({ clientSecret: REAL_SECRET, evaluationContext: VISITOR, flags: [], apply: false });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  // The log line names the snapshot that answered, as OFREP's does.
  const line = await logLine(mark, res.headers.get('x-request-id'));
  assert.deepEqual([line.route, line.snapshotVersion, line.snapshot],
    ['confidence.resolve', pb.version, `${pb.version}/${pb.digest.slice(0, 12)}`]);
  const flag = res.body.resolvedFlags.find((f) => f.flag === 'flags/tutorial-feature');
  assert.equal(flag.variant, 'flags/tutorial-feature/variants/exciting-welcome');
  assert.equal(flag.reason, 'RESOLVE_REASON_MATCH');
  assert.equal(flag.value.title, 'Welcome to Confidence!');
  assert.deepEqual(flag.flagSchema, { schema: { message: { stringSchema: {} }, title: { stringSchema: {} } } });

  // The same flag over OFREP, the client secret as the client key: the value is the variant's struct.
  const ofrep = await post('/ofrep/v1/evaluate/flags/flags%2Ftutorial-feature', { context: VISITOR },
    { authorization: `Bearer ${REAL_SECRET}` });
  assert.equal(ofrep.status, 200, JSON.stringify(ofrep.body));
  assert.deepEqual(ofrep.body.value, flag.value);
  assert.equal(ofrep.body.variant, flag.variant);
  assert.equal(ofrep.headers.get('x-vane-snapshot'), `${pb.version}/${pb.digest.slice(0, 12)}`);
});

test('apply: the token applies; empty, forged and other tenants\' tokens are answered as documented', async () => {
  const res = await resolve({ clientSecret: REAL_SECRET, evaluationContext: VISITOR, flags: ['flags/tutorial-feature'] });
  const token = res.body.resolveToken;
  const now = new Date().toISOString();
  const body = (t, secret = REAL_SECRET) => ({
    clientSecret: secret, resolve_token: t, sendTime: now,
    flags: [{ flag: 'flags/tutorial-feature', applyTime: now }, { flag: 'flags/not-resolved', applyTime: now }],
  });
  const ok = await apply(body(token));
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, {});
  assert.equal(ok.headers.get('x-vane-apply'), 'applied=1 unknown=1 unassigned=0 repeated=0');

  assert.equal((await apply(body(''))).status, 200);

  const forged = token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41);
  const f = await apply(body(forged));
  assert.equal(f.status, 400);
  assert.match(f.body.message, /does not authenticate/);

  // A token of the spec tenant, applied with the real tenant's secret.
  const spec = await resolve({ clientSecret: 'test-secret', evaluationContext: { targeting_key: 'user1' }, flags: [] });
  const other = await apply(body(spec.body.resolveToken));
  assert.equal(other.status, 400);
  assert.equal(other.body.message, 'resolve token was issued for another tenant than the client secret\'s');

  const unknown = await apply(body(token, 'not-a-secret'));
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.code, 16);

  assert.equal((await post('/v1/telemetry:upload', {})).status, 200);
  for (const path of ['/v1/flags:resolve', '/v1/flags:apply', '/v1/telemetry:upload']) {
    const pre = await fetch(URL_BASE + path, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type' },
    });
    assert.equal(pre.status, 204, path);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(pre.headers.get('access-control-allow-headers'), /content-type/);
  }
});

// --------------------------------------------------------------- sticky

test('sticky assignments survive a republish that changes the weights', async () => {
  // The spec's mat-read-flag (reads and writes materializations/mat1,
  // 50/50 treatment/control) under a tenant and secret of its own.
  const state = JSON.parse(readFileSync(join(CONF, 'state.json'), 'utf8'));
  state.clients = { 'sticky-secret': { ...state.clients['test-secret'] } };
  state.clients['sticky-secret'].clientCredential = {
    ...state.clients['sticky-secret'].clientCredential, clientSecret: { secret: 'sticky-secret' } };
  const path = join(DIR, 'sticky-state.json');
  const weights = (treatmentUpper) => {
    const rule = state.flags['flags/mat-read-flag'].rules[0];
    rule.assignmentSpec.assignments[0].bucketRanges = [{ lower: 0, upper: treatmentUpper }];
    rule.assignmentSpec.assignments[1].bucketRanges =
      treatmentUpper < 1000 ? [{ lower: treatmentUpper, upper: 1000 }] : [];
    writeFileSync(path, JSON.stringify(state));
  };
  const units = Array.from({ length: 40 }, (_, i) => `sticky-unit-${i}`);
  const variants = async () => {
    const out = {};
    for (const unit of units) {
      const res = await resolve({ clientSecret: 'sticky-secret', flags: ['flags/mat-read-flag'],
        evaluationContext: { targeting_key: unit, country: 'SE' } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      out[unit] = res.body.resolvedFlags[0].variant;
    }
    return out;
  };
  weights(500);
  buildAndPublish(path, join(DIR, 'sticky-1.cbor'), ['--tenant', 'sticky', '--version', '1']);
  const first = await variants();
  const controls = units.filter((u) => first[u] === 'control');
  assert.ok(controls.length > 5 && controls.length < 35, `${controls.length} of 40 on control`);
  // Every first assignment was written (after the answers).
  for (const unit of units) {
    for (let i = 0; i < 100 && !(await stored('sticky', unit))['materializations/mat1']; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await stored('sticky', unit))['materializations/mat1']
      .ruleToVariant['flags/mat-read-flag/rules/rule1'], first[unit], unit);
  }
  // Everyone to treatment: units that had control keep it; a new unit gets treatment.
  weights(1000);
  buildAndPublish(path, join(DIR, 'sticky-2.cbor'), ['--tenant', 'sticky', '--version', '2']);
  assert.deepEqual(await variants(), first);
  const fresh = await resolve({ clientSecret: 'sticky-secret', flags: ['flags/mat-read-flag'],
    evaluationContext: { targeting_key: 'sticky-newcomer', country: 'SE' } });
  assert.equal(fresh.body.resolvedFlags[0].variant, 'treatment');
});
