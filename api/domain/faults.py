"""Fault analysis arithmetic (高频故障分析): counts per device, kind, location or rule,
mean time between faults, mean time to repair, repeat faults. Pure.

- A fault is an alarm raised on a device.
- MTBF of a group: the mean interval between consecutive faults of the same device within
  the group (a device with one fault adds no interval); None without any interval.
- MTTR: the mean of repair times, repair being the completion of the fault's work order,
  or, without one, the alarm clearing; faults not yet repaired are left out.
- A repeat fault: one whose device had a fault of the same category in the 30 days before
  (faults before the period are given as `history` so the first ones of it count too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

REPEAT_WITHIN = timedelta(days=30)

GroupBy = Literal["device", "kind", "location", "rule"]


@dataclass(frozen=True, slots=True)
class Fault:
    id: str
    device: str
    kind: str
    location: str
    rule: str
    category: str
    at: datetime
    repaired_at: datetime | None = None


@dataclass(slots=True)
class Group:
    key: str
    faults: int = 0
    repeats: int = 0
    devices: set[str] = field(default_factory=set)
    intervals: list[timedelta] = field(default_factory=list)
    repairs: list[timedelta] = field(default_factory=list)

    @property
    def mtbf_hours(self) -> float | None:
        return _hours(self.intervals)

    @property
    def mttr_hours(self) -> float | None:
        return _hours(self.repairs)


def _hours(spans: Sequence[timedelta]) -> float | None:
    if not spans:
        return None
    return round(sum(s.total_seconds() for s in spans) / len(spans) / 3600, 2)


def key_of(fault: Fault, by: GroupBy) -> str:
    return {"device": fault.device, "kind": fault.kind, "location": fault.location}.get(
        by, fault.rule
    )


def repeats(faults: Iterable[Fault], history: Iterable[Fault] = ()) -> set[str]:
    """Ids of the faults that repeat one of the same device and category within 30 days."""
    last: dict[tuple[str, str], datetime] = {}
    out: set[str] = set()
    for fault in sorted([*history, *faults], key=lambda f: f.at):
        key = (fault.device, fault.category)
        before = last.get(key)
        if before is not None and fault.at - before <= REPEAT_WITHIN:
            out.add(fault.id)
        last[key] = fault.at
    history_ids = {f.id for f in history}
    return out - history_ids


def analyse(faults: Sequence[Fault], by: GroupBy, history: Iterable[Fault] = ()) -> list[Group]:
    """One group per key, most faults first (then by key)."""
    repeated = repeats(faults, history)
    groups: dict[str, Group] = {}
    previous: dict[tuple[str, str], datetime] = {}
    for fault in sorted(faults, key=lambda f: f.at):
        key = key_of(fault, by)
        group = groups.setdefault(key, Group(key))
        group.faults += 1
        group.devices.add(fault.device)
        group.repeats += fault.id in repeated
        before = previous.get((key, fault.device))
        if before is not None:
            group.intervals.append(fault.at - before)
        previous[(key, fault.device)] = fault.at
        if fault.repaired_at is not None and fault.repaired_at >= fault.at:
            group.repairs.append(fault.repaired_at - fault.at)
    return sorted(groups.values(), key=lambda g: (-g.faults, g.key))
