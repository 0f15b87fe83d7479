// Prints the tables of docs/benchmarks.md (Markdown) from the results
// scripts/bench.sh wrote to target/bench/*.jsonl.
//
// Usage: node bench/report.mjs [RESULTS_DIR]   (default target/bench)
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "target/bench";
const rows = (name) => {
  const f = join(dir, name);
  return existsSync(f)
    ? readFileSync(f, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l))
    : [];
};

const crit = new Map(rows("criterion.jsonl").map((r) => [r.id, r.median_ns]));
const ns = (id) => crit.get(id);
const fmt = (v) => {
  if (v === undefined) return "–";
  if (v < 1e3) return `${v.toFixed(v < 100 ? 1 : 0)} ns`;
  if (v < 1e6) return `${(v / 1e3).toFixed(v < 1e4 ? 2 : 1)} µs`;
  return `${(v / 1e6).toFixed(v < 1e7 ? 2 : 1)} ms`;
};
const ratio = (a, b) => (a === undefined || b === undefined ? "–" : `${(a / b).toFixed(1)}×`);
const kb = (b) => (b === undefined ? "–" : b < 10240 ? `${b} B` : `${(b / 1024).toFixed(1)} KiB`);
const pct = (a, b) => `${((100 * a) / b).toFixed(0)} %`;
const table = (head, body) =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...body.map((r) => `| ${r.join(" | ")} |`)].join("\n");

const out = [];
const cases = ["static", "split_50_50", "in_100_hit", "in_100_miss", "semver_gte", "ends_with"];
out.push("### Single flag (1,000-flag tenant; open-feature-flagd: 100 flags)\n");
out.push(
  table(
    ["case", "Vane (YAML rules)", "Vane (flagd rules)", "datalogic-rs", "yggdrasil", "open-feature-flagd", "datalogic ÷ Vane", "yggdrasil ÷ Vane"],
    cases.map((c) => {
      const v = ns(`flag/vane_yaml/${c}`), f = ns(`flag/vane_flagd/${c}`);
      const d = ns(`flag/datalogic/${c}`), y = ns(`flag/yggdrasil/${c}`);
      const best = Math.min(v ?? Infinity, f ?? Infinity);
      return [c, fmt(v), fmt(f), fmt(d), fmt(y), fmt(ns(`flag/open_feature_flagd/${c}`)), ratio(d, best), ratio(y, best)];
    }),
  ),
);

const sizes = [10, 100, 1000, 10000];
out.push("\n### All flags for one context\n");
out.push(
  table(
    ["flags", "Vane (YAML)", "Vane (flagd)", "Vane + OFREP JSON", "datalogic-rs", "yggdrasil resolve_all", "datalogic ÷ Vane", "yggdrasil ÷ Vane"],
    sizes.map((n) => {
      const v = ns(`all_flags/vane_yaml/${n}`), f = ns(`all_flags/vane_flagd/${n}`);
      const d = ns(`all_flags/datalogic/${n}`), y = ns(`all_flags/yggdrasil_resolve_all/${n}`);
      return [n, fmt(v), fmt(f), fmt(ns(`all_flags/vane_yaml_ofrep_json/${n}`)), fmt(d), fmt(y), ratio(d, f), ratio(y, v)];
    }),
  ),
);

out.push("\n### Cold start: decode + verify against parse + compile\n");
out.push(
  table(
    ["flags", "Vane decode+verify (YAML)", "Vane decode+verify (flagd)", "serde_json parse", "datalogic parse+compile", "yggdrasil take_state", "datalogic ÷ Vane"],
    sizes.map((n) => {
      const v = ns(`cold_start/vane_decode_verify_yaml/${n}`), f = ns(`cold_start/vane_decode_verify_flagd/${n}`);
      const d = ns(`cold_start/datalogic_parse_compile/${n}`);
      return [n, fmt(v), fmt(f), fmt(ns(`cold_start/json_parse/${n}`)), fmt(d), fmt(ns(`cold_start/yggdrasil_take_state/${n}`)), ratio(d, f)];
    }),
  ),
);

out.push("\n### Build (compile to IR, per publish)\n");
out.push(
  table(
    ["flags", "Vane YAML", "flagd JSON"],
    sizes.map((n) => [n, fmt(ns(`build/vane_yaml/${n}`)), fmt(ns(`build/flagd_json/${n}`))]),
  ),
);

const wasm = rows("wasm.jsonl");
if (wasm.length) {
  const get = (engine, c, n) => wasm.find((r) => r.engine === engine && r.case === c && r.flags === n)?.ns;
  const wsizes = [...new Set(wasm.map((r) => r.flags))];
  const wcases = [...new Set(wasm.map((r) => r.case))];
  out.push("\n### WebAssembly (V8 in Node) against native, same code\n");
  out.push(
    table(
      ["case", ...wsizes.flatMap((n) => [`native, ${n}`, `wasm, ${n}`, "wasm ÷ native"])],
      wcases.map((c) => [c, ...wsizes.flatMap((n) => [fmt(get("native", c, n)), fmt(get("wasm", c, n)), ratio(get("wasm", c, n), get("native", c, n))])]),
    ),
  );
}

const size = rows("sizes.jsonl");
if (size.length) {
  out.push("\n### Snapshot size against the equivalent flagd JSON\n");
  out.push(
    table(
      ["flags", "flagd JSON (pretty)", "gzipped", "flagd JSON (minified)", "gzipped", "snapshot (YAML rules)", "gzipped", "snapshot (flagd rules)", "gzipped", "snapshot ÷ pretty JSON", "snapshot gz ÷ pretty JSON gz"],
      size.map((r) => [
        r.flags, kb(r.flagd_json), kb(r.flagd_json_gz), kb(r.flagd_json_min), kb(r.flagd_json_min_gz),
        kb(r.snapshot_from_yaml), kb(r.snapshot_from_yaml_gz), kb(r.snapshot_from_flagd), kb(r.snapshot_from_flagd_gz),
        pct(r.snapshot_from_flagd, r.flagd_json), pct(r.snapshot_from_flagd_gz, r.flagd_json_gz),
      ]),
    ),
  );
}

const worker = rows("worker-size.jsonl");
if (worker.length) {
  out.push("\n### Worker bundle\n");
  out.push(table(["file", "raw", "gzipped (-9)"], worker.map((r) => [r.file, kb(r.bytes), kb(r.gzip_bytes)])));
}

const http = rows("http.jsonl");
if (http.length) {
  out.push("\n### HTTP: OFREP against `wrangler dev` (wrk, 1 thread, 8 connections, loopback)\n");
  out.push(
    table(
      ["request/flags", "requests", "req/s", "p50", "p90", "p99", "errors"],
      http.map((r) => [
        r.label, r.requests, r.rps.toFixed(0), fmt(r.latency_us.p50 * 1e3), fmt(r.latency_us.p90 * 1e3), fmt(r.latency_us.p99 * 1e3),
        Object.values(r.errors).reduce((a, b) => a + b, 0),
      ]),
    ),
  );
}
console.log(out.join("\n"));
