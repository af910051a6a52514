"""Who hears about what: routing rules, the on-call rota, maintenance windows. Pure.

A `Subject` is what happened (an alarm raised, a work order breaching its SLA...), built at
the boundary from the feed's payloads; `recipients()` turns rules and rota into people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from estatewatch.config.notify import EventKind, Match, NotifyConfig, OnCallRole, RoutingRule
from estatewatch.config.patrol import Shift


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # "alarm", "workorder" or "incident"
    event: EventKind
    id: str
    site: str
    severity: str
    category: str
    device_kind: str | None
    device: str | None
    building: str | None
    where: str
    what: str
    since: datetime
    link: str
    what_zh: str | None = None
    """`what` in Chinese, when the subject has it (an alarm's or an order's `title_zh`)."""


def matches(match: Match, subject: Subject) -> bool:
    if subject.event not in match.events:
        return False
    if match.severities and subject.severity not in match.severities:
        return False
    if match.categories and not any(subject.category.startswith(c) for c in match.categories):
        return False
    if match.device_kinds and subject.device_kind not in match.device_kinds:
        return False
    return not match.buildings or subject.building in match.buildings


def rules_for(config: NotifyConfig, subject: Subject) -> list[RoutingRule]:
    return [rule for rule in config.routes if matches(rule.match, subject)]


def silenced(config: NotifyConfig, subject: Subject, now: datetime) -> bool:
    """A maintenance window covers the subject's device or building now."""
    for window in config.maintenance:
        if not window.start <= now < window.end:
            continue
        if window.device is not None and window.device == subject.device:
            return True
        if window.device is None and window.building == subject.building:
            return True
    return False


def _in_shift(shift: Shift, local: datetime) -> datetime | None:
    """The local date-time the current instance of `shift` started, if `local` is in it."""
    today = datetime.combine(local.date(), shift.start, tzinfo=local.tzinfo)
    for start in (today, today - timedelta(days=1)):
        end_date = start.date() + (timedelta(days=1) if shift.end <= shift.start else timedelta())
        end = datetime.combine(end_date, shift.end, tzinfo=local.tzinfo)
        if shift.end == time(0) and shift.start == time(0):
            end = start + timedelta(days=1)
        if start <= local < end:
            return start
    return None


def on_call(
    config: NotifyConfig, shifts: Iterable[Shift], role: OnCallRole, now: datetime, tz: tzinfo
) -> list[str]:
    """Who holds `role` now. A night shift after midnight belongs to the day it started."""
    local = now.astimezone(tz)
    started: dict[str, datetime] = {}
    for shift in shifts:
        start = _in_shift(shift, local)
        if start is not None:
            started[shift.id] = start
    people: list[str] = []
    for entry in config.oncall:
        start = started.get(entry.shift)
        if start is None or entry.role != role or entry.person in people:
            continue
        if start.weekday() in entry.weekdays:
            people.append(entry.person)
    return people


def resolve(
    config: NotifyConfig,
    shifts: Iterable[Shift],
    *,
    roles: Iterable[OnCallRole],
    people: Iterable[str],
    now: datetime,
    tz: tzinfo,
    rostered: Mapping[OnCallRole, list[str]] | None = None,
) -> list[str]:
    """Named people plus whoever is on call for `roles` (the on-call entries, then those
    the duty roster has on shift in that role), each once, in order."""
    shifts = list(shifts)
    found: list[str] = []
    for role in roles:
        found += [p for p in on_call(config, shifts, role, now, tz) if p not in found]
        found += [p for p in (rostered or {}).get(role, []) if p not in found]
    found += [p for p in people if p not in found]
    return found
