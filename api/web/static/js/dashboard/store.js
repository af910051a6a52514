// What the dashboard holds: the site's layout and the live state of its alarms, work
// orders and devices, kept current by the stream. Boards listen for 'alarms', 'orders',
// 'devices', 'readings' and 'tick' (every second) and redraw themselves.

import { api } from '../lib/api.js';

export const store = {
  me: null,
  site: null, // this site's layout (GET /web/layout)
  index: null, // SiteIndex over it
  alarms: new Map(),
  orders: new Map(),
  devices: new Map(),
  readings: new Map(), // device → {points} from /devices/{id}/latest
  readingsError: null,
  view: 'alarms',
  notifying: true, // GET /web/layout says whether the API runs its notifier
};

const bus = new EventTarget();

export function on(topic, fn) {
  bus.addEventListener(topic, () => fn());
}

export function emit(topic) {
  bus.dispatchEvent(new Event(topic));
}

const OPEN_ALARM = new Set(['active', 'acknowledged', 'cleared']);

export function putAlarm(alarm) {
  if (alarm.site !== store.site.id) return;
  if (OPEN_ALARM.has(alarm.state)) store.alarms.set(alarm.alarm_id, alarm);
  else store.alarms.delete(alarm.alarm_id);
  if (alarm.work_order_id && !store.orders.has(alarm.work_order_id)) refreshOrder(alarm.work_order_id);
  emit('alarms');
}

export function putOrder(order) {
  if (order.site !== store.site.id) return;
  // An alarm's stream event can precede its order's creation: link them here.
  const alarm = order.alarm_id ? store.alarms.get(order.alarm_id) : null;
  if (alarm && alarm.work_order_id !== order.id) store.alarms.set(alarm.alarm_id, { ...alarm, work_order_id: order.id });
  if (order.open) store.orders.set(order.id, order);
  else store.orders.delete(order.id);
  emit('orders');
  emit('alarms'); // alarm cards show their order's countdown
}

export function putDevice(status) {
  if (status.site !== store.site.id) return;
  store.devices.set(status.device, status);
  emit('devices');
}

// A burst of work-order events (dispatch, escalation...) reads each order once.
const due = new Set();
let flushTimer = 0;

/** Read an order again (the stream's WorkOrderEvent is a summary; the board wants it all). */
export function refreshOrder(id) {
  due.add(id);
  clearTimeout(flushTimer);
  flushTimer = setTimeout(async () => {
    const ids = [...due];
    due.clear();
    for (const orderId of ids) {
      try {
        putOrder(await api(`/workorders/${encodeURIComponent(orderId)}`));
      } catch (err) {
        if (err.status === 404) {
          store.orders.delete(orderId);
          emit('orders');
        }
      }
    }
  }, 250);
}

/** (Re)load everything the boards show; called on the stream's `ready`. */
export async function loadBoard() {
  const site = store.site.id;
  const [alarms, orders, devices] = await Promise.all([
    api('/alarms', { params: { site, limit: 1000 } }),
    api('/workorders', { params: { site, open: true, limit: 1000 } }),
    api('/devices', { params: { site } }),
  ]);
  store.alarms = new Map(alarms.map((a) => [a.alarm_id, a]));
  store.orders = new Map(orders.map((o) => [o.id, o]));
  store.devices = new Map(devices.map((d) => [d.device, d]));
  for (const alarm of alarms) {
    if (alarm.work_order_id && !store.orders.has(alarm.work_order_id)) refreshOrder(alarm.work_order_id);
  }
  emit('alarms');
  emit('orders');
  emit('devices');
}

/** A critical alarm still active that nobody has been asked to acknowledge: it sounds. */
export function needsAttention(alarm) {
  return alarm.severity === 'critical' && alarm.state === 'active' && !alarm.ack_requested_by;
}
