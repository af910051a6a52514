// The fault analysis as horizontal bars in plain SVG: one row per group, its faults in
// blue and, over them, its repeat faults in red; the count at the end of each bar.

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const ROW = 26;
const LABEL = 180;
const PAD = 40;

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** An <svg> of `groups` ({key, faults, repeats}), most faults first, at most `limit`. */
export function faultBars(groups, { title, limit = 15, label = (g) => g.key } = {}) {
  const rows = groups.slice(0, limit);
  const height = Math.max(1, rows.length) * ROW + 8;
  const root = svg('svg', { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': title });
  root.append(svg('title', {}, title));
  const most = Math.max(1, ...rows.map((g) => g.faults));
  const scale = (W - LABEL - PAD) / most;
  rows.forEach((g, i) => {
    const y = i * ROW + 4;
    const row = svg('g', { 'data-key': g.key });
    row.append(svg('text', { x: LABEL - 6, y: y + 15, 'text-anchor': 'end' }, label(g)));
    row.append(svg('rect', { class: 'bar-faults', x: LABEL, y, width: g.faults * scale, height: ROW - 8 }));
    if (g.repeats) {
      row.append(svg('rect', { class: 'bar-repeats', x: LABEL, y: y + 6, width: g.repeats * scale, height: ROW - 20 }));
    }
    row.append(svg('text', { x: LABEL + g.faults * scale + 4, y: y + 15 }, String(g.faults)));
    root.append(row);
  });
  return root;
}
