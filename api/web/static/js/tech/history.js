// The device's recent history on an order: its alarms and other orders of the last 90 days
// (GET /workorders/{id}/device-history, which a technician may read for their own order)
// and its readings over the last hour in 10-minute means (GET /devices/{id}/history) for a
// few of its numeric points.

import { api } from '../lib/api.js';
import { fill, h } from '../lib/dom.js';
import { t, tr } from '../lib/i18n.js';
import { textIn } from '../lib/names.js';
import { dayTime, hhmm, now } from '../lib/time.js';

const POINTS = 3;
const HOUR_MS = 3_600_000;

async function readings(order, device) {
  const numeric = (device?.points ?? []).filter((p) => p.type === 'number' && !p.enum).slice(0, POINTS);
  const end = new Date(now()).toISOString();
  const start = new Date(now() - HOUR_MS).toISOString();
  const found = await Promise.all(numeric.map((p) => api(`/devices/${encodeURIComponent(order.device)}/history`, {
    params: { site: order.site, point: p.name, start, end, window: '10m' },
  }).catch(() => null)));
  const rows = found.filter((f) => f?.samples?.length).map((f) =>
    h('tr', { dataset: { point: f.point } },
      h('th', { scope: 'row' }, tr('point', f.point)),
      h('td', {}, f.samples.map((s) => `${hhmm(s.ts)} ${Number(Number(s.value).toFixed(2))}`).join(' · '), f.unit ? ` ${f.unit}` : '')));
  return rows.length
    ? h('table', { class: 'history-readings' }, h('caption', {}, t('history.readings')), h('tbody', {}, rows))
    : h('p', { class: 'muted' }, t('techx.noReadings'));
}

function alarms(found) {
  return found.alarms.length
    ? h('ul', { class: 'history-alarms' }, found.alarms.map((a) =>
      h('li', { dataset: { alarm: a.alarm_id } }, `${dayTime(a.raised_at)} `, tr('severity', a.severity), ' · ', textIn(a, 'title'))))
    : h('p', { class: 'muted' }, t('history.noAlarms'));
}

function orders(found) {
  return found.orders.length
    ? h('ul', { class: 'history-orders' }, found.orders.map((o) =>
      h('li', { dataset: { order: o.id } }, `${dayTime(o.reported_at)} `, tr('orderState', o.state), ' · ', textIn(o, 'title'),
        o.result ? h('span', { class: 'muted' }, ` · ${o.result}`) : null)))
    : h('p', { class: 'muted' }, t('history.noOrders'));
}

/** Fill `box` with the device's recent alarms, orders and readings. */
export async function showHistory(box, order, device) {
  fill(box, h('p', { class: 'muted' }, t('history.loading')));
  try {
    const [found, table] = await Promise.all([
      api(`/workorders/${encodeURIComponent(order.id)}/device-history`),
      readings(order, device),
    ]);
    fill(box,
      h('h4', {}, t('history.alarms')), alarms(found),
      h('h4', {}, t('history.orders')), orders(found),
      table);
  } catch (err) {
    fill(box, h('p', { class: 'error' }, err.message));
  }
}
