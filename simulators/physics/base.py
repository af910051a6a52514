"""What every physics model offers, and the helpers they share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Protocol

from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault


class Model(Protocol):
    def step(self, now: datetime, dt: float) -> None:
        """Move on by `dt` seconds; `now` is the estate time at the end of the step."""
        ...

    def values(self) -> dict[str, Scalar]:
        """The engineering values by point name (points it does not know are served as 0)."""
        ...

    def set_fault(self, fault: Fault, active: bool) -> None:
        """Turn a physics fault on or off; the values change at once where physics allows."""
        ...

    def write(self, name: str, value: Scalar) -> bool:
        """A client wrote a writable point; True if the model takes it as a setting."""
        ...


class StaticModel:
    """A device without physics (a generator, so far): serves zeros, takes no faults."""

    def step(self, now: datetime, dt: float) -> None:
        return None

    def values(self) -> dict[str, Scalar]:
        return {}

    def set_fault(self, fault: Fault, active: bool) -> None:
        return None

    def write(self, name: str, value: Scalar) -> bool:
        return False


Peak = tuple[float, float, float]
"""(hour of day, width in hours, height)"""


def daily_curve(hour: float, base: float, peaks: Sequence[Peak]) -> float:
    """`base` plus Gaussian peaks around hours of the day (wrapping round midnight)."""
    total = base
    for centre, width, height in peaks:
        distance = min(abs(hour - centre), 24.0 - abs(hour - centre))
        total += height * math.exp(-0.5 * (distance / width) ** 2)
    return total


def local_hour(now: datetime, tz: tzinfo) -> float:
    local = now.astimezone(tz)
    return local.hour + local.minute / 60.0 + local.second / 3600.0


def lag(value: float, target: float, dt: float, tau: float) -> float:
    """First-order lag, exact for any step: stable however large `dt` is."""
    if tau <= 0:
        return target
    return target + (value - target) * math.exp(-dt / tau)


def substeps(dt: float, longest: float, most: int) -> tuple[int, float]:
    """Split `dt` into `n` equal steps of at most `longest` seconds (at most `most` of them)."""
    if dt <= 0:
        return 0, 0.0
    n = min(most, max(1, math.ceil(dt / longest)))
    return n, dt / n


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
