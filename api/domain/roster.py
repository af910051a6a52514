"""The duty roster (排班): who works which shift, and so who is on duty at a moment.

A shift that crosses midnight belongs to the day it started: `weekdays` name that day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo

from estatewatch.config.patrol import RosterEntry, Shift


def shift_start(shift: Shift, now: datetime, tz: tzinfo) -> datetime | None:
    """The local start of the occurrence of `shift` running at `now`, if one is."""
    local = now.astimezone(tz)
    for day in (local.date() - timedelta(days=1), local.date()):
        start = datetime.combine(day, shift.start, tz)
        end_day = day if shift.end > shift.start else day + timedelta(days=1)
        end = datetime.combine(end_day, shift.end, tz)
        if start <= local < end:
            return start
    return None


def on_duty(
    entries: Iterable[RosterEntry], shifts: Iterable[Shift], now: datetime, tz: tzinfo
) -> dict[str, list[str]]:
    """Role -> the people rostered on a shift running at `now`, each once, in roster order."""
    started = {s.id: start for s in shifts if (start := shift_start(s, now, tz)) is not None}
    duty: dict[str, list[str]] = {"guard": [], "duty_engineer": [], "technician": []}
    for entry in entries:
        start = started.get(entry.shift)
        if start is None or start.weekday() not in entry.weekdays:
            continue
        if entry.person not in duty[entry.role]:
            duty[entry.role].append(entry.person)
    return duty
