// The duty room's wall screen: sign in, load the site, follow the live stream, and keep
// five boards (alarms, equipment, work orders, patrol, duty) and the alert banner current.

import { api, onSignedOut, useSession } from '../lib/api.js';
import { $, $$, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, t } from '../lib/i18n.js';
import { signOut, signedInUser } from '../lib/login.js';
import { SiteIndex, nameOf } from '../lib/names.js';
import { LiveStream } from '../lib/sse.js';
import { hhmmss, now, setTimeZone, syncServerTime } from '../lib/time.js';
import { initAlarms } from './alarms.js';
import { initAlert } from './alert.js';
import { initDuty } from './duty.js';
import { initEquipment } from './equipment.js';
import { initOrders } from './orders.js';
import { initPatrol } from './patrol.js';
import { emit, loadBoard, putAlarm, putDevice, refreshOrder, store } from './store.js';

const VIEWS = ['alarms', 'equipment', 'orders', 'patrol', 'duty'];
const BOARD_ROLES = new Set(['admin', 'supervisor', 'duty_engineer']); // may read the stream
const LAYOUT_REFRESH_MS = 10 * 60_000; // rounds of the next shift, server time

function showView(view) {
  store.view = VIEWS.includes(view) ? view : 'alarms';
  for (const tab of $$('[role="tab"]')) {
    const selected = tab.dataset.view === store.view;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#view-${tab.dataset.view}`).hidden = !selected;
  }
  emit('view');
}

function bindTabs() {
  const tabs = $$('[role="tab"]');
  for (const tab of tabs) {
    tab.addEventListener('click', () => {
      history.replaceState(null, '', `#${tab.dataset.view}`);
      showView(tab.dataset.view);
    });
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      next.focus();
      next.click();
    });
  }
  showView(location.hash.slice(1));
}

function chooseSite(layout) {
  const wanted = new URLSearchParams(location.search).get('site') ?? localStorage.getItem('ew.site');
  const site = layout.sites.find((s) => s.id === wanted) ?? layout.sites[0];
  if (layout.sites.length > 1) {
    const select = $('#site-select');
    for (const s of layout.sites) select.append(new Option(nameOf(s), s.id, false, s.id === site.id));
    select.addEventListener('change', () => {
      localStorage.setItem('ew.site', select.value);
      location.reload();
    });
    $('#site-picker').hidden = false;
  }
  return site;
}

async function loadLayout() {
  const layout = await api('/web/layout');
  syncServerTime(layout.now);
  // Without a notifier nobody is told of an alarm: the board must say so on every view.
  store.notifying = layout.notifying !== false;
  $('#notify-off').hidden = store.notifying;
  return layout;
}

function startStream() {
  const live = $('#live');
  const stream = new LiveStream({
    params: `?site=${encodeURIComponent(store.site.id)}`,
    onStatus: (state) => {
      live.dataset.state = state;
      live.textContent = t(`live.${state}`);
    },
    onReady: () => loadBoard().catch((err) => toast(t('common.error', { detail: err.message }), { error: true })),
    onEvent: (kind, data) => {
      if (kind === 'alarm') putAlarm(data);
      else if (kind === 'workorder') refreshOrder(data.order_id);
      else if (kind === 'device_status') putDevice(data);
    },
    onUnauthorized: () => location.reload(),
  });
  stream.start();
}

function startClock() {
  const clock = $('#clock');
  const tick = () => {
    clock.textContent = hhmmss(now());
    clock.dateTime = new Date(now()).toISOString();
    emit('tick');
  };
  tick();
  setInterval(tick, 1000);
}

async function main() {
  useSession('dashboard');
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => location.reload());
  store.me = await signedInUser('dashboard');
  if (!BOARD_ROLES.has(store.me.role)) {
    fill($('#main'), h('p', { class: 'note', role: 'alert' }, t('app.wrongRole')));
    return;
  }
  const layout = await loadLayout();
  if (!layout.sites.length) {
    toast(t('common.error', { detail: 'no site is configured in this API' }), { error: true });
    return;
  }
  store.site = chooseSite(layout);
  store.index = new SiteIndex(store.site);
  setTimeZone(store.site.timezone);
  $('#site-name').textContent = nameOf(store.site);
  document.title = `${t('app.title')} · ${nameOf(store.site)}`;
  initAlert();
  initAlarms();
  initEquipment();
  initOrders();
  initPatrol();
  initDuty();
  bindTabs();
  startClock();
  startStream();
  setInterval(async () => {
    try {
      const fresh = await loadLayout();
      store.site = fresh.sites.find((s) => s.id === store.site.id) ?? store.site;
      store.index = new SiteIndex(store.site);
      emit('layout');
    } catch {
      /* keep the layout we have; the next refresh tries again */
    }
  }, LAYOUT_REFRESH_MS);
}

main().catch((err) => toast(t('common.error', { detail: err.message }), { error: true }));
