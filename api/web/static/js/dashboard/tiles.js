// One tile per device on the equipment board, drawn by kind: pump sets (pressure against
// set-point, frequency, running pumps), elevators (floor, direction, doors, fault), power
// rooms (three phases, transformer), sensors. Offline devices are greyed with last-seen.

import { h } from '../lib/dom.js';
import { enumText, lang, t, tr } from '../lib/i18n.js';
import { nameOf } from '../lib/names.js';
import { ago, hhmmss } from '../lib/time.js';

const DECIMALS = { MPa: 3, Hz: 1, '°C': 1, '%': 0, A: 0, V: 0, kW: 0, kg: 0, 'm/s': 2 };

/** A point's value as text: enum text, yes/no, or a number with its unit. */
export function pointText(device, name, value) {
  if (value === undefined || value === null) return '—';
  const point = device.points.find((p) => p.name === name);
  if (point?.enum && typeof value === 'number' && point.enum[String(value)] !== undefined) {
    const own = lang === 'zh-CN' ? point.enum_zh?.[String(value)] : null;
    return own || enumText(point.enum[String(value)]);
  }
  if (typeof value === 'boolean') return t(value ? 'common.yes' : 'common.no');
  if (typeof value !== 'number') return String(value);
  const unit = point?.unit ?? '';
  const digits = DECIMALS[unit] ?? (Number.isInteger(value) ? 0 : 2);
  const number = value.toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${number} ${unit}` : number;
}

function metric(label, text, { big = false, bad = false } = {}) {
  return h(
    'div',
    { class: `metric${big ? ' big' : ''}${bad ? ' bad' : ''}` },
    h('span', { class: 'label' }, label),
    h('span', { class: 'value' }, text),
  );
}

function pumpBody(device, v) {
  const pressure = v('outlet_pressure');
  const setpoint = v('setpoint_pressure') ?? device.attributes.setpoint_mpa;
  const pumps = Number(device.attributes.pumps ?? 3);
  const running = Array.from({ length: pumps }, (_, i) => v(`pump${i + 1}_running`) === true);
  const fault = v('fault_code');
  const bar = h('span', { class: 'fill' });
  const mark = h('span', { class: 'mark' });
  if (typeof pressure === 'number' && typeof setpoint === 'number' && setpoint > 0) {
    const scale = setpoint * 1.5;
    bar.style.width = `${Math.min(100, (100 * pressure) / scale)}%`;
    mark.style.left = `${(100 * setpoint) / scale}%`;
    bar.classList.toggle('low', pressure < setpoint * 0.8);
  }
  return [
    metric(t('eq.pressure'), pointText(device, 'outlet_pressure', pressure), { big: true }),
    h(
      'div',
      {
        class: 'gauge',
        role: 'img',
        'aria-label': `${t('eq.pressure')} ${pointText(device, 'outlet_pressure', pressure)}, ${t('eq.setpoint', { v: pointText(device, 'outlet_pressure', setpoint) })}`,
      },
      bar,
      mark,
    ),
    h('p', { class: 'sub' }, t('eq.setpoint', { v: pointText(device, 'outlet_pressure', setpoint) })),
    metric(t('eq.frequency'), pointText(device, 'vfd_frequency', v('vfd_frequency'))),
    h(
      'div',
      { class: 'metric' },
      h('span', { class: 'label' }, t('eq.pumps')),
      h(
        'span',
        { class: 'value pumps' },
        running.map((on, i) => h('span', { class: `pump${on ? ' on' : ''}`, title: `${i + 1}` }, `${i + 1}${on ? '▶' : '■'}`)),
        ` ${running.filter(Boolean).length}/${pumps}`,
      ),
    ),
    metric(t('eq.tank'), pointText(device, 'tank_level', v('tank_level')), { bad: v('tank_low_switch') === true }),
    metric(t('eq.fault'), pointText(device, 'fault_code', fault), { bad: typeof fault === 'number' && fault !== 0 }),
  ];
}

function floorText(floor) {
  if (typeof floor !== 'number') return '—';
  return floor < 0 ? `B${-floor}` : `${floor}F`;
}

function elevatorBody(device, v) {
  const direction = v('direction');
  const arrow = { 1: '▲', 2: '▼' }[direction] ?? '■';
  const fault = v('fault_code');
  const inService = v('in_service');
  return [
    h(
      'div',
      { class: 'metric big floor' },
      h('span', { class: 'label' }, t('eq.floor')),
      h('span', { class: 'value' }, floorText(v('floor')), h('span', { class: 'arrow', 'aria-hidden': 'true' }, ` ${arrow}`)),
    ),
    metric(t('eq.direction'), pointText(device, 'direction', direction)),
    metric(t('eq.doors'), pointText(device, 'door_state', v('door_state')), { bad: v('door_state') === 4 }),
    metric(t('eq.load'), pointText(device, 'load', v('load'))),
    metric(t('eq.service'), inService === undefined ? '—' : t(inService ? 'eq.inService' : 'eq.outOfService'), { bad: inService === false }),
    metric(t('eq.fault'), pointText(device, 'fault_code', fault), { bad: typeof fault === 'number' && fault !== 0 }),
  ];
}

function powerBody(device, v) {
  const phases = ['1', '2', '3'];
  const names = lang === 'zh-CN' ? ['A', 'B', 'C'] : ['L1', 'L2', 'L3'];
  return [
    h(
      'table',
      { class: 'phases' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('eq.phase')), h('th', { scope: 'col' }, t('eq.voltage')), h('th', { scope: 'col' }, t('eq.current')))),
      h(
        'tbody',
        {},
        phases.map((p, i) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, names[i]),
            h('td', {}, pointText(device, `voltage_l${p}`, v(`voltage_l${p}`))),
            h('td', {}, pointText(device, `current_l${p}`, v(`current_l${p}`))),
          ),
        ),
      ),
    ),
    metric(t('eq.transformer'), pointText(device, 'transformer_temperature', v('transformer_temperature')), {
      big: true,
      bad: v('transformer_temperature') > 100,
    }),
    metric(t('eq.power'), pointText(device, 'active_power', v('active_power'))),
  ];
}

function sensorBody(device, v) {
  return device.points.map((p) => {
    const value = v(p.name);
    const alarming = (p.name === 'leak' || p.name === 'smoke') && value === true;
    return metric(tr('point', p.name), pointText(device, p.name, value), { bad: alarming, big: alarming });
  });
}

const BODIES = {
  water_pump_set: pumpBody,
  fire_pump: pumpBody,
  elevator: elevatorBody,
  power_room: powerBody,
  sensor: sensorBody,
};

function genericBody(device, v) {
  return device.points.slice(0, 6).map((p) => metric(tr('point', p.name), pointText(device, p.name, v(p.name))));
}

/** The tile of `device`; `status` from GET /devices, `reading` from .../latest, `severity`
 * of its worst open alarm; `open(device)` shows its panel. */
export function tile(device, { status, reading, severity, error, open }) {
  const state = status?.state ?? 'unknown';
  const v = (name) => reading?.points?.[name]?.value;
  const headingId = `dev-${device.id}`;
  const body = reading ? (BODIES[device.kind] ?? genericBody)(device, v) : [h('p', { class: 'muted' }, error ? t('eq.unavailable') : t('eq.noValues'))];
  return h(
    'article',
    {
      class: `tile kind-${device.kind} state-${state}${severity ? ` has-alarm sev-${severity}` : ''}`,
      dataset: { device: device.id, state },
      'aria-labelledby': headingId,
    },
    h(
      'header',
      {},
      h('h4', { id: headingId }, h('button', { type: 'button', class: 'open', 'aria-label': t('eq.details', { name: nameOf(device) }), onclick: () => open(device) }, nameOf(device))),
      h('span', { class: `state-chip state-${state}` }, tr('deviceState', state)),
    ),
    severity ? h('p', { class: `sev-badge sev-${severity}` }, tr('severity', severity)) : null,
    state !== 'online' && status?.last_seen
      ? h('p', { class: 'last-seen' }, t('eq.lastSeen', { time: hhmmss(status.last_seen) }), ` (${ago(status.last_seen)})`)
      : null,
    h('div', { class: 'metrics' }, body),
  );
}
