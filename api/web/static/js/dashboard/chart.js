// A trend line in SVG, drawn here rather than by a chart library: time on x, value on y,
// four grid lines with their values, start and end times, the last value marked.
// Booleans are drawn as steps between 0 and 1.

import { hhmm, dayTime } from '../lib/time.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 220;
const PAD = { left: 56, right: 16, top: 12, bottom: 28 };

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

function numeric(samples) {
  return samples
    .filter((s) => s.value !== null && s.value !== undefined)
    .map((s) => ({ ts: s.ts, y: typeof s.value === 'boolean' ? Number(s.value) : Number(s.value) }))
    .filter((s) => Number.isFinite(s.y))
    .sort((a, b) => a.ts - b.ts);
}

function bounds(points) {
  let lo = Math.min(...points.map((p) => p.y));
  let hi = Math.max(...points.map((p) => p.y));
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

function label(value) {
  const abs = Math.abs(value);
  return value.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
}

/** An <svg> of `samples` ([{ts, value}]), titled `title` (its accessible name). */
export function lineChart(samples, { title, unit = '', step = false } = {}) {
  const points = numeric(samples);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  root.append(svg('title', {}, title));
  if (points.length === 0) return root;
  const [lo, hi] = bounds(points);
  const t0 = points[0].ts;
  const t1 = Math.max(points.at(-1).ts, t0 + 1);
  const x = (ts) => PAD.left + ((ts - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  for (let i = 0; i <= 3; i++) {
    const value = lo + ((hi - lo) * i) / 3;
    root.append(
      svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(value), y2: y(value), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: y(value) + 4, class: 'axis', 'text-anchor': 'end' }, label(value)),
    );
  }
  const span = t1 - t0;
  const when = span > 20 * 3600_000 ? dayTime : hhmm;
  root.append(
    svg('text', { x: PAD.left, y: H - 8, class: 'axis' }, when(t0)),
    svg('text', { x: W - PAD.right, y: H - 8, class: 'axis', 'text-anchor': 'end' }, when(t1)),
  );
  let d = '';
  points.forEach((p, i) => {
    if (i === 0) d += `M${x(p.ts).toFixed(1)},${y(p.y).toFixed(1)}`;
    else if (step) d += `H${x(p.ts).toFixed(1)}V${y(p.y).toFixed(1)}`;
    else d += `L${x(p.ts).toFixed(1)},${y(p.y).toFixed(1)}`;
  });
  root.append(svg('path', { d, class: 'line' }));
  const last = points.at(-1);
  root.append(
    svg('circle', { cx: x(last.ts), cy: y(last.y), r: 4, class: 'last' }),
    svg('text', { x: W - PAD.right, y: PAD.top + 12, class: 'axis last-value', 'text-anchor': 'end' }, `${label(last.y)} ${unit}`.trim()),
  );
  root.dataset.points = String(points.length);
  return root;
}
