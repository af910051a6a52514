// The duty board: who is on call now (per role), open emergency incidents with their printable
// timeline, and the notification log with failures first. None of it is on the live stream,
// so the board reads it every 30 s while it is shown.

import { api } from '../lib/api.js';
import { $, fill, h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { localName } from '../lib/names.js';
import { hhmm } from '../lib/time.js';
import { on, store } from './store.js';

const POLL_MS = 30_000;
let data = { rota: [], incidents: [], log: [] };

function rotaList() {
  return h('ul', { class: 'rota' }, data.rota.map((r) =>
    h('li', { dataset: { role: r.role } },
      h('span', { class: 'role' }, t(`duty.role.${r.role}`)),
      h('span', {}, r.people.length ? r.people.map((p) => p.name).join(t('common.listSep')) : t('duty.nobody')))));
}

function incidentList() {
  if (!data.incidents.length) return h('p', { class: 'muted' }, t('duty.noIncidents'));
  const lang = document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
  return h('ul', { class: 'incidents' }, data.incidents.map((i) =>
    h('li', { dataset: { incident: i.id, state: i.state } },
      h('strong', {}, localName(i.title)),
      h('span', {}, ` ${hhmm(i.opened_at)} · ${t(`duty.state.${i.state}`)} `),
      h('a', { href: `/incidents/${encodeURIComponent(i.id)}/export.html?lang=${lang}`, target: '_blank', rel: 'noopener' }, t('duty.timeline')))));
}

function logTable() {
  if (!data.log.length) return h('p', { class: 'muted' }, t(store.notifying ? 'duty.noNotifications' : 'duty.notifyOff'));
  const rows = [...data.log].sort((a, b) => Number(Boolean(b.last_error)) - Number(Boolean(a.last_error)));
  return h('table', { class: 'notify-log' },
    h('thead', {}, h('tr', {}, ['time', 'recipient', 'channel', 'status'].map((k) => h('th', { scope: 'col' }, t(`duty.col.${k}`))))),
    h('tbody', {}, rows.slice(0, 50).map((n) =>
      h('tr', { class: n.last_error ? 'failed' : '', dataset: { status: n.status } },
        h('td', {}, hhmm(n.created_at)),
        h('td', {}, n.recipient),
        h('td', {}, n.channel),
        h('td', { title: n.last_error ?? '' }, t(`duty.status.${n.status}`) + (n.attempts > 1 ? ` ×${n.attempts}` : ''))))));
}

function render() {
  if (store.view !== 'duty') return;
  fill($('#duty'),
    h('section', { 'aria-labelledby': 'duty-rota' }, h('h2', { id: 'duty-rota' }, t('duty.rota')), rotaList()),
    h('section', { 'aria-labelledby': 'duty-incidents' }, h('h2', { id: 'duty-incidents' }, t('duty.incidents')), incidentList()),
    h('section', { 'aria-labelledby': 'duty-log' }, h('h2', { id: 'duty-log' }, t('duty.log')), logTable()));
}

async function read() {
  if (store.view !== 'duty' || document.hidden) return;
  const site = store.site.id;
  try {
    const [rota, incidents, log] = await Promise.all([
      api('/notifications/oncall', { params: { site } }),
      api('/incidents', { params: { site } }),
      api('/notifications', { params: { site, limit: 100 } }),
    ]);
    data = { rota, incidents, log };
  } catch {
    /* keep what we have; the next read tries again */
  }
  render();
}

export function initDuty() {
  on('view', read);
  setInterval(read, POLL_MS);
}
