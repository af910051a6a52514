"""When a usage-based maintenance plan (every N run hours, every N starts) comes due: pure,
from the counter the device reports and what the plan last saw of it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UsageStep:
    next_at: float
    """The counter value at which the plan is next due."""
    due: bool
    """The counter reached the threshold with this reading: open an order."""


def usage_step(
    *, interval: float, threshold: float | None, last: float | None, value: float
) -> UsageStep:
    """The plan's next threshold after the counter was read as `value`.

    - First sight of the counter: due one interval from now (a plan made today for a pump
      with 9 000 run hours does not open an order for the 18 intervals it never had).
    - The counter went backwards (a controller replaced or reset): start again from it.
    - Reached: due; the next service one interval after this reading, not after the
      threshold, since the service happens now however late the reading came.
    """
    if threshold is None or (last is not None and value < last):
        return UsageStep(next_at=value + interval, due=False)
    if value >= threshold:
        return UsageStep(next_at=value + interval, due=True)
    return UsageStep(next_at=threshold, due=False)
