"""Report by exception: a polled device's readings cut down to what is worth sending. Pure.

A point with a `PointPolicy` is sent when it changed beyond its deadband since the value
last *sent* (so a slow drift still goes out once it has drifted a band's width), when its
quality changed (a `stale` or `error` mark, or back to good), and otherwise once its
`max_silence` has passed, so a steady value still goes out once a minute and nobody mistakes
"steady" for "gone". Points without a policy are sent every poll, as before. A reading left
with nothing to say is not sent at all.

Consumers hold the last value: the rules engine keeps each point's last value and counts a
device alive by its readings and by its `online` status (sent every health interval), the
readings store answers `latest` per point however old the row. The first reading, and the
first after a device's status changed (it went offline and came back), is sent whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from estatewatch.codec import Value
from estatewatch.config.report import DEFAULT_MAX_SILENCE, Deadband
from estatewatch.contracts.payloads import Quality
from gateway.devices import Reading

ANY_CHANGE = Deadband(value=0.0)


class ReportedPoint(Protocol):
    """A point of any protocol with report options (`estatewatch.config.ReportOptions`)."""

    @property
    def name(self) -> str: ...

    @property
    def deadband(self) -> Deadband | None: ...

    @property
    def max_silence(self) -> timedelta | None: ...


@dataclass(frozen=True, slots=True)
class PointPolicy:
    deadband: Deadband = ANY_CHANGE
    max_silence_ms: int = int(DEFAULT_MAX_SILENCE.total_seconds() * 1000)


def policies(points: Iterable[ReportedPoint], *, everything: bool) -> dict[str, PointPolicy]:
    """The policy of each point that has one: those with a deadband, or every point when
    `everything` (the gateway's `report_by_exception`)."""
    out: dict[str, PointPolicy] = {}
    for point in points:
        if point.deadband is None and not everything:
            continue
        silence = point.max_silence or DEFAULT_MAX_SILENCE
        out[point.name] = PointPolicy(
            point.deadband or ANY_CHANGE, int(silence.total_seconds() * 1000)
        )
    return out


def changed(sent: Value | None, now: Value | None, deadband: Deadband) -> bool:
    """`now` is worth sending against the value last sent."""
    if sent is None or now is None:
        return sent is not now
    numbers = (int, float)
    if (
        isinstance(sent, numbers)
        and isinstance(now, numbers)
        and not isinstance(sent, bool)
        and not isinstance(now, bool)
    ):
        return deadband.exceeded(float(sent), float(now))
    return sent != now or type(sent) is not type(now)


@dataclass(slots=True)
class _Sent:
    value: Value | None
    quality: Quality
    at: int


class ReportFilter:
    """One device's report-by-exception state: what was last sent of each point, when."""

    __slots__ = ("_policies", "_sent", "values_in", "values_out")

    def __init__(self, point_policies: Mapping[str, PointPolicy]) -> None:
        self._policies = dict(point_policies)
        self._sent: dict[str, _Sent] = {}
        self.values_in = 0
        """Point values offered (full rate)."""
        self.values_out = 0
        """Point values passed on."""

    def __bool__(self) -> bool:
        return bool(self._policies)

    def reset(self) -> None:
        """Forget what was sent: the next reading goes out whole (after a status change)."""
        self._sent.clear()

    def __call__(self, reading: Reading) -> Reading | None:
        """The part of `reading` to send, or None when nothing is worth sending."""
        now = reading.ts
        values: dict[str, Value] = {}
        quality: dict[str, Quality] = {}
        names = list(reading.values) + [n for n in reading.quality if n not in reading.values]
        for name in names:
            value = reading.values.get(name)
            mark = reading.quality.get(name, Quality.GOOD)
            if self._due(name, value, mark, now):
                if value is not None:
                    values[name] = value
                if mark is not Quality.GOOD:
                    quality[name] = mark
        self.values_in += len(reading.values)
        self.values_out += len(values)
        if not values and not quality:
            return None
        return Reading(now, values, quality)

    def _due(self, name: str, value: Value | None, mark: Quality, now: int) -> bool:
        policy = self._policies.get(name)
        if policy is None:
            return True
        sent = self._sent.get(name)
        if (
            sent is None
            or sent.quality is not mark
            or now - sent.at >= policy.max_silence_ms
            or changed(sent.value, value, policy.deadband)
        ):
            self._sent[name] = _Sent(value, mark, now)
            return True
        return False
