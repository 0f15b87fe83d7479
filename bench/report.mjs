// Prints the tables of docs/benchmarks.md (Markdown) from the results
// scripts/bench.sh wrote to target/bench/*.jsonl and, with --charts, writes
// the charts the page leads with (SVG, bench/charts.mjs) from the same
// results: one file per chart whose results are present.
//
// Usage: node bench/report.mjs [RESULTS_DIR] [--charts DIR]
//        (default target/bench; the committed charts live in docs/bench)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bars, lines } from "./charts.mjs";

const args = process.argv.slice(2);
const chartsAt = args.indexOf("--charts");
const chartDir = chartsAt >= 0 ? args.splice(chartsAt, 2)[1] : undefined;
const dir = args[0] ?? "target/bench";
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

// workerd direct against Unleash Edge (and, for single flags, the floor: a
// worker answering a constant on the same workerd; and Vane's answer given
// again without evaluating it, bench/http/same-answer.mjs): each case ran in
// alternating rounds;
// the round of median requests per second stands for the case (its own p50
// and p99), the spread of req/s over the rounds beside it.
const peerHttp = rows("workerd.jsonl");
const httpCases = [...new Set(peerHttp.map((r) => r.label.split("/").slice(1).join("/")))];
const median = (server, c) => {
  const runs = peerHttp.filter((r) => r.label === `${server}/${c}`).sort((a, b) => a.rps - b.rps);
  return runs.length ? { ...runs[(runs.length - 1) >> 1], lo: runs[0].rps, hi: runs.at(-1).rps, rounds: runs.length } : undefined;
};
const ms = (us) => (us === undefined ? "–" : `${(us / 1e3).toFixed(us < 1e4 ? 2 : 1)} ms`);
if (peerHttp.length) {
  out.push("\n### HTTP per core: the worker on workerd against Unleash Edge (wrk, 1 thread, 8 connections, loopback; server pinned to one core)\n");
  out.push(
    table(
      ["request/flags", "Vane req/s", "p50", "p99", "Unleash Edge req/s", "p50", "p99", "req/s ratio", "p99 ratio", "bytes/response (Vane, Edge)", "rounds", "floor req/s, p99", "answer without evaluation req/s, p99"],
      httpCases.map((c) => {
        const v = median("workerd", c), e = median("unleash-edge", c);
        const spread = (r) => (r ? `${r.rps.toFixed(0)} (${r.lo.toFixed(0)}–${r.hi.toFixed(0)})` : "–");
        const withP99 = (r) => (r ? `${spread(r)}, ${ms(r.latency_us.p99)}` : "–");
        return [
          c, spread(v), ms(v?.latency_us.p50), ms(v?.latency_us.p99), spread(e), ms(e?.latency_us.p50), ms(e?.latency_us.p99),
          v && e ? `${(v.rps / e.rps).toFixed(2)}×` : "–", v && e ? `${(v.latency_us.p99 / e.latency_us.p99).toFixed(2)}×` : "–",
          [v, e].map((r) => (r?.requests ? Math.round(r.bytes / r.requests) : "–")).join(", "), v?.rounds ?? "–",
          withP99(median("workerd-floor", c)), withP99(median("workerd-same-answer", c)),
        ];
      }),
    ),
  );
}
console.log(out.join("\n"));

if (chartDir) {
  mkdirSync(chartDir, { recursive: true });
  const write = (name, svg) => {
    writeFileSync(join(chartDir, name), svg);
    console.error(`report: wrote ${join(chartDir, name)}`);
  };
  const has = (ids) => ids.some((id) => crit.has(id));
  const peers = { "Vane (YAML rules)": "vane_yaml", "Vane (flagd rules)": "vane_flagd", "datalogic-rs": "datalogic" };
  if (has(cases.map((c) => `flag/vane_yaml/${c}`))) {
    const single = { ...peers, yggdrasil: "yggdrasil", "open-feature-flagd": "open_feature_flagd" };
    write("single-flag.svg", bars({
      title: "One flag, native: time per evaluation (lower is better)",
      subtitle: "1,000-flag tenant (open-feature-flagd: 100); criterion medians; log scale",
      categories: cases, series: Object.keys(single), value: (c, s) => ns(`flag/${single[s]}/${c}`), format: fmt, log: true,
    }));
  }
  if (has(sizes.map((n) => `all_flags/vane_yaml/${n}`))) {
    const all = { ...peers, yggdrasil: "yggdrasil_resolve_all" };
    write("all-flags.svg", bars({
      title: "Every flag for one context, native (lower is better)",
      subtitle: "criterion medians; log scale",
      categories: sizes.filter((n) => crit.has(`all_flags/vane_yaml/${n}`)).map((n) => `${n.toLocaleString("en")} flags`),
      series: Object.keys(all),
      value: (c, s) => ns(`all_flags/${all[s]}/${parseInt(c.replace(/,/g, ""))}`), format: fmt, log: true,
    }));
  }
  if (has(sizes.map((n) => `cold_start/vane_decode_verify_yaml/${n}`))) {
    const cold = {
      "Vane decode + verify": "vane_decode_verify_yaml", "serde_json parse": "json_parse",
      "datalogic-rs parse + compile": "datalogic_parse_compile", "yggdrasil take_state": "yggdrasil_take_state",
    };
    write("cold-start.svg", lines({
      title: "Cold start against tenant size: from bytes to a servable tenant (lower is better)",
      subtitle: "native, criterion medians; log-log",
      xs: sizes.filter((n) => crit.has(`cold_start/vane_decode_verify_yaml/${n}`)), series: Object.keys(cold),
      value: (n, s) => ns(`cold_start/${cold[s]}/${n}`), format: fmt,
    }));
  }
  if (size.length) {
    const col = {
      "flagd JSON (pretty)": "flagd_json", "flagd JSON (minified) gzipped": "flagd_json_min_gz",
      snapshot: "snapshot_from_flagd", "snapshot gzipped": "snapshot_from_flagd_gz",
    };
    const bytes = (b) => (b >= 1e6 ? `${(b / 1e6).toFixed(b < 1e7 ? 1 : 0)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(0)} KB` : `${b} B`);
    write("size.svg", lines({
      title: "Size against tenant size (lower is better)",
      subtitle: "the same flags as flagd JSON and as a Vane snapshot (flagd rules); gzip -9; log-log",
      xs: size.map((r) => r.flags), series: Object.keys(col), value: (n, s) => size.find((r) => r.flags === n)?.[col[s]], format: bytes,
    }));
  }
  const confCases = new Map(
    Object.entries({ decode_verify: "load", one_flag: "one flag", all_flags: "all flags" })
      .flatMap(([k, name]) => [10, 100].map((n) => [`${name}, ${n} flags`, [k, n]])),
  );
  if (has([...confCases.values()].map(([k, n]) => `confidence/vane_${k}/${n}`))) {
    const id = { Vane: (k, n) => `confidence/vane_${k}/${n}`,
      "Spotify's resolver": (k, n) => `confidence/spotify_${k === "decode_verify" ? "load" : k}/${n}` };
    write("confidence.svg", bars({
      title: "Against Spotify's Confidence resolver (lower is better)",
      subtitle: "their state load against our snapshot decode + verify, one flag, all flags; generated states; log scale",
      categories: [...confCases.keys()], series: Object.keys(id), value: (c, s) => ns(id[s](...confCases.get(c))),
      format: fmt, log: true,
    }));
  }
  if (peerHttp.length) {
    const servers = { "Vane on workerd": "workerd", "Unleash Edge": "unleash-edge" };
    // The two constant-answer workers on Vane's workerd, where measured.
    const extra = { "floor: constant answer": "workerd-floor", "Vane's answer, no evaluation": "workerd-same-answer" };
    for (const [name, server] of Object.entries(extra)) {
      if (peerHttp.some((r) => r.label.startsWith(`${server}/`))) servers[name] = server;
    }
    write("http-rps.svg", bars({
      title: "HTTP requests per second on one core (higher is better)",
      subtitle: "wrk -t1 -c8, loopback, one core each; median of the rounds; floor, no evaluation: JS workers on Vane's workerd",
      categories: httpCases, series: Object.keys(servers), value: (c, s) => median(servers[s], c)?.rps,
      format: (v) => v.toFixed(0), axis: "requests per second",
    }));
    write("http-p99.svg", bars({
      title: "HTTP latency, 99th percentile, one core (lower is better)",
      subtitle: "same runs as the requests-per-second chart",
      categories: httpCases, series: Object.keys(servers), value: (c, s) => median(servers[s], c)?.latency_us.p99,
      format: ms, axis: "p99 latency",
    }));
  }
}
