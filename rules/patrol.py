"""Patrol rules: missed, late and out-of-order checkpoints, silent guards, impossible
transits (cloned tags), and the scans the gateway refused (unknown tag, bad signature,
replay). Windows and shifts are in the site's timezone; a scan counts at its `scanned_at`,
so scans synced late from a handheld that lost signal land in the right window."""

from __future__ import annotations

from bisect import insort

from estatewatch.config.patrol import Checkpoint, Guard, PatrolRoute
from estatewatch.contracts.payloads import (
    AlarmEvent,
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    Scalar,
    TargetKind,
    stable_id,
)
from estatewatch.patrol import Placement, place
from rules.alarms import Raise, Target
from rules.conditions import CLEAR, FIRE, RuleState, Timing, step
from rules.model import PatrolRule
from rules.schedule import DAY_MS, route_windows, shift_at, to_utc, window_at
from rules.state import SiteState

RECENT_PER_HANDHELD = 20

_EXCEPTION_RULES = {
    PatrolExceptionKind.UNKNOWN_TAG: "unknown_tag",
    PatrolExceptionKind.BAD_SIGNATURE: "bad_signature",
    PatrolExceptionKind.REPLAY: "replay",
    PatrolExceptionKind.CLONED_TAG: "cloned_tag",
    PatrolExceptionKind.UNKNOWN_HANDHELD: "bad_scan",
    PatrolExceptionKind.MALFORMED: "bad_scan",
}
_TITLES = {  # (en, zh)
    "late_scan": (
        "Checkpoint {target} scanned late on {route}",
        "巡更点{target}迟到打卡（{route}）",
    ),
    "out_of_order": ("Route {target} patrolled out of order", "路线{target}未按顺序巡逻"),
    "silent_guard": (
        "Guard {target} has not scanned for over {minutes} min",
        "保安{target}已超过{minutes}分钟未打卡",
    ),
    "impossible_transit": (
        "Impossible transit to {target}: cloned tag or replay?",
        "到达{target}的时间不可能：标签被复制或重放？",
    ),
    "unknown_tag": ("Unknown tag scanned by {target}", "{target}扫描了未登记的标签"),
    "bad_signature": ("Scan with a bad signature from {target}", "来自{target}的打卡签名无效"),
    "replay": ("Replayed scan from {target}", "来自{target}的重放打卡"),
    "cloned_tag": (
        "Checkpoint tag failed its NTAG 424 check, scanned by {target}: cloned tag?",
        "{target}扫描的巡更标签未通过NTAG 424校验：标签被复制？",
    ),
    "shared_tag": (
        "Checkpoint {checkpoint} read by {target} and {other} {seconds} s apart: cloned tag?",
        "巡更点{checkpoint}被{target}和{other}相隔{seconds}秒读取：标签被复制？",
    ),
    "bad_scan": ("Unusable scan from {target}", "来自{target}的打卡无法使用"),
}
_MISSED = (
    "{route} {window}: {missed} of {expected} checkpoints missed — {names}",
    "{route} {window}：{expected}个巡更点漏巡{missed}个——{names}",
)
_KINDS = {
    "missed_checkpoint": TargetKind.ROUTE,
    "late_scan": TargetKind.CHECKPOINT,
    "out_of_order": TargetKind.ROUTE,
    "silent_guard": TargetKind.GUARD,
    "impossible_transit": TargetKind.CHECKPOINT,
}


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _local(site: SiteState, ms: int) -> str:
    return to_utc(ms).astimezone(site.plan.local.tz).strftime("%Y-%m-%d %H:%M")


def _config(site: SiteState, name: str) -> PatrolRule:
    rule: PatrolRule = getattr(site.plan.patrol, name)
    return rule


def _alarm(
    site: SiteState, name: str, target: str, now: int, details: dict[str, Scalar | None]
) -> tuple[tuple[str, str], Target, Raise]:
    config = _config(site, name)
    kind = _KINDS.get(name, TargetKind.HANDHELD)
    building = None
    if kind is TargetKind.CHECKPOINT:
        building = next((c.building for c in site.plan.config.checkpoints if c.id == target), None)
    text = {k: "" if v is None else str(v) for k, v in details.items()}
    en, zh = _TITLES["shared_tag" if name == "cloned_tag" and "other" in details else name]
    titles = []
    for lang, template in (("en", en), ("zh-CN", zh)):
        words = {k: text.get(k, "") for k in ("route", "minutes", "checkpoint", "other", "seconds")}
        words["route"] = _name(site, TargetKind.ROUTE, words["route"], lang)
        words["checkpoint"] = _name(site, TargetKind.CHECKPOINT, words["checkpoint"], lang)
        titles.append(template.format(target=_name(site, kind, target, lang), **words)[:256])
    rule = f"patrol.{name}"
    what = Raise(rule, name, config.severity, titles[0], "", None, details, titles[1], "")
    return (rule, target), Target(kind, target, None, building), what


def _momentary(
    site: SiteState, name: str, target: str, now: int, details: dict[str, Scalar | None]
) -> list[AlarmEvent]:
    """An event-like alarm: active until `hold` passes without it happening again."""
    config = _config(site, name)
    if not config.enabled:
        return []
    hold = config.hold or site.plan.patrol.hold
    key, where, what = _alarm(site, name, target, now, details)
    s = site.patrol.states.setdefault(f"{key[0]}\x1f{target}", RuleState())
    s.hold_until = now + _ms(hold.total_seconds())
    s.firing = True
    return site.book.fire(key, where, what, now, momentary=True)


def _condition(
    site: SiteState, name: str, target: str, raw: bool, now: int, details: dict[str, Scalar | None]
) -> list[AlarmEvent]:
    """A state-like alarm: active while `raw` holds."""
    config = _config(site, name)
    key, where, what = _alarm(site, name, target, now, details)
    s = site.patrol.states.setdefault(f"{key[0]}\x1f{target}", RuleState())
    change = step(s, raw and config.enabled, now, Timing())
    if change == FIRE:
        return site.book.fire(key, where, what, now)
    if change == CLEAR:
        return site.book.clear(key, now)
    return []


def _routes_of(site: SiteState, checkpoint: str) -> list[PatrolRoute]:
    return [r for r in site.plan.config.routes if checkpoint in r.checkpoints]


def on_scan(site: SiteState, scan: PatrolScan, now: int) -> list[AlarmEvent]:
    p = site.patrol
    if not p.first_time(scan.scan_id):
        return []  # a redelivery: already counted
    t, cp = scan.scanned_at, scan.checkpoint
    events: list[AlarmEvent] = []
    p.last_scan[cp] = max(t, p.last_scan.get(cp, t))
    p.guards[scan.guard] = max(t, p.guards.get(scan.guard, t))
    if cp in p.missed and t >= p.missed[cp]:
        del p.missed[cp]
        events += _found(site, cp, now)
    for route in _routes_of(site, cp):
        events += _in_window(site, route, scan, now)
    events += _transit(site, scan, now)
    events += _shared_tag(site, scan, now)
    events += _condition(site, "silent_guard", scan.guard, False, now, {})
    return events


def _in_window(site: SiteState, route: PatrolRoute, scan: PatrolScan, now: int) -> list[AlarmEvent]:
    p, t, cp = site.patrol, scan.scanned_at, scan.checkpoint
    occ = window_at(route, site.plan.local, t)
    if occ is None:
        return []
    scans = p.windows.setdefault(f"{route.id}@{occ.start}", {})
    if t >= occ.end:
        late_ms = t - occ.end
        if cp in scans or late_ms > _ms(site.plan.patrol.late_grace.total_seconds()):
            return []
        where = place(route, site.plan.local.tz, to_utc(t), grace=site.plan.patrol.late_grace)
        if where.placement is not Placement.LATE:
            return []  # nearer the next round than this one: early for it, not late for this
        details: dict[str, Scalar | None] = {
            "route": route.id,
            "window": _local(site, occ.start),
            "minutes": round(late_ms / 60000, 1),
            "guard": scan.guard,
        }
        return _momentary(site, "late_scan", cp, now, details)
    if cp in scans:
        return []  # a rescan within the window: the first one counts
    index = route.checkpoints.index(cp)
    scans[cp] = [t, index]
    _prune_windows(site, t)
    if not route.ordered:
        return []
    wrong = [
        other
        for other, (t2, i2) in scans.items()
        if other != cp and ((t2 < t and i2 > index) or (t2 > t and i2 < index))
    ]
    if not wrong:
        return []
    details = {
        "route": route.id,
        "checkpoint": cp,
        "expected_before": wrong[0],
        "guard": scan.guard,
        "window": _local(site, occ.start),
    }
    return _momentary(site, "out_of_order", route.id, now, details)


def _prune_windows(site: SiteState, t: int) -> None:
    horizon = t - 2 * DAY_MS
    for key in [k for k in site.patrol.windows if int(k.rsplit("@", 1)[1]) < horizon]:
        del site.patrol.windows[key]


def _min_transit_ms(site: SiteState, a: str, b: str) -> int:
    shared = [r for r in _routes_of(site, b) if a in r.checkpoints]
    routes = shared or _routes_of(site, b) or site.plan.config.routes
    if not routes:
        return 0
    return min(_ms(r.min_transit.total_seconds()) for r in routes)


def _transit(site: SiteState, scan: PatrolScan, now: int) -> list[AlarmEvent]:
    recent = site.patrol.handhelds.setdefault(scan.handheld, [])
    entry = [scan.scanned_at, scan.checkpoint]
    insort(recent, entry)
    if len(recent) > RECENT_PER_HANDHELD:
        recent.pop(0)
    if entry not in recent:
        return []
    i = recent.index(entry)
    neighbours = [recent[j] for j in (i - 1, i + 1) if 0 <= j < len(recent)]
    for t2, cp2 in neighbours:
        if cp2 == scan.checkpoint:
            continue
        gap = abs(scan.scanned_at - t2)
        limit = _min_transit_ms(site, cp2, scan.checkpoint)
        if gap < limit:
            details: dict[str, Scalar | None] = {
                "from": cp2,
                "seconds": round(gap / 1000, 1),
                "min_seconds": limit / 1000,
                "handheld": scan.handheld,
                "guard": scan.guard,
            }
            return _momentary(site, "impossible_transit", scan.checkpoint, now, details)
    return []


def _shared_tag(site: SiteState, scan: PatrolScan, now: int) -> list[AlarmEvent]:
    """One tag read by two handhelds closer in time than the shortest walk of its routes
    (`min_transit`): two guards on their own rounds cannot both pass one checkpoint so
    close together, so one read is of a copy. This catches a cloned tag without NTAG 424
    DNA (a paired patrol scans with one handheld). The same handheld reading two tags too
    fast is `impossible_transit`."""
    limit = _min_transit_ms(site, scan.checkpoint, scan.checkpoint)
    for handheld, recent in site.patrol.handhelds.items():
        if handheld == scan.handheld:
            continue
        for t2, cp2 in recent:
            gap = abs(scan.scanned_at - t2)
            if cp2 == scan.checkpoint and gap < limit:
                details: dict[str, Scalar | None] = {
                    "checkpoint": scan.checkpoint,
                    "other": handheld,
                    "seconds": round(gap / 1000, 1),
                    "min_seconds": limit / 1000,
                    "guard": scan.guard,
                    "kind": "shared_tag",
                }
                return _momentary(site, "cloned_tag", scan.handheld, now, details)
    return []


def on_exception(site: SiteState, exc: PatrolException, now: int) -> list[AlarmEvent]:
    ident = stable_id(exc.kind, exc.gateway, exc.handheld, exc.tag_uid, exc.received_at, exc.raw)
    if not site.patrol.first_time(ident):
        return []
    name = _EXCEPTION_RULES[exc.kind]
    target = exc.handheld or f"gateway:{exc.gateway}"
    details: dict[str, Scalar | None] = {
        "tag_uid": exc.tag_uid,
        "guard": exc.guard,
        "reason": exc.reason[:256],
        "kind": exc.kind.value,
    }
    return _momentary(site, name, target[:256], now, details)


def on_tick(site: SiteState, now: int) -> list[AlarmEvent]:
    events = _missed(site, now)
    events += _silent(site, now)
    p = site.patrol
    for key, s in list(p.states.items()):
        if s.hold_until is not None and s.firing and now >= s.hold_until:
            s.firing, s.hold_until = False, None
            rule, target = key.split("\x1f", 1)
            events += site.book.clear((rule, target), now)
    return events


def _missed(site: SiteState, now: int) -> list[AlarmEvent]:
    """At the end of each round (+ missed_grace): ONE alarm for the round, on the route,
    naming every checkpoint it missed; it clears once each of them is scanned again."""
    p = site.patrol
    until = now - _ms(site.plan.patrol.missed_grace.total_seconds())
    since = p.checked_until if p.checked_until is not None else until
    p.checked_until = max(since, until)
    events: list[AlarmEvent] = []
    if until <= since:
        return events
    config = _config(site, "missed_checkpoint")
    for route in site.plan.config.routes:
        for occ in route_windows(route, site.plan.local, since, until):
            missed = [cp for cp in route.checkpoints if p.last_scan.get(cp, -1) < occ.start]
            if not missed:
                continue
            for cp in missed:
                p.missed[cp] = max(occ.start, p.missed.get(cp, occ.start))
            p.missed_rounds[route.id] = missed
            if not config.enabled:
                continue
            names = [_checkpoint_name(site, cp) for cp in missed]
            titles = [
                template.format(
                    route=route.name.pick(lang),
                    window=_local(site, occ.start),
                    missed=len(missed),
                    expected=len(route.checkpoints),
                    names=("; " if lang == "en" else "；").join(
                        _name(site, TargetKind.CHECKPOINT, cp, lang) for cp in missed
                    ),
                )[:256]
                for lang, template in zip(("en", "zh-CN"), _MISSED, strict=True)
            ]
            details: dict[str, Scalar | None] = {
                "route": route.id,
                "route_name": route.name,
                "window": _local(site, occ.start),
                "window_end": _local(site, occ.end),
                "checkpoints": ", ".join(missed)[:1024],
                "checkpoint_names": "; ".join(names)[:1024],
                "missed": len(missed),
                "expected": len(route.checkpoints),
            }
            rule = "patrol.missed_checkpoint"
            what = Raise(
                rule, "missed_checkpoint", config.severity, titles[0], "", None, details, titles[1]
            )
            key = (rule, route.id)
            state = p.states.setdefault(f"{rule}\x1f{route.id}", RuleState())
            state.raw = state.firing = True
            where = Target(TargetKind.ROUTE, route.id)
            events += site.book.fire(key, where, what, now, momentary=True)
    return events


def _found(site: SiteState, checkpoint: str, now: int) -> list[AlarmEvent]:
    """A checkpoint missed in a round was scanned again: the round's alarm clears once
    none of its checkpoints is still missing."""
    events: list[AlarmEvent] = []
    for route_id, missed in list(site.patrol.missed_rounds.items()):
        if checkpoint not in missed:
            continue
        missed.remove(checkpoint)
        if missed:
            continue
        del site.patrol.missed_rounds[route_id]
        rule = "patrol.missed_checkpoint"
        state = site.patrol.states.setdefault(f"{rule}\x1f{route_id}", RuleState())
        state.raw = state.firing = False
        events += site.book.clear((rule, route_id), now)
    return events


def _name(site: SiteState, kind: TargetKind, target: str, lang: str) -> str:
    """A checkpoint's, route's or guard's name in `lang`; any other target is its id."""
    config = site.plan.config
    found: Checkpoint | PatrolRoute | Guard | None = None
    if kind is TargetKind.CHECKPOINT:
        found = next((c for c in config.checkpoints if c.id == target), None)
    elif kind is TargetKind.ROUTE:
        found = next((r for r in config.routes if r.id == target), None)
    elif kind is TargetKind.GUARD:
        found = next((g for g in config.guards if g.id == target), None)
    return found.name.pick(lang) if found is not None else target


def _checkpoint_name(site: SiteState, checkpoint: str) -> str:
    found = next((c for c in site.plan.config.checkpoints if c.id == checkpoint), None)
    return found.name if found is not None else checkpoint


def _rostered_guards(site: SiteState, now: int) -> dict[str, int]:
    """Guards the roster has on a shift at `now`, each with the shift's start: from then on
    they owe the hourly report, scanned or not."""
    shifts = {s.id: s for s in site.plan.config.shifts}
    starts: dict[str, int] = {}
    for entry in site.duty_roster:
        shift = shifts.get(entry.shift)
        if entry.role != "guard" or shift is None:
            continue
        occ = shift_at(shift, site.plan.local, now)
        if occ is not None and site.plan.local.date_of(occ.start).weekday() in entry.weekdays:
            starts[entry.person] = min(occ.start, starts.get(entry.person, occ.start))
    return starts


def _silent(site: SiteState, now: int) -> list[AlarmEvent]:
    """A guard on duty with no scan for over `guard_report_interval`: counted from their
    last scan, or, for a rostered guard, from the start of the shift if that is later (a
    guard silent from the start of the shift raises too)."""
    interval = _ms(site.plan.config.sla.guard_report_interval.total_seconds())
    rostered = _rostered_guards(site, now)
    events: list[AlarmEvent] = []
    for guard in sorted({*site.patrol.guards, *rostered}):
        last = site.patrol.guards.get(guard)
        if guard in rostered:
            since = max(last or rostered[guard], rostered[guard])
            on_shift = True
        else:
            assert last is not None
            since = last
            on_shift = any(
                occ is not None and now < occ.end
                for occ in (shift_at(s, site.plan.local, last) for s in site.plan.config.shifts)
            )
        raw = on_shift and now - since > interval
        details: dict[str, Scalar | None] = {
            "minutes": interval // 60000,
            "last_scan": _local(site, last) if last is not None else None,
            "since": _local(site, since),
        }
        events += _condition(site, "silent_guard", guard, raw, now, details)
    return events
