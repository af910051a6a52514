// The equipment operation log (设备运行日志) of a device for one day, as the API keeps it
// (GET /devices/{id}/operation-log): each point's value at the round times (08:00, 14:00,
// 20:00 by default) and its minimum, maximum and mean over the day, or for a code or a state
// (and text) its last value.

import { api } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { t, tr } from '../lib/i18n.js';
import { pointText } from './tiles.js';

export const LOG_PATH = '/devices/{device}/operation-log';

/** Today's date in the site's time zone, as YYYY-MM-DD. */
export function siteToday(timeZone, at = Date.now()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

function table(device, log) {
  const rows = log.points.filter((p) => p.values.some((v) => v.value !== null) || p.min !== null || (p.last ?? null) !== null);
  if (!rows.length) return h('p', { class: 'muted' }, t('panel.logEmpty'));
  const text = (point, value) => (value === null || value === undefined ? '—' : pointText(device, point, value));
  return h(
    'table',
    { class: 'readings oplog' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('panel.point')),
      log.times.map((time) => h('th', { scope: 'col' }, time)),
      ['min', 'max', 'mean', 'last'].map((k) => h('th', { scope: 'col' }, t(`panel.${k}`))))),
    h('tbody', {}, rows.map((p) => h('tr', { dataset: { point: p.point } },
      h('th', { scope: 'row' }, tr('point', p.point)),
      p.values.map((v) => h('td', { class: v.quality && v.quality !== 'good' ? 'stale' : '' }, text(p.point, v.value))),
      // a code or a state (a fault code, a direction) has no min, max or mean: the API gives its last value
      h('td', {}, text(p.point, p.min)),
      h('td', {}, text(p.point, p.max)),
      h('td', {}, text(p.point, p.mean)),
      h('td', {}, text(p.point, p.last))))),
  );
}

/** The log of `device` on `day` (YYYY-MM-DD) as an element. */
export async function operationLog(device, site, day) {
  const log = await api(`/devices/${encodeURIComponent(device.id)}/operation-log`, { params: { site, date: day } });
  return table(device, log);
}
