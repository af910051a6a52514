"""BACnet/IP devices: the `bacnet` source.

Every BACnet device is reached through the gateway's one BACnet/IP port (`BacnetLink`). A
poll reads all of a device's points by ReadPropertyMultiple (coalesced: one request for up
to 40 properties), plus, on the first answer, the `units` of each analog object whose unit
the site file leaves to the device. A device without an address is found by Who-Is and
found again after it went offline (it may have come back elsewhere).

Where `cov` is on (the default), once the device answers the gateway subscribes to each
point's changes of value; a notification is published at once, between polls. A point whose
subscription the device refuses is only polled. Polls go on either way: they keep the
offline/degraded handling of Modbus (`DeviceTracker`: `offline_after` polls without an
answer is offline, then only probed, at a backoff doubling to a minute), and an object the
device does not know fails its point with `protocol_error`, the device `degraded`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping

from estatewatch.clock import Clock
from estatewatch.config import Bacnet, BacnetPoint, BacnetPort, SiteConfig
from estatewatch.contracts.payloads import DeviceError, DeviceErrorKind
from gateway.bacnet_link import BacnetLink, PointError, Ref, to_value, unit_name
from gateway.devices import DeviceTracker, PollResult
from gateway.errors import ReadFailure
from gateway.poller import DeviceOutput, poll_each
from gateway.report import ReportFilter, policies
from gateway.schedule import PollStats
from gateway.sink import Sink

log = logging.getLogger(__name__)

ANALOG = ("analog-input", "analog-output", "analog-value", "large-analog-value")


class BacnetPoller:
    """Polls one BACnet device and follows its changes of value."""

    def __init__(
        self,
        tracker: DeviceTracker,
        connection: Bacnet,
        link: BacnetLink,
        clock: Clock,
        report: ReportFilter,
    ) -> None:
        self.tracker = tracker
        self.device = tracker.device
        self.connection = connection
        self.points: list[BacnetPoint] = list(connection.points)
        self.refs = [Ref(p.object_type, p.instance, p.property) for p in self.points]
        self.link = link
        self.clock = clock
        self.output = DeviceOutput(tracker, clock, report)
        self.interval = self.device.poll_interval.total_seconds()
        self.timeout = connection.timeout.total_seconds()
        self.address: str | None = connection.address
        self.units: dict[str, str] = {p.name: p.unit for p in self.points if p.unit is not None}
        """Each point's unit: the site file's, or the one its object reports."""
        self.subscribed: set[str] = set()
        """Points whose changes of value come by COV notification."""
        self.cov_refused: set[str] = set()
        """Points whose COV subscription the device refused: polled only."""

    def _unit_refs(self) -> list[tuple[str, Ref]]:
        return [
            (p.name, Ref(p.object_type, p.instance, "units"))
            for p in self.points
            if p.name not in self.units
            and p.object_type in ANALOG
            and p.property == "present-value"
        ]

    async def poll(self, sink: Sink) -> None:
        if self.output.resting():
            return
        probing = self.output.probing
        result = PollResult(answered=False)
        try:
            if probing or self.address is None:
                self.address = await self.link.locate(
                    self.connection.device_instance, self.connection.address, self.timeout
                )
            unit_refs = self._unit_refs()
            answers = await self.link.read(
                self.address, self.refs + [r for _, r in unit_refs], self.timeout
            )
        except ReadFailure as failure:
            error = DeviceError(kind=failure.kind, code=failure.code, message=failure.message)
            result.answered = failure.answered
            result.failed = {p.name: error for p in self.points}
            if not failure.answered and self.connection.address is None:
                self.address = None  # found again by Who-Is
        else:
            result.answered = True
            for point, ref, raw in zip(self.points, self.refs, answers, strict=False):
                value = to_value(raw, ref) if raw is not None else PointError("no answer")
                if isinstance(value, PointError):
                    result.failed[point.name] = DeviceError(
                        kind=DeviceErrorKind.PROTOCOL_ERROR,
                        message=f"{point.name} ({ref.object_type},{ref.instance}): {value}",
                    )
                else:
                    result.values[point.name] = value
            for (name, _ref), raw in zip(unit_refs, answers[len(self.refs) :], strict=False):
                unit = unit_name(raw)
                if unit is not None:
                    self.units[name] = unit
        self.output.polled(sink, result, self.interval)

    async def follow_changes(self, sink: Sink) -> None:
        """Subscribe to each present-value point's changes once the device answers, and
        publish each notification at once; subscribe again after the device was offline.
        A point whose subscription the device refuses is only polled; returns when that is
        every point."""
        if not self.connection.cov:
            return
        lifetime = self.connection.cov_lifetime.total_seconds()
        while True:
            while self.address is None or self.tracker.state is None or self.tracker.offline:
                await self.clock.sleep(max(self.interval, 0.5))
            try:
                async with contextlib.AsyncExitStack() as stack:
                    readers = await self._subscribe(stack, self.address, lifetime, sink)
                    if not readers:
                        log.info("%s takes no COV subscription: polled only", self.device.id)
                        return
                    log.info("%s: %d points by COV", self.device.id, len(self.subscribed))
                    await self._relay_until_offline(readers)
            except ReadFailure:  # no answer to a subscription: try again later
                await self.clock.sleep(max(self.interval, 1.0))
            finally:
                self.subscribed = set()

    async def _subscribe(
        self, stack: contextlib.AsyncExitStack, address: str, lifetime: float, sink: Sink
    ) -> list[Coroutine[None, None, None]]:
        readers = []
        for point, ref in zip(self.points, self.refs, strict=True):
            if ref.prop != "present-value" or point.name in self.cov_refused:
                continue
            try:
                changes = self.link.changes(address, ref, lifetime, self.timeout)
                next_value = await stack.enter_async_context(changes)
            except ReadFailure as failure:
                if failure.kind is not DeviceErrorKind.PROTOCOL_ERROR:
                    raise
                self.cov_refused.add(point.name)
                log.info("%s: no COV for %s (%s): polled", self.device.id, point.name, failure)
                continue
            readers.append(self._relay(point.name, ref, next_value, sink))
            self.subscribed.add(point.name)
        return readers

    async def _relay_until_offline(self, readers: list[Coroutine[None, None, None]]) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                for reader in readers:
                    tasks.create_task(reader)
                tasks.create_task(self._until_offline())
        except* _Offline:
            pass

    async def _relay(
        self, name: str, ref: Ref, next_value: Callable[[], Awaitable[object]], sink: Sink
    ) -> None:
        while True:
            value = to_value(await next_value(), ref)
            if not isinstance(value, PointError) and not self.tracker.offline:
                self.output.publish(sink, PollResult(values={name: value}))

    async def _until_offline(self) -> None:
        while not self.tracker.offline:
            await self.clock.sleep(max(self.interval, 0.5))
        raise _Offline


class _Offline(Exception):
    """The device went offline: its subscriptions are dropped and made again later."""


class BacnetSource:
    """Every BACnet/IP device of a site, polled and followed until cancelled."""

    name = "bacnet"

    def __init__(
        self, pollers: list[BacnetPoller], link: BacnetLink, clock: Clock, stats: PollStats
    ) -> None:
        self.pollers = pollers
        self.link = link
        self.clock = clock
        self.stats = stats

    @classmethod
    def from_site(
        cls,
        site: SiteConfig,
        trackers: Mapping[str, DeviceTracker],
        stats: PollStats,
        clock: Clock,
        port: BacnetPort | None = None,
    ) -> BacnetSource:
        link = BacnetLink(port or site.gateway.bacnet)
        everything = site.gateway.report_by_exception
        pollers = []
        for device in site.devices:
            conn = device.connection
            if isinstance(conn, Bacnet):
                report = ReportFilter(policies(conn.points, everything=everything))
                pollers.append(BacnetPoller(trackers[device.id], conn, link, clock, report))
        return cls(pollers, link, clock, stats)

    async def run(self, sink: Sink) -> None:
        async with asyncio.TaskGroup() as tasks:
            poll_each(tasks, self.pollers, self.clock, self.stats, sink)
            for poller in self.pollers:
                tasks.create_task(poller.follow_changes(sink), name=f"cov-{poller.device.id}")
