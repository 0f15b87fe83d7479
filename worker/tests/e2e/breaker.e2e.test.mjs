// End-to-end findings of an adversarial pass over the worker under
// `wrangler dev` (scripts/e2e.sh): each test is a request a real client
// sends that the worker once answered wrongly.
//
// - A Confidence client that resolves every flag of a large tenant (the web
//   SDK's `flags: []`) gets a resolve token that grows with the flags; its
//   `flags:apply` carrying that token must be accepted, not refused as too
//   large, or every exposure of the page is lost; past the Confidence
//   limit (1 MiB) it is still a 413, a google.rpc.Status like every
//   Confidence error;
// - a wrong method or path under /v1/ is answered as Confidence answers it.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { URL_BASE, TOKEN, VANE, DIR, ROOT } from './env.mjs';

const TENANT = 'breaker-many';
const SECRET = 'breaker-many-secret-4c1d9e';
const FLAGS = 400;

function vane(args) {
  const r = spawnSync(VANE, args, { encoding: 'utf8', env: { ...process.env, VANE_ADMIN_TOKEN: TOKEN } });
  assert.equal(r.status, 0, `vane ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

async function post(path, body) {
  const res = await fetch(URL_BASE + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

before(() => {
  // The real Confidence state's tutorial flag, copied FLAGS times under
  // other names, with this file's client secret.
  const state = JSON.parse(
    readFileSync(join(ROOT, 'conformance/confidence/real-state/resolver_state.json'), 'utf8')
      .replace('mkjJruAATQWjeY7foFIWfVAcBWnci2YF', SECRET),
  );
  const tutorial = JSON.stringify(state.flags.find((f) => f.name === 'flags/tutorial-feature'));
  state.flags = Array.from({ length: FLAGS }, (_, i) =>
    JSON.parse(tutorial.replaceAll('flags/tutorial-feature', `flags/many-${i}`)));
  const file = join(DIR, `${TENANT}.json`);
  writeFileSync(file, JSON.stringify(state));
  const out = join(DIR, `${TENANT}.cbor`);
  vane(['build', file, '--format', 'confidence', '--account', TENANT, '-o', out, '--version', '1']);
  vane(['publish', out, '--url', URL_BASE]);
});

test(`an apply of all ${FLAGS} flags a resolve returned is accepted: the token it carries is the worker's own`, async () => {
  const resolved = await post('/v1/flags:resolve', {
    clientSecret: SECRET,
    evaluationContext: { visitor_id: 'tutorial_visitor', targeting_key: 'u-1' },
    flags: [],
    apply: false,
  });
  assert.equal(resolved.status, 200, resolved.text);
  const { resolvedFlags, resolveToken } = JSON.parse(resolved.text);
  assert.equal(resolvedFlags.length, FLAGS);
  const assigned = resolvedFlags.filter((f) => f.variant);
  assert.equal(assigned.length, FLAGS, 'the tutorial visitor is assigned every copy');
  const now = new Date().toISOString();
  const body = {
    clientSecret: SECRET,
    resolveToken,
    sendTime: now,
    flags: resolvedFlags.map((f) => ({ flag: f.flag, applyTime: now })),
  };
  assert.ok(JSON.stringify(body).length > 64 * 1024, 'the apply body is past the OFREP limit');
  const applied = await post('/v1/flags:apply', body);
  assert.equal(applied.status, 200, applied.text.slice(0, 300));
  assert.equal(applied.headers.get('x-vane-apply'), `applied=${FLAGS} unknown=0 unassigned=0 repeated=0`);
  // The Confidence limit still holds, by Content-Length: past 1 MiB is 413.
  const huge = await post('/v1/flags:apply', { ...body, pad: 'x'.repeat(1024 * 1024) });
  assert.equal(huge.status, 413, huge.text.slice(0, 300));
  assert.deepEqual(JSON.parse(huge.text), TOO_LARGE);
});

// docs/confidence.md: 413 with code 8 RESOURCE_EXHAUSTED.
const TOO_LARGE = { code: 8, message: 'request body is larger than 1048576 bytes', details: [] };

// A chunked body over the limit is refused the same way (the worker unit
// test pipeline::confidence covers it): sent here, the refused upload makes
// wrangler dev's proxy answer the next request with its own 503.
test('a Confidence body declared over 1 MiB is a 413 google.rpc.Status', async () => {
  const pad = 'x'.repeat(1100 * 1000);
  for (const path of ['/v1/flags:resolve', '/v1/flags:apply']) {
    const declared = await post(path, { clientSecret: SECRET, pad });
    assert.equal(declared.status, 413, `${path}: ${declared.text.slice(0, 300)}`);
    assert.deepEqual(JSON.parse(declared.text), TOO_LARGE, path);
  }
});

test('routing refusals under /v1/ are google.rpc.Status bodies, as docs/confidence.md says', async () => {
  const wrong = await fetch(`${URL_BASE}/v1/flags:resolve`, { method: 'PUT', body: '{}' });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'POST, OPTIONS');
  assert.deepEqual(await wrong.json(), {
    code: 12, message: 'PUT is not allowed on /v1/flags:resolve; use POST, OPTIONS', details: [],
  });
  const missing = await post('/v1/flags:nope', {});
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.text).code, 5, missing.text);
});
