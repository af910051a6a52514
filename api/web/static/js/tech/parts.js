// The parts used on an order: the list the technician recorded (name, quantity, unit,
// note) and, while the work is under way (accepted, on site), a form to record one more
// (POST /workorders/{id}/parts; quantity > 0, checked again by the API).

import { api } from '../lib/api.js';
import { formDialog } from '../lib/dialog.js';
import { h, toast } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { textIn } from '../lib/names.js';

const UNDER_WAY = new Set(['accepted', 'on_site']);

async function record(order, onUpdate) {
  const values = await formDialog({
    title: `${t('parts.add')} · ${textIn(order, 'title')}`,
    submit: t('parts.save'),
    fields: [
      { name: 'name', label: t('parts.name'), required: true },
      { name: 'quantity', label: t('parts.quantity'), type: 'number', min: '0.01', step: 'any', value: '1', inputmode: 'decimal', required: true },
      { name: 'unit', label: t('parts.unit'), required: true, value: t('parts.defaultUnit') },
      { name: 'note', label: t('parts.note') },
    ],
  });
  if (!values) return;
  try {
    const body = { name: values.name, quantity: Number(values.quantity), unit: values.unit, note: values.note };
    await api(`/workorders/${encodeURIComponent(order.id)}/parts`, { method: 'POST', body });
    onUpdate(await api(`/workorders/${encodeURIComponent(order.id)}`));
    toast(t('parts.saved'));
  } catch (err) {
    toast(t('common.error', { detail: err.message }), { error: true });
  }
}

/** The card's parts: what was used, and the button to record a part. */
export function partsSection(order, onUpdate) {
  const used = order.parts_used ?? [];
  return h('section', { class: 'parts', 'aria-label': t('parts.title') },
    h('h4', {}, t('parts.title')),
    used.length
      ? h('ul', { class: 'parts-list' }, used.map((p) =>
        h('li', {}, `${p.name} × ${p.quantity} ${p.unit}`, p.note ? h('span', { class: 'muted' }, ` · ${p.note}`) : null)))
      : h('p', { class: 'muted' }, t('parts.none')),
    UNDER_WAY.has(order.state)
      ? h('p', {}, h('button', { type: 'button', dataset: { action: 'parts' }, onclick: () => record(order, onUpdate) }, t('parts.add')))
      : null);
}
