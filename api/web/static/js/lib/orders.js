// Work orders as both the dashboard and the technician's page show them: SLA clocks still
// running (the nearest one counts down), breaches, and the lifecycle actions with the
// fields each one asks for (api/schemas/workorder.py).

import { api } from './api.js';
import { formDialog } from './dialog.js';
import { h } from './dom.js';
import { t, tr } from './i18n.js';
import { textIn } from './names.js';
import { keepPhoto, uploadPending } from './photos.js';
import { clock, dayTime, ms, now } from './time.js';

/** Clocks not met yet, nearest first: [{clock, due}] (due in epoch ms). The API decides
 * which clocks are met (`pending_clocks`, from api/domain/sla.py); the page only renders. */
export function pendingClocks(order) {
  return (order.pending_clocks ?? []).map(({ clock, due }) => ({ clock, due: ms(due) }));
}

/** Every SLA clock of `order` as a line, "回访 11/03 10:15": with its date (a callback is
 * due tomorrow; a time of day alone reads as today), ✓ once met, ⚠ once breached. */
export function clockLines(order) {
  const pending = new Set(pendingClocks(order).map((c) => c.clock));
  return Object.entries(order.deadlines ?? {}).map(([name, due]) => {
    const met = !pending.has(name);
    const breached = Boolean(order.breached?.includes(name));
    const text = `${tr('clock', name)} ${dayTime(due)}${met ? ' ✓' : ''}${breached ? ' ⚠' : ''}`;
    return { clock: name, met, breached, text };
  });
}

/** The nearest clock as text and whether it ran out: {text, overdue} or null. */
export function countdown(order, at = now()) {
  const next = pendingClocks(order)[0];
  if (!next) return null;
  const left = next.due - at;
  const params = { clock: tr('clock', next.clock), time: clock(left) };
  return { text: t(left < 0 ? 'order.over' : 'order.left', params), overdue: left < 0 };
}

/** A <span> that main loops refresh every second (see refreshCountdowns). */
export function countdownBadge(order) {
  const badge = h('span', { class: 'countdown', dataset: { order: order.id } });
  paintCountdown(badge, order);
  return badge;
}

function paintCountdown(badge, order) {
  const state = countdown(order);
  badge.textContent = state ? state.text : '';
  badge.classList.toggle('overdue', Boolean(state?.overdue));
  badge.hidden = !state;
}

/** Repaint every countdown under `root` from `orders` (a Map by id). */
export function refreshCountdowns(root, orders) {
  for (const badge of root.querySelectorAll('.countdown[data-order]')) {
    const order = orders.get(badge.dataset.order);
    if (order) paintCountdown(badge, order);
  }
}

const NOTE = { name: 'note', type: 'textarea' };

/** The form of each action: fields (labels from field.*) and how they become the body. */
const FORMS = {
  dispatch: {
    fields: [
      { name: 'assignee', required: true, list: 'technicians' },
      { name: 'contact', required: true, type: 'tel' },
      { name: 'eta', required: true, type: 'number', min: 1, value: '30', inputmode: 'numeric' },
      NOTE,
    ],
    body: (v) => ({
      assignee: v.assignee,
      contact: v.contact,
      eta: new Date(now() + Number(v.eta) * 60_000).toISOString(),
      note: v.note,
    }),
  },
  complete: {
    fields: [{ name: 'result', required: true, type: 'textarea' }, { name: 'photo', type: 'file' }, NOTE],
    body: async (v) => {
      const refs = v.photo ? [await keepPhoto(v.photo)] : [];
      // Kept on the phone first; it goes up now, or on the next try if there is no signal.
      if (refs.length) uploadPending().catch(() => {});
      return { result: v.result, note: v.note, photo_refs: refs };
    },
  },
  verify: {
    fields: [{ name: 'callback_note', required: true, type: 'textarea' }, NOTE],
    body: (v) => ({ callback_note: v.callback_note, note: v.note }),
  },
  cancel: { fields: [{ name: 'reason', required: true, type: 'textarea' }], body: (v) => v },
  reject: { fields: [{ name: 'reason', required: true, type: 'textarea' }], body: (v) => v },
  hand_back: { fields: [{ name: 'reason', required: true, type: 'textarea' }], body: (v) => v },
  reopen: { fields: [{ name: 'reason', required: true, type: 'textarea' }], body: (v) => v },
};
const NOTE_ONLY = { fields: [NOTE], body: (v) => ({ note: v.note }) };
const PATHS = { hand_back: 'hand-back' }; // an action's path where it differs from its name

const OVERRIDABLE = new Set(['complete', 'close']);

/** A badge on the order's card while the fault of its alarm is still active, or null. */
export function faultBadge(order) {
  if (!order.alarm_active) return null;
  return h('span', { class: 'badge fault-active', role: 'status' }, t('order.faultActive'));
}

/** Ask for the action's fields, then POST it; resolves to the updated order or null. An
 * order whose fault is still active completes or closes only with an override reason. */
export async function runAction(order, action, { defaults = {}, extra = null, onInput = null } = {}) {
  const form = FORMS[action] ?? NOTE_ONLY;
  const override = order.alarm_active && OVERRIDABLE.has(action);
  const pm = action === 'complete' && order.source === 'maintenance';
  let fields = override ? [{ name: 'override_reason', required: true, type: 'textarea' }, ...form.fields] : form.fields;
  if (pm) fields = [...fields, ...pmFields(order)];
  const values = await formDialog({
    title: `${tr('action', action)} · ${textIn(order, 'title')}`,
    submit: tr('action', action),
    extra: override ? h('p', { class: 'warning' }, t('order.faultActiveOverride')) : extra,
    onInput,
    fields: fields.map((f) => ({
      ...f,
      label: f.label ?? t(`field.${f.name}`),
      value: defaults[f.name] ?? f.value,
    })),
  });
  if (!values) return null;
  const body = await form.body(values);
  if (override) body.override_reason = values.override_reason;
  if (pm) Object.assign(body, pmBody(order, values));
  return api(`/workorders/${encodeURIComponent(order.id)}/${PATHS[action] ?? action}`, { method: 'POST', body });
}

/** A PM order's completion: pass or fail per checklist item, and the technician's typed
 * signature (their name, confirmed with the time the server stamps). */
function pmFields(order) {
  const verdicts = [['pass', t('pm.pass')], ['fail', t('pm.fail')]];
  return [
    ...(order.checklist ?? []).map((c, i) => ({ name: `check_${i}`, label: c.item, type: 'select', options: verdicts, value: 'pass' })),
    { name: 'checklist_note', type: 'textarea' },
    { name: 'signature_name', required: true },
  ];
}

function pmBody(order, v) {
  return {
    checklist: (order.checklist ?? []).map((c, i) => {
      const ok = v[`check_${i}`] !== 'fail';
      return { item: c.item, ok, note: ok ? '' : v.checklist_note };
    }),
    signature: { name: v.signature_name, confirmed: true },
  };
}
