// The environment scripts/e2e.sh gives every e2e test file: where the dev
// server listens, the admin token, the `vane` binary, the work folder, the
// local KV state and the wrangler dev log. `env(name)` reads any other
// variable the same way (it fails with a pointer to scripts/e2e.sh).

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run scripts/e2e.sh`);
  return v;
};
export const URL_BASE = env('VANE_URL');
export const TOKEN = env('VANE_ADMIN_TOKEN');
export const VANE = env('VANE_BIN');
export const DIR = env('VANE_E2E_DIR');
export const KV_STATE = env('VANE_KV_STATE');
export const WRANGLER_LOG = env('VANE_WRANGLER_LOG');
/** The repository root (ends with `/`). */
export const ROOT = new URL('../../../', import.meta.url).pathname;

/** sha256 of a text or bytes, hex. */
export const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** Where the wrangler dev log ends now: pass it to `logLine`. */
export const logEnd = () => statSync(WRANGLER_LOG).size;

/**
 * The worker's log line of a request (by its X-Request-Id), parsed, from
 * the log written after `from`; waits up to 10 s for it.
 */
export async function logLine(from, requestId) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = readFileSync(WRANGLER_LOG).subarray(from).toString('utf8').replace(/\x1b\[[0-9;]*m/g, '');
    const line = text.split('\n').find((l) => l.includes(`"requestId":"${requestId}"`));
    if (line) return JSON.parse(line.slice(line.indexOf('{')));
    if (Date.now() > deadline) throw new Error(`no log line for request ${requestId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
