// The group monitoring centre (集团监控中心): every estate the user may see side by side,
// the one needing attention first (as GET /group/overview orders them), refreshed every
// half minute; a row's link opens that estate's duty board (the dashboard, ?site=ID), which
// shares this page's sign-in.

import './texts.js'; // the page's texts, before any is looked up
import { api, onSignedOut, useSession } from '../lib/api.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, t } from '../lib/i18n.js';
import { signOut, signedInUser } from '../lib/login.js';
import { localName } from '../lib/names.js';
import { hhmm, syncServerTime } from '../lib/time.js';

const REFRESH_MS = 30_000;

function fail(err) {
  toast(t('common.error', { detail: err.message }), { error: true });
}

function percent(value) {
  return value === null || value === undefined ? t('group.noFigure') : `${value}%`;
}

function row(e) {
  const name = localName(e.name);
  const board = `/?site=${encodeURIComponent(e.site)}`;
  return h('tr', { dataset: { site: e.site, attention: e.attention } },
    h('th', { scope: 'row' }, h('span', { class: 'name' }, name), ' ',
      h('span', { class: `badge ${e.attention}` }, t(`group.attention.${e.attention}`))),
    h('td', { class: e.critical_alarms ? 'bad' : '' }, e.critical_alarms),
    h('td', { class: e.overdue_orders ? 'bad' : '' }, e.overdue_orders),
    h('td', {}, percent(e.sla_compliance_percent)),
    h('td', {}, percent(e.patrol_percent)),
    h('td', { class: e.devices_offline ? 'warn' : '' }, e.devices_offline),
    h('td', {}, h('a', { href: board, class: 'open', 'aria-label': t('group.openLabel', { name }) }, t('group.open'))));
}

async function load() {
  const overview = await api('/group/overview');
  syncServerTime(overview.generated_at);
  const estates = overview.estates;
  const count = (level) => estates.filter((e) => e.attention === level).length;
  $('#summary').textContent = t('group.summary', { n: estates.length, critical: count('critical'),
    warning: count('warning'), at: hhmm(overview.generated_at) });
  fill($('#estates tbody'), estates.map(row));
  $('#estates').hidden = estates.length === 0;
  $('#estates-empty').hidden = estates.length > 0;
}

async function main() {
  useSession('dashboard'); // the boards it opens are the dashboard's: one sign-in for both
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => location.reload());
  const me = await signedInUser('dashboard');
  $('#who').textContent = me.full_name || me.username;
  await load();
  setInterval(() => load().catch(fail), REFRESH_MS);
}

main().catch(fail);
