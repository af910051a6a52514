// The guard's phone: who is on duty, the round to walk and its next checkpoint, scanning
// (Web NFC, or the tag's code typed in), a finding with photo and priority, and the scans
// kept on the phone until they reach the API with the time they were made.

import './texts.js'; // the page's texts, before any is looked up
import { api, onSignedOut, useSession } from '../lib/api.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, t, tr } from '../lib/i18n.js';
import { showLogin, signOut, signedInUser } from '../lib/login.js';
import { nameOf, routeNameOf, SiteIndex } from '../lib/names.js';
import { keepPhoto, uploadPending } from '../lib/photos.js';
import { checkpointStates, currentRound, nextCheckpoint, roundState } from '../lib/rounds.js';
import { dayTime, hhmm, hhmmss, now, setTimeZone, syncServerTime } from '../lib/time.js';
import { nfcSupported, normalizeTag, startNfc, validTag } from './nfc.js';
import { addScan, checkpointOf, scans, sync } from './queue.js';

const LAYOUT_KEY = 'ew.guard.layout';
const REINSPECT_KEY = 'ew.guard.reinspections';
const ROUTE_KEY = 'ew.guard.route';
const RETRY_MS = 15_000;
const state = { me: null, site: null, index: null, guard: null, scans: [] };

async function loadLayout() {
  const kept = localStorage.getItem(LAYOUT_KEY);
  if (!navigator.onLine && kept) return JSON.parse(kept); // no signal: the last one seen
  try {
    const layout = await api('/web/layout');
    localStorage.setItem(LAYOUT_KEY, JSON.stringify(layout));
    syncServerTime(layout.now);
    return layout;
  } catch (err) {
    if (kept) return JSON.parse(kept);
    throw err;
  }
}

/** Scans of this phone as the rounds module wants them: with their checkpoint — the API's
 * answer, or for a scan not synced yet the tag's earlier answer or its hint in the layout. */
async function knownScans() {
  const mine = await scans(state.me.guard_id);
  for (const scan of mine) {
    const hinted = scan.result ? null : state.index.checkpointOfTag(scan.tag_uid);
    scan.checkpoint = scan.result?.checkpoint ?? (await checkpointOf(scan.tag_uid)) ?? hinted;
  }
  return mine;
}

function fillRoutePicker() {
  const pick = $('#route-pick');
  const saved = localStorage.getItem(ROUTE_KEY) ?? '';
  fill(pick, h('option', { value: '' }, t('guard.routeAuto')),
    state.site.routes.map((r) => h('option', { value: r.id, selected: r.id === saved }, nameOf(r))));
  pick.addEventListener('change', () => {
    localStorage.setItem(ROUTE_KEY, pick.value);
    renderRound();
  });
}

function renderRound() {
  const at = now();
  const route = $('#route-pick').value;
  const rounds = route ? state.site.rounds.filter((r) => r.route === route) : state.site.rounds;
  const round = currentRound(rounds, state.scans, at);
  const next = nextCheckpoint(round, state.scans, at);
  $('#round-title').textContent = round && roundState(round, at) === 'upcoming' ? t('guard.next') : t('guard.current');
  $('#round-name').textContent = round ? routeNameOf(round) : t('guard.noRound');
  $('#round-window').textContent = round ? t('guard.window', { start: hhmm(round.start), end: hhmm(round.end) }) : '';
  $('#next-checkpoint').textContent = round ? (next ? state.index.checkpoint(next) : t('guard.roundDone')) : '—';
  const states = round ? checkpointStates(round, state.scans, at) : [];
  fill($('#round-checkpoints'), states.map((s) =>
    h('li', { class: `cp-${s.state}${s.checkpoint === next ? ' cp-next' : ''}`, dataset: { checkpoint: s.checkpoint } },
      h('span', {}, state.index.checkpoint(s.checkpoint)),
      h('span', { class: 'state' }, t(`cp.${s.state}`)))));
}

function statusText(scan) {
  const result = scan.result ?? {};
  if (scan.status === 'exception') return t('scan.exception', { reason: result.reason ?? '' });
  if (scan.status === 'rejected') return t('scan.rejected', { reason: result.reason ?? '' });
  if (scan.status === 'early') return t('scan.early', { time: result.opens_at ? hhmm(result.opens_at) : '' });
  return tr('scan', scan.status);
}

function renderRecent() {
  const pending = state.scans.filter((s) => s.status === 'pending').length;
  $('#pending').textContent = pending ? t('guard.pending', { n: pending }) : t('guard.allSynced');
  $('#pending').dataset.pending = String(pending);
  const recent = state.scans.slice(0, 15);
  if (!recent.length) return fill($('#recent'), h('li', { class: 'muted' }, t('guard.noScans')));
  fill($('#recent'), recent.map((scan) =>
    h('li', { dataset: { status: scan.status, tag: scan.tag_uid } },
      h('strong', {}, scan.checkpoint ? state.index.checkpoint(scan.checkpoint) : scan.tag_uid),
      h('span', {}, `${hhmmss(scan.scanned_at)}${scan.offline ? ` · ${t('scan.offline')}` : ''}`),
      h('span', { class: `status-${scan.status}` }, statusText(scan)),
      scan.finding ? h('span', {}, `${t('guard.finding')} · ${tr('priority', scan.finding.priority)}${scan.result?.work_order_id ? ` · ${t('scan.order')}` : ''}`) : null)));
}

/** The by-deadline findings due for re-inspection on this site's rounds (GET
 * /patrol/reinspections): kept for a walk without signal. */
async function loadReinspections() {
  if (navigator.onLine) {
    try {
      const due = await api(`/patrol/reinspections?site=${encodeURIComponent(state.site.id)}`);
      localStorage.setItem(REINSPECT_KEY, JSON.stringify(due));
      return due;
    } catch {
      // the kept list below
    }
  }
  return JSON.parse(localStorage.getItem(REINSPECT_KEY) ?? '[]');
}

function renderReinspections(due) {
  $('#reinspect-panel').hidden = !due.length;
  fill($('#reinspections'), due.map((task) => {
    const repaired = ['completed', 'verified', 'closed'].includes(task.state);
    const status = task.reinspected ? t('reinspect.done') : t(repaired ? 'reinspect.todo' : 'reinspect.waiting');
    return h('li', { dataset: { order: task.order_id, checkpoint: task.checkpoint } },
      h('strong', {}, state.index.checkpoint(task.checkpoint)),
      h('span', {}, task.title),
      h('span', { class: 'muted' }, `${t('reinspect.due', { date: dayTime(task.due_at) })}${task.owner ? ` · ${t('reinspect.owner', { owner: task.owner })}` : ''}`),
      h('span', { class: task.reinspected ? 'status-synced' : 'status-pending' }, status));
  }));
}

async function refresh() {
  state.scans = await knownScans();
  renderRound();
  renderRecent();
  renderReinspections(await loadReinspections());
}

function paintNetwork() {
  const net = $('#net');
  net.textContent = navigator.onLine ? t('guard.online') : t('guard.offline');
  net.classList.toggle('offline', !navigator.onLine);
}

async function syncNow() {
  const outcome = await sync(state.me.guard_id);
  if (outcome === 'signin') {
    $('#problem').textContent = t('guard.signInToSync');
    $('#problem').hidden = false;
    state.me = await showLogin();
    $('#problem').hidden = true;
    return syncNow();
  }
  await uploadPending();
  await refresh();
  return outcome;
}

async function readFinding() {
  if (!$('#finding').open) return null;
  const description = $('#finding-description').value.trim();
  if (!description) return null;
  const priority = document.querySelector('input[name="priority"]:checked').value;
  const finding = { description, priority, location: $('#finding-location').value.trim(), photo_refs: [] };
  const due = $('#finding-due').value;
  if (priority === 'by_deadline') finding.due_at = due ? Date.parse(`${due}T23:59:00`) : now() + 7 * 86400_000;
  const photo = $('#finding-photo').files[0];
  if (photo) finding.photo_refs.push(await keepPhoto(photo));
  return finding;
}

function clearFinding() {
  for (const id of ['#finding-description', '#finding-location', '#finding-due', '#finding-photo']) $(id).value = '';
  $('#finding').open = false;
}

/** Record one scan of `tagUid`: kept first, then sent if there is signal. */
async function record(tagUid) {
  const guard = state.site.guards.find((g) => g.id === state.me.guard_id);
  const scan = await addScan({
    site: state.site.id,
    guard: state.me.guard_id,
    handheld: guard?.handheld ?? `web-${state.me.guard_id}`.slice(0, 64),
    tag_uid: tagUid,
    scanned_at: new Date(now()).toISOString(),
    finding: await readFinding(),
  });
  clearFinding();
  await refresh();
  const outcome = await syncNow();
  if (outcome !== 'synced') toast(t('guard.queued'));
  else {
    const done = state.scans.find((s) => s.key === scan.key);
    toast(`${done?.checkpoint ? state.index.checkpoint(done.checkpoint) : tagUid} · ${statusText(done ?? scan)}`);
  }
}

function bindScanForm() {
  $('#scan-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const code = normalizeTag($('#tag').value);
    const error = $('#tag-error');
    if (!validTag(code)) {
      error.textContent = t('guard.invalidCode');
      error.hidden = false;
      $('#tag').setAttribute('aria-invalid', 'true');
      $('#tag').focus();
      return;
    }
    error.hidden = true;
    $('#tag').removeAttribute('aria-invalid');
    $('#tag').value = '';
    await record(code);
  });
  $('#sync-now').addEventListener('click', syncNow);
}

function bindNfc() {
  const button = $('#nfc');
  const status = $('#nfc-status');
  if (!nfcSupported) {
    button.hidden = true;
    status.textContent = t('guard.nfcUnsupported');
    return;
  }
  button.addEventListener('click', async () => {
    try {
      await startNfc({ onTag: record, onError: (err) => { status.textContent = t('guard.nfcError', { detail: err.message }); } });
      status.textContent = t('guard.nfcReady');
      button.disabled = true;
    } catch (err) {
      status.textContent = t('guard.nfcError', { detail: err.message });
    }
  });
}

async function main() {
  useSession('guard');
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => {}); // a guard keeps working offline; the next sync asks to sign in
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('/guard-sw.js', { scope: '/guard' }).catch(() => {});
  }
  state.me = await signedInUser('guard');
  if (!state.me.guard_id) {
    $('#problem').textContent = t('guard.notGuard');
    $('#problem').hidden = false;
    return;
  }
  const layout = await loadLayout();
  state.site = layout.sites.find((s) => s.guards.some((g) => g.id === state.me.guard_id)) ?? layout.sites[0];
  state.index = new SiteIndex(state.site);
  setTimeZone(state.site.timezone);
  $('#who').textContent = `${state.index.guard(state.me.guard_id)} · ${nameOf(state.site)}`;
  fillRoutePicker();
  bindScanForm();
  bindNfc();
  paintNetwork();
  window.addEventListener('online', () => { paintNetwork(); syncNow(); });
  window.addEventListener('offline', paintNetwork);
  setInterval(() => { if (navigator.onLine) syncNow(); else renderRound(); }, RETRY_MS);
  await refresh();
  await syncNow();
}

main().catch((err) => toast(t('common.error', { detail: err.message }), { error: true }));
