// End-to-end test of signed snapshots (docs/signing.md) against the worker
// under `wrangler dev`, started by scripts/e2e.sh with
// TRUSTED_PUBLISHER_KEYS = {"signed": [old, new]}: the tenant `signed`
// requires signatures by either key. Environment (besides scripts/e2e.sh's
// VANE_URL, VANE_ADMIN_TOKEN, VANE_BIN, VANE_E2E_DIR, VANE_KV_STATE):
//   VANE_SIGNING_KEYS  directory with old.pem and new.pem (trusted) and
//                      stranger.pem (not trusted), written by `vane keygen`
//
// Refusals at publish go through the admin API; refusals at load are made by
// writing snapshots and the tenant's pointer straight into the local KV
// store the dev server reads (`wrangler kv key put --local --persist-to`),
// as a KV write that bypasses the admin API would.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { env, URL_BASE, TOKEN, VANE, DIR, KV_STATE, ROOT, sha256 } from './env.mjs';

const KEYS = env('VANE_SIGNING_KEYS');

const TENANT = 'signed';
const CLIENT_KEY = 'signed-client-key-7d1e44a0';

function vane(args) {
  const r = spawnSync(VANE, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `vane ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// Builds version `version` of the tenant, signed with `signer` (a key file
// name in KEYS) or unsigned; returns the bytes and `vane inspect`'s facts.
function build(version, signer) {
  const src = join(DIR, `signed-${version}.yaml`);
  const out = join(DIR, `signed-${version}-${signer ?? 'unsigned'}.cbor`);
  writeFileSync(src, `tenant: ${TENANT}
clients:
  app:
    key_sha256: [${sha256(CLIENT_KEY)}]
flags:
  release:
    type: number
    variants: {v: ${version}}
    default: v
`);
  vane(['build', src, '-o', out, '--version', String(version), ...(signer ? ['--sign', join(KEYS, `${signer}.pem`)] : [])]);
  return { bytes: readFileSync(out), info: JSON.parse(vane(['inspect', out])) };
}

// fetch, retried once when the dev server closed the kept-alive connection
// while this process was blocked in spawnSync (`wrangler kv key put`).
function request(url, init) {
  return fetch(url, init).catch((e) => {
    if (e.cause?.code === 'UND_ERR_SOCKET' && /other side closed/.test(e.cause.message)) return fetch(url, init);
    throw e;
  });
}

async function publish(bytes) {
  const res = await request(`${URL_BASE}/admin/v1/tenants/${TENANT}/snapshot`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: bytes,
  });
  return { status: res.status, body: await res.json() };
}

// The version the edge serves the tenant's client, from X-Vane-Snapshot and
// from the flag's value (the two must agree).
async function served() {
  const res = await request(`${URL_BASE}/ofrep/v1/evaluate/flags/release`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ context: {} }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  const version = Number(res.headers.get('x-vane-snapshot').split('/')[0]);
  assert.equal(body.value, version);
  return version;
}

function kvPut(key, bytes) {
  const file = join(DIR, `signing-kv-${sha256(key).slice(0, 12)}`);
  writeFileSync(file, bytes);
  const r = spawnSync(join(ROOT, 'node_modules/.bin/wrangler'),
    ['kv', 'key', 'put', key, '--path', file, '--binding', 'SNAPSHOTS', '--local', '--persist-to', KV_STATE],
    { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `wrangler kv key put ${key}: ${r.stderr}${r.stdout}`);
}

// Writes `bytes` under its digest and points the tenant at it, in KV only.
function bypassAdmin(bytes, info) {
  kvPut(`snap/${TENANT}/${info.digest}`, bytes);
  kvPut(`tenant/${TENANT}`, JSON.stringify({
    tenant: TENANT,
    current: { digest: info.digest, version: info.version, activated_at: 1, via: 'publish' },
    history: [],
  }));
}

// Flips one bit inside the signature (the envelope's last 64 bytes).
function tampered(bytes) {
  const copy = Buffer.from(bytes);
  copy[copy.length - 20] ^= 1;
  return copy;
}

test('signed snapshots: publish refusals, rotation, replay, refusals at load', async (t) => {
  await t.test('unsigned, wrongly signed and tampered snapshots are refused at publish', async () => {
    const unsigned = await publish(build(1).bytes);
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.body.errorCode, 'UNTRUSTED_SNAPSHOT');
    assert.match(unsigned.body.errorDetails, /requires signed snapshots and this one is unsigned/);

    const stranger = build(1, 'stranger');
    const wrong = await publish(stranger.bytes);
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.errorCode, 'UNTRUSTED_SNAPSHOT');
    assert.ok(wrong.body.errorDetails.includes(stranger.info.signer), wrong.body.errorDetails);

    const bad = await publish(tampered(build(1, 'old').bytes));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errorCode, 'INVALID_SNAPSHOT');
    assert.match(bad.body.errorDetails, /snapshot signature is invalid/);
  });

  const v1 = build(1, 'old');
  await t.test('a rotation (old key, then new key) keeps serving', async () => {
    assert.equal((await publish(v1.bytes)).status, 201);
    assert.equal(await served(), 1);
    const v2 = build(2, 'new');
    assert.notEqual(v2.info.signer, v1.info.signer);
    assert.equal((await publish(v2.bytes)).status, 201);
    assert.equal(await served(), 2);
  });

  await t.test('replaying an older signed snapshot is a refused publish', async () => {
    const replay = await publish(v1.bytes);
    assert.equal(replay.status, 409);
    assert.equal(replay.body.errorCode, 'VERSION_NOT_NEWER');
    assert.equal(await served(), 2);
  });

  await t.test('KV writes that bypass the admin API are not served', async () => {
    const cases = [
      ['unsigned', build(3)],
      ['wrongly signed', build(4, 'stranger')],
      ['tampered', (() => { const s = build(5, 'new'); return { ...s, bytes: tampered(s.bytes) }; })()],
    ];
    for (const [what, snapshot] of cases) {
      bypassAdmin(snapshot.bytes, snapshot.info);
      // SNAPSHOT_TTL_SECONDS=0: every request reads the pointer again, and
      // the isolate keeps the last admitted snapshot in service.
      for (let i = 0; i < 3; i++) assert.equal(await served(), 2, `${what}: still version 2`);
    }
    // A trusted one written the same way is served: the check is the
    // signature, not the path the bytes took.
    const v6 = build(6, 'new');
    bypassAdmin(v6.bytes, v6.info);
    assert.equal(await served(), 6);
  });
});
