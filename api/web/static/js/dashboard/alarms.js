// The alarm board: open alarms of the site, most severe first, unacknowledged before
// acknowledged, then the longest waiting; filtered by building and kind. Each card shows
// its age and its work order's SLA countdown, and is acknowledged or commented in place.

import { api } from '../lib/api.js';
import { formDialog } from '../lib/dialog.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { t, tr } from '../lib/i18n.js';
import { textIn } from '../lib/names.js';
import { countdownBadge, refreshCountdowns } from '../lib/orders.js';
import { duration, faultSpan, hhmm, ms, now } from '../lib/time.js';
import { needsAttention, on, putAlarm, store } from './store.js';

const SEVERITIES = ['critical', 'major', 'minor', 'warning'];
const PATROL_TARGETS = new Set(['checkpoint', 'route', 'guard', 'handheld']);
const ACKERS = new Set(['admin', 'supervisor', 'duty_engineer']);
const cards = new Map(); // alarm_id → {version, el}

/** The kind an alarm is filtered by: its device kind, "patrol", or "other". */
export function kindOf(alarm) {
  if (alarm.device_kind) return alarm.device_kind;
  return PATROL_TARGETS.has(alarm.target_kind) ? 'patrol' : 'other';
}

/** How long the fault lasted: from its onset (before the rule's hold), to now while it is
 * active, to its clearing once cleared (then it stops counting). */
function ageValue(alarm) {
  if (alarm.cleared_at && !alarm.active) return h('span', { class: 'age-value', dataset: { final: '' } }, duration(faultSpan(alarm)));
  return h('span', { class: 'age-value', dataset: { since: alarm.onset_at ?? alarm.raised_at } }, duration(faultSpan(alarm)));
}

function order(a, b) {
  return (
    SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
    Number(a.state !== 'active') - Number(b.state !== 'active') ||
    ms(a.raised_at) - ms(b.raised_at)
  );
}

function stateText(alarm) {
  if (alarm.ack_requested_by && !alarm.acknowledged) return t('alarmState.pending');
  return tr('alarmState', alarm.state);
}

export async function acknowledge(alarm) {
  const values = await formDialog({
    title: `${t('alarm.ackTitle')} · ${tr('category', alarm.category)}`,
    submit: t('alarm.ack'),
    fields: [{ name: 'note', label: t('alarm.note'), type: 'textarea' }],
  });
  if (!values) return;
  try {
    const body = { note: values.note };
    putAlarm(await api(`/alarms/${encodeURIComponent(alarm.alarm_id)}/acknowledge`, { method: 'POST', body }));
    toast(t('alarm.acked'));
  } catch (err) {
    toast(t('common.error', { detail: err.message }), { error: true });
  }
}

async function comment(alarm) {
  const values = await formDialog({
    title: `${t('alarm.commentTitle')} · ${tr('category', alarm.category)}`,
    submit: t('common.submit'),
    fields: [{ name: 'text', label: t('alarm.commentText'), type: 'textarea', required: true }],
  });
  if (!values) return;
  try {
    await api(`/alarms/${encodeURIComponent(alarm.alarm_id)}/comments`, { method: 'POST', body: values });
    toast(t('common.saved'));
  } catch (err) {
    toast(t('common.error', { detail: err.message }), { error: true });
  }
}

function orderLine(alarm) {
  if (!alarm.work_order_id) return h('p', { class: 'order muted' }, t('alarm.noOrder'));
  const wo = store.orders.get(alarm.work_order_id);
  return h(
    'p',
    { class: 'order' },
    h('span', { class: 'label' }, `${t('alarm.order')} ${wo ? tr('orderState', wo.state) : ''}`),
    ' ',
    wo ? countdownBadge(wo) : null,
    wo?.breached?.length ? h('span', { class: 'breach' }, t('order.breached', { clocks: wo.breached.map((c) => tr('clock', c)).join(t('common.listSep')) })) : null,
  );
}

function card(alarm) {
  const attention = needsAttention(alarm);
  const canAck = ACKERS.has(store.me.role);
  const ackable = canAck && !alarm.acknowledged && !alarm.ack_requested_by && alarm.state !== 'closed';
  const headingId = `alarm-${alarm.alarm_id}`;
  return h(
    'li',
    {
      class: `alarm sev-${alarm.severity} state-${alarm.state}${attention ? ' attention' : ''}`,
      dataset: { id: alarm.alarm_id, severity: alarm.severity },
      'aria-labelledby': headingId,
    },
    h('span', { class: `sev-badge sev-${alarm.severity}` }, tr('severity', alarm.severity)),
    h(
      'div',
      { class: 'what' },
      h('h3', { id: headingId, class: 'category' }, tr('category', alarm.category)),
      h('p', { class: 'where' }, store.index.where(alarm)),
      h('p', { class: 'title' }, textIn(alarm, 'title')),
    ),
    h(
      'div',
      { class: 'age' },
      h('span', { class: 'label' }, t('alarm.for')),
      ageValue(alarm),
      h('span', { class: 'raised' }, t('alarm.raisedAt', { time: hhmm(alarm.raised_at) })),
    ),
    h(
      'div',
      { class: 'state' },
      h('span', { class: 'state-text' }, stateText(alarm)),
      alarm.acknowledged_by || alarm.ack_requested_by
        ? h('span', { class: 'by' }, t('alarm.ackBy', { who: alarm.acknowledged_by || alarm.ack_requested_by }))
        : null,
      alarm.occurrences > 1 ? h('span', { class: 'by' }, t('alarm.occurrences', { n: alarm.occurrences })) : null,
    ),
    orderLine(alarm),
    h(
      'div',
      { class: 'actions' },
      ackable ? h('button', { type: 'button', class: 'ack', onclick: () => acknowledge(alarm) }, t('alarm.ack')) : null,
      canAck ? h('button', { type: 'button', class: 'secondary', onclick: () => comment(alarm) }, t('alarm.comment')) : null,
    ),
  );
}

function version(alarm) {
  const wo = alarm.work_order_id ? store.orders.get(alarm.work_order_id) : null;
  return [alarm.revision, alarm.state, alarm.ack_requested_by, alarm.work_order_id, wo?.state, wo?.revision].join('|');
}

function fillFilters() {
  const building = $('#filter-building');
  const kind = $('#filter-kind');
  const keep = [building.value, kind.value];
  fill(building, h('option', { value: '' }, t('common.all')),
    store.site.buildings.map((b) => h('option', { value: b.id }, store.index.building(b.id))));
  const kinds = [...new Set([...store.site.devices.map((d) => d.kind), 'patrol', 'other'])];
  fill(kind, h('option', { value: '' }, t('common.all')),
    kinds.map((k) => h('option', { value: k }, tr('kind', k))));
  [building.value, kind.value] = keep;
}

function render() {
  const building = $('#filter-building').value;
  const kind = $('#filter-kind').value;
  const all = [...store.alarms.values()];
  const shown = all
    .filter((a) => (!building || a.building === building) && (!kind || kindOf(a) === kind))
    .sort(order);
  const list = $('#alarm-list');
  const seen = new Set();
  shown.forEach((alarm, position) => {
    seen.add(alarm.alarm_id);
    const key = version(alarm);
    let entry = cards.get(alarm.alarm_id);
    if (!entry || entry.version !== key) {
      const el = card(alarm);
      if (entry) entry.el.replaceWith(el);
      entry = { version: key, el };
      cards.set(alarm.alarm_id, entry);
    }
    if (list.children[position] !== entry.el) list.insertBefore(entry.el, list.children[position] ?? null);
  });
  for (const [id, entry] of cards) {
    if (!seen.has(id)) {
      entry.el.remove();
      cards.delete(id);
    }
  }
  $('#alarm-empty').hidden = shown.length > 0;
  const open = all.filter((a) => a.state !== 'closed');
  $('#count-alarms').textContent = open.length ? String(open.length) : '';
  paintCounts(open);
}

function paintCounts(open) {
  fill(
    $('#counts'),
    SEVERITIES.map((severity) => {
      const n = open.filter((a) => a.severity === severity).length;
      return h(
        'li',
        { class: `count sev-${severity}${n ? '' : ' zero'}`, dataset: { severity } },
        h('span', { class: 'n' }, String(n)),
        h('span', { class: 'label' }, tr('severity', severity)),
      );
    }),
  );
}

function tick() {
  const list = $('#alarm-list');
  for (const el of list.querySelectorAll('.age-value[data-since]')) el.textContent = duration(now() - ms(el.dataset.since));
  refreshCountdowns(list, store.orders);
}

export function initAlarms() {
  fillFilters();
  for (const select of [$('#filter-building'), $('#filter-kind')]) select.addEventListener('change', render);
  on('alarms', render);
  on('layout', fillFilters);
  on('tick', tick);
  render();
}
