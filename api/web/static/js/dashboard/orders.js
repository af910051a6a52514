// The work-order queue: open orders in columns by state, urgent first, then the nearest
// deadline; every SLA clock still running counts down, breached ones are marked. The duty
// engineer dispatches from here (technicians, their trade, duty and load come from
// GET /users/technicians, and from dispatches made on this screen before).

import { api } from '../lib/api.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { t, tr } from '../lib/i18n.js';
import { textIn } from '../lib/names.js';
import { clockLines, countdownBadge, faultBadge, pendingClocks, refreshCountdowns, runAction } from '../lib/orders.js';
import { dayTime } from '../lib/time.js';
import { on, putOrder, store } from './store.js';

const COLUMNS = ['new', 'dispatched', 'accepted', 'on_site', 'completed', 'verified'];
const CONTACTS_KEY = 'ew.technicians';
const DISPATCHES = new Set(['admin', 'supervisor', 'duty_engineer']);

let contacts = JSON.parse(localStorage.getItem(CONTACTS_KEY) || '{}'); // username → contact

function nearestDue(order) {
  return pendingClocks(order)[0]?.due ?? Infinity;
}

function byUrgency(a, b) {
  return Number(a.urgency !== 'urgent') - Number(b.urgency !== 'urgent') || nearestDue(a) - nearestDue(b);
}

function title(order) {
  const category = tr('category', order.category);
  return order.source === 'alarm' && category !== order.category ? category : textIn(order, 'title');
}

/** Picking a known technician fills in their number. */
function fillContact(form, changed) {
  const contact = form.elements.namedItem('contact');
  if (changed.name === 'assignee' && contact && !contact.value && contacts[changed.value]) {
    contact.value = contacts[changed.value];
  }
}

async function act(order, action) {
  const defaults = {};
  if (action === 'dispatch' && order.assignee) {
    defaults.assignee = order.assignee;
    defaults.contact = order.assignee_contact ?? contacts[order.assignee];
  }
  try {
    const updated = await runAction(order, action, { defaults, onInput: fillContact });
    if (!updated) return;
    if (action === 'dispatch' && updated.assignee) {
      contacts[updated.assignee] = updated.assignee_contact;
      localStorage.setItem(CONTACTS_KEY, JSON.stringify(contacts));
      loadTechnicians(); // their open-order counts moved
    }
    putOrder(updated);
    toast(`${tr('action', action)} · ${tr('orderState', updated.state)}`);
  } catch (err) {
    toast(t('common.error', { detail: err.message }), { error: true });
  }
}

function clocks(order) {
  return h(
    'ul',
    { class: 'clocks' },
    clockLines(order).map((line) =>
      h('li', { class: `${line.breached ? 'breach' : ''}${line.met ? ' met' : ''}`, dataset: { clock: line.clock } }, line.text)),
  );
}

/** Why an order waiting for dispatch came back: the technician's reason for declining it
 * or handing it back (the API reads it from the order's log). */
function returned(order) {
  const back = order.state === 'new' ? order.last_return : null;
  return back ? h('p', { class: 'returned', dataset: { action: back.action } }, t(`order.returnedWhy.${back.action}`, { by: back.by, reason: back.reason })) : null;
}

function card(order) {
  const headingId = `wo-${order.id}`;
  const buttons = order.allowed_actions.map((action) =>
    h('button', { type: 'button', class: action === 'dispatch' ? 'primary' : 'secondary', dataset: { action }, onclick: () => act(order, action) }, tr('action', action)),
  );
  return h(
    'li',
    { class: `order-card urgency-${order.urgency}${order.breached?.length ? ' breached' : ''}`, dataset: { id: order.id, state: order.state }, 'aria-labelledby': headingId },
    h('p', { class: 'badges' },
      h('span', { class: `urgency-badge urgency-${order.urgency}` }, tr('urgency', order.urgency)),
      h('span', { class: 'chip' }, tr('trade', order.trade)),
      h('span', { class: 'chip' }, tr('source', order.source)),
      order.escalation_level ? h('span', { class: 'chip breach' }, t('order.escalated', { n: order.escalation_level })) : null),
    h('h3', { id: headingId }, title(order)),
    h('p', { class: 'where' }, store.index.where(order) || order.location),
    countdownBadge(order),
    faultBadge(order),
    returned(order),
    order.breached?.length ? h('p', { class: 'breach' }, t('order.breached', { clocks: order.breached.map((c) => tr('clock', c.replace(/_\d+$/, ''))).join(t('common.listSep')) })) : null,
    order.assignee ? h('p', { class: 'assignee' }, t('order.assignee', { who: order.assignee }), order.assignee_contact ? ` · ${order.assignee_contact}` : '', order.eta ? ` · ${t('order.eta', { time: dayTime(order.eta) })}` : '') : null,
    clocks(order),
    buttons.length ? h('div', { class: 'actions' }, buttons) : null,
  );
}

function render() {
  if (store.view !== 'orders') return paintCount();
  const orders = [...store.orders.values()];
  fill(
    $('#orders'),
    COLUMNS.map((state) => {
      const inState = orders.filter((o) => o.state === state).sort(byUrgency);
      return h(
        'section',
        { class: `column state-${state}`, 'aria-labelledby': `col-${state}` },
        h('h2', { id: `col-${state}` }, tr('orderState', state), h('span', { class: 'n' }, ` ${inState.length}`)),
        inState.length ? h('ol', {}, inState.map(card)) : h('p', { class: 'empty' }, t('order.none')),
      );
    }),
  );
  paintCount();
}

function paintCount() {
  const n = store.orders.size;
  $('#count-orders').textContent = n ? String(n) : '';
}

let technicians = []; // on duty first, then the least busy, as the API orders them

function technicianLabel(tech) {
  const parts = [tech.full_name || tech.username];
  if (tech.trade) parts.push(tr('trade', tech.trade));
  parts.push(tech.on_duty ? t('order.onDuty') : t('order.offDuty'));
  parts.push(t('order.openOrders', { n: tech.open_orders }));
  return parts.join(' · ');
}

function fillTechnicians(list = technicians) {
  technicians = list;
  for (const tech of list) if (tech.contact) contacts[tech.username] = tech.contact;
  const listed = new Set(list.map((tech) => tech.username));
  const others = Object.keys(contacts).filter((name) => !listed.has(name)).sort();
  fill($('#technicians'), [
    ...list.map((tech) => h('option', { value: tech.username, label: technicianLabel(tech) })),
    ...others.map((name) => h('option', { value: name })),
  ]);
}

async function loadTechnicians() {
  if (!DISPATCHES.has(store.me.role)) return fillTechnicians();
  try {
    fillTechnicians(await api('/users/technicians'));
  } catch {
    fillTechnicians();
  }
}

export function initOrders() {
  on('orders', render);
  on('view', render);
  on('layout', render);
  on('tick', () => refreshCountdowns($('#orders'), store.orders));
  loadTechnicians();
}
