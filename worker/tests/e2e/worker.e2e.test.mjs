// End-to-end test of the Vane worker running under `wrangler dev`.
//
// Started by scripts/e2e.sh, which builds the `vane` CLI and the worker,
// starts wrangler dev on a free loopback port with SNAPSHOT_TTL_SECONDS=0 (so
// a publish is visible to the next request) and a fresh local KV, and stops
// it afterwards. Environment:
//   VANE_URL          base URL of the worker
//   VANE_ADMIN_TOKEN  its ADMIN_TOKEN
//   VANE_BIN          the `vane` binary
//   VANE_E2E_DIR      a scratch directory for rule files and snapshots
//   OFREP_SPEC        the OFREP OpenAPI document (conformance/ofrep/openapi.yaml)
//   VANE_KV_STATE     wrangler dev's --persist-to directory (its local KV)
//   VANE_WRANGLER_LOG the file wrangler dev's output goes to (the worker's log)
//
// Snapshots are published with `vane publish` (the real admin path) and every
// OFREP answer is compared with `vane eval` on the same snapshot and context.
// Every response body is validated against the OFREP OpenAPI schemas.
// Failures of KV itself are made by writing to the local KV store with
// `wrangler kv key` (the store the running dev server reads), and the
// worker's log is read from wrangler dev's output.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import YAML from 'yaml';
import { env, URL_BASE, TOKEN, VANE, DIR, KV_STATE, WRANGLER_LOG, ROOT, sha256 } from './env.mjs';



// ---------------------------------------------------------------- schemas

// The OFREP OpenAPI 0.3.0 schemas, with three corrections, each needed for
// any conforming answer to validate:
// 1. `reason` lacks DEFAULT, which flagd and every OFREP client use.
// 2. `codeDefaultFlag` has no constraints, so inside `oneOf` it also matches
//    every answer that has a value, and no success answer could validate: it
//    is tightened to "no value".
// 3. `integerFlag` and `floatFlag` both match an integer value: `floatFlag`
//    is tightened to non-integers (a whole float arrives as an integer).
function ofrepValidators() {
  const spec = YAML.parse(readFileSync(env('OFREP_SPEC'), 'utf8'));
  const s = spec.components.schemas;
  s.evaluationSuccess.allOf[0].properties.reason.enum.push('DEFAULT');
  s.codeDefaultFlag = { type: 'object', not: { required: ['value'] } };
  s.floatFlag.properties.value = { type: 'number', not: { type: 'integer' } };
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: 'ofrep', components: spec.components });
  const get = (name) => ajv.getSchema(`ofrep#/components/schemas/${name}`);
  // Vane's HTTP-level errors (401, 404 route, 405, 413, 503, admin refusals):
  // the shape of OFREP's bulkEvaluationFailure, with both fields required.
  const vaneError = ajv.compile({
    type: 'object',
    required: ['errorCode', 'errorDetails'],
    properties: { errorCode: { type: 'string' }, errorDetails: { type: 'string' } },
  });
  return {
    single: { 200: get('serverEvaluationSuccess'), 400: get('evaluationFailure'), 404: get('flagNotFound') },
    bulk: { 200: get('bulkEvaluationSuccess'), 400: get('bulkEvaluationFailure') },
    general: get('generalErrorResponse'),
    vaneError,
  };
}
const schemas = ofrepValidators();
let validated = 0;

function validate(kind, res) {
  const where = `${res.method} ${res.path} → ${res.status}`;
  assert.equal(res.headers.get('content-type'), 'application/json', `Content-Type of ${where}`);
  assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f]{16}$/, `X-Request-Id of ${where}`);
  if (kind !== 'admin') assert.equal(res.headers.get('cache-control'), 'no-store', `Cache-Control of ${where}`);
  if (res.status === 304 || res.status === 204) {
    assert.equal(res.text, '', `${where} has no body`);
    return;
  }
  assert.ok(res.json !== undefined, `${where} body is JSON: ${res.text}`);
  const check = (fn, name) => {
    assert.ok(fn(res.json), `${where}: body does not match ${name}: ${JSON.stringify(fn.errors)}\n${res.text}`);
    validated += 1;
  };
  const ofrep = schemas[kind]?.[res.status];
  if (ofrep) check(ofrep, `OFREP ${kind} ${res.status}`);
  else if (res.status >= 500) check(schemas.general, 'OFREP generalErrorResponse');
  if (res.status >= 400 && !(kind === 'single' && ofrep)) check(schemas.vaneError, 'Vane error body');
}

// ---------------------------------------------------------------- HTTP

async function http(method, path, { key, apiKey, headers = {}, body, kind } = {}) {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  if (apiKey) h['x-api-key'] = apiKey;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    body = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  // A kept-alive connection the server closed while this process was
  // blocked (the spawnSync calls of the CLI and wrangler kv take seconds,
  // longer than the dev server's keep-alive) fails before the request is
  // sent: that one case is retried, once.
  const send = () => fetch(URL_BASE + path, { method, headers: h, body });
  const response = await send().catch((e) => {
    if (e.cause?.code === 'UND_ERR_SOCKET' && /other side closed/.test(e.cause.message)) return send();
    throw e;
  });
  const text = await response.text();
  let json;
  try { json = text === '' ? undefined : JSON.parse(text); } catch { json = undefined; }
  const res = { method, path, status: response.status, headers: response.headers, text, json };
  kind ??= path.includes('/admin/') ? 'admin' : /\/evaluate\/flags\/./.test(path) ? 'single' : 'bulk';
  validate(kind, res);
  return res;
}

const single = (flag, context, key, prefix = '') =>
  http('POST', `${prefix}/ofrep/v1/evaluate/flags/${encodeURIComponent(flag)}`, {
    key, body: context === undefined ? undefined : { context },
  });
const bulk = (context, key, headers = {}) =>
  http('POST', '/ofrep/v1/evaluate/flags', { key, headers, body: context === undefined ? undefined : { context } });

// A request on a connection of its own, closed after the answer: for
// bodies the worker refuses before reading them whole, which leave the
// connection unusable for a next request. `body` is a Buffer or an async
// iterable of chunks (sent chunked, without Content-Length).
function oneShot(method, path, { key, body }) {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(URL_BASE + path, {
      method, agent: false, headers: { authorization: `Bearer ${key}`, connection: 'close' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        answered = true;
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON: see `text` */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    // The worker answers and closes before the whole body is sent: the
    // rest of the upload fails, which is expected; no answer at all is not.
    req.on('error', () => {});
    // A reset can also overtake the answer itself (the server does not
    // linger): that resolves as `closed`, and the caller checks the log.
    req.on('close', () => { if (!answered) setTimeout(() => answered || resolve({ closed: true }), 1000); });
    if (Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    (async () => {
      for await (const chunk of body) {
        if (req.destroyed) return;
        // Wait for room or the end, whichever comes first; the other
        // listener is removed so they do not pile up over 100 chunks.
        if (!req.write(chunk)) {
          await new Promise((r) => {
            const done = () => { req.off('drain', done); req.off('close', done); r(); };
            req.once('drain', done);
            req.once('close', done);
          });
        }
      }
      if (!req.destroyed) req.end();
    })();
  });
}

// wrangler dev's own proxy (wrangler's ProxyWorker) answers this 503 in
// plain text, not the worker: the request reached no running worker. It
// answers so, every time, the request after one whose chunked body the
// worker refused unread (docs/http-api.md, "Limits"), so the second upload
// below meets it after the first; such a request is sent again.
const DEV_PROXY_RESTARTED = 'Your worker restarted mid-request';

/** oneShot with `makeBody()`, sent once more if wrangler dev's proxy says
 * the worker restarted under it. */
async function oneShotThroughDevProxy(method, path, key, makeBody) {
  const r = await oneShot(method, path, { key, body: makeBody() });
  if (r.status !== 503 || !r.text.startsWith(DEV_PROXY_RESTARTED)) return r;
  console.log(`wrangler dev proxy: "${r.text}"; ${method} ${path} sent again`);
  return oneShot(method, path, { key, body: makeBody() });
}

// Asserts that `r` (from oneShot) was refused as too large: by its answer,
// or, when the connection reset overtook the answer, by the worker's log
// line for `route` since `mark`.
async function tooLarge(r, mark, route) {
  if (r.closed) {
    await logged(mark, `"route":"${route}"`, '"status":413', '"errorCode":"PAYLOAD_TOO_LARGE"');
    return;
  }
  assert.equal(r.status, 413);
  assert.equal(r.json.errorCode, 'PAYLOAD_TOO_LARGE');
}

// ---------------------------------------------------------------- vane CLI

function vaneRun(args) {
  return spawnSync(VANE, args, { encoding: 'utf8', env: { ...process.env, VANE_ADMIN_TOKEN: TOKEN } });
}

function vane(args) {
  const r = vaneRun(args);
  assert.equal(r.status, 0, `vane ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

function vaneAsync(args) {
  return new Promise((resolve) => {
    const child = spawn(VANE, args, { env: { ...process.env, VANE_ADMIN_TOKEN: TOKEN } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const evalCli = (snapshot, context, flag) =>
  JSON.parse(vane(['eval', snapshot, '--context', JSON.stringify(context ?? {}), ...(flag ? ['--flag', flag] : [])]));
const inspect = (snapshot) => JSON.parse(vane(['inspect', snapshot]));
const publish = (snapshot, extra = []) => vaneRun(['publish', snapshot, '--url', URL_BASE, ...extra]);
const status = (tenant) => JSON.parse(vane(['status', '--tenant', tenant, '--url', URL_BASE]));
const snapshotHeader = (info) => `${info.version}/${info.digest.slice(0, 12)}`;

// ---------------------------------------------------------------- local KV and the log

// The KV binding of wrangler.toml ([[kv_namespaces]]).
const KV_BINDING = 'SNAPSHOTS';

// `wrangler kv key ARGS` on the local store wrangler dev persists to. The
// CLI and the running dev server share that store live: the server's next
// read sees the write (about 1.5 s a call, so the tests use few).
function kvKey(args) {
  const r = spawnSync(join(ROOT, 'node_modules/.bin/wrangler'),
    ['kv', 'key', ...args, '--binding', KV_BINDING, '--local', '--persist-to', KV_STATE],
    { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `wrangler kv key ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
}
const kvPut = (key, bytes) => {
  const file = join(DIR, `kv-${sha256(key).slice(0, 12)}`);
  writeFileSync(file, bytes);
  kvKey(['put', key, '--path', file]);
};
const kvDelete = (key) => kvKey(['delete', key]);

// The worker's log: where it ends now, and a wait until every one of
// `texts` appears on one line after `from` (wrangler writes it a little
// after the answer; 10 s at most). Terminal colours are stripped.
const logEnd = () => statSync(WRANGLER_LOG).size;
async function logged(from, ...texts) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = readFileSync(WRANGLER_LOG).subarray(from).toString('utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n');
    // A text may sit inside a JSON log line, quotes escaped.
    const line = lines.find((l) => texts.every((t) => l.includes(t) || l.includes(JSON.stringify(t).slice(1, -1))));
    if (line) return line;
    if (Date.now() > deadline) {
      assert.fail(`the wrangler dev log has no line with ${JSON.stringify(texts)}; it has:\n${lines.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// The structured log line (one JSON object) of the request with this id.
async function requestLog(from, requestId) {
  const line = await logged(from, `"requestId":"${requestId}"`);
  return JSON.parse(line.slice(line.indexOf('{')));
}

// ---------------------------------------------------------------- fixtures

// The example tenants and the plain client keys their rule files document.
const manifest = JSON.parse(readFileSync(join(ROOT, 'scripts/examples.json'), 'utf8'));

// Small Vane YAML tenants whose versions differ in what they serve: one for
// the publish/rollback flows, one whose KV entries the tests damage, one
// whose pointer they remove (the examples stay untouched).
const ROLLOUT = 'e2e-rollout';
const ROLLOUT_KEY = 'e2e-rollout-key-0f3c';
const DAMAGED = 'e2e-damaged';
const DAMAGED_KEY = 'e2e-damaged-key-7a21';
const ORPHAN = 'e2e-orphan';
const ORPHAN_KEY = 'e2e-orphan-key-c94e';
// Snapshots of body format 1 (what workers before format 2 read), then 2.
const FORMAT1 = 'e2e-format1';
const FORMAT1_KEY = 'e2e-format1-key-51d0';
const tenantRules = (tenant, key, n) => `tenant: ${tenant}
clients:
  app:
    key_sha256: [${sha256(key)}]
cors_origins: [https://app.e2e.example]
flags:
  banner:
    type: string
    variants: {current: "release ${n}"}
    default: current
  rollout-only:
    type: boolean
    variants: {on: true, off: false}
    default: off
    rules:
      - split: {on: ${n * 10}, off: ${100 - n * 10}}
`;

const rolloutRules = (n) => tenantRules(ROLLOUT, ROLLOUT_KEY, n);

const built = {}; // tenant → snapshot path (examples); `${tenant}@n` → path (e2e tenants)

function build(rulesPath, out, extra = []) {
  vane(['build', rulesPath, '-o', out, ...extra]);
  return out;
}

before(() => {
  for (const ex of manifest) {
    built[ex.tenant] = build(join(ROOT, ex.rules), join(DIR, `${ex.tenant}.cbor`), ex.build_args);
  }
  const versions = [[ROLLOUT, ROLLOUT_KEY, 9], [DAMAGED, DAMAGED_KEY, 3], [ORPHAN, ORPHAN_KEY, 1]];
  for (const [tenant, key, last] of versions) {
    for (let n = 1; n <= last; n += 1) {
      const rules = join(DIR, `${tenant}-${n}.yaml`);
      writeFileSync(rules, tenantRules(tenant, key, n));
      built[`${tenant}@${n}`] = build(rules, join(DIR, `${tenant}-${n}.cbor`), ['--version', String(n)]);
    }
  }
  for (const n of [1, 2, 3, 4]) {
    const rules = join(DIR, `${FORMAT1}-${n}.yaml`);
    // A flag with a string set, whose coding formats 2-4 differ in.
    writeFileSync(rules, `${tenantRules(FORMAT1, FORMAT1_KEY, n)}  staff:
    type: boolean
    variants: {on: true, off: false}
    default: off
    rules:
      - when: {email: {in: [ana@shop.example, bo@corp.example, cy@shop.example]}}
        serve: on
`);
    built[`${FORMAT1}@${n}`] = build(rules, join(DIR, `${FORMAT1}-${n}.cbor`),
      ['--version', String(n), '--format-version', String(n)]);
  }
});

const keyed = () => manifest.filter((ex) => ex.client_key);

// Contexts that exercise the examples' rules: segments, splits, semver,
// nested attributes, the targeting_key alias and plain strangers.
const CONTEXTS = [
  undefined,
  {},
  { targetingKey: 'user-1' },
  { targetingKey: 'user-2', email: 'ana@shop.example', country: 'DE', beta: true, platform: 'web' },
  { targetingKey: 'user-3', email: 'bob@gmail.com', plan: 'pro', appVersion: '4.3.0', platform: 'ios',
    age: 30, user: { tier: 'premium' }, country: 'AT', region: 'us-east' },
  { targeting_key: 'user-4', email: 'staff@vane-media.example', appVersion: '6.1.0', platform: 'tv',
    subscription: { plan: 'premium', addons: ['sports'] }, device: { model: 'AppleTV6,2' }, profile: { type: 'kids' } },
  { targetingKey: 'user-5', plan: 'enterprise', appVersion: '3.9.9', platform: 'android',
    subscription: { plan: 'standard' }, country: 'CH', region: 'eu-central' },
  ...Array.from({ length: 10 }, (_, i) => ({ targetingKey: `split-unit-${i}`, platform: i % 2 ? 'web' : 'android', appVersion: '5.2.1' })),
];

// ---------------------------------------------------------------- tests

test('example tenants publish through `vane publish` and report their snapshot', () => {
  assert.ok(keyed().length >= 1, 'at least one example tenant has a documented client key');
  for (const ex of manifest) {
    const r = publish(built[ex.tenant]);
    assert.equal(r.status, 0, `publish ${ex.tenant}: ${r.stderr}`);
    const answer = JSON.parse(r.stdout);
    const info = inspect(built[ex.tenant]);
    assert.deepEqual([answer.tenant, answer.version, answer.digest], [ex.tenant, info.version, info.digest]);
    const s = status(ex.tenant);
    assert.deepEqual([s.current.digest, s.current.via, s.history], [info.digest, 'publish', []]);
  }
  const r = publish(built[`${ROLLOUT}@1`]);
  assert.equal(r.status, 0, r.stderr);
});

test('single and bulk answers equal `vane eval` on the same snapshot and context', async () => {
  for (const ex of keyed()) {
    const snap = built[ex.tenant];
    const header = snapshotHeader(inspect(snap));
    const flagKeys = evalCli(snap, {}).flags.map((f) => f.key);
    assert.ok(flagKeys.length > 0, `${ex.tenant} has flags`);
    for (const context of CONTEXTS) {
      const all = await bulk(context, ex.client_key);
      assert.equal(all.status, 200);
      assert.deepEqual(all.json, evalCli(snap, context), `bulk ${ex.tenant} ${JSON.stringify(context)}`);
      assert.equal(all.headers.get('x-vane-snapshot'), header);
      for (const flag of [...flagKeys, 'no-such-flag']) {
        const one = await single(flag, context, ex.client_key);
        const expected = evalCli(snap, context, flag);
        assert.deepEqual(one.json, expected, `${ex.tenant}/${flag} ${JSON.stringify(context)}`);
        const want = expected.errorCode === 'FLAG_NOT_FOUND' ? 404 : expected.errorCode ? 400 : 200;
        assert.equal(one.status, want, `${ex.tenant}/${flag} status`);
        assert.equal(one.headers.get('x-vane-snapshot'), header);
      }
    }
  }
});

test('layers and holdouts: the shop layer\'s experiments and holdout answer as `vane eval`', async () => {
  const ex = keyed().find((e) => e.tenant === 'shop');
  const snap = built.shop;
  // u10 is in reviews-first, u12 in sticky-buy-button, u59, unit-104 and
  // h-14 held out of reviews-first, h-91 of sticky-buy-button (holdout
  // product-page-holdout), u1 in no experiment; {} has no unit. The bulk body, sent with a declared length
  // (the fast path) and chunked (the workers-rs path), equals `vane eval`'s
  // bulk output, held-out units' metadata `holdout` included.
  const seen = new Set();
  for (const targetingKey of ['u10', 'u12', 'u59', 'unit-104', 'h-14', 'h-91', 'u1', undefined]) {
    const context = targetingKey ? { targetingKey } : {};
    const expected = evalCli(snap, context);
    const all = await bulk(context, ex.client_key);
    assert.equal(all.status, 200);
    assert.deepEqual(all.json, expected, `bulk ${JSON.stringify(context)}`);
    const chunked = await oneShot('POST', '/ofrep/v1/evaluate/flags', {
      key: ex.client_key, body: [Buffer.from(JSON.stringify({ context }))],
    });
    assert.equal(chunked.status, 200, chunked.text);
    assert.deepEqual(chunked.json, expected, `chunked bulk ${JSON.stringify(context)}`);
    for (const flag of ['reviews-first', 'sticky-buy-button']) {
      const one = await single(flag, context, ex.client_key);
      assert.equal(one.status, 200);
      assert.deepEqual(one.json, evalCli(snap, context, flag), `${flag} ${JSON.stringify(context)}`);
      assert.deepEqual(all.json.flags.find((f) => f.key === flag), one.json, `bulk entry ${flag} ${JSON.stringify(context)}`);
      seen.add(`${targetingKey}/${flag}/${one.json.reason}/${one.json.metadata?.holdout ?? ''}`);
    }
  }
  for (const s of ['u10/reviews-first/SPLIT/', 'u12/sticky-buy-button/SPLIT/', 'u59/reviews-first/DEFAULT/product-page-holdout',
    'unit-104/reviews-first/DEFAULT/product-page-holdout', 'h-14/reviews-first/DEFAULT/product-page-holdout',
    'h-91/sticky-buy-button/DEFAULT/product-page-holdout',
    'u1/reviews-first/DEFAULT/', 'undefined/sticky-buy-button/DEFAULT/']) {
    assert.ok(seen.has(s), `${s} in ${[...seen].join(' ')}`);
  }
});

test('X-API-Key works like Authorization: Bearer', async () => {
  const ex = keyed()[0];
  const viaHeader = await http('POST', '/ofrep/v1/evaluate/flags', { apiKey: ex.client_key, body: { context: {} } });
  const viaBearer = await bulk({}, ex.client_key);
  assert.equal(viaHeader.status, 200);
  assert.deepEqual(viaHeader.json, viaBearer.json);
});

test('ETag: same context in any key order and spacing → 304; new context or snapshot → new tag', async () => {
  const ex = keyed()[0];
  const first = await http('POST', '/ofrep/v1/evaluate/flags', {
    key: ex.client_key, body: '{"context":{"targetingKey":"etag-1","country":"DE","user":{"a":1,"b":2}}}',
  });
  const etag = first.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{12}-[0-9a-f]{32}"$/);
  const again = await http('POST', '/ofrep/v1/evaluate/flags', {
    key: ex.client_key,
    headers: { 'if-none-match': etag },
    body: '{ "context" : {"user": {"b": 2, "a": 1},\n "country":"DE",  "targetingKey":"etag-1"} }',
  });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal(again.headers.get('etag'), etag);
  const other = await bulk({ targetingKey: 'etag-2', country: 'DE' }, ex.client_key, { 'if-none-match': etag });
  assert.equal(other.status, 200);
  assert.notEqual(other.headers.get('etag'), etag);
  const stale = await bulk({}, ex.client_key, { 'if-none-match': '"000000000000-00000000000000000000000000000000"' });
  assert.equal(stale.status, 200);

  // A new snapshot of the same tenant changes the tag for the same context.
  const before = await bulk({ targetingKey: 'etag-1' }, ROLLOUT_KEY);
  const tag = before.headers.get('etag');
  assert.equal((await bulk({ targetingKey: 'etag-1' }, ROLLOUT_KEY, { 'if-none-match': tag })).status, 304);
  assert.equal(publish(built[`${ROLLOUT}@2`]).status, 0);
  const after = await bulk({ targetingKey: 'etag-1' }, ROLLOUT_KEY, { 'if-none-match': tag });
  assert.equal(after.status, 200);
  assert.notEqual(after.headers.get('etag'), tag);
  assert.deepEqual(after.json, evalCli(built[`${ROLLOUT}@2`], { targetingKey: 'etag-1' }));
});

test('`vane publish` prints the diff against the current snapshot and refuses a reshuffle', async () => {
  const DIFF = 'e2e-diff';
  const rules = (n, salt) => `tenant: ${DIFF}
flags:
  rollout-only:
    type: boolean
    variants: {on: true, off: false}
    default: off
    rules:
      - split: {on: ${n * 10}, off: ${100 - n * 10}}${salt ? `\n        salt: ${salt}` : ''}
`;
  const snap = (n, salt) => {
    const path = join(DIR, `${DIFF}-${n}.yaml`);
    writeFileSync(path, rules(n, salt));
    return build(path, join(DIR, `${DIFF}-${n}.cbor`), ['--version', String(n)]);
  };
  const current = await http('GET', `/admin/v1/tenants/${DIFF}/snapshot`, { key: TOKEN });
  assert.deepEqual([current.status, current.json.errorCode], [404, 'NO_SNAPSHOT']);

  const first = publish(snap(1));
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /first publish of tenant "e2e-diff"/);
  const bytes = await fetch(`${URL_BASE}/admin/v1/tenants/${DIFF}/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(bytes.status, 200);
  assert.equal(bytes.headers.get('content-type'), 'application/cbor');
  assert.deepEqual(Buffer.from(await bytes.arrayBuffer()), readFileSync(join(DIR, `${DIFF}-1.cbor`)));

  // A grown split: 10 % of units switch, as the new weights need.
  const grown = publish(snap(2));
  assert.equal(grown.status, 0, grown.stderr);
  assert.match(grown.stderr, /diff against the current snapshot of tenant "e2e-diff" \(version 1, /);
  assert.match(grown.stderr, /flag rollout-only:\n {2}rule 0: split weights on 10, off 90 -> on 20, off 80\n {2}units switching variant: 10\.000 % \(exact, from cut points\)\n/);
  assert.doesNotMatch(grown.stderr, /RESHUFFLE/);
  assert.equal(status(DIFF).current.version, 2);

  // A new salt reshuffles: refused, nothing sent, until --allow-reshuffle.
  const salted = snap(3, 'rollout-2026');
  const refused = publish(salted);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /RESHUFFLE: /);
  assert.match(refused.stderr, /vane: publish refused: the change reshuffles units .*pass --allow-reshuffle/);
  assert.equal(status(DIFF).current.version, 2, 'a refused reshuffle sends nothing');
  const allowed = publish(salted, ['--allow-reshuffle']);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stderr, /RESHUFFLE: /);
  assert.equal(status(DIFF).current.version, 3);
});

test('401 without a key, with a wrong key, and for another tenant', async () => {
  const none = await bulk({});
  assert.equal(none.status, 401);
  assert.equal(none.json.errorCode, 'UNAUTHORIZED');
  const wrong = await single('banner', {}, 'not-a-key');
  assert.equal(wrong.status, 401);
  const ex = keyed()[0];
  // A flag only the rollout tenant has, asked with the example tenant's key
  // at the rollout tenant's base URL: refused.
  const foreign = await single('rollout-only', {}, ex.client_key, `/tenants/${ROLLOUT}`);
  assert.equal(foreign.status, 401);
  assert.equal(foreign.json.errorCode, 'UNAUTHORIZED');
  const foreignBulk = await http('POST', `/tenants/${ROLLOUT}/ofrep/v1/evaluate/flags`, { key: ex.client_key, body: {} });
  assert.equal(foreignBulk.status, 401);
  // At the shared base URL the key only ever sees its own tenant: the other
  // tenant's flag does not exist for it, exactly like a flag nobody has.
  const unscoped = await single('rollout-only', {}, ex.client_key);
  const nobody = await single('nobody-has-this', {}, ex.client_key);
  assert.equal(unscoped.status, 404);
  assert.deepEqual({ ...unscoped.json, key: 'x', errorDetails: '' }, { ...nobody.json, key: 'x', errorDetails: '' });
  // The owner itself is admitted at its own base URL.
  const own = await single('rollout-only', { targetingKey: 'u1' }, ROLLOUT_KEY, `/tenants/${ROLLOUT}`);
  assert.equal(own.status, 200);
});

test('CORS: preflight answered; tenant origins decide Access-Control-Allow-Origin', async () => {
  const pre = await http('OPTIONS', '/ofrep/v1/evaluate/flags', {
    headers: {
      origin: 'https://app.e2e.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization, if-none-match',
    },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.e2e.example');
  assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type, authorization, x-api-key, if-none-match');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  const preOne = await http('OPTIONS', '/ofrep/v1/evaluate/flags/banner', { headers: { origin: 'https://x.example' }, kind: 'single' });
  assert.equal(preOne.status, 204);

  const allowed = await bulk({}, ROLLOUT_KEY, { origin: 'https://app.e2e.example' });
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.e2e.example');
  assert.equal(allowed.headers.get('access-control-expose-headers'), 'ETag, X-Vane-Snapshot, X-Vane-Apply, X-Vane-Sticky-Writes');
  const denied = await bulk({}, ROLLOUT_KEY, { origin: 'https://evil.example' });
  assert.equal(denied.status, 200);
  assert.equal(denied.headers.get('access-control-allow-origin'), null);
});

test('limits: 413 over 64 KiB, INVALID_CONTEXT, long keys, unknown routes, wrong methods', async () => {
  const key = ROLLOUT_KEY;
  const padded = (n) => Buffer.from(JSON.stringify({ context: { pad: 'x'.repeat(n) } }));
  let mark = logEnd();
  await tooLarge(await oneShot('POST', '/ofrep/v1/evaluate/flags', { key, body: padded(70 * 1024) }), mark, 'ofrep.bulk');
  mark = logEnd();
  await tooLarge(await oneShot('POST', '/ofrep/v1/evaluate/flags/banner', { key, body: padded(65 * 1024) }), mark, 'ofrep.flag');

  const notObject = await single('banner', ['a'], key);
  assert.equal(notObject.status, 400);
  assert.equal(notObject.json.errorCode, 'INVALID_CONTEXT');
  const bulkNotObject = await bulk('u1', key);
  assert.equal(bulkNotObject.status, 400);
  assert.equal(bulkNotObject.json.errorCode, 'INVALID_CONTEXT');
  const nest = (n) => (n === 0 ? 1 : { a: nest(n - 1) });
  const deep = await bulk(nest(33), key);
  assert.equal(deep.status, 400);
  assert.equal(deep.json.errorCode, 'INVALID_CONTEXT');
  assert.equal((await bulk(nest(32), key)).status, 200);
  const badJson = await http('POST', '/ofrep/v1/evaluate/flags/banner', { key, body: '{"context":' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.json.errorCode, 'PARSE_ERROR');
  const empty = await http('POST', '/ofrep/v1/evaluate/flags/banner', { key });
  assert.equal(empty.status, 200);

  const longKey = await single('k'.repeat(257), {}, key);
  assert.equal(longKey.status, 400);
  assert.equal(longKey.json.errorCode, 'GENERAL');
  const route = await http('GET', '/nope', { kind: 'other' });
  assert.equal(route.status, 404);
  assert.equal(route.json.errorCode, 'NOT_FOUND');
  const method = await http('GET', '/ofrep/v1/evaluate/flags', { key, kind: 'other' });
  assert.equal(method.status, 405);
  assert.equal(method.headers.get('allow'), 'POST, OPTIONS');
});

test('a tenant name no snapshot can have is refused before anything is looked up', async () => {
  for (const bad of ['Shop', 'a%2Fb', 'shop%20', '-x', 'caf%C3%A9']) {
    for (const [method, path, opts] of [
      ['GET', `/admin/v1/tenants/${bad}`, { key: TOKEN }],
      ['PUT', `/admin/v1/tenants/${bad}/snapshot`, { key: TOKEN, body: readFileSync(built[`${ROLLOUT}@1`]) }],
      ['POST', `/admin/v1/tenants/${bad}/rollback`, { key: TOKEN }],
      ['POST', `/tenants/${bad}/ofrep/v1/evaluate/flags`, { key: ROLLOUT_KEY, kind: 'bulk' }],
    ]) {
      const r = await http(method, path, opts);
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.equal(r.json.errorCode, 'INVALID_TENANT', `${method} ${path}`);
    }
  }
});

test('admin API needs the admin token', async () => {
  const none = await http('GET', `/admin/v1/tenants/${ROLLOUT}`);
  assert.equal(none.status, 401);
  const client = await http('GET', `/admin/v1/tenants/${ROLLOUT}`, { key: ROLLOUT_KEY });
  assert.equal(client.status, 401);
  const r = vaneRun(['status', '--tenant', ROLLOUT, '--url', URL_BASE, '--token', 'wrong']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /HTTP 401 UNAUTHORIZED/);
  // A publish with a wrong token stops at the refused diff fetch: one
  // refusal, no upload, the current snapshot unchanged.
  const before = status(ROLLOUT).current.digest;
  const p = publish(built[`${ROLLOUT}@3`], ['--token', 'wrong']);
  assert.equal(p.status, 1);
  assert.match(p.stderr, /^vane: publish refused: HTTP 401 UNAUTHORIZED: .*; the snapshot was not uploaded$/m);
  assert.doesNotMatch(p.stderr, /no diff/);
  assert.equal(status(ROLLOUT).current.digest, before);
  const mark = logEnd();
  const big = await oneShot('PUT', `/admin/v1/tenants/${ROLLOUT}/snapshot`, {
    key: TOKEN, body: Buffer.alloc(25 * 1024 * 1024 + 1),
  });
  await tooLarge(big, mark, 'admin.publish');
});

test('an older version is refused and the current one keeps serving', async () => {
  const current = built[`${ROLLOUT}@2`];
  const ctx = { targetingKey: 'older-1' };
  const r = publish(built[`${ROLLOUT}@1`]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /HTTP 409 VERSION_NOT_NEWER: snapshot version 1 is not newer than the current version 2/);
  const answer = await bulk(ctx, ROLLOUT_KEY);
  assert.deepEqual(answer.json, evalCli(current, ctx));
  assert.equal(answer.headers.get('x-vane-snapshot'), snapshotHeader(inspect(current)));
  const same = publish(current);
  assert.equal(same.status, 1);
  assert.match(same.stderr, /ALREADY_CURRENT/);
});

test('corrupt, foreign and key-stealing snapshots are refused with a reason', async () => {
  const good = readFileSync(built[`${ROLLOUT}@3`]);
  const flipped = Uint8Array.from(good);
  flipped[flipped.length - 3] ^= 0x40;
  const corrupt = join(DIR, 'corrupt.cbor');
  writeFileSync(corrupt, flipped);
  const r = publish(corrupt, ['--tenant', ROLLOUT]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /HTTP 400 INVALID_SNAPSHOT: snapshot digest mismatch/);
  const garbage = await http('PUT', `/admin/v1/tenants/${ROLLOUT}/snapshot`, { key: TOKEN, body: 'not a snapshot' });
  assert.equal(garbage.status, 400);
  assert.equal(garbage.json.errorCode, 'INVALID_SNAPSHOT');
  assert.match(garbage.json.errorDetails, /not a Vane snapshot envelope/);

  const ex = keyed()[0];
  const foreign = publish(built[ex.tenant], ['--tenant', ROLLOUT]);
  assert.equal(foreign.status, 1);
  assert.match(foreign.stderr, /HTTP 400 TENANT_MISMATCH/);

  const thiefRules = join(DIR, 'thief.yaml');
  writeFileSync(thiefRules, `tenant: e2e-thief\nclients:\n  stolen:\n    key_sha256: [${sha256(ex.client_key)}]\nflags: {}\n`);
  const thief = publish(build(thiefRules, join(DIR, 'thief.cbor'), ['--version', '1']));
  assert.equal(thief.status, 1);
  assert.match(thief.stderr, new RegExp(`HTTP 409 KEY_CONFLICT: .*belongs to tenant "${ex.tenant}"`));
  const still = await bulk({}, ex.client_key);
  assert.equal(still.status, 200);

  assert.equal(status(ROLLOUT).current.version, 2, 'nothing refused became current');
});

test('rollback restores the previous answers and the history shows it', async () => {
  assert.equal(publish(built[`${ROLLOUT}@3`]).status, 0);
  const ctxs = CONTEXTS.slice(1, 8);
  for (const c of ctxs) assert.deepEqual((await bulk(c, ROLLOUT_KEY)).json, evalCli(built[`${ROLLOUT}@3`], c));

  const back = JSON.parse(vane(['rollback', '--tenant', ROLLOUT, '--url', URL_BASE]));
  assert.equal(back.version, 2);
  assert.equal(back.rolled_back_from.version, 3);
  for (const c of ctxs) {
    const answer = await bulk(c, ROLLOUT_KEY);
    assert.deepEqual(answer.json, evalCli(built[`${ROLLOUT}@2`], c));
    assert.equal(answer.headers.get('x-vane-snapshot'), snapshotHeader(inspect(built[`${ROLLOUT}@2`])));
  }
  const s = status(ROLLOUT);
  assert.deepEqual([s.current.version, s.current.via], [2, 'rollback']);
  assert.deepEqual(s.history.map((e) => e.version), [3, 1]);

  // Back to 3 by digest prefix.
  const v3 = inspect(built[`${ROLLOUT}@3`]);
  const fwd = JSON.parse(vane(['rollback', '--tenant', ROLLOUT, '--to', v3.digest.slice(0, 10), '--url', URL_BASE]));
  assert.equal(fwd.version, 3);
  assert.deepEqual((await single('banner', {}, ROLLOUT_KEY)).json, evalCli(built[`${ROLLOUT}@3`], {}, 'banner'));
  const unknown = vaneRun(['rollback', '--tenant', ROLLOUT, '--to', '0123456789', '--url', URL_BASE]);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /HTTP 404 UNKNOWN_DIGEST/);
  // A body on a route that reads none is ignored, not forwarded half-framed.
  const withBody = await http('POST', `/admin/v1/tenants/${ROLLOUT}/rollback?to=${v3.digest.slice(0, 10)}`, {
    key: TOKEN, body: 'ignored',
  });
  assert.equal(withBody.status, 409, withBody.text);
  assert.equal(withBody.json.errorCode, 'ALREADY_CURRENT');
});

test('concurrent publishes of two versions end with the newer one current', async () => {
  const rounds = [[5, 4], [6, 7], [9, 8]];
  for (const [a, b] of rounds) {
    const results = await Promise.all([a, b].map((n) => vaneAsync(['publish', built[`${ROLLOUT}@${n}`], '--url', URL_BASE])));
    const newer = Math.max(a, b);
    const older = Math.min(a, b);
    const byVersion = Object.fromEntries([a, b].map((n, i) => [n, results[i]]));
    assert.equal(byVersion[newer].status, 0, `v${newer}: ${byVersion[newer].stderr}`);
    // The older one either went first (accepted, then superseded) or came
    // second and was refused as not newer.
    assert.ok(byVersion[older].status === 0 || /VERSION_NOT_NEWER/.test(byVersion[older].stderr), byVersion[older].stderr);
    const s = status(ROLLOUT);
    assert.equal(s.current.version, newer);
    // When both were accepted, the older one was current just before.
    if (byVersion[older].status === 0) assert.equal(s.history[0].version, older);
    const answer = await bulk({ targetingKey: 'race' }, ROLLOUT_KEY);
    assert.deepEqual(answer.json, evalCli(built[`${ROLLOUT}@${newer}`], { targetingKey: 'race' }));
  }
});

test('two tenants racing for one client key: exactly one wins, and only its flags reach that key', async () => {
  for (let round = 0; round < 5; round += 1) {
    const key = `e2e-race-key-${round}-5b1d`;
    const tenants = [`e2e-race-a${round}`, `e2e-race-b${round}`];
    const snapshots = tenants.map((tenant) => {
      const rules = join(DIR, `${tenant}.yaml`);
      writeFileSync(rules, tenantRules(tenant, key, 1));
      return build(rules, join(DIR, `${tenant}.cbor`), ['--version', '1']);
    });
    const results = await Promise.all(snapshots.map((s) => vaneAsync(['publish', s, '--url', URL_BASE])));
    const winners = results.map((r, i) => [r, i]).filter(([r]) => r.status === 0).map(([, i]) => i);
    assert.equal(winners.length, 1, `round ${round}: ${results.map((r) => r.stderr).join(' | ')}`);
    const [winner] = winners;
    const loser = 1 - winner;
    assert.match(results[loser].stderr, /HTTP 409 KEY_CONFLICT: .*belongs to tenant "e2e-race-/);
    const answer = await bulk({ targetingKey: 'racer' }, key);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('x-vane-snapshot'), snapshotHeader(inspect(snapshots[winner])));
    const scoped = await http('POST', `/tenants/${tenants[loser]}/ofrep/v1/evaluate/flags`, { key, body: {} });
    assert.equal(scoped.status, 401);
    const lost = vaneRun(['status', '--tenant', tenants[loser], '--url', URL_BASE]);
    assert.match(lost.stderr, /HTTP 404 NO_SNAPSHOT/);
  }
});

test('KV returning a corrupt snapshot or pointer: the last good snapshot keeps serving, the failure is logged', async () => {
  const snap = (n) => built[`${DAMAGED}@${n}`];
  const [v1, v2] = [inspect(snap(1)), inspect(snap(2))];
  const origin = 'https://app.e2e.example';
  const contexts = [{ targetingKey: 'damaged-1' }, { targetingKey: 'damaged-2', country: 'DE' }];
  // Single and bulk answers, snapshot header and CORS are those of `n`.
  const servesVersion = async (n) => {
    const header = snapshotHeader(inspect(snap(n)));
    for (const context of contexts) {
      const all = await bulk(context, DAMAGED_KEY, { origin });
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(all.json, evalCli(snap(n), context), `bulk ${JSON.stringify(context)}`);
      assert.equal(all.headers.get('x-vane-snapshot'), header);
      assert.equal(all.headers.get('access-control-allow-origin'), origin);
      for (const flag of ['banner', 'rollout-only']) {
        const one = await single(flag, context, DAMAGED_KEY);
        assert.equal(one.status, 200, one.text);
        assert.deepEqual(one.json, evalCli(snap(n), context, flag), `${flag} ${JSON.stringify(context)}`);
        assert.equal(one.headers.get('x-vane-snapshot'), header);
      }
    }
  };

  assert.equal(publish(snap(1)).status, 0);
  await servesVersion(1); // the worker (one isolate under wrangler dev) now holds version 1 in memory

  // Version 2 becomes current through a real publish, but before any
  // request loads it, its bytes in KV are damaged (one body byte flipped).
  assert.equal(publish(snap(2)).status, 0);
  const damaged = Uint8Array.from(readFileSync(snap(2)));
  damaged[damaged.length - 3] ^= 0x40;
  kvPut(`snap/${DAMAGED}/${v2.digest}`, damaged);
  let mark = logEnd();
  await servesVersion(1);
  await logged(mark, `snapshot ${v2.digest} of tenant "${DAMAGED}" is unusable: snapshot digest mismatch`,
    `still serving version 1 (${v1.digest})`);

  // The pointer itself damaged: not JSON any more.
  kvPut(`tenant/${DAMAGED}`, '{"tenant":"e2e-dam');
  mark = logEnd();
  await servesVersion(1);
  await logged(mark, `cannot read the pointer of tenant "${DAMAGED}": pointer of tenant "${DAMAGED}" is corrupt`,
    `still serving version 1 (${v1.digest})`);

  // The operator's way out, the real publish path, rewrites both.
  assert.equal(publish(snap(3)).status, 0);
  await servesVersion(3);
});

test('format-1, -2 and -3 snapshots in KV keep serving, and a format-4 publish replaces them', async () => {
  const contexts = [{ targetingKey: 'f1-a' }, { targetingKey: 'f1-b', country: 'DE' },
    { targetingKey: 'f1-c', email: 'cy@shop.example' }];
  for (const n of [1, 2, 3, 4]) {
    const snap = built[`${FORMAT1}@${n}`];
    assert.equal(readFileSync(snap)[0x25], n, `${snap} has body format ${n}`);
    assert.equal(publish(snap).status, 0);
    for (const context of contexts) {
      const all = await bulk(context, FORMAT1_KEY);
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(all.json, evalCli(snap, context), `format ${n} bulk ${JSON.stringify(context)}`);
      assert.equal(all.headers.get('x-vane-snapshot'), snapshotHeader(inspect(snap)));
      for (const flag of ['banner', 'staff']) {
        const one = await single(flag, context, FORMAT1_KEY);
        assert.deepEqual(one.json, evalCli(snap, context, flag));
        if (flag === 'staff') assert.equal(one.json.value, context.email === 'cy@shop.example');
      }
    }
  }
});

test('a tenant whose pointer is deleted answers 503 at once, naming the tenant only in the log', async () => {
  // Published (snapshot, key index, pointer) and served, so the isolate
  // holds the snapshot; then the pointer removed (an offboarding): a
  // definite "not found", which must drop what the isolate holds.
  assert.equal(publish(built[`${ORPHAN}@1`]).status, 0);
  assert.equal((await bulk({ targetingKey: 'o-0' }, ORPHAN_KEY)).status, 200);
  kvDelete(`tenant/${ORPHAN}`);
  const mark = logEnd();
  const origin = 'https://app.e2e.example';
  for (const path of [
    '/ofrep/v1/evaluate/flags',
    '/ofrep/v1/evaluate/flags/banner',
    `/tenants/${ORPHAN}/ofrep/v1/evaluate/flags`,
    `/tenants/${ORPHAN}/ofrep/v1/evaluate/flags/banner`,
  ]) {
    const r = await http('POST', path, { key: ORPHAN_KEY, headers: { origin }, body: { context: { targetingKey: 'o-1' } } });
    assert.equal(r.status, 503, `${path}: ${r.text}`);
    assert.deepEqual(r.json, {
      errorCode: 'SNAPSHOT_UNAVAILABLE',
      errorDetails: 'the tenant of this client key has no snapshot to serve; retry later',
    }, path);
    // Content-Type and Cache-Control are checked by http(); CORS as for any
    // answer before the tenant's origins are known; no snapshot to name.
    assert.equal(r.headers.get('access-control-allow-origin'), '*', path);
    assert.equal(r.headers.get('access-control-expose-headers'), 'ETag, X-Vane-Snapshot, X-Vane-Apply, X-Vane-Sticky-Writes', path);
    assert.equal(r.headers.get('x-vane-snapshot'), null, path);
    assert.equal(r.headers.get('etag'), null, path);
  }
  await logged(mark, `tenant "${ORPHAN}" has no published snapshot`, `"tenant":"${ORPHAN}"`, '"status":503');
});

test('request bodies are read only up to the limit: a chunked 100 MB body is 413 and the worker lives on', async () => {
  // A streamed body without Content-Length: 1 MiB chunks, up to 100 MiB.
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const counter = { sent: 0 };
  async function* hundredMiB() {
    for (; counter.sent < 100; counter.sent += 1) yield chunk;
  }
  const fresh = () => { counter.sent = 0; return hundredMiB(); };
  let mark = logEnd();
  await tooLarge(await oneShotThroughDevProxy('POST', '/ofrep/v1/evaluate/flags', ROLLOUT_KEY, fresh), mark, 'ofrep.bulk');
  assert.ok(counter.sent < 100, `the worker read all ${counter.sent} MiB`);
  // Admin: its own limit (25 MiB), read the same way.
  mark = logEnd();
  await tooLarge(await oneShotThroughDevProxy('PUT', `/admin/v1/tenants/${ROLLOUT}/snapshot`, TOKEN, fresh), mark, 'admin.publish');
  assert.ok(counter.sent < 100, `the worker read all ${counter.sent} MiB`);
  // Every tenant is still served.
  for (const ex of keyed()) {
    const ok = await bulk({ targetingKey: 'after-413' }, ex.client_key);
    assert.equal(ok.status, 200, `${ex.tenant}: ${ok.text}`);
  }
});

test('every answer has a request id whose log line tells tenant, route, status, version and timings, never the key or context', async () => {
  const mark = logEnd();
  const secret = 'context-value-9d3e';
  const r = await single('banner', { targetingKey: secret }, ROLLOUT_KEY);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('server-timing'), /^load;dur=[0-9.]+, eval;dur=[0-9.]+, ser;dur=[0-9.]+$/);
  const line = await requestLog(mark, r.headers.get('x-request-id'));
  assert.equal(line.tenant, ROLLOUT);
  assert.equal(line.route, 'ofrep.flag');
  assert.equal(line.status, 200);
  assert.equal(line.snapshotVersion, status(ROLLOUT).current.version);
  for (const field of ['loadMs', 'evalMs', 'serialiseMs']) assert.equal(typeof line[field], 'number', field);
  const text = JSON.stringify(line);
  assert.ok(!text.includes(secret) && !text.includes(ROLLOUT_KEY), text);

  const refused = await http('GET', `/admin/v1/tenants/${ROLLOUT}`);
  assert.equal(refused.status, 401);
  const admin = await http('GET', `/admin/v1/tenants/${ROLLOUT}`, { key: TOKEN });
  const adminLine = await requestLog(mark, admin.headers.get('x-request-id'));
  assert.deepEqual([adminLine.route, adminLine.tenant, adminLine.status], ['admin.status', ROLLOUT, 200]);
  assert.ok(!JSON.stringify(adminLine).includes(TOKEN));
});

test('per-tenant counters are readable through the admin API', async () => {
  const path = `/admin/v1/tenants/${ROLLOUT}/metrics`;
  const before = (await http('GET', path, { key: TOKEN })).json;
  for (let i = 0; i < 5; i += 1) assert.equal((await single('banner', { targetingKey: `m-${i}` }, ROLLOUT_KEY)).status, 200);
  assert.equal((await single('missing-flag', {}, ROLLOUT_KEY)).status, 404);
  // Counts are handed over after the response (METRICS_FLUSH_SECONDS=0 here).
  let after;
  for (let tries = 0; tries < 50; tries += 1) {
    after = (await http('GET', path, { key: TOKEN })).json;
    if (after.requests >= before.requests + 6) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(after.tenant, ROLLOUT);
  assert.equal(after.requests, before.requests + 6);
  assert.equal(after.errors.FLAG_NOT_FOUND ?? 0, (before.errors.FLAG_NOT_FOUND ?? 0) + 1);
  const evaluations = (h) => h.reduce((a, b) => a + b, 0);
  assert.equal(evaluations(after.evalHistogram), evaluations(before.evalHistogram) + 6);
  assert.equal(typeof after.evalP50Us, 'number');
  assert.equal(typeof after.evalP99Us, 'number');
});

test('every response body above was validated against the schemas', () => {
  assert.ok(validated > 100, `validated ${validated} bodies`);
});
