"""What every polled device does around its protocol's reads, whatever the protocol.

A Modbus device, a DL/T 645 meter and a BACnet device differ in how a poll reads; they do not
differ in what comes of it. `DeviceOutput` is that part: whether a poll is due (an offline
device is only probed, at a backoff doubling up to a minute), and what a poll's result
becomes (the device's tracker moved on, report by exception applied, the reading and any
change of state sent). `PollJob` runs one device's polls on its schedule and keeps one
device's bug from stopping the others; `poll_each` starts them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.config import Device
from gateway.devices import DeviceTracker, PollResult
from gateway.messages import ReadingEncoder
from gateway.report import ReportFilter
from gateway.schedule import PollStats, Ticker, follow
from gateway.sink import Sink

log = logging.getLogger(__name__)

MAX_PROBE_INTERVAL = 60.0
"""The longest wait between two probes of an offline device."""


class DeviceOutput:
    """One polled device's results, sent; and the probing of it while it is offline."""

    __slots__ = ("_next_probe", "_probes", "clock", "encoder", "report", "tracker")

    def __init__(self, tracker: DeviceTracker, clock: Clock, report: ReportFilter) -> None:
        self.tracker = tracker
        self.clock = clock
        self.report = report
        """Report by exception (`gateway.report`): empty, every reading goes out whole."""
        self.encoder = ReadingEncoder(tracker.device)
        self._next_probe = 0.0
        self._probes = 0

    @property
    def probing(self) -> bool:
        """The device is offline: a poll is only a probe (its first read)."""
        return self.tracker.offline

    def resting(self) -> bool:
        """An offline device whose next probe is not due yet: skip this poll."""
        return self.tracker.offline and self.clock.monotonic() < self._next_probe

    def publish(self, sink: Sink, result: PollResult) -> None:
        """Move the tracker on by `result` and send what it says."""
        reading, changed = self.tracker.observe(result, to_epoch_ms(self.clock.now()))
        if changed:
            self.report.reset()  # the first reading after a change of state goes out whole
        if reading is not None and self.report:
            reading = self.report(reading)
        if reading is not None:
            sink.reading(self.encoder.encode(reading), urgent=self.encoder.urgent)
        if changed:
            sink.status(self.tracker)

    def polled(self, sink: Sink, result: PollResult, interval: float) -> None:
        """A poll's end: its result sent, the next probe planned if the device is offline."""
        self.publish(sink, result)
        if not self.tracker.offline:
            self._probes = 0
            return
        delay = min(MAX_PROBE_INTERVAL, max(interval, 1.0) * 2**self._probes)
        self._probes = min(self._probes + 1, 16)
        self._next_probe = self.clock.monotonic() + delay - interval / 2


class PollJob:
    """One device's poll as its schedule calls it: an unexpected error is logged (once) with
    the device, and the schedule goes on after a backoff."""

    __slots__ = ("clock", "device_id", "failures", "poll")

    def __init__(self, device_id: str, poll: Callable[[], Awaitable[None]], clock: Clock) -> None:
        self.device_id = device_id
        self.poll = poll
        self.clock = clock
        self.failures = 0

    async def __call__(self) -> None:
        try:
            await self.poll()
        except Exception:  # a supervisor: one device's bug must not stop the others
            self.failures += 1
            if self.failures == 1:
                log.exception("polling %s failed unexpectedly", self.device_id)
            await self.clock.sleep(min(60.0, 2.0**self.failures))


class Poller(Protocol):
    """A device polled whole at one interval (a meter, a BACnet device)."""

    @property
    def device(self) -> Device: ...
    @property
    def interval(self) -> float: ...
    async def poll(self, sink: Sink) -> None: ...


def poll_each(
    tasks: asyncio.TaskGroup,
    pollers: Sequence[Poller],
    clock: Clock,
    stats: PollStats,
    sink: Sink,
) -> None:
    """Start each device's ticker and its polls in `tasks`."""
    for poller in pollers:
        device = poller.device.id
        ticker = Ticker(clock, poller.interval)
        tasks.create_task(ticker.run(), name=f"tick-{device}")
        job = PollJob(device, functools.partial(poller.poll, sink), clock)
        tasks.create_task(follow(ticker, job, stats), name=f"poll-{device}")
