// The patrol board: every round of the shift with each checkpoint scanned, due, late or
// missed; the guards on duty with their last scan (none for over the site's report
// interval — an hour by default — is flagged); patrol exceptions (unknown tags...).
// Patrol changes are not on the live stream, so the board reads them every 30 s.

import { api } from '../lib/api.js';
import { $, fill, h } from '../lib/dom.js';
import { t, tr } from '../lib/i18n.js';
import { nameOf, routeNameOf } from '../lib/names.js';
import { checkpointStates, nextStartOfRoute, percentDone, roundState } from '../lib/rounds.js';
import { ago, hhmm, ms, now } from '../lib/time.js';
import { on, store } from './store.js';

const POLL_MS = 30_000;
const MARKS = { scanned: '✓', due: '○', late: '!', missed: '✗', upcoming: '·' };

let data = { scans: [], exceptions: [] };
let lastRead = 0;

function roundCard(round, at) {
  const state = roundState(round, at);
  const states = checkpointStates(round, data.scans, at, nextStartOfRoute(store.site.rounds, round));
  const guards = [...new Set(states.filter((s) => s.scan).map((s) => s.scan.guard))];
  return h(
    'li',
    { class: `round round-${state}`, dataset: { route: round.route } },
    h('header', {},
      h('h3', {}, routeNameOf(round)),
      h('span', { class: 'window' }, `${hhmm(round.start)}–${hhmm(round.end)}`),
      h('span', { class: `chip round-state-${state}` }, t(`patrol.round.${state}`)),
      h('span', { class: 'percent' }, t('patrol.percent', { p: percentDone(states) })),
      guards.length ? h('span', { class: 'muted' }, guards.map((g) => store.index.guard(g)).join(t('common.listSep'))) : null),
    h('ol', { class: 'checkpoints' }, states.map((s) =>
      h('li', { class: `cp cp-${s.state}`, dataset: { checkpoint: s.checkpoint, state: s.state } },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, MARKS[s.state]),
        h('span', { class: 'name' }, store.index.checkpoint(s.checkpoint)),
        h('span', { class: 'cp-state' }, t(`cp.${s.state}`) + (s.scan ? ` ${hhmm(s.scan.scanned_at)}` : ''))))),
  );
}

/** Guards with their last scan of the shift. The site config has no duty roster, so only
 * a guard who has scanned this shift and then gone quiet for longer than the report
 * interval is flagged; the others say they have not scanned yet. */
function guardsList(at) {
  const interval = store.site.guard_report_interval_s * 1000;
  const rows = store.site.guards.map((guard) => ({ guard, last: data.scans.filter((s) => s.guard === guard.id).at(-1) }));
  rows.sort((a, b) => Number(!a.last) - Number(!b.last));
  return h('ul', { class: 'guards' }, rows.map(({ guard, last }) => {
    const silent = Boolean(last) && at - ms(last.scanned_at) > interval;
    return h('li', { class: `guard${silent ? ' silent' : ''}${last ? '' : ' idle'}`, dataset: { guard: guard.id } },
      h('span', { class: 'name' }, nameOf(guard)),
      last
        ? h('span', {}, t('patrol.last', { where: store.index.checkpoint(last.checkpoint), time: hhmm(last.scanned_at), ago: ago(last.scanned_at) }))
        : h('span', { class: 'muted' }, t('patrol.never')),
      silent ? h('span', { class: 'chip breach' }, t('patrol.silent', { m: Math.round(interval / 60000) })) : null);
  }));
}

function exceptionsList() {
  if (!data.exceptions.length) return h('p', { class: 'muted' }, t('patrol.noExceptions'));
  return h('ul', { class: 'exceptions' }, data.exceptions.slice(-20).reverse().map((e) =>
    h('li', {}, `${hhmm(e.scanned_at ?? e.received_at)} · ${tr('category', e.kind)} · ${e.guard ? store.index.guard(e.guard) : ''} ${e.tag_uid ?? ''}`)));
}

function render() {
  if (store.view !== 'patrol') return;
  const at = now();
  const shift = store.site.shift;
  const rounds = store.site.rounds.filter((r) => !shift || r.shift === shift.id);
  fill(
    $('#patrol'),
    h('section', { class: 'rounds', 'aria-labelledby': 'patrol-shift' },
      h('h2', { id: 'patrol-shift' }, shift ? t('patrol.shift', { name: nameOf(shift), start: hhmm(shift.start), end: hhmm(shift.end) }) : t('patrol.noShift')),
      rounds.length ? h('ol', { class: 'round-list' }, rounds.map((r) => roundCard(r, at))) : h('p', { class: 'empty' }, t('patrol.none'))),
    h('aside', { class: 'side' },
      h('section', { 'aria-labelledby': 'patrol-guards' }, h('h2', { id: 'patrol-guards' }, t('patrol.guards')), guardsList(at)),
      h('section', { 'aria-labelledby': 'patrol-exc' }, h('h2', { id: 'patrol-exc' }, t('patrol.exceptions')), exceptionsList())),
  );
}

async function read() {
  if (store.view !== 'patrol' || document.hidden) return;
  const site = store.site.id;
  const since = store.site.shift?.start ?? new Date(now() - 12 * 3600_000).toISOString();
  try {
    const [scans, exceptions] = await Promise.all([
      api('/patrol/scans', { params: { site, since } }),
      api('/patrol/exceptions', { params: { site, since } }),
    ]);
    data = { scans, exceptions };
    lastRead = Date.now();
  } catch {
    /* keep what we have; the next read tries again */
  }
  render();
}

export function initPatrol() {
  on('view', () => (Date.now() - lastRead > 2000 ? read() : render()));
  on('layout', render);
  setInterval(read, POLL_MS);
}
