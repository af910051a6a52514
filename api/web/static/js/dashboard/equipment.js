// The equipment board: every device of the site by building and room, with its status
// from the gateways (GET /devices, kept current by the stream) and its latest values
// (GET /devices/{id}/latest, read every few seconds while the board is on screen).

import { api } from '../lib/api.js';
import { $, fill, h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { openDevicePanel } from './device-panel.js';
import { emit, on, store } from './store.js';
import { tile } from './tiles.js';

const POLL_MS = 5000;
const BACKOFF_MS = 30_000; // after the readings store said it cannot answer
const PARALLEL = 4;
const SEVERITIES = ['critical', 'major', 'minor', 'warning'];

let polling = false;
let pausedUntil = 0;

function worstAlarm(deviceId) {
  let worst = null;
  for (const alarm of store.alarms.values()) {
    if (alarm.target !== deviceId || alarm.state === 'closed') continue;
    if (!worst || SEVERITIES.indexOf(alarm.severity) < SEVERITIES.indexOf(worst)) worst = alarm.severity;
  }
  return worst;
}

function render() {
  if (store.view !== 'equipment') return;
  const index = store.index;
  // One box per room ("二号楼 · 电梯机房"), as wide as its devices, packed densely so a
  // 1920-pixel wall screen shows the whole estate at once.
  const rooms = store.site.buildings.flatMap((building) =>
    building.rooms
      .map((room) => ({
        building,
        room,
        devices: store.site.devices.filter((d) => d.building === building.id && d.room === room.id),
      }))
      .filter((r) => r.devices.length),
  );
  const sections = rooms.map(({ building, room, devices }) =>
    h(
      'section',
      { class: `room span-${Math.min(devices.length, 3)}`, 'aria-labelledby': `r-${building.id}-${room.id}` },
      h('h2', { id: `r-${building.id}-${room.id}` }, `${index.building(building.id)} · ${index.room(building.id, room.id)}`),
      h(
        'div',
        { class: 'tiles' },
        devices.map((device) =>
          tile(device, {
            status: store.devices.get(device.id),
            reading: store.readings.get(device.id),
            severity: worstAlarm(device.id),
            error: store.readingsError,
            open: openDevicePanel,
          }),
        ),
      ),
    ),
  );
  const focused = document.activeElement?.closest?.('[data-device]')?.dataset.device;
  fill($('#equipment'), sections);
  if (focused) $(`#equipment [data-device="${focused}"] button.open`)?.focus();
  const offline = [...store.devices.values()].filter((d) => d.state !== 'online').length;
  $('#count-equipment').textContent = offline ? `${offline} ${t('deviceState.offline')}` : '';
}

async function readAll() {
  const queue = [...store.site.devices];
  let unavailable = false;
  const worker = async () => {
    while (queue.length && !unavailable) {
      const device = queue.shift();
      try {
        store.readings.set(device.id, await api(`/devices/${encodeURIComponent(device.id)}/latest`, { params: { site: store.site.id } }));
      } catch (err) {
        if (err.status === 503) unavailable = true;
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  store.readingsError = unavailable ? 'unavailable' : null;
  if (unavailable) pausedUntil = Date.now() + BACKOFF_MS;
  emit('readings');
}

async function poll() {
  if (polling || store.view !== 'equipment' || document.hidden || Date.now() < pausedUntil) return;
  polling = true;
  try {
    await readAll();
  } finally {
    polling = false;
  }
}

export function initEquipment() {
  for (const topic of ['devices', 'readings', 'alarms', 'layout']) on(topic, render);
  on('view', () => {
    render();
    poll();
  });
  setInterval(poll, POLL_MS);
}
