// The admin page (/admin): users — create, change the role, reset the password,
// deactivate or activate again (PATCH /users/{name}; a change takes effect on the user's
// next request) — and the preventive-maintenance plans: create a calendar plan of a
// device, pause or resume it (POST/PATCH /maintenance/plans).

import './texts.js'; // the page's texts, before any is looked up
import { api, onSignedOut, useSession } from '../lib/api.js';
import { formDialog } from '../lib/dialog.js';
import { $, fill, h, toast } from '../lib/dom.js';
import { applyI18n, bindLanguageButton, t, tr } from '../lib/i18n.js';
import { signOut, signedInUser } from '../lib/login.js';
import { SiteIndex, localName } from '../lib/names.js';
import { dayTime, now, setTimeZone, syncServerTime } from '../lib/time.js';

const ROLES = ['admin', 'supervisor', 'duty_engineer', 'technician', 'guard', 'customer_service'];
const TRADES = ['water_electric', 'civil', 'intelligent', 'elevator', 'fire', 'security', 'cleaning'];
const TRADE_OF_KIND = { elevator: 'elevator', fire_panel: 'fire', fire_pump: 'fire', water_pump_set: 'water_electric' };
let site = null;
let index = null;
let me = null;

function fail(err) {
  toast(t('common.error', { detail: err.message }), { error: true });
}

function options(select, pairs, selected = '') {
  fill(select, pairs.map(([value, label]) => h('option', { value, selected: value === selected }, label)));
  return select;
}

async function patchUser(user, body) {
  try {
    await api(`/users/${encodeURIComponent(user.username)}`, { method: 'PATCH', body });
    toast(t('admin.saved', { name: user.full_name || user.username }));
    await loadUsers();
  } catch (err) {
    fail(err);
    await loadUsers();
  }
}

async function resetPassword(user) {
  const values = await formDialog({
    title: `${t('admin.resetPassword')} · ${user.full_name || user.username}`,
    submit: t('admin.resetPassword'),
    fields: [{ name: 'password', label: t('admin.newPassword'), type: 'password', required: true }],
  });
  if (values) await patchUser(user, { password: values.password });
}

function userCard(user) {
  const self = me && user.username === me.username;
  const label = t('admin.roleOf', { name: user.username });
  const role = options(h('select', { 'aria-label': label, disabled: self }), ROLES.map((r) => [r, tr('role', r)]), user.role);
  role.addEventListener('change', () => patchUser(user, { role: role.value }));
  return h('li', { class: `order-card${user.active ? '' : ' inactive'}`, dataset: { user: user.username, active: String(user.active) } },
    h('h3', {}, `${user.full_name || user.username} (${user.username})`),
    h('p', { class: 'role-line' }, role,
      user.contact ? h('span', { class: 'muted' }, user.contact) : null,
      user.active ? null : h('span', { class: 'chip' }, t('admin.inactive'))),
    self ? null : h('div', { class: 'actions' },
      h('button', { type: 'button', dataset: { action: 'password' }, onclick: () => resetPassword(user) }, t('admin.resetPassword')),
      h('button', { type: 'button', dataset: { action: user.active ? 'deactivate' : 'activate' }, onclick: () => patchUser(user, { active: !user.active }) },
        t(user.active ? 'admin.deactivate' : 'admin.activate'))));
}

async function loadUsers() {
  const users = await api('/users');
  users.sort((a, b) => Number(b.active) - Number(a.active) || ROLES.indexOf(a.role) - ROLES.indexOf(b.role) || a.username.localeCompare(b.username));
  fill($('#users'), users.map(userCard));
}

async function createUser(event) {
  event.preventDefault();
  const form = $('#user-form');
  const v = Object.fromEntries(new FormData(form));
  const body = { username: v.username, full_name: v.full_name, role: v.role, contact: v.contact, password: v.password };
  if (v.guard_id) body.guard_id = v.guard_id;
  try {
    await api('/users', { method: 'POST', body });
    form.reset();
    toast(t('admin.created', { name: v.full_name }));
    await loadUsers();
  } catch (err) {
    fail(err);
  }
}

function planCard(plan) {
  return h('li', { class: `order-card${plan.active ? '' : ' inactive'}`, dataset: { plan: plan.id, active: String(plan.active) } },
    h('h3', {}, plan.title),
    h('p', {}, [plan.device ? index.device(plan.device) : null, tr('trade', plan.trade)].filter(Boolean).join(' · ')),
    h('p', { class: 'muted' }, [plan.interval_days ? t('admin.every', { n: plan.interval_days }) : null,
      plan.next_due_at ? t('admin.nextDue', { time: dayTime(plan.next_due_at) }) : null,
      plan.active ? null : t('admin.paused')].filter(Boolean).join(' · ')),
    h('div', { class: 'actions' }, h('button', { type: 'button', dataset: { action: plan.active ? 'pause' : 'resume' }, onclick: () => setPlanActive(plan, !plan.active) },
      t(plan.active ? 'admin.pause' : 'admin.resume'))));
}

async function loadPlans() {
  const plans = await api('/maintenance/plans', { params: { site: site.id } });
  fill($('#plans'), plans.map(planCard));
}

async function setPlanActive(plan, active) {
  try {
    await api(`/maintenance/plans/${encodeURIComponent(plan.id)}`, { method: 'PATCH', body: { active } });
    await loadPlans();
  } catch (err) {
    fail(err);
  }
}

async function createPlan(event) {
  event.preventDefault();
  const form = $('#plan-form');
  const v = Object.fromEntries(new FormData(form));
  const body = { site: site.id, title: v.title, trade: v.trade, interval_days: Number(v.interval_days), first_due_at: new Date(v.first_due_at).toISOString() };
  if (v.device) body.device = v.device;
  try {
    await api('/maintenance/plans', { method: 'POST', body });
    form.reset();
    await loadPlans();
  } catch (err) {
    fail(err);
  }
}

function fillForms() {
  options($('#u-role'), ROLES.map((r) => [r, tr('role', r)]), 'technician');
  options($('#p-device'), site.devices.map((d) => [d.id, localName(d.name)]));
  options($('#p-trade'), TRADES.map((x) => [x, tr('trade', x)]));
  const device = $('#p-device');
  const guess = () => { $('#p-trade').value = TRADE_OF_KIND[site.devices.find((d) => d.id === device.value)?.kind] ?? 'water_electric'; };
  device.addEventListener('change', guess);
  guess();
  const first = new Date(now() + 86_400_000);
  $('#p-first').value = new Date(first - first.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

async function main() {
  useSession('admin');
  applyI18n();
  bindLanguageButton($('#lang'));
  $('#signout').addEventListener('click', signOut);
  onSignedOut(() => location.reload());
  me = await signedInUser('admin');
  $('#who').textContent = me.full_name || me.username;
  const layout = await api('/web/layout');
  syncServerTime(layout.now);
  site = layout.sites[0];
  index = new SiteIndex(site);
  setTimeZone(site.timezone);
  fillForms();
  $('#user-form').addEventListener('submit', createUser);
  $('#plan-form').addEventListener('submit', createPlan);
  await Promise.all([loadUsers(), loadPlans()].map((p) => p.catch(fail)));
}

main().catch(fail);
