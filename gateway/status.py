"""A device's online / degraded / offline state as polls succeed and fail. Pure.

- every point read and decoded: `online`, failures reset;
- the device answered but some reads were refused (exception responses) or some points did
  not decode: `degraded` — it is there, so this is no step towards offline;
- no answer at all (timeout, connection down): one more consecutive failure; at
  `offline_after` of them the device is `offline`, and back on the next good read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from estatewatch.contracts.payloads import DeviceError, DeviceState


class PollResult(Enum):
    GOOD = "good"
    PARTIAL = "partial"  # answered, with errors
    NO_ANSWER = "no_answer"


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    state: DeviceState | None = None  # None until the first poll decides
    since_ms: int = 0
    last_seen_ms: int | None = None
    consecutive_failures: int = 0
    last_error: DeviceError | None = None


def observe(
    health: DeviceHealth,
    result: PollResult,
    now_ms: int,
    *,
    offline_after: int,
    error: DeviceError | None = None,
) -> tuple[DeviceHealth, bool]:
    """The health after one poll, and whether its state changed."""
    if result is PollResult.NO_ANSWER:
        failures = health.consecutive_failures + 1
        state = DeviceState.OFFLINE if failures >= offline_after else health.state
        new = replace(health, consecutive_failures=failures, last_error=error, state=state)
    elif result is PollResult.PARTIAL:
        new = replace(
            health,
            state=DeviceState.DEGRADED,
            consecutive_failures=0,
            last_seen_ms=now_ms,
            last_error=error,
        )
    else:
        new = replace(
            health,
            state=DeviceState.ONLINE,
            consecutive_failures=0,
            last_seen_ms=now_ms,
            last_error=None,
        )
    changed = new.state is not health.state
    if changed:
        new = replace(new, since_ms=now_ms)
    return new, changed
