// A device's panel: its current readings, a trend chart per point over a chosen range,
// and its equipment operation log. History (GET /devices/{id}/history) and the log are
// used when the API lists them in /openapi.json; without them the panel says so plainly and
// charts the live readings it collects while open.

import { api } from '../lib/api.js';
import { fill, h } from '../lib/dom.js';
import { t, tr } from '../lib/i18n.js';
import { nameOf } from '../lib/names.js';
import { hhmmss, ms, now } from '../lib/time.js';
import { lineChart } from './chart.js';
import { LOG_PATH, operationLog, siteToday } from './oplog.js';
import { store } from './store.js';
import { pointText } from './tiles.js';

export const HISTORY_PATH = '/devices/{device}/history';
// Each range, and the window its history is averaged over (raw readings for an hour).
const RANGES = {
  '1h': [3600_000, null],
  '6h': [6 * 3600_000, '1m'],
  '24h': [86400_000, '5m'],
  '7d': [7 * 86400_000, '30m'],
};
const POLL_MS = 5000;
const MAX_LIVE = 2000;

let paths = null;

/** The API's paths, from its OpenAPI document (empty when it does not publish one). */
async function apiPaths() {
  if (!paths) {
    try {
      paths = new Set(Object.keys((await api('/openapi.json')).paths ?? {}));
    } catch {
      paths = new Set();
    }
  }
  return paths;
}

function readingsTable(device, reading) {
  const rows = Object.entries(reading?.points ?? {});
  if (!rows.length) return h('p', { class: 'muted' }, t('eq.noValues'));
  return h(
    'table',
    { class: 'readings' },
    h('tbody', {}, rows.map(([name, p]) =>
      h('tr', { class: p.quality === 'good' ? '' : 'stale' },
        h('th', { scope: 'row' }, tr('point', name)),
        h('td', {}, pointText(device, name, p.value)),
        h('td', { class: 'muted' }, hhmmss(p.ts))))),
  );
}

function chartable(device) {
  return device.points.filter((p) => !p.enum && p.type !== 'text' && p.type !== 'state'); // codes are never averaged
}

async function history(device, point, range) {
  const [span, window] = RANGES[range];
  const end = now();
  const params = { site: store.site.id, point: point.name, start: new Date(end - span).toISOString(), end: new Date(end).toISOString() };
  if (window) Object.assign(params, { window, fn: point.type === 'bool' ? 'max' : 'mean' });
  const series = await api(`/devices/${encodeURIComponent(device.id)}/history`, { params });
  return series.samples.map((s) => ({ ts: ms(s.ts), value: s.value }));
}

function select(id, label, options, value) {
  return [
    h('label', { for: id }, label),
    h('select', { id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))),
  ];
}

/** Open the panel of `device` (a layout device). */
export async function openDevicePanel(device) {
  const live = new Map(); // point → [{ts, value}] collected while open
  const points = chartable(device);
  const byName = new Map(points.map((p) => [p.name, p]));
  const titleId = 'panel-title';
  const readings = h('div', {});
  const note = h('p', { class: 'note', role: 'status' });
  const chartBox = h('div', { class: 'chart-box' });
  const logBox = h('div', {});
  const status = store.devices.get(device.id);
  const close = h('button', { type: 'button', class: 'secondary close' }, t('common.close'));
  const dialog = h('dialog', { class: 'device-panel', 'aria-labelledby': titleId, dataset: { device: device.id } },
    h('header', {}, h('h2', { id: titleId }, nameOf(device)), close),
    h('p', { class: 'muted' }, [tr('kind', device.kind), store.index.building(device.building), store.index.room(device.building, device.room), tr('deviceState', status?.state ?? 'unknown')].join(' · ')),
    h('section', {}, h('h3', {}, t('panel.values')), readings),
    h('section', {}, h('h3', {}, t('panel.trend')),
      h('div', { class: 'filters' },
        select('panel-point', t('panel.point'), points.map((p) => [p.name, tr('point', p.name)]), points[0]?.name),
        select('panel-range', t('panel.range'), Object.keys(RANGES).map((r) => [r, t(`panel.range.${r}`)]), '1h')),
      note, chartBox),
    h('section', {}, h('h3', {}, t('panel.log')),
      h('div', { class: 'filters' }, h('label', { for: 'panel-date' }, t('panel.date')),
        h('input', { id: 'panel-date', type: 'date', value: siteToday(store.site.timezone, now()) })),
      logBox));
  document.body.append(dialog);
  const pointSelect = dialog.querySelector('#panel-point');
  const rangeSelect = dialog.querySelector('#panel-range');
  const dateInput = dialog.querySelector('#panel-date');
  const known = await apiPaths();

  const collect = (reading) => {
    for (const [name, p] of Object.entries(reading?.points ?? {})) {
      const series = live.get(name) ?? [];
      const ts = ms(p.ts);
      if (!series.length || series.at(-1).ts < ts) series.push({ ts, value: p.value });
      if (series.length > MAX_LIVE) series.shift();
      live.set(name, series);
    }
  };
  // History is read once per point and range; readings polled while open are added to it.
  let stored = { key: '', samples: [], error: null };
  let drawn = 0; // a slow answer for an old choice must not overwrite a newer one
  const draw = async () => {
    const ticket = ++drawn;
    const point = byName.get(pointSelect.value);
    if (!point) return;
    const collected = live.get(point.name) ?? [];
    let samples = collected;
    if (known.has(HISTORY_PATH)) {
      const key = `${point.name}|${rangeSelect.value}`;
      if (stored.key !== key) {
        try {
          stored = { key, samples: await history(device, point, rangeSelect.value), error: null };
        } catch (err) {
          stored = { key, samples: [], error: err };
        }
      }
      const since = stored.samples.at(-1)?.ts ?? 0;
      samples = [...stored.samples, ...collected.filter((s) => s.ts > since)];
      if (stored.error) note.textContent = t('common.error', { detail: stored.error.message });
      else note.textContent = samples.length ? '' : t('panel.historyEmpty');
    } else note.textContent = t('panel.noHistory');
    if (ticket !== drawn) return;
    const title = `${t('panel.trend')}: ${tr('point', point.name)}`;
    fill(chartBox, lineChart(samples, { title, unit: point.unit, step: point.type === 'bool' }));
  };
  const showLog = async () => {
    if (!known.has(LOG_PATH)) return fill(logBox, h('p', { class: 'note' }, t('panel.noLog')));
    try {
      fill(logBox, await operationLog(device, store.site.id, dateInput.value));
    } catch (err) {
      fill(logBox, h('p', { class: 'note' }, t('common.error', { detail: err.message })));
    }
  };
  const poll = async () => {
    try {
      const reading = await api(`/devices/${encodeURIComponent(device.id)}/latest`, { params: { site: store.site.id } });
      store.readings.set(device.id, reading);
      collect(reading);
      fill(readings, readingsTable(device, reading));
      await draw();
    } catch {
      fill(readings, h('p', { class: 'muted' }, t('eq.unavailable')));
    }
  };

  collect(store.readings.get(device.id));
  fill(readings, readingsTable(device, store.readings.get(device.id)));
  showLog();
  dateInput.addEventListener('change', showLog);
  pointSelect.addEventListener('change', draw);
  rangeSelect.addEventListener('change', draw);
  close.addEventListener('click', () => dialog.close());
  const timer = setInterval(poll, POLL_MS);
  dialog.addEventListener('close', () => {
    clearInterval(timer);
    dialog.remove();
  });
  dialog.showModal();
  await draw();
  await poll();
}
