// More on a technician's order card: a note to the duty room (a comment on the order;
// answering the owner stays with the duty room and customer service), the parts used
// (js/tech/parts.js) and the device's live readings (GET /devices/{id}/latest) with its
// recent history (js/tech/history.js), read when the technician opens them.

import './texts.js'; // the module's texts, before any is looked up
import { api } from '../lib/api.js';
import { formDialog } from '../lib/dialog.js';
import { fill, h, toast } from '../lib/dom.js';
import { enumText, t, tr } from '../lib/i18n.js';
import { hhmmss } from '../lib/time.js';
import { showHistory } from './history.js';
import { partsSection } from './parts.js';
import { textIn } from '../lib/names.js';

function value(point, reading) {
  if (reading.value === null || reading.value === undefined) return '—';
  if (point?.enum && point.enum[reading.value] !== undefined) return enumText(point.enum[reading.value]);
  if (typeof reading.value === 'boolean') return t(reading.value ? 'common.yes' : 'common.no');
  const shown = typeof reading.value === 'number' ? Number(reading.value.toFixed(2)) : reading.value;
  return `${shown}${point?.unit ? ` ${point.unit}` : ''}`;
}

async function showReadings(box, order, device) {
  try {
    const latest = await api(`/devices/${encodeURIComponent(order.device)}/latest`, { params: { site: order.site } });
    const points = new Map((device?.points ?? []).map((p) => [p.name, p]));
    const names = [...points.keys()].filter((n) => n in latest.points).concat(Object.keys(latest.points).filter((n) => !points.has(n)));
    fill(box, names.length ? h('dl', { class: 'readings' }, names.map((n) => [
      h('dt', {}, tr('point', n)),
      h('dd', { dataset: { point: n, quality: latest.points[n].quality } }, value(points.get(n), latest.points[n]), ' ',
        h('span', { class: 'muted' }, hhmmss(latest.points[n].ts)))]))
      : h('p', { class: 'muted' }, t('techx.noReadings')));
  } catch (err) {
    fill(box, h('p', { class: 'error' }, err.message));
  }
}

async function note(order) {
  const values = await formDialog({
    title: `${t('techx.note')} · ${textIn(order, 'title')}`,
    submit: t('techx.send'),
    fields: [{ name: 'text', label: t('techx.noteText'), type: 'textarea', required: true }],
  });
  if (!values) return;
  try {
    await api(`/workorders/${encodeURIComponent(order.id)}/comments`, { method: 'POST', body: { text: values.text } });
    toast(t('techx.sent'));
  } catch (err) {
    toast(t('common.error', { detail: err.message }), { error: true });
  }
}

const opened = new Set(); // `${order}:${section}` open: the list is drawn again on changes

function section(order, name, summary, load) {
  const key = `${order.id}:${name}`;
  const box = h('div', { class: `${name}-box` });
  return h('details', { class: `device-${name}`, open: opened.has(key), ontoggle: (event) => {
    if (event.target.open) {
      opened.add(key);
      load(box);
    } else opened.delete(key);
  } }, h('summary', {}, summary), box);
}

/** The extra controls of an order's card; `device` is the layout's DeviceInfo or null;
 * `onUpdate(order)` takes the order back after a part is recorded. */
export function orderExtras(order, device, onUpdate) {
  const sections = order.device
    ? [section(order, 'readings', t('techx.readings'), (box) => showReadings(box, order, device)),
      section(order, 'history', t('history.title'), (box) => showHistory(box, order, device))]
    : [];
  return [...sections, partsSection(order, onUpdate),
    h('p', {}, h('button', { type: 'button', dataset: { action: 'note' }, onclick: () => note(order) }, t('techx.note')))];
}
