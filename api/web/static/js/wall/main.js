// The duty room's wall overview (/wall): one 1920×1080 screen, no tabs — open alarms with
// their latest comment, the work-order clocks nearest to running out (amber in their last
// third, red once overdue), equipment state by room, patrol progress of the shift, and a
// search over the history of alarms and orders. Kept current by the live stream: any
// change reloads the overview (at most once a second).

import './texts.js'; // the page's texts, before any is looked up
import { api, onSignedOut, useSession } from '../lib/api.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, t, tr } from '../lib/i18n.js';
import { signOut, signedInUser } from '../lib/login.js';
import { SiteIndex, nameOf, routeNameOf, textIn } from '../lib/names.js';
import { pendingClocks } from '../lib/orders.js';
import { LiveStream } from '../lib/sse.js';
import { dayTime, duration, hhmm, now, setTimeZone, syncServerTime } from '../lib/time.js';

const SEVERITY = { critical: 0, major: 1, minor: 2, warning: 3 };
const COMMENTED = 8; // the alarms on top whose latest comment is read
let site = null;
let index = null;
let pending = 0;

function fail(err) {
  toast(t('common.error', { detail: err.message }), { error: true });
}

function alarmItem(alarm, detail) {
  const comment = detail?.actions?.filter((a) => a.kind === 'comment' || a.note).at(-1);
  return h('li', { class: `w-alarm sev-${alarm.severity}`, dataset: { id: alarm.alarm_id, state: alarm.state } },
    h('p', { class: 'line' },
      h('span', { class: 'title' }, tr('category', alarm.category)),
      h('span', {}, tr('severity', alarm.severity)),
      h('span', { class: 'muted' }, tr('alarmState', alarm.state))),
    h('p', { class: 'muted' }, index.where(alarm), ' · ', t('wall.since', { time: dayTime(alarm.onset_at ?? alarm.raised_at) })),
    comment ? h('p', { class: 'comment' }, t('wall.comment', { by: comment.by, note: comment.note })) : null);
}

async function loadAlarms() {
  const alarms = await api('/alarms', { params: { site: site.id, limit: 200 } });
  alarms.sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity] || Date.parse(a.raised_at) - Date.parse(b.raised_at));
  const details = await Promise.all(alarms.slice(0, COMMENTED).map((a) => api(`/alarms/${encodeURIComponent(a.alarm_id)}`).catch(() => null)));
  fill($('#w-alarm-list'), alarms.map((a, i) => alarmItem(a, details[i])));
  $('#w-alarm-empty').hidden = alarms.length > 0;
}

function clockItem(order, { clock, due }) {
  const left = due - now();
  const span = due - Date.parse(order.reported_at);
  const state = left < 0 ? 'overdue' : left < span / 3 ? 'soon' : '';
  return h('li', { class: `w-clock ${state}`, dataset: { id: order.id, clock } },
    h('p', { class: 'line' },
      h('span', { class: 'left' }, t(left < 0 ? 'wall.over' : 'wall.left', { left: duration(Math.abs(left)) })),
      h('span', {}, tr('clock', clock)),
      h('span', { class: 'title' }, textIn(order, 'title'))),
    h('p', { class: 'muted' }, [tr('orderState', order.state), order.assignee, index.where(order) || order.location].filter(Boolean).join(' · ')));
}

async function loadClocks() {
  const orders = await api('/workorders', { params: { site: site.id, open: true, limit: 500 } });
  const clocks = orders.flatMap((o) => {
    const next = pendingClocks(o)[0];
    return next ? [[o, next]] : [];
  });
  clocks.sort((a, b) => a[1].due - b[1].due);
  fill($('#w-clock-list'), clocks.map(([o, c]) => clockItem(o, c)));
  $('#w-clock-empty').hidden = clocks.length > 0;
}

async function loadEquipment(alarmed) {
  const statuses = new Map((await api('/devices', { params: { site: site.id } })).map((d) => [d.device, d.state]));
  const rooms = new Map();
  for (const device of site.devices) {
    const key = `${device.building}/${device.room}`;
    if (!rooms.has(key)) rooms.set(key, { building: device.building, room: device.room, devices: [] });
    rooms.get(key).devices.push(device);
  }
  fill($('#w-rooms'), [...rooms.values()].map((r) => h('section', { class: 'w-room', dataset: { room: r.room } },
    h('h3', {}, `${index.building(r.building)} · ${index.room(r.building, r.room)}`),
    h('ul', { class: 'w-devices' }, r.devices.map((d) => {
      const state = statuses.get(d.id) ?? 'unknown';
      const label = `${nameOf(d)} · ${alarmed.has(d.id) ? t('wall.alarmKind') : tr('deviceState', state)}`;
      return h('li', { class: `w-dev state-${state}${alarmed.has(d.id) ? ' alarmed' : ''}`, dataset: { device: d.id }, title: label }, nameOf(d));
    })))));
}

async function loadPatrol() {
  const shift = await api('/patrol/completion', { params: { site: site.id } });
  fill($('#w-rounds'), shift.rounds.length ? shift.rounds.map((r) => h('li', { dataset: { route: r.route } },
    h('p', { class: 'line' },
      h('span', { class: 'title' }, t('wall.round', { route: routeNameOf(r), start: hhmm(r.start), end: hhmm(r.end), percent: Math.round(r.percent) })),
      r.missed.length ? h('span', { class: 'muted' }, t('wall.missed', { n: r.missed.length })) : null),
    h('div', { class: 'w-bar', role: 'img', 'aria-label': `${Math.round(r.percent)}%` }, h('span', { dataset: { percent: r.percent } }))))
    : h('li', { class: 'muted' }, t('wall.noRounds')));
  for (const bar of document.querySelectorAll('#w-rounds .w-bar > span')) bar.style.width = `${Math.min(100, Number(bar.dataset.percent))}%`;
}

async function loadAll() {
  try {
    const open = await api('/alarms', { params: { site: site.id, limit: 200 } });
    const alarmed = new Set(open.filter((a) => a.active).map((a) => a.target));
    await Promise.all([loadAlarms(), loadClocks(), loadEquipment(alarmed), loadPatrol()]);
  } catch (err) {
    fail(err);
  }
}

function soon() {
  clearTimeout(pending);
  pending = setTimeout(loadAll, 1000);
}

/** Closed alarms and closed orders whose words, place or device match the query. */
async function search(event) {
  event?.preventDefault();
  const words = $('#w-query').value.trim().toLowerCase();
  try {
    const [alarms, orders] = await Promise.all([
      api('/alarms', { params: { site: site.id, state: 'closed', limit: 500 } }),
      api('/workorders', { params: { site: site.id, state: ['closed', 'cancelled'], limit: 500 } }),
    ]);
    const rows = [
      ...alarms.map((a) => ({ kind: 'alarm', at: a.raised_at, title: `${tr('category', a.category)} · ${textIn(a, 'title')}`, where: index.where(a), id: a.alarm_id })),
      ...orders.map((o) => ({ kind: 'order', at: o.reported_at, title: textIn(o, 'title'), where: index.where(o) || o.location, id: o.id, state: tr('orderState', o.state) })),
    ].filter((r) => !words || `${r.title} ${r.where} ${r.id}`.toLowerCase().includes(words))
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, 50);
    fill($('#w-history-list'), rows.length ? rows.map((r) => h('li', { dataset: { kind: r.kind, id: r.id } },
      h('p', { class: 'line' }, h('span', { class: 'muted' }, `${dayTime(r.at)} ${t(r.kind === 'alarm' ? 'wall.alarmKind' : 'wall.orderKind')}`), h('span', { class: 'title' }, r.title)),
      h('p', { class: 'muted' }, [r.where, r.state].filter(Boolean).join(' · '))))
      : h('li', { class: 'muted' }, t('wall.noHistory')));
  } catch (err) {
    fail(err);
  }
}

async function main() {
  useSession('dashboard'); // the wall board's sign-in: the same screen, another view
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => location.reload());
  await signedInUser('dashboard');
  const layout = await api('/web/layout');
  syncServerTime(layout.now);
  site = layout.sites[0];
  index = new SiteIndex(site);
  setTimeZone(site.timezone);
  $('#site-name').textContent = nameOf(site);
  $('#w-search').addEventListener('submit', search);
  const live = $('#live');
  new LiveStream({
    params: `?site=${encodeURIComponent(site.id)}`,
    onStatus: (state) => {
      live.dataset.state = state;
      live.textContent = t(`live.${state}`);
    },
    onReady: loadAll,
    onEvent: soon,
    onUnauthorized: () => location.reload(),
  }).start();
  setInterval(loadAll, 30_000); // the clocks' time left; the shift's rounds
  await search();
}

main().catch(fail);
