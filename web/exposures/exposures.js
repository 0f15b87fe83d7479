// The exposures page: asks the worker's admin API for a tenant's exposure
// summary and draws, per experiment, each variant's observed share of units
// (bar) against its expected share (tick), with the sample-ratio verdict.
// Nothing is loaded from elsewhere; the token stays in this tab.

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const pct = (x) => `${(x * 100).toFixed(1)} %`;
/** `n` and `word`, plural unless n is 1: "1 unit", "3 units". */
const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function status(text, state = "ok") {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

/** One experiment's block: title, verdict, bars, facts. */
function experimentBlock(e) {
  const srm = e.srm ? (e.srm.mismatch ? "mismatch" : "ok") : "none";
  const block = el("article", { class: "experiment", "data-flag": e.flag, "data-srm": srm,
    "data-snapshot-version": e.snapshot_version, "data-assignment": e.assignment });
  block.append(el("h2", {}, `${e.flag} · snapshot ${e.snapshot_version} · ${e.assignment}`));
  const verdict = e.srm
    ? `${e.srm.mismatch ? "Sample ratio mismatch" : "No sample ratio mismatch"}: χ² = ${e.srm.chi_square.toFixed(2)}, df ${e.srm.df}, p = ${e.srm.p_value.toPrecision(3)}`
    : "Sample ratio check: not enough data";
  block.append(el("p", { class: "verdict" }, verdict));

  // Room for the longest variant name (about 7.5 px a character at 12 px)
  // and for the figures after the bar; the viewBox scales the chart down
  // to a narrow window instead of clipping it.
  const longest = Math.max(...e.variants.map((v) => v.variant.length), 0);
  const rowHeight = 30, labelWidth = Math.max(140, Math.ceil(longest * 7.5) + 12), barWidth = 520;
  const width = labelWidth + barWidth + 320, height = rowHeight * e.variants.length + 6;
  const svg = el("svg:svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `observed and expected shares of ${e.flag}` });
  e.variants.forEach((v, i) => {
    const y = i * rowHeight + 3;
    const row = el("svg:g", { class: "variant", "data-variant": v.variant,
      "data-observed": v.observed_share, "data-expected": v.expected_share, "data-units": v.units });
    row.append(el("svg:text", { x: 0, y: y + 17 }, v.variant));
    row.append(el("svg:rect", { class: "track", x: labelWidth, y, width: barWidth, height: 22 }));
    row.append(el("svg:rect", { class: "observed", x: labelWidth, y, width: (v.observed_share * barWidth).toFixed(2), height: 22 }));
    const tick = labelWidth + v.expected_share * barWidth;
    row.append(el("svg:line", { class: "expected", x1: tick, x2: tick, y1: y - 2, y2: y + 24 }));
    row.append(el("svg:text", { x: labelWidth + barWidth + 10, y: y + 17 },
      `${pct(v.observed_share)} observed · ${pct(v.expected_share)} expected · ${count(v.units, "unit")}`));
    svg.append(row);
  });
  block.append(svg);
  block.append(el("p", { class: "facts" },
    `${count(e.events, "event")}, ${count(e.units, "unit")}; units in several variants: ${e.units_in_several_variants}; ` +
    `exposures to zero-weight variants: ${e.zero_weight_exposures}`));
  return block;
}

async function show(tenant, flag, token) {
  status("loading…");
  const query = flag ? `?flag=${encodeURIComponent(flag)}` : "";
  const response = await fetch(`/admin/v1/tenants/${encodeURIComponent(tenant)}/exposures${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await response.json();
  if (!response.ok) {
    status(`${response.status} ${body.errorCode}: ${body.errorDetails}`, "error");
    return;
  }
  const c = body.counters;
  $("counters").textContent =
    `${body.events} distinct events in ${body.objects} objects (${body.stored_bytes} bytes) · accepted ${c.accepted} · ` +
    `written ${c.written} · deduplicated ${c.deduplicated} · dropped ${c.dropped} · dead-lettered ${c.dead_lettered}`;
  $("experiments").replaceChildren(...body.experiments.map(experimentBlock));
  status(`${body.experiments.length} experiments`);
  document.body.dataset.ready = "";
}

$("query").addEventListener("submit", (event) => {
  event.preventDefault();
  delete document.body.dataset.ready;
  show($("tenant").value.trim(), $("flag").value.trim(), $("token").value).catch((e) => status(String(e), "error"));
});
