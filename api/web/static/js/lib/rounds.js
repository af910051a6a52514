// Patrol rounds, as pure functions shared by the duty room's patrol board and the guard's
// phone. A round (from GET /web/layout) is a route's checkpoints with a time window; scans
// count by the time they were made (`scanned_at`), so a batch synced late from a basement
// lands where it belongs.

import { ms } from './time.js';

/** 'upcoming', 'open' or 'closed' at `at` (epoch ms). */
export function roundState(round, at) {
  if (at < ms(round.start)) return 'upcoming';
  return at <= ms(round.end) ? 'open' : 'closed';
}

/** When the same route's next window opens after `round` (Infinity if none is known). */
export function nextStartOfRoute(rounds, round) {
  const starts = rounds
    .filter((r) => r.route === round.route && ms(r.start) > ms(round.start))
    .map((r) => ms(r.start));
  return starts.length ? Math.min(...starts) : Infinity;
}

/** Each checkpoint of `round` at `at`: {checkpoint, state, scan}. States: scanned (in its
 * window), late (after the window, before the route's next one), missed (window over, no
 * scan), due (window open, not yet), upcoming (window not open yet). */
export function checkpointStates(round, scans, at, nextStart = Infinity) {
  const start = ms(round.start);
  const end = ms(round.end);
  return round.checkpoints.map((checkpoint) => {
    const own = scans.filter((s) => s.checkpoint === checkpoint);
    const inWindow = own.find((s) => ms(s.scanned_at) >= start && ms(s.scanned_at) <= end);
    if (inWindow) return { checkpoint, state: 'scanned', scan: inWindow };
    if (at < start) return { checkpoint, state: 'upcoming', scan: null };
    if (at <= end) return { checkpoint, state: 'due', scan: null };
    const late = own.find((s) => ms(s.scanned_at) > end && ms(s.scanned_at) < nextStart);
    return late ? { checkpoint, state: 'late', scan: late } : { checkpoint, state: 'missed', scan: null };
  });
}

/** The round to work on at `at`: of the open ones, the one the guard has started (a scan
 * in its window), else the one closing first; with none open, the next to open; null when
 * nothing is left in the known rounds. */
export function currentRound(rounds, scans, at) {
  const open = rounds.filter((r) => roundState(r, at) === 'open');
  if (open.length) {
    const started = (r) => checkpointStates(r, scans, at).some((c) => c.state === 'scanned');
    return [...open].sort((a, b) => Number(started(b)) - Number(started(a)) || ms(a.end) - ms(b.end))[0];
  }
  const upcoming = rounds.filter((r) => roundState(r, at) === 'upcoming');
  return upcoming.sort((a, b) => ms(a.start) - ms(b.start))[0] ?? null;
}

/** The first checkpoint of the round, in route order, not scanned yet (null when done). */
export function nextCheckpoint(round, scans, at) {
  if (!round) return null;
  const pending = checkpointStates(round, scans, at).find((c) => c.state !== 'scanned');
  return pending ? pending.checkpoint : null;
}

/** Percent of the round's checkpoints scanned in their window. */
export function percentDone(states) {
  if (!states.length) return 100;
  return Math.round((100 * states.filter((s) => s.state === 'scanned').length) / states.length);
}
