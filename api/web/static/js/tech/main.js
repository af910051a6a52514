// The technician's phone: the orders assigned to me (the API shows a technician only
// theirs), each with its SLA countdown; accept, mark on site, complete with a result and a
// photo, or decline / hand back with a reason. A new order arrives over my own live stream
// (js/tech/alerts.js) with a sound and a notification; the list is read when the stream
// starts, and every 20 s only while it is down.

import { api, onSignedOut, useSession } from '../lib/api.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, t, tr } from '../lib/i18n.js';
import { signOut, signedInUser } from '../lib/login.js';
import { SiteIndex, textIn } from '../lib/names.js';
import { announce, followMine } from './alerts.js';
import { orderExtras } from './extras.js';
import { photoImg } from '../lib/photos.js';
import { countdownBadge, faultBadge, refreshCountdowns, runAction } from '../lib/orders.js';
import { dayTime, setTimeZone, syncServerTime } from '../lib/time.js';

const TECH_ACTIONS = ['accept', 'arrive', 'complete', 'reject', 'hand_back'];
const RETURNS = new Set(['reject', 'hand_back']);
const orders = new Map();
let indexes = new Map(); // site → SiteIndex
let me = null;

function where(order) {
  return indexes.get(order.site)?.where(order) || order.location;
}

async function act(order, action) {
  try {
    const updated = await runAction(order, action);
    if (!updated) return;
    orders.set(updated.id, updated);
    render();
    toast(RETURNS.has(action) ? t('order.returned') : `${tr('action', action)} · ${tr('orderState', updated.state)}`);
  } catch (err) {
    toast(t('common.error', { detail: err.message }), { error: true });
  }
}

/** The order's photos (an owner's, a repair's), read when opened: on a phone's data, and
 * a repair's photo may still be on its way up. */
function photos(order) {
  const box = h('p', { class: 'photos' });
  return h('details', { class: 'order-photos', ontoggle: (event) => {
    if (event.target.open && !box.childElementCount) box.append(...order.photo_refs.map((ref) => photoImg(ref, t('techx.photoAlt'))));
  } }, h('summary', {}, t('techx.photos', { n: order.photo_refs.length })), box);
}

function card(order) {
  const actions = order.allowed_actions.filter((a) => TECH_ACTIONS.includes(a));
  return h('li', { class: `order-card urgency-${order.urgency}`, dataset: { id: order.id, state: order.state } },
    h('p', { class: 'badges' },
      h('span', { class: `urgency-badge urgency-${order.urgency}` }, tr('urgency', order.urgency)),
      ' ', h('span', { class: 'chip' }, tr('orderState', order.state))),
    h('h3', {}, order.source === 'alarm' && tr('category', order.category) !== order.category ? tr('category', order.category) : textIn(order, 'title')),
    order.source === 'alarm' ? h('p', { class: 'muted' }, textIn(order, 'title')) : null,
    h('p', {}, where(order)),
    order.description ? h('p', { class: 'muted' }, order.description) : null,
    countdownBadge(order),
    faultBadge(order),
    order.eta ? h('p', { class: 'muted' }, t('order.eta', { time: dayTime(order.eta) })) : null,
    order.result ? h('p', {}, t('order.result', { text: order.result })) : null,
    order.photo_refs.length ? photos(order) : null,
    orderExtras(order, indexes.get(order.site)?.devices.get(order.device) ?? null, (updated) => {
      orders.set(updated.id, updated);
      render();
    }),
    actions.length ? h('div', { class: 'actions' }, actions.map((a) =>
      h('button', { type: 'button', class: RETURNS.has(a) ? 'secondary' : 'primary', dataset: { action: a }, onclick: () => act(order, a) }, tr('action', a)))) : null);
}

function render() {
  const list = [...orders.values()].filter((o) => o.open && o.assignee === me?.username);
  list.sort((a, b) => Number(a.urgency !== 'urgent') - Number(b.urgency !== 'urgent') || Date.parse(a.reported_at) - Date.parse(b.reported_at));
  fill($('#orders'), list.map(card));
  $('#orders-empty').hidden = list.length > 0;
}

async function load() {
  try {
    const mine = await api('/workorders', { params: { open: true, limit: 200 } });
    orders.clear();
    for (const order of mine) orders.set(order.id, order);
    render();
  } catch {
    /* no signal: keep the list; the next read tries again */
  }
}

/** A change of one of my orders from my stream: a new one is announced, one no longer
 * mine (declined, handed back, re-assigned) leaves the list. */
async function onOrder(change) {
  const known = orders.get(change.order_id);
  if (change.assignee !== me.username || !change.open) {
    if (known) {
      orders.delete(change.order_id);
      render();
    }
    return;
  }
  try {
    const order = await api(`/workorders/${encodeURIComponent(change.order_id)}`);
    const fresh = !known || known.state !== order.state && order.state === 'dispatched';
    orders.set(order.id, order);
    render();
    if (fresh && order.state === 'dispatched') announce(order);
  } catch {
    /* gone or no signal: the next reload settles it */
  }
}

async function main() {
  useSession('tech');
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => location.reload());
  me = await signedInUser('tech');
  $('#who').textContent = me.full_name || me.username;
  const layout = await api('/web/layout');
  syncServerTime(layout.now);
  indexes = new Map(layout.sites.map((s) => [s.id, new SiteIndex(s)]));
  if (layout.sites.length) setTimeZone(layout.sites[0].timezone);
  await load();
  followMine({ onOrder, reload: load });
  setInterval(() => refreshCountdowns($('#orders'), orders), 1000);
}

main().catch((err) => toast(t('common.error', { detail: err.message }), { error: true }));
