"""The equipment operation log's arithmetic: the day in site time, the windows that tile it,
the values at fixed times, and the CSV. Pure.

Codes and states (`is_state`) are not averaged: the day's last value stands for them.

A day's min, max and mean come from the store's per-window aggregates (`ReadingStore` has no
"whole range" question): windows as long as possible that still tile the local day exactly
while aligned to the epoch, as the stores align them — 8 h for UTC+8, the whole day for UTC,
30 min for UTC+5:30. Min and max are exact; the mean is the mean of the window means, exact
when readings are evenly spread over the day (a polled device's are).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from estatewatch.clock import to_epoch_ms
from estatewatch.contracts.payloads import Scalar
from estatewatch.readings import Sample

AT_TOLERANCE = timedelta(minutes=15)
"""A value "at 08:00" is the newest reading in the 15 minutes up to 08:00."""


def day_bounds(day: date, tz: tzinfo) -> tuple[int, int]:
    """Local midnight to the next local midnight, epoch ms (23 or 25 h across DST)."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return to_epoch_ms(start), to_epoch_ms(end)


def tiling_window(start: int, end: int) -> int:
    """The longest window (ms) whose epoch-aligned windows tile `[start, end)` exactly."""
    if not 0 <= start < end:
        raise ValueError("need 0 <= start < end")
    return math.gcd(start, end)


def at_ms(day: date, at: time, tz: tzinfo) -> int:
    return to_epoch_ms(datetime.combine(day, at, tzinfo=tz))


def hhmm(at: time) -> str:
    return at.strftime("%H:%M") if at.second == 0 else at.strftime("%H:%M:%S")


def combine_min(values: Sequence[Scalar | None]) -> Scalar | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def combine_max(values: Sequence[Scalar | None]) -> Scalar | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def combine_last(values: Sequence[Scalar | None]) -> Scalar | None:
    """The last present value of windows in time order: a code's or state's day."""
    present = [v for v in values if v is not None]
    return present[-1] if present else None


STATE_SUFFIXES = ("_code", "_state", "_status", "_mode")
STATE_NAMES = frozenset({"direction", "state", "status", "mode"})


def is_state(name: str, *, coded: bool) -> bool:
    """A point whose numbers are codes or states (an elevator's direction, a fault code, a
    door state): its mean, minimum or maximum means nothing (a mean direction of 0.04 is
    no direction), so the log keeps its last value. `coded` is a register point's enum
    table; a point without one (an MQTT sensor's) is judged by its name."""
    return coded or name in STATE_NAMES or name.endswith(STATE_SUFFIXES)


def combine_mean(values: Sequence[Scalar | None]) -> float | None:
    present = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return sum(present) / len(present) if present else None


def value_at(samples: Sequence[Sample], at: int) -> Sample | None:
    """The newest sample with a value at or before `at` (samples oldest first)."""
    for sample in reversed(samples):
        if sample.ts <= at and sample.value is not None:
            return sample
    return None


def _cell(value: Scalar | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class _Value(Protocol):
    @property
    def value(self) -> Scalar | None: ...


class _PointRow(Protocol):
    @property
    def point(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def min(self) -> Scalar | None: ...
    @property
    def max(self) -> Scalar | None: ...
    @property
    def mean(self) -> float | None: ...
    @property
    def last(self) -> Scalar | None: ...
    @property
    def values(self) -> Sequence[_Value]: ...


class LogTable(Protocol):
    """What the CSV reads from an operation log (`api.schemas.readings.OperationLog`)."""

    @property
    def times(self) -> Sequence[str]: ...
    @property
    def points(self) -> Sequence[_PointRow]: ...


def log_csv(log: LogTable) -> str:
    """One row per point: point, unit, min, max, mean, last (codes, states and text), then
    the value at each time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["point", "unit", "description", "min", "max", "mean", "last", *log.times])
    for p in log.points:
        summary = [_cell(p.min), _cell(p.max), _cell(p.mean), _cell(p.last)]
        writer.writerow(
            [p.point, p.unit, p.description, *summary] + [_cell(v.value) for v in p.values]
        )
    return out.getvalue()
