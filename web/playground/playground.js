// The Vane playground: edit rules (Vane YAML or flagd JSON) and a context,
// see every flag's result and why, inspect a .cbor snapshot, and compare the
// local result with a worker's OFREP bulk answer. Everything but "compare"
// runs in this page, on the same resolver the edge runs (./pkg, built by
// scripts/build-web.sh); nothing is fetched from anywhere else.
import init, { compile, Snapshot } from "./pkg/vane.js";

const $ = (id) => document.getElementById(id);

/** Contexts the examples open with, by tenant. */
const EXAMPLE_CONTEXTS = {
  shop: { targetingKey: "user-7", email: "bo@example.org", country: "DE", plan: "free", platform: "web" },
  media: {
    targetingKey: "viewer-42",
    email: "sam@example.org",
    platform: "ios",
    appVersion: "5.3.1",
    subscription: { plan: "premium" },
    device: { model: "AppleTV 4K" },
  },
};

const state = {
  examples: [],
  example: null,
  /** The Snapshot evaluated: the last good build, or a loaded .cbor file. */
  snapshot: null,
  /** "rules" (built from the editor) or "file" (a loaded .cbor). */
  source: "rules",
  /** true while the editor's rules have errors (results are the last good build's). */
  stale: false,
  selected: null,
};

// ---------------------------------------------------------------- helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "style") node.setAttribute("style", v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const compact = (value) => (value === undefined ? "—" : JSON.stringify(value));

/** JSON with object keys sorted at every level: equal values, equal text. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function isoTime(seconds) {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

function setStatus(text, kind) {
  const s = $("status");
  s.textContent = text;
  s.dataset.state = kind;
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** The evaluation time from the "time" box: undefined (now), or Unix seconds. */
function evaluationTime() {
  const text = $("now").value.trim();
  if (!text) return { now: undefined };
  if (/^-?\d+(\.\d+)?$/.test(text)) return { now: Number(text) };
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return { error: `time: "${text}" is neither RFC 3339 nor Unix seconds` };
  return { now: ms / 1000 };
}

/** The context from its editor, or an error message. */
function readContext() {
  const text = $("context").value;
  if (!text.trim()) return { context: {} };
  try {
    return { context: JSON.parse(text) };
  } catch (e) {
    return { error: `context: ${e.message}` };
  }
}

function replaceSnapshot(snapshot) {
  if (state.snapshot && state.snapshot !== snapshot) state.snapshot.free();
  state.snapshot = snapshot;
}

// ------------------------------------------------------------------ rules

function loadExample(index) {
  const ex = state.examples[index];
  state.example = ex;
  state.source = "rules";
  state.selected = null;
  $("rules").value = ex.text;
  $("tenant").value = ex.tenant;
  $("tenant-label").hidden = ex.format !== "flagd";
  $("rules-file").textContent = ex.access ? `${ex.fileName} + ${ex.accessFileName}` : ex.fileName;
  $("context").value = JSON.stringify(EXAMPLE_CONTEXTS[ex.tenant] ?? { targetingKey: "user-1" }, null, 2);
  $("client-key").value = ex.clientKey ?? "";
  $("compare-result").replaceChildren();
  showEditor(true);
  rebuild();
}

function showEditor(visible) {
  $("rules-title").textContent = visible ? "Rules" : "Snapshot";
  $("editor").hidden = !visible;
  $("inspection").hidden = visible;
  $("back-to-rules").hidden = visible;
  $("diagnostics").hidden = !visible;
}

/** Compiles the editor's rules; on success they become the evaluated snapshot. */
function rebuild() {
  const ex = state.example;
  const out = compile($("rules").value, {
    fileName: ex.fileName,
    format: ex.format,
    tenant: ex.format === "flagd" ? $("tenant").value.trim() || undefined : undefined,
    access: ex.access ?? undefined,
    accessFileName: ex.accessFileName ?? undefined,
  });
  renderDiagnostics(out.diagnostics);
  if (out.ok) {
    replaceSnapshot(out.snapshot);
    state.stale = false;
  } else {
    state.stale = true;
  }
  renderInfo();
  evaluate();
}

function renderGutter(errorLines, warningLines) {
  const lines = $("rules").value.split("\n").length;
  const gutter = $("gutter");
  gutter.replaceChildren();
  for (let n = 1; n <= lines; n++) {
    const cls = errorLines.has(n) ? "err" : warningLines.has(n) ? "warn" : null;
    gutter.append(el("span", { class: cls }, String(n)), "\n");
  }
  gutter.scrollTop = $("rules").scrollTop;
}

function renderDiagnostics(diagnostics) {
  const list = $("diagnostics");
  list.replaceChildren();
  const errors = new Set();
  const warnings = new Set();
  for (const d of diagnostics) {
    if (d.line) (d.severity === "error" ? errors : warnings).add(d.line);
    const where = [d.file, d.line, d.column].filter((x) => x !== null && x !== undefined).join(":");
    const subject = [d.flag && `flag '${d.flag}'`, d.path && `at ${d.path}`].filter(Boolean).join(" ");
    const link = d.line
      ? el("a", { href: "#", class: "where", dataset: { line: d.line, column: d.column ?? 1 } }, where)
      : el("span", { class: "where" }, where);
    list.append(
      el("li", { class: d.severity },
        el("span", { class: "sev" }, d.severity), " ", link, subject ? ` ${subject}` : "", ": ", d.message),
    );
  }
  renderGutter(errors, warnings);
}

/** Selects a line (and puts the caret at the column) in the rules editor. */
function goToLine(line, column) {
  const area = $("rules");
  const lines = area.value.split("\n");
  let start = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
  const end = start + (lines[line - 1] ?? "").length;
  area.focus();
  area.setSelectionRange(start + Math.max(0, column - 1), end);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, (line - 4) * lineHeight);
}

// ---------------------------------------------------------- snapshot file

async function loadCbor(file) {
  let snapshot;
  try {
    snapshot = Snapshot.fromBytes(new Uint8Array(await file.arrayBuffer()));
  } catch (e) {
    setStatus(`${file.name}: ${e.message}`, "error");
    return;
  }
  replaceSnapshot(snapshot);
  state.source = "file";
  state.stale = false;
  state.selected = null;
  showEditor(false);
  renderInspection(snapshot.inspect(), file.name);
  renderInfo();
  evaluate();
}

function renderInspection(ins, fileName) {
  const info = ins.info;
  const rows = [
    ["file", fileName],
    ["tenant", info.tenant],
    ["version", info.version],
    ["digest", info.digest],
    ["created", `${isoTime(info.createdAt)} (${info.createdAt})`],
    ["builder", info.builder],
    ["bucketing", info.bucketingVersion],
    ["size", `${info.byteSize} bytes`],
    ["clients", ins.clients.map((c) => `${c.name} (${c.keys} key${c.keys === 1 ? "" : "s"})`).join(", ") || "none"],
    ["CORS origins", ins.corsOrigins.join(", ") || "any"],
    ["metadata", Object.keys(ins.metadata).length ? compact(ins.metadata) : "none"],
  ];
  const flags = ins.flags.map((f) =>
    el("tr", {},
      el("td", { class: "key" }, f.key),
      el("td", {}, f.variants.map((v) => el("div", {}, el("b", {}, v.name), " ", compact(v.value)))),
      el("td", {}, f.defaultVariant ?? "— (code default)"),
      el("td", {}, f.disabled ? "disabled" : f.targeting === "rules" ? `${f.rules} rule${f.rules === 1 ? "" : "s"}` : f.targeting),
      el("td", { class: "meta" }, Object.keys(f.metadata).length ? compact(f.metadata) : ""),
    ),
  );
  $("inspection").replaceChildren(
    el("table", { class: "facts" }, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v))))),
    el("table", { class: "results flags" },
      el("thead", {}, el("tr", {}, ["Flag", "Variants", "Default", "Targeting", "Metadata"].map((h) => el("th", {}, h)))),
      el("tbody", {}, flags),
    ),
  );
  $("rules-file").textContent = fileName;
  $("tenant-label").hidden = true;
}

function renderInfo() {
  const info = state.snapshot?.info;
  $("snapshot-info").textContent = info
    ? `${info.tenant} · v${info.version} · ${info.digest.slice(0, 12)} · ${info.byteSize} B · ${state.snapshot.flagKeys.length} flags`
    : "";
  if (state.stale) setStatus("rules have errors: showing the last good build", "error");
  else setStatus(state.source === "file" ? "snapshot file" : "built", "ok");
}

// ------------------------------------------------------------- evaluation

function evaluate() {
  const note = $("context-error");
  const ctx = readContext();
  const time = evaluationTime();
  const problem = ctx.error ?? time.error;
  if (!state.snapshot) return;
  let bulk;
  try {
    if (problem) throw new Error(problem);
    bulk = state.snapshot.evaluateAll(ctx.context, time.now);
  } catch (e) {
    note.textContent = e.message;
    note.hidden = false;
    $("results").classList.add("stale");
    return;
  }
  note.hidden = true;
  $("results").classList.toggle("stale", state.stale);
  $("results-note").textContent = state.stale ? "last good build" : `${bulk.flags.length} flags`;
  if (!state.selected || !state.snapshot.flagKeys.includes(state.selected)) state.selected = bulk.flags[0]?.key ?? null;
  renderResults(bulk.flags);
  renderExplanation(ctx.context, time.now);
}

function reasonBadge(r) {
  const reason = r.errorCode ? "ERROR" : r.reason;
  return el("span", { class: `reason r-${reason.toLowerCase()}` }, reason);
}

function renderResults(flags) {
  const body = $("results").tBodies[0];
  body.replaceChildren(
    ...flags.map((r) =>
      el("tr", { dataset: { flag: r.key }, class: r.key === state.selected ? "selected" : null, tabindex: "0" },
        el("td", { class: "key" }, r.key),
        el("td", { class: "value" }, r.errorCode ? el("span", { class: "errcode" }, r.errorCode) : compact(r.value)),
        el("td", {}, r.variant ?? "—"),
        el("td", {}, reasonBadge(r)),
      ),
    ),
  );
}

// A split, or flagd `fractional` lowered to a rule (hashes the flag key
// directly followed by the targeting key, no "|").
const splitOf = (serves) => serves.split ?? serves.fractional;
const hashedText = (serves, unit) => ("split" in serves ? `${serves.split.salt}|${unit}` : `${serves.fractional.salt}${unit}`);

function describeServe(serves) {
  if ("variant" in serves) return ["serves ", el("b", {}, serves.variant)];
  if ("holdout" in serves) return [`holdout "${serves.holdout.name}" serves `, el("b", {}, serves.holdout.variant ?? "the code default")];
  const s = splitOf(serves);
  const parts = s.cuts.map((c) => `${c.variant} ${c.weight}`).join(" / ");
  return "split" in serves
    ? [`split ${parts} by ${s.bucketBy}, salt "${s.salt}"`]
    : [`flagd fractional ${parts} by ${s.bucketBy}`];
}

function splitBar(split, placement) {
  const bar = el("div", { class: "splitbar", role: "img",
    "aria-label": `buckets 0 to ${split.total}${placement?.bucket != null ? `, this context at ${placement.bucket}` : ""}` });
  split.cuts.forEach((c, i) => {
    const width = split.total ? (100 * c.weight) / split.total : 0;
    bar.append(el("span", { class: `cut c${i % 6}${placement?.cut === i ? " hit" : ""}`, style: `width:${width}%`,
      title: `${c.variant}: buckets ${c.from}–${c.to - 1}` }, `${c.variant} ${c.from}–${c.to}`));
  });
  if (placement?.bucket != null && split.total) {
    bar.append(el("i", { class: "marker", style: `left:${(100 * (placement.bucket + 0.5)) / split.total}%` }));
  }
  return bar;
}

/** A layer or holdout: every experiment's ranges on one bar, the unit's bucket marked. */
function layerBar(step) {
  const pct = (b) => (100 * b) / step.count;
  const bar = el("div", { class: "layerbar", role: "img", "data-space": step.space,
    "aria-label": `${step.space}: buckets 0 to ${step.count}${step.bucket != null ? `, this unit at ${step.bucket}` : ""}` });
  step.slots.forEach((slot, i) => {
    for (const [lo, hi] of slot.ranges) {
      bar.append(el("span", { class: `slot c${i % 6}${step.fellInto === i ? " hit" : ""}`, style: `left:${pct(lo)}%;width:${pct(hi - lo)}%`,
        title: `${slot.flags.join(", ")}: buckets ${lo}–${hi - 1}` }, slot.flags.join(", ")));
    }
  });
  if (step.bucket != null) bar.append(el("i", { class: "marker", style: `left:${pct(step.bucket + 0.5)}%` }));
  const unit = step.bucket != null
    ? `unit ${step.unitBy} "${step.unit}" → murmur3("${step.salt}|${step.unit}") → bucket ${step.bucket} of ${step.count}`
    : `no unit needed or none in the context (${step.unitBy})`;
  const fell = step.fellInto != null ? ` · fell into ${step.slots[step.fellInto].flags.join(", ")}` : " · in no experiment";
  return el("div", { class: "layer" }, el("div", { class: "placement" }, el("b", {}, step.space), ` · ${unit}${fell} · `,
    step.holds ? "in this rule's range" : "not in this rule's range"), bar);
}

function readsLine(reads) {
  if (!reads.length) return null;
  return el("div", { class: "reads" }, "reads ",
    reads.map((r, i) => [i ? ", " : "", el("code", {}, r.path), " = ", "value" in r ? el("code", {}, compact(r.value)) : el("em", {}, "missing")]));
}

const OUTCOME_TEXT = {
  matched: "matched",
  conditionFalse: "condition false",
  notYetActive: "not active yet",
  expired: "expired",
  notReached: "not reached",
};

function renderExplanation(context, now) {
  const box = $("explanation");
  const key = state.selected;
  $("explain-flag").textContent = key ?? "select a flag";
  if (!key) return box.replaceChildren();
  const e = state.snapshot.explain(key, context, now);
  const r = e.result;
  const head = el("p", { class: "expl-head" },
    el("b", {}, key), " → ", r.errorCode ? el("span", { class: "errcode" }, `${r.errorCode}: ${r.errorDetails}`) : [el("b", {}, compact(r.value)), r.variant ? ` (${r.variant})` : ""],
    " ", reasonBadge(r),
    el("span", { class: "muted" }, ` · snapshot ${e.snapshot.tenant} v${e.snapshot.version} ${e.snapshot.digest.slice(0, 12)} · at ${isoTime(e.now)}`));
  const body = [];
  if (e.targeting === null) body.push(el("p", {}, "The snapshot has no such flag."));
  else if (e.disabled) body.push(el("p", {}, "The flag is disabled: no value, the caller's code default applies."));
  else if (e.targeting === "static") body.push(el("p", {}, "No targeting: the default variant."));
  else if (e.targeting === "invalid") body.push(el("p", {}, "The flag's targeting could not be compiled; every evaluation is PARSE_ERROR."));
  else if (e.targeting === "jsonLogic") {
    body.push(el("p", {}, "flagd JsonLogic targeting returned ", el("code", {}, compact(e.targetingResult)),
      e.targetingResult === null ? " → the default variant." : "."), readsLine(e.reads));
  }
  if (e.rules.length) {
    body.push(el("ol", { class: "rules", start: "1" }, e.rules.map((rule) => {
      const window = [rule.activeFrom != null && `from ${isoTime(rule.activeFrom)}`, rule.activeUntil != null && `until ${isoTime(rule.activeUntil)}`].filter(Boolean).join(" ");
      const item = el("li", { class: `rule o-${rule.outcome}` },
        el("span", { class: "outcome" }, OUTCOME_TEXT[rule.outcome]), " · ",
        rule.hasCondition ? "" : "no condition · ", ...describeServe(rule.serves),
        window ? el("span", { class: "muted" }, ` (${window})`) : null,
        readsLine(rule.reads), ...rule.buckets.map(layerBar));
      const s = splitOf(rule.serves);
      if (s && rule.placement) {
        const p = rule.placement;
        item.append(p.error
          ? el("div", { class: "errcode" }, p.error)
          : p.whole
          ? el("div", { class: "placement" }, "all the weight on one variant: served without a unit → ", el("b", {}, s.cuts[p.cut]?.variant ?? "—"))
          : el("div", { class: "placement" }, `unit "${p.unit}" → murmur3("${hashedText(rule.serves, p.unit)}") = ${p.hash} → bucket ${p.bucket} of ${s.total} → `,
            el("b", {}, s.cuts[p.cut]?.variant ?? "—")));
        item.append(splitBar(s, p));
      } else if (s) {
        item.append(splitBar(s, null));
      }
      return item;
    })));
    if (!e.rules.some((rule) => rule.outcome === "matched") && !e.disabled) {
      body.push(el("p", {}, "No rule applied: the default variant."));
    }
  }
  box.replaceChildren(head, ...body);
}

// ---------------------------------------------------------------- compare

/** Calls the worker's OFREP bulk endpoint and lists every difference from the local result. */
async function compareWithEdge(event) {
  event.preventDefault();
  const out = $("compare-result");
  const ctx = readContext();
  if (ctx.error) return out.replaceChildren(el("p", { class: "bad" }, ctx.error));
  const base = $("edge-url").value.trim().replace(/\/+$/, "");
  const key = $("client-key").value.trim();
  out.replaceChildren(el("p", { class: "muted" }, "asking the worker…"));
  let response;
  try {
    response = await fetch(`${base}/ofrep/v1/evaluate/flags`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
      body: JSON.stringify({ context: ctx.context }),
      cache: "no-store",
    });
  } catch (e) {
    return out.replaceChildren(el("p", { class: "bad" }, `Could not reach ${base}: ${e.message}`));
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const why = body?.errorCode ? `${body.errorCode}: ${body.errorDetails}` : response.statusText;
    return out.replaceChildren(el("p", { class: "bad" }, `The worker answered ${response.status} (${why}).`));
  }
  // The edge evaluates at its own clock, so the local side does too.
  const local = state.snapshot.evaluateAll(ctx.context);
  const edgeSnapshot = response.headers.get("X-Vane-Snapshot") ?? "?";
  const localDigest = state.snapshot.info.digest.slice(0, 12);
  const byKey = (flags) => new Map(flags.map((f) => [f.key, f]));
  const mine = byKey(local.flags);
  const theirs = byKey(body.flags ?? []);
  const keys = [...new Set([...mine.keys(), ...theirs.keys()])].sort();
  const differences = keys.filter((k) => canonical(mine.get(k)) !== canonical(theirs.get(k)));
  const sameRules = edgeSnapshot.endsWith(`/${localDigest}`);
  const summary = el("p", { class: differences.length ? "bad" : "good", id: "compare-summary" },
    differences.length
      ? `${differences.length} of ${keys.length} flags differ from the edge.`
      : `No difference: all ${keys.length} flags match the edge.`);
  const facts = el("p", { class: "muted" },
    `edge snapshot ${edgeSnapshot} · local digest ${localDigest} (${sameRules ? "same rules" : "different rules"})`);
  const table = differences.length
    ? el("table", { class: "results diff" },
        el("thead", {}, el("tr", {}, el("th", {}, "Flag"), el("th", {}, "Local"), el("th", {}, "Edge"))),
        el("tbody", {}, differences.map((k) => el("tr", {},
          el("td", { class: "key" }, k),
          el("td", {}, el("code", {}, mine.has(k) ? canonical(mine.get(k)) : "absent")),
          el("td", {}, el("code", {}, theirs.has(k) ? canonical(theirs.get(k)) : "absent"))))))
    : null;
  out.replaceChildren(summary, facts, table ?? "");
}

// ------------------------------------------------------------------- main

async function main() {
  await init({ module_or_path: new URL("./pkg/vane_bg.wasm", import.meta.url) });
  const response = await fetch(new URL("./pkg/examples.json", import.meta.url));
  state.examples = await response.json();
  const select = $("example");
  state.examples.forEach((ex, i) =>
    select.append(el("option", { value: i }, `${ex.tenant} — ${ex.fileName} (${ex.format === "flagd" ? "flagd JSON" : "Vane YAML"})`)));
  $("edge-url").value = location.origin;

  const rebuildSoon = debounce(rebuild, 120);
  const evaluateSoon = debounce(evaluate, 80);
  select.addEventListener("change", () => loadExample(Number(select.value)));
  $("rules").addEventListener("input", () => {
    renderGutter(new Set(), new Set());
    rebuildSoon();
  });
  $("rules").addEventListener("scroll", () => ($("gutter").scrollTop = $("rules").scrollTop));
  $("tenant").addEventListener("input", rebuildSoon);
  $("context").addEventListener("input", evaluateSoon);
  $("now").addEventListener("input", evaluateSoon);
  $("diagnostics").addEventListener("click", (e) => {
    const link = e.target.closest("a.where");
    if (!link) return;
    e.preventDefault();
    goToLine(Number(link.dataset.line), Number(link.dataset.column));
  });
  $("results").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-flag]");
    if (!row) return;
    state.selected = row.dataset.flag;
    evaluate();
  });
  $("results").addEventListener("keydown", (e) => {
    const row = e.target.closest("tr[data-flag]");
    if (row && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      state.selected = row.dataset.flag;
      evaluate();
    }
  });
  $("cbor").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (file) loadCbor(file);
    e.target.value = "";
  });
  $("back-to-rules").addEventListener("click", () => loadExample(Number(select.value)));
  $("compare").addEventListener("submit", compareWithEdge);
  // Keep the page evaluating at the current time when no time is fixed.
  setInterval(() => {
    if (!$("now").value.trim() && !document.hidden) evaluate();
  }, 30_000);

  loadExample(0);
  document.body.dataset.ready = "true";
}

main().catch((e) => setStatus(`failed to start: ${e.message}`, "error"));
