// The pure page modules exercised in the browser by test_the_page_logic_in_the_browser
// (a test helper, not shipped): returns what each answered.
async () => {
  const r = await import('/static/js/lib/rounds.js');
  const { EventParser } = await import('/static/js/lib/sse.js');
  const { normalizeTag, validTag } = await import('/static/js/guard/nfc.js');
  const { localName, nameOf, tagHint, textIn } = await import('/static/js/lib/names.js');
  const { clockLines, pendingClocks } = await import('/static/js/lib/orders.js');
  const { duration, faultSpan, setTimeZone } = await import('/static/js/lib/time.js');
  setTimeZone('Asia/Shanghai');
  const at = (hhmm) => Date.parse(`2026-11-02T${hhmm}:00Z`);
  const round = { route: 'r', start: '2026-11-02T01:00:00Z', end: '2026-11-02T02:00:00Z', checkpoints: ['a', 'b', 'c'] };
  const scans = [{ checkpoint: 'a', scanned_at: '2026-11-02T01:10:00Z' }, { checkpoint: 'b', scanned_at: '2026-11-02T02:30:00Z' }];
  const states = (when, next) => r.checkpointStates(round, scans, at(when), next).map((s) => s.state);
  const other = { ...round, route: 'q', checkpoints: ['x'], end: '2026-11-02T01:30:00Z' };
  const events = [];
  const parser = new EventParser((e) => events.push(e));
  for (const chunk of ['id: 5\r', '\nevent: alarm\ndata: {"a"', ':1}\n\n: ping\n\n', 'data: x\n']) parser.push(chunk);
  return {
    after: states('03:00', at('05:00')),
    lateTooLate: states('06:00', at('02:20')),
    during: states('01:30'),
    before: states('00:30'),
    current: r.currentRound([other, round], scans, at('01:20')).route,
    next: r.nextCheckpoint(round, scans, at('01:20')),
    events,
    tag: normalizeTag('04:a1:b2:00:11'),
    valid: [validTag('04A1B20011'), validTag('04A1'), validTag('04A1B2001Z')],
    names: [localName('Domestic pump room 生活泵房'), localName('Tower 2 car A'), localName('LV power room 1 (Towers 1-2) 1号配电房')],
    named: [
      nameOf({ name: 'Car park B1 B1 车库', name_en: 'Car park B1', name_zh: 'B1 车库' }),
      nameOf({ name: 'Tower 2 car A 2号楼A梯' }),
      textIn({ title: 'Burst pipe', title_zh: '疑似爆管' }, 'title'),
      textIn({ title: 'Typed by a person', title_zh: null }, 'title'),
    ],
    // The page renders the API's pending_clocks (met or not is decided in api/domain/sla.py),
    // never the deadlines it cannot judge.
    pending: pendingClocks({ state: 'dispatched', deadlines: { dispatch: '2026-11-02T01:30:00Z' },
      pending_clocks: [{ clock: 'response', due: '2026-11-02T01:15:00Z' }, { clock: 'on_site', due: '2026-11-02T01:30:00Z' }] })
      .map((c) => [c.clock, c.due - at('01:00')]),
    closed: pendingClocks({ state: 'cancelled', deadlines: { dispatch: '2026-11-02T01:30:00Z' } }),
    durations: [duration(5_000), duration(135_000), duration(3_900_000), duration(93_600_000)],
    hints: [tagHint('harbour-view', '04A1B20013'), tagHint('s', '04A1B20011'), tagHint('', '')],
    // an alarm's duration runs from its onset while active and stops once it cleared
    spans: [
      faultSpan({ onset_at: '2026-11-02T01:00:00Z', raised_at: '2026-11-02T01:00:30Z', active: true, cleared_at: null }, at('01:10')),
      faultSpan({ raised_at: '2026-11-02T01:00:30Z', active: true, cleared_at: null }, at('01:10')),
      faultSpan({ onset_at: '2026-11-02T01:00:00Z', active: false, cleared_at: '2026-11-02T01:04:00Z' }, at('01:10')),
      faultSpan({ onset_at: '2026-11-02T01:00:00Z', active: false, cleared_at: '2026-11-02T01:04:00Z' }, at('09:00')),
    ],
    // a callback due the next day shows its date, not only a time of day
    callback: clockLines({ state: 'completed', breached: [], pending_clocks: [{ clock: 'callback', due: '2026-11-03T01:05:00Z' }],
      deadlines: { response: '2026-11-02T01:15:00Z', callback: '2026-11-03T01:05:00Z' } }).map((c) => c.text),
  };
}
