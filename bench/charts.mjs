// Plain SVG charts for docs/benchmarks.md, written by bench/report.mjs from
// the same results as its tables. Two kinds: grouped horizontal bars (Vane
// against each peer per case) and log-log lines (a figure against tenant
// size). No dependencies: each chart is a string of SVG elements.

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const WIDTH = 760;

/** Stable colours: Vane in blues, each peer its own hue. */
const COLOURS = {
  "Vane": "#1f5fbf",
  "Vane (YAML rules)": "#1f5fbf",
  "Vane (flagd rules)": "#6f9fe0",
  "Vane on workerd": "#1f5fbf",
  "Vane decode + verify": "#1f5fbf",
  "snapshot": "#1f5fbf",
  "snapshot gzipped": "#6f9fe0",
  "datalogic-rs": "#d9822b",
  "datalogic-rs parse + compile": "#d9822b",
  "yggdrasil": "#8e44ad",
  "yggdrasil take_state": "#8e44ad",
  "open-feature-flagd": "#7f8c8d",
  "Unleash Edge": "#8e44ad",
  "floor: constant answer": "#95a5a6",
  "Vane's answer, no evaluation": "#6f9fe0",
  "Spotify's resolver": "#1db954",
  "serde_json parse": "#7f8c8d",
  "flagd JSON (pretty)": "#d9822b",
  "flagd JSON (minified) gzipped": "#e8b27a",
};
const colour = (name, i) => COLOURS[name] ?? ["#c0392b", "#16a085", "#2c3e50"][i % 3];

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const text = (x, y, s, attrs = "") => `<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`;

/** Axis ticks: powers of ten for a log scale, ~5 round steps for a linear one. */
function ticks(lo, hi, log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out;
  }
  const step = 10 ** Math.floor(Math.log10(hi / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => hi / s <= 6);
  return Array.from({ length: Math.floor(hi / nice) + 1 }, (_, i) => i * nice);
}

function legend(series, y) {
  let x = 16;
  return series
    .map((s, i) => {
      const item = `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${colour(s, i)}"/>${text(x + 17, y, s, 'font-size="12"')}`;
      x += 30 + s.length * 7;
      return item;
    })
    .join("");
}

function frame(height, title, subtitle, body) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(16, 24, title, 'font-size="16" font-weight="600" fill="#111"'),
    subtitle ? text(16, 42, subtitle, 'font-size="12" fill="#555"') : "",
    body,
    "</svg>\n",
  ].join("\n");
}

/**
 * Grouped horizontal bars: one group per category, one bar per series.
 * `value(category, series)` may be undefined (no bar). `format` labels a
 * bar; `log` picks a log axis (for figures spanning decades).
 */
export function bars({ title, subtitle, categories, series, value, format, log = false, axis }) {
  const bar = 13, gap = 12, left = 170, right = 90, top = 72;
  const plot = WIDTH - left - right;
  const values = categories.flatMap((c) => series.map((s) => value(c, s))).filter((v) => v > 0);
  const lo = log ? 10 ** Math.floor(Math.log10(Math.min(...values))) : 0;
  const hi = log ? 10 ** Math.ceil(Math.log10(Math.max(...values))) : Math.max(...values) * 1.05;
  const scale = (v) => (log ? (Math.log10(v / lo) / Math.log10(hi / lo)) * plot : (v / hi) * plot);
  const groupHeight = series.length * bar + gap;
  const height = top + categories.length * groupHeight + 34;
  const out = [legend(series, 60)];
  for (const t of ticks(lo || 1, hi, log).filter((t) => t >= lo && t <= hi)) {
    const x = (left + scale(t || lo)).toFixed(1);
    out.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${height - 30}" stroke="#e3e3e3"/>`);
    out.push(text(x, height - 16, format(t), 'font-size="11" fill="#666" text-anchor="middle"'));
  }
  if (axis) out.push(text(left + plot / 2, height - 2, axis, 'font-size="11" fill="#666" text-anchor="middle"'));
  categories.forEach((c, ci) => {
    const y0 = top + ci * groupHeight;
    out.push(text(left - 8, y0 + (series.length * bar) / 2 + 4, c, 'font-size="12" fill="#222" text-anchor="end"'));
    series.forEach((s, si) => {
      const v = value(c, s);
      if (!(v > 0)) return;
      const y = y0 + si * bar, w = Math.max(1, scale(v));
      out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar - 2}" fill="${colour(s, si)}"><title>${esc(`${s}, ${c}: ${format(v)}`)}</title></rect>`);
      out.push(text(left + w + 4, y + bar - 3, format(v), 'font-size="10.5" fill="#333"'));
    });
  });
  return frame(height, title, subtitle, out.join("\n"));
}

/**
 * Lines on log-log axes: x the tenant size in flags, one line per series,
 * `value(x, series)` (undefined: no point).
 */
export function lines({ title, subtitle, xs, series, value, format, axis }) {
  const left = 70, right = 48, top = 72, plotHeight = 300;
  const plot = WIDTH - left - right, height = top + plotHeight + 46;
  const values = xs.flatMap((x) => series.map((s) => value(x, s))).filter((v) => v > 0);
  const [ylo, yhi] = [Math.min(...values), Math.max(...values)].map((v, i) => 10 ** (i ? Math.ceil(Math.log10(v)) : Math.floor(Math.log10(v))));
  const [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
  const px = (x) => left + (xhi === xlo ? plot / 2 : (Math.log10(x / xlo) / Math.log10(xhi / xlo)) * plot);
  const py = (v) => top + plotHeight - (Math.log10(v / ylo) / Math.log10(yhi / ylo)) * plotHeight;
  const out = [legend(series, 60)];
  for (const t of ticks(ylo, yhi, true)) {
    const y = py(t).toFixed(1);
    out.push(`<line x1="${left}" y1="${y}" x2="${left + plot}" y2="${y}" stroke="#e3e3e3"/>`);
    out.push(text(left - 6, (py(t) + 4).toFixed(1), format(t), 'font-size="11" fill="#666" text-anchor="end"'));
  }
  for (const x of xs) {
    const at = px(x).toFixed(1);
    out.push(`<line x1="${at}" y1="${top}" x2="${at}" y2="${top + plotHeight}" stroke="#f0f0f0"/>`);
    out.push(text(at, top + plotHeight + 16, `${x.toLocaleString("en")} flags`, 'font-size="11" fill="#666" text-anchor="middle"'));
  }
  if (axis) out.push(text(left + plot / 2, height - 6, axis, 'font-size="11" fill="#666" text-anchor="middle"'));
  series.forEach((s, si) => {
    const points = xs.map((x) => [x, value(x, s)]).filter(([, v]) => v > 0);
    const c = colour(s, si);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${points.map(([x, v]) => `${px(x).toFixed(1)},${py(v).toFixed(1)}`).join(" ")}"/>`);
    for (const [x, v] of points) {
      out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3.5" fill="${c}"><title>${esc(`${s}, ${x} flags: ${format(v)}`)}</title></circle>`);
    }
  });
  return frame(height, title, subtitle, out.join("\n"));
}
