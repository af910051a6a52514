// The records page: the shift handover (交接班) — file the shift's report, sign the one
// the outgoing shift filed, see the shifts that ended unsigned — and the fault analysis
// (高频故障) as a bar chart and a table.

import './texts.js'; // the page's texts, before any is looked up
import { api, authHeaders, onSignedOut, useSession } from '../lib/api.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, lang, t, tr } from '../lib/i18n.js';
import { signOut, signedInUser } from '../lib/login.js';
import { localName, nameOf } from '../lib/names.js';
import { dayTime, setTimeZone, syncServerTime } from '../lib/time.js';
import { faultBars } from './chart.js';

let site = '';
let me = null;
let names = new Map(); // device id → name

function fail(err) {
  toast(t('common.error', { detail: err.message }), { error: true });
}

function section(key, items, line) {
  return [h('h4', {}, t(key, { n: items.length })),
    items.length ? h('ul', {}, items.map((x) => h('li', {}, line(x)))) : h('p', { class: 'muted' }, t('common.none'))];
}

function finding(f) {
  return `${localName(f.device_name)} · ${f.point} ${f.value} ${f.unit} (${t(`handover.side.${f.side}`)} ${f.limit}; ${f.basis})`;
}

async function printable(handover) {
  const response = await fetch(`/handovers/${handover.id}.html?lang=${lang}`, { headers: authHeaders() });
  const url = URL.createObjectURL(new Blob([await response.text()], { type: 'text/html' }));
  window.open(url, '_blank', 'noopener');
}

function showHandover(handover) {
  const r = handover.report;
  const u = r.unusual;
  const outgoing = handover.signatures.find((s) => s.role === 'outgoing');
  const canSign = !handover.frozen && me && outgoing.by !== me.username;
  const view = $('#handover-view');
  fill(view,
    h('h3', {}, t('handover.of', { date: r.date, shift: tr('shift', r.shift) })),
    h('p', { id: 'handover-state', dataset: { state: handover.state } },
      handover.frozen ? t('handover.frozen') : t('handover.waiting')),
    h('p', {}, t('handover.counts', { alarms: r.open_alarms.length, orders: r.open_orders.length,
      breaches: r.breaches.length, patrol: r.patrol.percent, incidents: r.incidents.length })),
    h('section', { id: 'unusual' },
      h('h4', {}, t('handover.unusual')),
      u.available ? null : h('p', { class: 'muted' }, t('handover.noReadings')),
      section('handover.outOfBand', u.out_of_band, finding),
      section('handover.nearThreshold', u.near_threshold, finding),
      section('handover.offline', u.offline, (s) => `${localName(s.device_name)} · ${dayTime(s.start)}–${dayTime(s.end)} (${t('handover.minutes', { n: s.minutes })})`)),
    h('h4', {}, t('handover.signatures')),
    h('ol', { id: 'signatures', class: 'plain' }, handover.signatures.map((s) =>
      h('li', { dataset: { role: s.role } }, h('span', { class: 'sig' }, `${t(`handover.role.${s.role}`)}：${s.name}`),
        ` ${dayTime(s.at)}`, s.note ? ` · ${s.note}` : ''))),
    h('p', { class: 'actions' },
      canSign ? h('button', { id: 'handover-sign', type: 'button', class: 'primary', onclick: () => sign(handover) }, t('handover.sign')) : null,
      ' ', h('button', { type: 'button', onclick: () => printable(handover).catch(fail) }, t('handover.print'))));
  view.dataset.id = handover.id;
  view.hidden = false;
}

async function sign(handover) {
  try {
    showHandover(await api(`/handovers/${handover.id}/sign`, { method: 'POST', body: { digest: handover.digest } }));
    toast(t('handover.signed'));
    await loadUnsigned();
  } catch (err) {
    fail(err);
  }
}

async function file() {
  try {
    showHandover(await api('/handovers', { method: 'POST', body: { site } }));
    toast(t('handover.filed'));
    await loadUnsigned();
  } catch (err) {
    fail(err);
  }
}

async function loadUnsigned() {
  const shifts = await api('/handovers', { params: { site, state: 'unsigned' } });
  fill($('#unsigned'), shifts.map((s) => h('li', { dataset: { state: s.state } },
    `${s.date} ${tr('shift', s.shift)} · ${t(`handover.state.${s.state}`)}`,
    s.filed_by ? ` · ${t('handover.role.outgoing')}：${s.filed_by}` : '',
    s.handover_id ? [' ', h('button', { type: 'button', onclick: () => api(`/handovers/${s.handover_id}`).then(showHandover, fail) }, t('handover.open'))] : null)));
  $('#unsigned-empty').hidden = shifts.length > 0;
}

async function loadFaults(event) {
  event?.preventDefault();
  const by = $('#faults-by').value;
  const from = new Date(Date.now() - Number($('#faults-days').value) * 86_400_000).toISOString();
  try {
    const report = await api('/reports/faults', { params: { site, by, from } });
    const label = (g) => (by === 'device' ? names.get(g.key) || g.key : by === 'kind' ? tr('kind', g.key) : g.key);
    $('#faults-summary').textContent = t('faults.summary', { faults: report.faults, repeats: report.repeats,
      mtbf: report.mtbf_hours ?? '—', mttr: report.mttr_hours ?? '—' });
    fill($('#fault-chart'), report.groups.length ? faultBars(report.groups, { title: t('faults.chart'), label }) : h('p', { class: 'muted' }, t('faults.none')));
    fill($('#fault-table tbody'), report.groups.map((g) => h('tr', {},
      h('td', {}, label(g)), h('td', {}, g.faults), h('td', {}, g.repeats),
      h('td', {}, g.mtbf_hours ?? '—'), h('td', {}, g.mttr_hours ?? '—'))));
    $('#fault-table').hidden = report.groups.length === 0;
  } catch (err) {
    fail(err);
  }
}

async function main() {
  useSession('records');
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => location.reload());
  me = await signedInUser('records');
  $('#who').textContent = me.full_name || me.username;
  const layout = await api('/web/layout');
  syncServerTime(layout.now);
  const first = layout.sites[0];
  site = first.id;
  setTimeZone(first.timezone);
  names = new Map((first.devices || []).map((d) => [d.id, nameOf(d)]));
  $('#handover-file').addEventListener('click', file);
  $('#handover-file').hidden = !['duty_engineer', 'admin'].includes(me.role);
  $('#faults-form').addEventListener('submit', loadFaults);
  await Promise.all([loadUnsigned(), loadFaults()]);
  const linked = /^#handover=(\w+)$/.exec(location.hash); // a handover to sign, as linked
  if (linked) showHandover(await api(`/handovers/${linked[1]}`));
}

main().catch(fail);
