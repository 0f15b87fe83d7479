// Times the resolver inside WebAssembly in Node's V8 (the engine workerd
// embeds): the raw-export module of bench/wasm-harness, over the files
// `tenantgen` wrote. Prints JSON lines like `wasm-harness-native`:
// {"engine":"wasm","case":…,"flags":N,"ns":…} — nanoseconds per operation,
// the median of 7 batches of about 50 ms (BENCH_BATCH_MS) after a warm-up (V8 tiers up to
// its optimising compiler during the warm-up).
//
// Usage: node bench/wasm/run.mjs MODULE.wasm DIR N...
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [modulePath, dir, ...sizes] = process.argv.slice(2);
// Batch length in ms (scripts/bench.sh --smoke shortens it).
const batchMs = Number(process.env.BENCH_BATCH_MS ?? 50);
// The host's SHA-256 (the worker uses WebCrypto's): Node's, native code.
const host = {
  sha256(ptr, len, out) {
    const digest = createHash("sha256").update(new Uint8Array(w.memory.buffer, ptr, len)).digest();
    new Uint8Array(w.memory.buffer, out, 32).set(digest);
  },
};
const { instance } = await WebAssembly.instantiate(readFileSync(modulePath), { host });
const w = instance.exports;

function put(bytes) {
  const ptr = w.alloc(bytes.length);
  new Uint8Array(w.memory.buffer, ptr, bytes.length).set(bytes);
}
const text = (s) => new TextEncoder().encode(s);

function time(run) {
  let n = 1;
  for (;;) {
    const t = performance.now();
    run(n);
    if (performance.now() - t >= batchMs || n >= 2 ** 30) break;
    n *= 2;
  }
  const samples = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    run(n);
    samples.push(((performance.now() - t) * 1e6) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[3];
}

for (const size of sizes) {
  put(readFileSync(join(dir, `${size}.cbor`)));
  if (w.load_snapshot() < 0) throw new Error(`${size}.cbor does not decode in wasm`);
  const cases = JSON.parse(readFileSync(join(dir, `${size}.cases.json`), "utf8"));
  const print = (c, ns) => console.log(JSON.stringify({ engine: "wasm", case: c, flags: Number(size), ns }));
  print("decode_verify", time((n) => w.bench_decode(n)));
  print("open_verify", time((n) => w.bench_open(n, 0)));
  print("open_verify_host_sha", time((n) => w.bench_open(n, 1)));
  print("sha256", time((n) => w.bench_sha256(n)));
  put(text(JSON.stringify(cases.bulk_context)));
  if (w.load_context() < 0) throw new Error("bad bulk context");
  print("all_flags", time((n) => w.bench_all(n)));
  for (const c of cases.flags) {
    put(text(JSON.stringify(c.context)));
    if (w.load_context() < 0) throw new Error(`bad context of ${c.name}`);
    put(text(c.key));
    w.load_key();
    print(`flag/${c.name}`, time((n) => w.bench_flag(n)));
    print(`cold_flag/${c.name}`, time((n) => w.bench_cold_flag(n, 0)));
    print(`cold_flag_host_sha/${c.name}`, time((n) => w.bench_cold_flag(n, 1)));
  }
}
