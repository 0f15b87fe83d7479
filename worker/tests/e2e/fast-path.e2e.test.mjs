// End-to-end test of the worker's synchronous OFREP entry (worker/entry.mjs
// → `ofrepCached`, docs/architecture.md "Request"): a request of a tenant
// the isolate has cached and fresh is answered by one wasm call, and that
// answer is the asynchronous pipeline's, byte for byte.
//
// Started by scripts/e2e.sh against a wrangler dev of its own with the
// default SNAPSHOT_TTL_SECONDS (the main e2e run uses 0, under which nothing
// is ever fresh in the cache, so every request takes the asynchronous path).
// A body of declared length may take the fast path; the same body sent
// chunked (no Content-Length) always takes the asynchronous one: each
// request is sent both ways and the answers compared, and the log line's
// `fastPath` says which path answered.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { URL_BASE, TOKEN, VANE, DIR, WRANGLER_LOG, sha256, logEnd, logLine } from './env.mjs';
import { summaryWhen } from './exposure-log.mjs';

const TENANT = 'fast-e2e';
const KEY = 'fast-e2e-key-8b2f41';
const ORIGIN = 'https://fast.example';

const rules = `tenant: ${TENANT}
cors_origins: [${ORIGIN}]
clients:
  web:
    key_sha256: [${sha256(KEY)}]
flags:
  exp:
    type: string
    variants: {control: control, treatment: treatment}
    default: control
    rules:
      - when: {staff: true}
        serve: treatment
      - split: {control: 50, treatment: 50}
        salt: fast-e2e
  plain:
    type: boolean
    variants: {on: true, off: false}
    default: on
`;

function vane(args) {
  const r = spawnSync(VANE, args, { encoding: 'utf8', env: { ...process.env, VANE_ADMIN_TOKEN: TOKEN } });
  assert.equal(r.status, 0, `vane ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  const file = join(DIR, `${TENANT}.yaml`);
  writeFileSync(file, rules);
  const out = join(DIR, `${TENANT}.cbor`);
  vane(['build', file, '-o', out, '--version', '1']);
  vane(['publish', out, '--url', URL_BASE]);
});

/** One request; `chunked` sends the body without Content-Length. */
function send({ method = 'POST', path, key = KEY, headers = {}, body, chunked = false }) {
  return new Promise((resolve, reject) => {
    const all = { ...headers };
    if (key) all.authorization = `Bearer ${key}`;
    if (body !== undefined) all['content-type'] = 'application/json';
    const req = httpRequest(URL_BASE + path, { method, headers: all }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body === undefined) return req.end();
    const bytes = Buffer.from(body);
    if (chunked) {
      // In chunks: nothing tells the worker the length beforehand.
      req.write(bytes.subarray(0, 1));
      req.end(bytes.subarray(1));
    } else {
      req.setHeader('content-length', bytes.length);
      req.end(bytes);
    }
  });
}

// Durations are the clock's (wrangler dev's runs in real time, so a lookup
// can straddle a millisecond): compared by shape, not value.
const durations = (text) => text.replace(/dur=\d+\.\d{3}/g, 'dur=N');

/** An answer without what differs per request (its id, the date, times). */
const comparable = ({ status, headers, body }) => {
  const { 'x-request-id': _id, date: _date, ...rest } = headers;
  if (rest['server-timing']) rest['server-timing'] = durations(rest['server-timing']);
  return { status, headers: rest, body };
};

/** A log line without what differs per request. */
const sameLine = ({ requestId: _id, fastPath: _path, loadMs: _l, evalMs: _e, serialiseMs: _s, ...rest }) => rest;

const context = (targetingKey, extra = {}) => JSON.stringify({ context: { targetingKey, ...extra } });
const flag = (key) => `/ofrep/v1/evaluate/flags/${key}`;
const BULK = '/ofrep/v1/evaluate/flags';

test('the first answer of a cold tenant is the asynchronous one; once cached, the fast path answers exactly as it', async () => {
  let mark = logEnd();
  const cold = await send({ path: flag('plain'), body: context('u-0') });
  assert.equal(cold.status, 200);
  assert.equal((await logLine(mark, cold.headers['x-request-id'])).fastPath, false);

  const bulk = await send({ path: BULK, body: context('u-1'), chunked: true });
  const etag = bulk.headers.etag;
  assert.ok(etag, 'a bulk answer has an ETag');
  const cases = [
    ['one flag served by the split', { path: flag('exp'), body: context('u-1'), headers: { origin: ORIGIN } }, 200],
    ['one flag served by a rule', { path: flag('exp'), body: context('u-2', { staff: true }) }, 200],
    ['a static flag, no body', { path: flag('plain') }, 200],
    ['bulk', { path: BULK, body: context('u-1'), headers: { origin: ORIGIN, 'user-agent': 'fast-e2e/1' } }, 200],
    ['bulk, ETag matches', { path: BULK, body: context('u-1'), headers: { 'if-none-match': etag } }, 304],
    ['bulk under the tenant base URL', { path: `/tenants/${TENANT}${BULK}`, body: context('u-3') }, 200],
    ['flag not found', { path: flag('nope'), body: context('u-1') }, 404],
    ['context not an object', { path: flag('exp'), body: '{"context":[]}' }, 400],
    ['bulk body not JSON', { path: BULK, body: 'nope' }, 400],
    ['unknown key', { path: flag('exp'), body: context('u-1'), key: 'nobody-knows-this-key' }, 401],
    ['another origin', { path: flag('exp'), body: context('u-4'), headers: { origin: 'https://elsewhere.example' } }, 200],
  ];
  for (const [what, request, status] of cases) {
    mark = logEnd();
    // Chunked first: it fills the cache for what it needs (an unknown key
    // included), so the request of declared length can be answered fast.
    // A request without a body has nothing to send chunked: its slow twin
    // carries a chunked body of one space (for OFREP, the empty context).
    const slow = await send({ ...request, body: request.body ?? ' ', chunked: true });
    const fast = await send(request);
    assert.equal(fast.status, status, `${what}: ${fast.body}`);
    assert.deepEqual(comparable(fast), comparable(slow), what);
    const [fastLog, slowLog] = [await logLine(mark, fast.headers['x-request-id']), await logLine(mark, slow.headers['x-request-id'])];
    assert.equal(fastLog.fastPath, true, `${what}: answered by the fast path`);
    assert.equal(slowLog.fastPath, false, `${what}: a chunked body takes the asynchronous path`);
    assert.deepEqual(sameLine(fastLog), sameLine(slowLog), `${what}: the same log line`);
  }
});

// A preflight has no body to send chunked (and an OPTIONS with one is not
// served), so it has no slow twin: the fast answer is checked against what
// docs/http-api.md "CORS" says (the native test compares it with the
// asynchronous pipeline's).
test('preflights are answered by the fast path with the CORS headers', async () => {
  for (const path of [BULK, flag('exp')]) {
    const mark = logEnd();
    const r = await send({ method: 'OPTIONS', path, key: null, headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 204, r.body);
    assert.equal(r.body, '');
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(r.headers['access-control-allow-methods'], 'POST, OPTIONS');
    assert.match(r.headers['access-control-allow-headers'], /authorization/);
    assert.equal(r.headers['content-type'], 'application/json');
    const line = await logLine(mark, r.headers['x-request-id']);
    assert.deepEqual([line.fastPath, line.route, line.status], [true, 'ofrep.preflight', 204]);
  }
});

test('exposures and counters of fast-path answers reach the exposure log and the metrics', async () => {
  const n = 20;
  const mark = logEnd();
  for (let i = 0; i < n; i++) {
    const r = await send({ path: flag('exp'), body: context(`unit-${i}`) });
    assert.equal(r.status, 200);
    assert.equal((await logLine(mark, r.headers['x-request-id'])).fastPath, true);
  }
  // Every split answer above is one exposure event; the earlier test's
  // split answers add theirs.
  const s = await summaryWhen(TENANT, (x) => x.events >= n, 60_000);
  assert.ok(s.events >= n, JSON.stringify(s));
  // METRICS_FLUSH_SECONDS=0: each answer hands its counts over after it.
  const deadline = Date.now() + 30_000;
  let metrics;
  for (;;) {
    const r = await fetch(`${URL_BASE}/admin/v1/tenants/${TENANT}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    metrics = await r.json();
    assert.equal(r.status, 200, JSON.stringify(metrics));
    if (metrics.requests >= n) break;
    if (Date.now() > deadline) assert.fail(`counters never got to ${n} requests: ${JSON.stringify(metrics)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
});

// Last: the trap throws away the isolate's wasm state, its cache included.
// A trap on the workers-rs side (here the test-only route, which aborts the
// instance as a panic would) marks worker-build's state; the next request
// must reach the reinitialised instance, not the trapped one's memory
// (the exports' glue copies a request's bytes in before it checks).
test('after a trap the next requests are answered by one reinitialised instance', async () => {
  const body = context('unit-trap');
  const before = await send({ path: flag('exp'), body });
  assert.equal(before.status, 200);
  const mark = logEnd();
  const trap = await fetch(`${URL_BASE}/admin/v1/tenants/${TENANT}/test-trap`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.ok(trap.status >= 500, `the trapped request fails: ${trap.status}`);
  const paths = [];
  for (let i = 0; i < 3; i++) {
    const r = await send({ path: flag('exp'), body });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, before.body, `answer ${i} after the trap`);
    paths.push((await logLine(mark, r.headers['x-request-id'])).fastPath);
  }
  // The first one rebuilds the tenant's cache on the asynchronous path.
  assert.deepEqual(paths, [false, true, true]);
  const log = readFileSync(WRANGLER_LOG).subarray(mark).toString('utf8');
  assert.equal(log.split('Reinitializing Wasm application').length - 1, 1, log.slice(-4000));
  assert.doesNotMatch(log, /panicked|Critical Error: Rust panic/);
});
