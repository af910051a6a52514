"""What the gateway knows about each device: online, degraded or offline, its last good
values, and what to say about it. Pure (time is passed in); one `DeviceTracker` per device.

- A poll that got any answer (values or an exception response) resets the failure count:
  the device is `online` when every point decoded, else `degraded`.
- A poll with no answer at all (timeout, no connection) counts a failure; after
  `offline_after` in a row the device is `offline`, and `online` again on the next answer.
- A point whose read failed repeats its last good value as `stale` for a while (while it is
  younger than `offline_after` poll intervals); otherwise it is an `error` and has no value.
- The first error of a streak is logged loudly; the repeats at debug level, like Home
  Assistant's modbus hubs do, so a dead device does not flood the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from estatewatch.codec import Value
from estatewatch.config import Device
from estatewatch.contracts.payloads import (
    DeviceError,
    DeviceErrorKind,
    DeviceState,
    DeviceStatus,
    Quality,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PollResult:
    """What one poll (or one sensor message) gave."""

    values: dict[str, Value] = field(default_factory=dict)
    failed: dict[str, DeviceError] = field(default_factory=dict)
    """Points without a fresh value, and why."""
    answered: bool = True
    """The device sent something back (values, an exception response, a payload)."""

    @property
    def first_error(self) -> DeviceError | None:
        return next(iter(self.failed.values()), None)


@dataclass(frozen=True, slots=True)
class Reading:
    """The values of one device at one moment, with the quality of those not good."""

    ts: int
    values: dict[str, Value]
    quality: dict[str, Quality]


class DeviceTracker:
    """The state of one device, moved on by each `PollResult`."""

    def __init__(
        self, device: Device, *, site: str, gateway: str, stale_ms: int | None = None
    ) -> None:
        self.device = device
        self.site = site
        self.gateway = gateway
        self.offline_after = device.offline_after
        interval_ms = int(device.poll_interval.total_seconds() * 1000)
        self.stale_ms = stale_ms if stale_ms is not None else self.offline_after * interval_ms
        self.state: DeviceState | None = None
        self.since = 0
        self.last_seen: int | None = None
        self.failures = 0
        self.last_error: DeviceError | None = None
        self._good: dict[str, Value] = {}
        self._good_at: dict[str, int] = {}
        self._reported: tuple[object, ...] | None = None
        self._streak = False  # an error has been logged loudly; repeats go to debug

    @property
    def offline(self) -> bool:
        return self.state is DeviceState.OFFLINE

    def observe(self, result: PollResult, now: int) -> tuple[Reading | None, bool]:
        """Take one poll's result; returns the reading to publish (None when there is
        nothing to say) and whether the device's status changed."""
        healthy = self.state is DeviceState.ONLINE and not self.failures and not self._streak
        if healthy and not result.failed and result.values:
            # The steady state, every poll of a healthy device: nothing but the values.
            self.last_seen = now
            self._remember(result.values, now)
            return Reading(now, result.values, {}), False
        error = result.first_error
        if result.answered:
            recovered = self.failures >= self.offline_after
            self.failures = 0
            self.last_seen = now
            self.last_error = error
            new_state: DeviceState | None = (
                DeviceState.DEGRADED if result.failed else DeviceState.ONLINE
            )
            if recovered:
                log.info("%s is back online", self.device.id)
        else:
            self.failures += 1
            self.last_error = error
            new_state = self.state
            if self.failures >= self.offline_after:
                new_state = DeviceState.OFFLINE
        self._log(error, new_state)
        if new_state is not self.state:
            self.state = new_state
            self.since = now
        self._remember(result.values, now)
        reading = None if self.state is DeviceState.OFFLINE else self._reading(result, now)
        return reading, self._status_changed()

    def _reading(self, result: PollResult, now: int) -> Reading | None:
        if not result.failed:
            return Reading(now, result.values, {}) if result.values else None
        values = dict(result.values)
        quality: dict[str, Quality] = {}
        for name, why in result.failed.items():
            at = self._good_at.get(name)
            if (
                why.kind is not DeviceErrorKind.DECODE
                and at is not None
                and now - at <= self.stale_ms
            ):
                values[name] = self._good[name]
                quality[name] = Quality.STALE
            else:
                quality[name] = Quality.ERROR
        if not values:
            return None  # nothing but errors: the status says it
        return Reading(now, values, quality)

    def _remember(self, values: dict[str, Value], now: int) -> None:
        self._good.update(values)
        self._good_at.update(dict.fromkeys(values, now))

    def _log(self, error: DeviceError | None, new_state: DeviceState | None) -> None:
        device = self.device.id
        if error is None:
            self._streak = False
        elif not self._streak:
            self._streak = True
            log.warning(
                "%s: %s%s (repeats are logged at debug level until it recovers)",
                device,
                error.message,
                f" [exception code {error.code}]" if error.code is not None else "",
            )
        else:
            log.debug("%s: %s (failure %d in a row)", device, error.message, self.failures)
        if new_state is DeviceState.OFFLINE and self.state is not DeviceState.OFFLINE:
            log.warning("%s is offline after %d polls without an answer", device, self.failures)

    def _status_changed(self) -> bool:
        error = self.last_error
        signature = (
            self.state,
            error.kind if error and self.state is not DeviceState.ONLINE else None,
            error.code if error and self.state is not DeviceState.ONLINE else None,
        )
        if self.state is None or signature == self._reported:
            return False
        self._reported = signature
        return True

    def status(self, now: int) -> DeviceStatus | None:
        """The device's status as the contract says it (seq is set when it is queued)."""
        if self.state is None:
            return None
        device = self.device
        return DeviceStatus(
            site=self.site,
            gateway=self.gateway,
            seq=0,
            device=device.id,
            kind=device.kind,
            building=device.building,
            room=device.room,
            state=self.state,
            ts=now,
            since=self.since,
            last_seen=self.last_seen,
            consecutive_failures=self.failures,
            last_error=self.last_error if self.state is not DeviceState.ONLINE else None,
        )
