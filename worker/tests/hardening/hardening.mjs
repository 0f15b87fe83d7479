// Fault, cross-tenant and load tests of the real worker under `wrangler dev`
// (issue 9 item 9), bounded in time. Started by scripts/hardening.sh, which
// builds everything, starts wrangler dev and passes:
//   VANE_URL, VANE_ADMIN_TOKEN, VANE_BIN, VANE_HARDENING_DIR (scratch),
//   VANE_HARDENING_SECONDS  length of the churn and of the sustained load
//   VANE_HARDENING_PROBE    number of cross-tenant probe requests (≥ 10,000)
//   VANE_HARDENING_REPORT   where to write the figures (JSON)
//   VANE_HARDENING_PHASES   which phases to run (default probe,churn,load)
//   VANE_HARDENING_FAULTS   the worker's VANE_TEST_FAULTS periods when it
//                           injects KV / Durable Object failures ('' = none)
//
// Phases, each failing the run on the first broken invariant:
// 1. setup: TENANTS tenants, each with its own client key and flags that
//    name their tenant; every tenant's versions lie in its own range, so any
//    answer from the wrong tenant is recognisable by value and by header.
// 2. cross-tenant probe: keys × tenant paths × flag names, mixed; every
//    answer must be exactly the expected one (status, tenant, value), and
//    zero may come from another tenant.
// 3. churn: for every tenant a publisher (publishes, every third operation
//    a rollback) while readers read every tenant. No answer
//    may be a 500, from another tenant, or of a version never published for
//    its tenant; admin answers must be documented ones; afterwards every
//    tenant's reads converge to its authority's current version. With
//    injected faults, every publish or rollback answered 503 must have left
//    what its message says (the old current snapshot, or the new one in the
//    authority with the edge behind), and retrying it must converge; the
//    injected faults are counted from the wrangler log.
// 4. sustained load: autocannon on the bulk evaluation endpoint; zero 5xx.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set; run scripts/hardening.sh`);
  return v;
};
const URL_BASE = env('VANE_URL');
const TOKEN = env('VANE_ADMIN_TOKEN');
const VANE = env('VANE_BIN');
const DIR = env('VANE_HARDENING_DIR');
const SECONDS = Number(env('VANE_HARDENING_SECONDS', '10'));
const PROBE = Number(env('VANE_HARDENING_PROBE', '10000'));
const REPORT = env('VANE_HARDENING_REPORT', join(DIR, 'hardening.json'));
const PHASES = env('VANE_HARDENING_PHASES', 'probe,churn,load').split(',');
const FAULTS = env('VANE_HARDENING_FAULTS', '');

const TENANTS = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d'];
const VERSION_BASE = 1_000_000; // tenant i's versions: (i + 1) * VERSION_BASE + n
const CONCURRENCY = 24;
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const figures = {};

// ------------------------------------------------------------------ setup

const keys = Object.fromEntries(TENANTS.map((t) => [t, `${t}-key-${randomBytes(8).toString('hex')}`]));
const versionRange = (t) => (TENANTS.indexOf(t) + 1) * VERSION_BASE;
const tenantOfVersion = (v) => TENANTS[Math.floor(v / VERSION_BASE) - 1];

// Every tenant has the same flag names `owner` and `version-tag`, plus a
// flag only it has; values name the tenant (and the version).
function rules(t, version) {
  return `tenant: ${t}
clients:
  app:
    key_sha256: [${sha256(keys[t])}]
flags:
  owner:
    type: string
    variants: {me: "${t}"}
    default: me
  version-tag:
    type: number
    variants: {v: ${version}}
    default: v
  only-${t}:
    type: boolean
    variants: {on: true, off: false}
    default: off
    rules:
      - split: {on: 50, off: 50}
        salt: ${t}
`;
}

function build(t, version) {
  const src = join(DIR, `${t}-${version}.yaml`);
  const out = join(DIR, `${t}-${version}.cbor`);
  writeFileSync(src, rules(t, version));
  const r = spawnSync(VANE, ['build', src, '-o', out, '--version', String(version)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `vane build ${src}: ${r.stderr}`);
  return readFileSync(out);
}

async function http(method, path, { key, body, admin } = {}) {
  const headers = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (admin) headers.authorization = `Bearer ${TOKEN}`;
  if (body !== undefined && !(body instanceof Uint8Array)) headers['content-type'] = 'application/json';
  const res = await fetch(URL_BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON: kept as text */ }
  return { status: res.status, json, text, snapshot: res.headers.get('x-vane-snapshot') };
}
const publish = (t, bytes) => http('PUT', `/admin/v1/tenants/${t}/snapshot`, { admin: true, body: bytes });
const rollback = (t) => http('POST', `/admin/v1/tenants/${t}/rollback`, { admin: true });
const status = (t) => http('GET', `/admin/v1/tenants/${t}`, { admin: true });

// Retries an operation while the worker answers 503 (an injected fault);
// anything else is returned.
async function untilAnswered(op, tries = 50) {
  for (let i = 0; ; i++) {
    const r = await op();
    if (r.status !== 503 || i >= tries) return r;
  }
}

// Runs `count` tasks with at most `width` in flight.
async function pool(count, width, task) {
  let next = 0;
  const run = async () => { while (next < count) await task(next++); };
  await Promise.all(Array.from({ length: width }, run));
}

// ------------------------------------------------------ cross-tenant probe

// What a request must get: status and, for 200, the tenant whose snapshot
// answers and what the flag holds.
function expected(keyOf, scope, flag) {
  if (keyOf === null || (scope !== null && scope !== keyOf)) return { status: 401 };
  if (flag === null) return { status: 200, tenant: keyOf, bulk: true };
  if (flag === 'owner' || flag === 'version-tag' || flag === `only-${keyOf}`) return { status: 200, tenant: keyOf };
  return { status: 404 };
}

// Who answered: the tenant named by X-Vane-Snapshot's version and by the
// flag values, or null when the answer names none.
function answeringTenants(r, flag) {
  const named = new Set();
  if (r.snapshot) named.add(tenantOfVersion(Number(r.snapshot.split('/')[0])));
  const values = flag === null ? (r.json?.flags ?? []) : [r.json ?? {}];
  for (const v of values) {
    if (v.key === 'owner' || flag === 'owner') named.add(v.value);
    if (v.key === 'version-tag' || flag === 'version-tag') named.add(tenantOfVersion(v.value));
    const only = (v.key ?? flag ?? '').match(/^only-(.*)$/);
    if (only && r.status === 200) named.add(only[1]);
  }
  named.delete(undefined);
  return named;
}

async function probe(current) {
  const scopes = [null, ...TENANTS];
  const flagNames = [null, 'owner', 'version-tag', ...TENANTS.map((t) => `only-${t}`), 'no-such-flag'];
  const keyOwners = [...TENANTS, null];
  let wrongTenant = 0, unexpected = 0, done = 0;
  const statuses = {};
  const started = Date.now();
  await pool(PROBE, CONCURRENCY, async (i) => {
    // A deterministic mix: every combination, cycled.
    const keyOf = keyOwners[i % keyOwners.length];
    const scope = scopes[Math.floor(i / keyOwners.length) % scopes.length];
    const flag = flagNames[Math.floor(i / (keyOwners.length * scopes.length)) % flagNames.length];
    const prefix = scope === null ? '' : `/tenants/${scope}`;
    const path = `${prefix}/ofrep/v1/evaluate/flags${flag === null ? '' : `/${flag}`}`;
    const key = keyOf === null ? `unknown-key-${i % 7}` : keys[keyOf];
    const r = await http('POST', path, { key, body: { context: { targetingKey: `user-${i}` } } });
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    done++;
    const want = expected(keyOf, scope, flag);
    const named = answeringTenants(r, flag);
    if ([...named].some((t) => t !== keyOf)) {
      wrongTenant++;
      console.error(`probe: WRONG TENANT key of ${keyOf}, path ${path}: ${r.status} ${r.snapshot} ${r.text}`);
    }
    let ok = r.status === want.status;
    if (ok && want.status === 200) {
      ok = r.snapshot === `${current[keyOf].version}/${current[keyOf].digest.slice(0, 12)}`;
      if (want.bulk) {
        const got = (r.json?.flags ?? []).map((f) => f.key).sort();
        ok &&= JSON.stringify(got) === JSON.stringify(['only-' + keyOf, 'owner', 'version-tag'].sort());
      } else if (flag === 'owner') {
        ok &&= r.json?.value === keyOf;
      }
    }
    if (!ok) {
      unexpected++;
      if (unexpected <= 5) console.error(`probe: unexpected answer, key of ${keyOf}, ${path}: want ${JSON.stringify(want)}, got ${r.status} ${r.snapshot} ${r.text}`);
    }
  });
  const seconds = (Date.now() - started) / 1000;
  figures.probe = { requests: done, wrong_tenant: wrongTenant, unexpected, statuses, seconds, requests_per_second: Math.round(done / seconds) };
  console.log(`probe: ${done} requests in ${seconds.toFixed(1)} s, ${wrongTenant} from the wrong tenant, ${unexpected} unexpected, statuses ${JSON.stringify(statuses)}`);
  assert.equal(wrongTenant, 0, 'no answer may come from another tenant');
  assert.equal(unexpected, 0, 'every probe answer is the expected one');
}

// ------------------------------------------------------------------ churn

// Admin answers the documented API allows during churn (docs/http-api.md).
const ADMIN_OK = new Set([200, 201, 409, 404, 503]);

async function churn(current) {
  const until = Date.now() + SECONDS * 1000;
  const published = Object.fromEntries(TENANTS.map((t) => [t, new Set([current[t].version])]));
  const stats = { publishes: 0, rollbacks: 0, admin_503: 0, admin_refusals: 0, reads: 0, read_503: 0, read_other: {}, wrong_tenant: 0, unknown_version: 0, server_errors: 0, failed_ops_checked: 0, inconsistent: 0, retries: 0 };
  // After an admin answer of 503: the authority must hold what the message
  // says (old current, or new current with the edge behind), and retrying
  // the same operation must converge to the new current.
  const afterFailure = async (t, r, before, retry, wantVersion) => {
    const message = r.json?.errorDetails ?? r.text;
    const s = await untilAnswered(() => status(t));
    const now = s.json?.current?.version;
    const old = /nothing was made current/.test(message);
    const behind = /copy in KV, which the edge reads, was not written/.test(message);
    stats.failed_ops_checked++;
    if (s.status !== 200 || !(old || behind) || (old && now !== before) || (behind && wantVersion !== undefined && now !== wantVersion)) {
      stats.inconsistent++;
      console.error(`churn: ${t} 503 "${message}" but the authority has ${now} (before ${before}, wanted ${wantVersion})`);
    }
    for (let i = 0; i < 50; i++) {
      const again = await retry();
      stats.retries++;
      if (again.status !== 503) {
        const settled = await untilAnswered(() => status(t));
        const current = settled.json?.current?.version;
        const ok = (again.status < 300 || again.json?.errorCode === 'ALREADY_CURRENT' || again.status === 409)
          && (wantVersion === undefined || current === wantVersion);
        if (!ok) {
          stats.inconsistent++;
          console.error(`churn: ${t} retry answered ${again.status} ${again.text}; authority at ${current}, wanted ${wantVersion}`);
        }
        return current;
      }
    }
    stats.inconsistent++;
    console.error(`churn: ${t} retries never got past 503`);
    return undefined;
  };
  const next = Object.fromEntries(TENANTS.map((t) => [t, 100]));
  const publisher = async (t) => {
    let before = current[t].version;
    for (let op = 0; Date.now() < until; op++) {
      let r;
      if (op % 3 === 2) {
        r = await rollback(t);
        stats.rollbacks++;
        if (r.status === 503 && FAULTS) before = await afterFailure(t, r, before, () => rollback(t), undefined);
        else if (r.status === 200) before = r.json.version;
      } else {
        const version = versionRange(t) + next[t]++;
        // Counted as published before the answer: a publish that failed
        // part-way may still have taken effect (the worker promises old
        // state or new, never a mix).
        published[t].add(version);
        const bytes = build(t, version);
        r = await publish(t, bytes);
        stats.publishes++;
        if (r.status === 503 && FAULTS) before = await afterFailure(t, r, before, () => publish(t, bytes), version);
        else if (r.status === 201) before = version;
      }
      if (r.status >= 500) stats.admin_503++;
      if (r.status === 409 || r.status === 404) stats.admin_refusals++;
      if (!ADMIN_OK.has(r.status)) {
        stats.server_errors++;
        console.error(`churn: ${t} admin answer ${r.status} ${r.text}`);
      }
    }
  };
  const reader = async (n) => {
    for (let i = 0; Date.now() < until; i++) {
      const t = TENANTS[(n + i) % TENANTS.length];
      const r = await http('POST', '/ofrep/v1/evaluate/flags/version-tag', { key: keys[t], body: { context: { targetingKey: `u${i}` } } });
      stats.reads++;
      if (r.status === 200) {
        const version = Number(r.snapshot?.split('/')[0]);
        if (tenantOfVersion(version) !== t || tenantOfVersion(r.json?.value) !== t) {
          stats.wrong_tenant++;
          console.error(`churn: WRONG TENANT for ${t}: ${r.snapshot} ${r.text}`);
        } else if (r.json?.value !== version || !published[t].has(version)) {
          stats.unknown_version++;
          console.error(`churn: ${t} served version ${version} / value ${r.json?.value}, never published`);
        }
      } else if (r.status === 503) {
        stats.read_503++;
      } else {
        stats.read_other[r.status] = (stats.read_other[r.status] ?? 0) + 1;
        if (r.status >= 500) {
          stats.server_errors++;
          console.error(`churn: ${t} read answer ${r.status} ${r.text}`);
        }
      }
    }
  };
  const started = Date.now();
  await Promise.all([...TENANTS.map(publisher), ...Array.from({ length: 8 }, (_, n) => reader(n))]);
  stats.seconds = (Date.now() - started) / 1000;

  // Convergence: every tenant's reads serve its authority's current version.
  stats.converged = {};
  for (const t of TENANTS) {
    const s = await untilAnswered(() => status(t));
    assert.equal(s.status, 200, `status of ${t}: ${s.text}`);
    const want = `${s.json.current.version}/${s.json.current.digest.slice(0, 12)}`;
    let got = null;
    for (let i = 0; i < 50 && got !== want; i++) {
      const r = await http('POST', '/ofrep/v1/evaluate/flags/owner', { key: keys[t], body: { context: {} } });
      got = r.status === 200 ? r.snapshot : `${r.status}`;
    }
    stats.converged[t] = got === want;
    if (got !== want) console.error(`churn: ${t} reads serve ${got}, the authority says ${want}`);
  }
  if (FAULTS) {
    // Injected faults, as the worker logged them (worker/src/faults.rs).
    const log = readFileSync(join(DIR, 'wrangler.log'), 'utf8');
    stats.faults = { switch: FAULTS };
    for (const kind of ['kv_read', 'kv_write', 'do_storage']) {
      stats.faults[kind] = log.split(`vane test fault: injected ${kind} failure`).length - 1;
    }
  }
  figures.churn = stats;
  console.log(`churn: ${JSON.stringify(stats)}`);
  if (FAULTS) {
    for (const kind of ['kv_read', 'kv_write', 'do_storage']) {
      if (FAULTS.includes(kind)) assert.ok(stats.faults[kind] > 0, `${kind} faults were injected`);
    }
    assert.equal(stats.inconsistent, 0, 'every failed admin operation left what it said and converged on retry');
  }
  assert.equal(stats.server_errors, 0, 'no 500 (or undocumented answer) during churn');
  assert.equal(stats.wrong_tenant, 0, 'no read answered from another tenant');
  assert.equal(stats.unknown_version, 0, 'every read serves a version published for its tenant');
  assert.ok(Object.values(stats.converged).every(Boolean), 'reads converge to the authority');
  assert.ok(stats.reads > 0 && stats.publishes > 0, 'churn did something');
}

// ---------------------------------------------------------- sustained load

async function load() {
  const t = TENANTS[0];
  const result = await autocannon({
    url: `${URL_BASE}/ofrep/v1/evaluate/flags`,
    method: 'POST',
    connections: 16,
    duration: SECONDS,
    headers: { authorization: `Bearer ${keys[t]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ context: { targetingKey: 'load-user', plan: 'pro' } }),
  });
  const fivexx = result['5xx'];
  figures.load = {
    seconds: SECONDS,
    connections: 16,
    requests: result.requests.total,
    requests_per_second: result.requests.average,
    latency_ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    '2xx': result['2xx'], non2xx: result.non2xx, '5xx': fivexx, errors: result.errors, timeouts: result.timeouts,
  };
  console.log(`load: ${JSON.stringify(figures.load)}`);
  assert.equal(fivexx, 0, 'zero 5xx under sustained load');
  assert.equal(result.errors, 0, 'no connection errors');
  assert.equal(result.non2xx, 0, 'every answer is 200');
}

// -------------------------------------------------------------------- run

const current = {};
for (const t of TENANTS) {
  const bytes = build(t, versionRange(t) + 1);
  const r = await untilAnswered(() => publish(t, bytes));
  if (FAULTS && r.json?.errorCode === 'ALREADY_CURRENT') {
    // An earlier try made it current before an injected fault (edge behind).
    const s = await untilAnswered(() => status(t));
    assert.equal(s.status, 200, `status of ${t}: ${s.text}`);
    current[t] = s.json.current;
  } else {
    assert.equal(r.status, 201, `publish ${t}: ${r.text}`);
    current[t] = r.json;
  }
}
if (PHASES.includes('probe')) await probe(current);
if (PHASES.includes('churn')) await churn(current);
if (PHASES.includes('load')) await load();
writeFileSync(REPORT, JSON.stringify(figures, null, 2));
console.log(`hardening: figures in ${REPORT}`);
