// The supervisor's and quality staff's page (/quality): SLA compliance per clock over the
// last 7 days, the week's 20 % sample of closed orders with a callback for each
// (satisfied, or not fixed: the API reopens it), the incident reviews due (within 24 h of
// closing), the shifts that ended unsigned, and links to the records and the reports.

import './texts.js'; // the page's texts, before any is looked up
import { api, authHeaders, onSignedOut, useSession } from '../lib/api.js';
import { formDialog } from '../lib/dialog.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, lang, t, tr } from '../lib/i18n.js';
import { signOut, signedInUser } from '../lib/login.js';
import { dayTime, now, setTimeZone, syncServerTime } from '../lib/time.js';

const LOW_PERCENT = 90; // below this a clock's compliance is shown in red
let site = null;
let sample = null;

function fail(err) {
  toast(t('common.error', { detail: err.message }), { error: true });
}

async function loadSla() {
  const since = new Date(now() - 7 * 86_400_000).toISOString();
  const report = await api('/reports/sla', { params: { site: site.id, since } });
  $('#sla-summary').textContent = t('quality.summary', { orders: report.orders });
  fill($('#sla-table tbody'), report.clocks.map((c) => h('tr', { dataset: { clock: c.clock } },
    h('td', {}, tr('clock', c.clock)), h('td', {}, c.met), h('td', {}, c.breached), h('td', {}, c.pending),
    h('td', { class: c.compliance_percent !== null && c.compliance_percent < LOW_PERCENT ? 'low' : '' },
      c.compliance_percent === null ? '—' : `${c.compliance_percent}%`))));
}

function renderSample(orders) {
  const done = new Map(sample.callbacks.filter((c) => c.result).map((c) => [c.order_id, c]));
  $('#sample-summary').textContent = t('quality.sampleSummary', { population: sample.population.length, drawn: sample.order_ids.length, done: done.size });
  fill($('#sample'), sample.order_ids.map((id) => {
    const order = orders.get(id);
    const callback = done.get(id);
    return h('li', { class: 'order-card', dataset: { id, result: callback?.result ?? '' } },
      h('h3', {}, order?.title ?? id),
      order ? h('p', { class: 'muted' }, [order.requester_name, order.requester_contact, order.assignee, order.result].filter(Boolean).join(' · ')) : null,
      callback ? h('p', {}, t(`quality.result.${callback.result}`), callback.note ? ` · ${callback.note}` : '')
        : h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'primary', dataset: { result: 'satisfied' }, onclick: () => callBack(id, 'satisfied') }, t('quality.satisfied')),
          h('button', { type: 'button', dataset: { result: 'not_fixed' }, onclick: () => callBack(id, 'not_fixed') }, t('quality.notFixed'))));
  }));
}

async function showSample(found) {
  sample = found;
  const orders = new Map();
  await Promise.all(sample.order_ids.map((id) => api(`/workorders/${encodeURIComponent(id)}`).then((o) => orders.set(id, o), () => null)));
  renderSample(orders);
}

async function draw() {
  try {
    const week = new Date(now()).toISOString().slice(0, 10);
    await showSample(await api('/quality/samples', { method: 'POST', body: { site: site.id, week } }));
  } catch (err) {
    fail(err);
  }
}

async function callBack(orderId, result) {
  const label = t(result === 'satisfied' ? 'quality.satisfied' : 'quality.notFixed');
  const values = await formDialog({
    title: label,
    submit: label,
    fields: [{ name: 'note', label: t('quality.callbackNote'), type: 'textarea' }],
  });
  if (!values) return;
  try {
    await api(`/quality/samples/${sample.id}/callbacks/${encodeURIComponent(orderId)}`, { method: 'POST', body: { result, note: values.note } });
    await showSample(await api(`/quality/samples/${sample.id}`));
    await loadSla();
  } catch (err) {
    fail(err);
  }
}

async function loadReviews() {
  const closed = await api('/incidents', { params: { site: site.id, state: 'closed' } });
  const due = closed.filter((i) => i.review_due_at && !i.reviewed_by);
  fill($('#reviews'), due.length ? due.map((i) => h('li', { class: 'order-card', dataset: { id: i.id } },
    h('h3', {}, i.title),
    h('p', { class: Date.parse(i.review_due_at) < now() ? 'overdue' : '' }, t('quality.reviewDue', { time: dayTime(i.review_due_at) })),
    h('p', { class: 'muted' }, i.id)))
    : h('li', { class: 'muted' }, t('quality.noReviews')));
}

async function loadHandovers() {
  const shifts = await api('/handovers', { params: { site: site.id, state: 'unsigned' } });
  fill($('#handovers'), shifts.length ? shifts.map((s) => h('li', { dataset: { state: s.state } },
    h('a', { href: s.handover_id ? `/records#handover=${s.handover_id}` : '/records' },
      t('quality.handover', { date: s.date, shift: tr('shift', s.shift) })), ' · ', t(`quality.state.${s.state}`)))
    : h('li', { class: 'muted' }, t('quality.allSigned')));
}

/** A printable page of the API (it needs the bearer token, so not a plain link). */
async function printable(path) {
  const response = await fetch(path, { headers: authHeaders() });
  const url = URL.createObjectURL(new Blob([await response.text()], { type: 'text/html' }));
  window.open(url, '_blank', 'noopener');
}

async function main() {
  useSession('quality');
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => location.reload());
  const me = await signedInUser('quality');
  $('#who').textContent = me.full_name || me.username;
  const layout = await api('/web/layout');
  syncServerTime(layout.now);
  site = layout.sites[0];
  setTimeZone(site.timezone);
  $('#monthly').addEventListener('click', (event) => {
    event.preventDefault();
    printable(`/reports/monthly?site=${encodeURIComponent(site.id)}&format=html&lang=${lang}`).catch(fail);
  });
  $('#draw').addEventListener('click', draw);
  await Promise.all([loadSla(), loadReviews(), loadHandovers()].map((p) => p.catch(fail)));
}

main().catch(fail);
