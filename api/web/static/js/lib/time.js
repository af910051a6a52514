// Time on the pages: the server's clock (a wall screen's own clock drifts; countdowns
// must agree with the SLA checker), times shown in the site's time zone, and durations.

import { lang, t } from './i18n.js';

let offsetMs = 0;
let timeZone;

/** Align with the server: `iso` is the server's "now" (from GET /web/layout). */
export function syncServerTime(iso) {
  const server = Date.parse(iso);
  if (!Number.isNaN(server)) offsetMs = server - Date.now();
}

export function setTimeZone(zone) {
  timeZone = zone;
}

/** Milliseconds since the epoch, by the server's clock. */
export function now() {
  return Date.now() + offsetMs;
}

export function ms(value) {
  if (value === null || value === undefined) return NaN;
  return typeof value === 'number' ? value : Date.parse(value);
}

function format(value, options) {
  const at = ms(value);
  if (Number.isNaN(at)) return '';
  return new Intl.DateTimeFormat(lang, { timeZone, hourCycle: 'h23', ...options }).format(at);
}

/** "14:05" */
export const hhmm = (value) => format(value, { hour: '2-digit', minute: '2-digit' });
/** "14:05:09" */
export const hhmmss = (value) =>
  format(value, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
/** "11-02 14:05" */
export const dayTime = (value) =>
  format(value, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });

/** A duration in words: "2分15秒", "1小时5分", "2天3小时". */
export function duration(span) {
  const s = Math.max(0, Math.floor(span / 1000));
  if (s < 60) return t('time.s', { s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('time.ms', { m, s: s % 60 });
  const h = Math.floor(m / 60);
  if (h < 24) return t('time.hm', { h, m: m % 60 });
  return t('time.dh', { d: Math.floor(h / 24), h: h % 24 });
}

/** How long an alarm's fault has lasted (ms), from its onset (before the rule's hold) to `at`
 * while it is active, or to its clearing once cleared: then it stops counting. */
export function faultSpan(alarm, at = now()) {
  const onset = ms(alarm.onset_at ?? alarm.raised_at);
  const cleared = alarm.cleared_at && !alarm.active ? ms(alarm.cleared_at) : NaN;
  return (Number.isNaN(cleared) ? at : cleared) - onset;
}

/** How long ago, in words. */
export const ago = (value) => t('time.ago', { d: duration(now() - ms(value)) });

/** A countdown as a clock: "12:34" or "1:02:03" (absolute value; the caller says which side). */
export function clock(span) {
  const s = Math.floor(Math.abs(span) / 1000);
  const hours = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}
