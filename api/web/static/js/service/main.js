// Customer service (客服): log an owner's report as a work order (a category of the site's
// dispatch policy for a phoned-in emergency, else a trade), and follow the owners' orders
// with the clocks that bind them — the progress answer every 24 h, the answer within two
// working days, the callback within 24 h of completion — answering the owner, calling
// back (verify) and closing. Customer service may not read the live stream: the list is
// read again every 20 s and after every action.

import './texts.js'; // the page's texts, before any is looked up
import { ApiError, api, onSignedOut, useSession } from '../lib/api.js';
import { formDialog } from '../lib/dialog.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, t, tr } from '../lib/i18n.js';
import { signOut, signedInUser } from '../lib/login.js';
import { SiteIndex, localName, textIn } from '../lib/names.js';
import { pendingClocks, runAction } from '../lib/orders.js';
import { photoImg, uploadNow } from '../lib/photos.js';
import { dayTime, duration, now, setTimeZone, syncServerTime } from '../lib/time.js';

const POLL_MS = 20_000;
const OWNER_SOURCES = new Set(['manual', 'complaint']);
const TRADES = ['water_electric', 'civil', 'intelligent', 'elevator', 'fire', 'security', 'cleaning'];
const ACTIONS = ['verify', 'close', 'reopen', 'cancel'];
const orders = new Map();
let site = null;
let index = null;

function fail(err) {
  toast(t('common.error', { detail: err.message }), { error: true });
}

/** One pending clock: due time, time left (amber in its last third), or overdue. */
function clockItem(order, { clock, due }) {
  const left = due - now();
  const span = due - Date.parse(order.reported_at);
  const state = left < 0 ? 'overdue' : left < span / 3 ? 'soon' : '';
  const label = tr('clock', clock);
  const text = left < 0
    ? t('service.clockOver', { clock: label, left: duration(-left) })
    : t('service.clockLeft', { clock: label, left: duration(left) });
  return h('li', { class: state, dataset: { clock } }, text, ' · ', t('service.clockDue', { clock: '', time: dayTime(due) }).trim());
}

function card(order) {
  const clocks = pendingClocks(order);
  const actions = order.allowed_actions.filter((a) => ACTIONS.includes(a));
  const done = ['completed', 'verified', 'closed', 'cancelled'].includes(order.state);
  return h('li', { class: `order-card urgency-${order.urgency}`, dataset: { id: order.id, state: order.state } },
    h('p', { class: 'badges' },
      h('span', { class: `urgency-badge urgency-${order.urgency}` }, tr('urgency', order.urgency)),
      ' ', h('span', { class: 'chip' }, tr('orderState', order.state)),
      ' ', h('span', { class: 'chip' }, tr('source', order.source)),
      order.category && order.category !== order.source ? [' ', h('span', { class: 'chip' }, tr('category', order.category))] : null),
    h('h3', {}, textIn(order, 'title')),
    h('p', {}, [index?.where(order), order.location].filter(Boolean).join(' · ')),
    h('p', { class: 'requester' }, t('service.by', { name: order.requester_name ?? '', contact: order.requester_contact ?? '' })),
    order.assignee ? h('p', { class: 'muted' }, t('service.assignee', { name: order.assignee, contact: order.assignee_contact ?? '' })) : null,
    clocks.length ? h('ul', { class: 'clocks' }, clocks.map((c) => clockItem(order, c))) : null,
    order.breached.length ? h('p', { class: 'warning' }, t('service.breached', { clocks: order.breached.map((c) => tr('clock', c.replace(/_\d+$/, ''))).join(t('common.listSep')) })) : null,
    order.requester_answered_at ? h('p', { class: 'muted' }, t('service.lastAnswer', { time: dayTime(order.requester_answered_at) })) : null,
    order.result ? h('p', {}, t('service.result', { text: order.result })) : null,
    order.callback_note ? h('p', {}, t('service.callbackNote', { text: order.callback_note })) : null,
    order.photo_refs.length ? h('p', { class: 'photos', 'aria-label': t('service.photos', { n: order.photo_refs.length }) },
      order.photo_refs.map((ref) => photoImg(ref, t('service.photoAlt')))) : null,
    h('div', { class: 'actions' },
      order.state === 'closed' || order.state === 'cancelled' ? null
        : h('button', { type: 'button', dataset: { action: 'answer' }, onclick: () => answer(order) }, t('service.answer')),
      done ? null : h('button', { type: 'button', dataset: { action: 'progress' }, onclick: () => progress(order) }, t('service.progress')),
      actions.map((a) => h('button', { type: 'button', class: a === 'verify' || a === 'close' ? 'primary' : '', dataset: { action: a }, onclick: () => act(order, a) }, tr('action', a)))));
}

function render() {
  const list = [...orders.values()];
  list.sort((a, b) => (pendingClocks(a)[0]?.due ?? Infinity) - (pendingClocks(b)[0]?.due ?? Infinity));
  fill($('#orders'), list.map(card));
  $('#orders-empty').hidden = list.length > 0;
}

async function load() {
  const closed = $('#show-closed').checked;
  const found = await api('/workorders', { params: { site: site.id, open: !closed, limit: 500 } });
  orders.clear();
  for (const order of found) if (OWNER_SOURCES.has(order.source)) orders.set(order.id, order);
  render();
}

async function reloadQuietly() {
  try {
    await load();
  } catch {
    /* no answer: keep the list; the next read tries again */
  }
}

async function act(order, action) {
  try {
    const updated = await runAction(order, action);
    if (!updated) return;
    toast(`${tr('action', action)} · ${tr('orderState', updated.state)}`);
    await load();
  } catch (err) {
    fail(err);
  }
}

/** Tell the owner something (it stops the two-working-day clock). */
async function answer(order) {
  const values = await formDialog({
    title: `${t('service.answer')} · ${textIn(order, 'title')}`,
    submit: t('service.answer'),
    fields: [{ name: 'text', label: t('service.answerText'), type: 'textarea', required: true }],
  });
  if (!values) return;
  try {
    await api(`/workorders/${encodeURIComponent(order.id)}/comments`, { method: 'POST', body: { text: values.text, to_requester: true } });
    toast(t('service.answered'));
    await load();
  } catch (err) {
    fail(err);
  }
}

function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** The 24-hourly progress answer: why the order is still open and by when it is done. */
async function progress(order) {
  const values = await formDialog({
    title: `${t('service.progress')} · ${textIn(order, 'title')}`,
    submit: t('service.progress'),
    fields: [
      { name: 'why_open', label: t('service.whyOpen'), type: 'textarea', required: true },
      { name: 'done_by', label: t('service.doneBy'), type: 'datetime-local', required: true, value: localInput(now() + 86_400_000) },
    ],
  });
  if (!values) return;
  try {
    const body = { why_open: values.why_open, done_by: new Date(values.done_by).toISOString() };
    await api(`/workorders/${encodeURIComponent(order.id)}/progress`, { method: 'POST', body });
    toast(t('service.progressed'));
    await load();
  } catch (err) {
    fail(err);
  }
}

function options(select, pairs) {
  fill(select, pairs.map(([value, label]) => h('option', { value }, label)));
}

function fillIntake(categories) {
  options($('#in-category'), [['', t('service.ordinary')], ...categories.map((c) => [c, tr('category', c)])]);
  options($('#in-trade'), [['', t('service.tradeFromCategory')], ...TRADES.map((x) => [x, tr('trade', x)])]);
  options($('#in-urgency'), ['general', 'urgent'].map((u) => [u, tr('urgency', u)]));
  options($('#in-building'), [['', t('service.noBuilding')], ...site.buildings.map((b) => [b.id, localName(b.name)])]);
}

async function logReport(event) {
  event.preventDefault();
  const form = $('#intake');
  const v = Object.fromEntries(new FormData(form));
  const error = $('#intake-error');
  error.hidden = true;
  if (!v.category && !v.trade) {
    error.textContent = t('service.tradeNeeded');
    error.hidden = false;
    $('#in-trade').focus();
    return;
  }
  const body = {
    site: site.id,
    source: v.complaint ? 'complaint' : 'manual',
    title: v.title,
    description: v.description,
    location: v.location,
    requester_name: v.requester_name,
    requester_contact: v.requester_contact,
    urgency: v.urgency,
  };
  if (v.category) body.category = v.category;
  if (v.trade) body.trade = v.trade;
  if (v.building) body.building = v.building;
  $('#intake-submit').disabled = true;
  try {
    const files = [...$('#in-photo').files];
    if (files.length) {
      toast(t('service.uploading'));
      try {
        body.photo_refs = await Promise.all(files.map(uploadNow));
      } catch {
        throw new Error(t('service.photoFailed'));
      }
    }
    const order = await api('/workorders', { method: 'POST', body });
    form.reset();
    toast(t('service.logged', { id: order.id }));
    await load();
  } catch (err) {
    error.textContent = err instanceof ApiError ? err.message : t('common.error', { detail: err.message });
    error.hidden = false;
  } finally {
    $('#intake-submit').disabled = false;
  }
}

async function main() {
  useSession('service');
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => location.reload());
  const me = await signedInUser('service');
  $('#who').textContent = me.full_name || me.username;
  const [layout, categories] = await Promise.all([api('/web/layout'), api('/web/report-categories')]);
  syncServerTime(layout.now);
  site = layout.sites[0];
  index = new SiteIndex(site);
  setTimeZone(site.timezone);
  fillIntake(categories[site.id] ?? []);
  $('#intake').addEventListener('submit', logReport);
  $('#refresh').addEventListener('click', () => load().catch(fail));
  $('#show-closed').addEventListener('change', () => load().catch(fail));
  await load();
  setInterval(reloadQuietly, POLL_MS);
  setInterval(render, 30_000); // the clocks' time left
}

main().catch(fail);
