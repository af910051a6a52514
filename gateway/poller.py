"""Polls one Modbus device on an absolute-deadline schedule and reports what it read.

Deadlines are `start + k * interval` on the injected clock, so a slow poll does not push
every later one back; a poll more than one interval late skips the missed ticks (counted).
Devices start at a phase spread over their interval, so hundreds of devices do not all fire
at once. While offline a device is retried with exponential backoff (up to `max_backoff`),
so a dead device on a shared connection does not eat the others' time.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from typing import Protocol

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.config import ModbusRtu, ModbusTcp, RegisterMap, RegisterType
from estatewatch.config.site import Device
from estatewatch.contracts.payloads import (
    DeviceErrorKind,
    DeviceReading,
    DeviceState,
    Scalar,
)
from gateway.errors import (
    BadResponse,
    DeviceTimeout,
    GatewayError,
    LinkDown,
    ModbusExceptionResponse,
)
from gateway.plan import plan_reads
from gateway.readout import Answer, ReadFailure, read_out
from gateway.stats import PollStats
from gateway.status import DeviceHealth, PollResult, observe

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


class Reader(Protocol):
    """What the poller needs of a hub."""

    async def read(
        self, table: RegisterType, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]: ...


def failure_of(exc: GatewayError) -> ReadFailure:
    if isinstance(exc, ModbusExceptionResponse):
        return ReadFailure(DeviceErrorKind.MODBUS_EXCEPTION, str(exc), exc.code)
    if isinstance(exc, DeviceTimeout):
        return ReadFailure(DeviceErrorKind.TIMEOUT, str(exc))
    if isinstance(exc, LinkDown):
        return ReadFailure(DeviceErrorKind.CONNECTION, str(exc))
    if isinstance(exc, BadResponse):
        return ReadFailure(DeviceErrorKind.PAYLOAD, str(exc))
    return ReadFailure(DeviceErrorKind.PAYLOAD, str(exc))


NO_ANSWER_KINDS = (DeviceErrorKind.TIMEOUT, DeviceErrorKind.CONNECTION)


class DevicePoller:
    """Polls one device; `on_reading` and `on_status` must not block."""

    def __init__(
        self,
        device: Device,
        register_map: RegisterMap,
        reader: Reader,
        *,
        clock: Clock,
        max_gap: int,
        stats: PollStats,
        on_reading: Callable[[DeviceReading], None],
        on_status: Callable[[DevicePoller], None],
    ) -> None:
        conn = device.connection
        assert isinstance(conn, ModbusTcp | ModbusRtu)
        self.device = device
        self.unit = conn.unit_id
        self.reader = reader
        self.clock = clock
        self.requests = plan_reads(register_map.points, max_gap)
        self.interval = device.poll_interval.total_seconds()
        self.stats = stats
        self.on_reading = on_reading
        self.on_status = on_status
        self.health = DeviceHealth()
        self.last_good: dict[str, Scalar] = {}
        self._error_logged = False

    @property
    def phase(self) -> float:
        """A stable offset within the interval, so devices spread out."""
        return (zlib.crc32(self.device.id.encode()) % 1000) / 1000 * self.interval

    async def run(self) -> None:
        """Poll until cancelled."""
        next_at = self.clock.monotonic() + self.phase
        while True:
            delay = next_at - self.clock.monotonic()
            if delay > 0:
                await self.clock.sleep(delay)
            started = self.clock.monotonic()
            await self.poll_once()
            done = self.clock.monotonic()
            self.stats.record(started - next_at, done - started)
            next_at += self.interval * self._backoff_factor()
            behind = done - next_at
            if behind > self.interval:
                skipped = int(behind // self.interval)
                self.stats.missed += skipped
                next_at += skipped * self.interval

    def _backoff_factor(self) -> float:
        if self.health.state is not DeviceState.OFFLINE:
            return 1.0
        extra = self.health.consecutive_failures - self.device.offline_after
        return float(min(2 ** max(0, extra), max(1.0, MAX_BACKOFF / self.interval)))

    async def poll_once(self) -> DeviceReading | None:
        """Read every planned block once; report the reading and any state change."""
        now_ms = to_epoch_ms(self.clock.now())
        answers: list[Answer] = []
        link_failure: ReadFailure | None = None
        for request in self.requests:
            if link_failure is not None:  # the device is not answering: don't wait again
                answers.append(link_failure)
                continue
            try:
                answers.append(
                    await self.reader.read(request.table, request.address, request.count, self.unit)
                )
            except GatewayError as exc:
                failure = failure_of(exc)
                if failure.kind in NO_ANSWER_KINDS:
                    link_failure = failure
                answers.append(failure)
        out = read_out(self.requests, answers, self.last_good)
        failures = [a for a in answers if isinstance(a, ReadFailure)]
        if (
            failures
            and all(f.kind in NO_ANSWER_KINDS for f in failures)
            and len(failures) == len(answers)
        ):
            result = PollResult.NO_ANSWER
        elif out.errors:
            result = PollResult.PARTIAL
        else:
            result = PollResult.GOOD
        first_error = out.errors[0] if out.errors else None
        self._log(result, first_error.message if first_error else "")
        self.health, changed = observe(
            self.health,
            result,
            now_ms,
            offline_after=self.device.offline_after,
            error=first_error,
        )
        if changed:
            self.on_status(self)
        for name, value in out.values.items():
            if name not in out.quality:
                self.last_good[name] = value
        if result is PollResult.NO_ANSWER and self.health.state is DeviceState.OFFLINE:
            return None  # the status says it; repeating stale values would say nothing new
        reading = DeviceReading(
            device=self.device.id,
            kind=self.device.kind,
            building=self.device.building,
            room=self.device.room,
            ts=now_ms,
            values=out.values,
            quality=out.quality,
        )
        self.stats.readings += 1
        self.on_reading(reading)
        return reading

    def _log(self, result: PollResult, message: str) -> None:
        """The first error of a run of errors loudly, the repeats quietly."""
        if result is PollResult.GOOD:
            if self._error_logged:
                log.info("%s answers again", self.device.id)
            self._error_logged = False
            return
        if not self._error_logged:
            log.warning("%s: %s", self.device.id, message)
            self._error_logged = True
        else:
            log.debug("%s: %s (again)", self.device.id, message)
