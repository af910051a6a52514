"""Modbus polling: every device on its own schedule, all concurrently, each poll made of the
few coalesced reads its register map needs.

A poll stops at the first read that gets no answer: one timeout per poll, not one per read,
so a dead device holds its shared connection as briefly as possible. On a serial bus, where
line noise garbles a frame, a healthy device gets one retry after a short backoff; over TCP
a lost answer is no noise, and a retry would only double the time a dead device holds the
connection its neighbours share. A device that is failing is not retried, and an offline
one is only probed (its first read), at a backoff that doubles up to a minute, until it
answers again. "Busy" answers (exception 6) are retried like timeouts.

A coalesced read that bridges a gap and is refused with exception 2 (illegal data address)
is split into gap-free reads for good.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from estatewatch.clock import Clock
from estatewatch.config import ModbusRtu, ModbusTcp, RegisterMap, RegisterPoint, SiteConfig
from estatewatch.contracts.payloads import DeviceError, DeviceErrorKind
from gateway.decoding import BlockDecoder
from gateway.devices import DeviceTracker, PollResult
from gateway.errors import ReadFailure
from gateway.modbus import ModbusHub, hub_key
from gateway.plan import ReadRequest, plan_reads
from gateway.poller import DeviceOutput, PollJob
from gateway.report import ReportFilter, policies
from gateway.schedule import PollStats, Ticker, follow
from gateway.sink import Sink
from gateway.topology import build_hubs

log = logging.getLogger(__name__)

RETRY_BACKOFF = 0.1
ILLEGAL_DATA_ADDRESS = 2


@dataclass
class PollGroup:
    """Points of one device read at one interval (a point may have its own)."""

    interval: float
    reads: list[BlockDecoder]
    """Each read with its decoder, in address order."""

    @property
    def requests(self) -> list[ReadRequest]:
        return [read.request for read in self.reads]


def poll_groups(
    register_map: RegisterMap, default_interval: float, max_gap: int
) -> list[PollGroup]:
    """The device's points grouped by poll interval, each group coalesced into reads."""
    by_interval: dict[float, list[RegisterPoint]] = {}
    for point in register_map.points:
        seconds = point.poll_interval.total_seconds() if point.poll_interval else default_interval
        by_interval.setdefault(seconds, []).append(point)
    return [
        PollGroup(interval, [BlockDecoder(r) for r in plan_reads(points, max_gap)])
        for interval, points in sorted(by_interval.items())
    ]


class DevicePoller:
    """Polls one Modbus device through its hub and reports to the sink it polls for."""

    def __init__(
        self,
        tracker: DeviceTracker,
        connection: ModbusTcp | ModbusRtu,
        groups: list[PollGroup],
        hub: ModbusHub,
        clock: Clock,
        report: ReportFilter | None = None,
    ) -> None:
        self.tracker = tracker
        self.device = tracker.device
        self.unit = connection.unit_id
        self.retries = 1 if isinstance(connection, ModbusRtu) else 0
        self.groups = groups
        self.hub = hub
        self.clock = clock
        self.output = DeviceOutput(
            tracker, clock, report if report is not None else ReportFilter({})
        )

    @property
    def requests_per_poll(self) -> int:
        return sum(len(g.reads) for g in self.groups)

    async def poll(self, group: PollGroup, sink: Sink) -> None:
        """One poll of `group`, its reading and status changes to `sink`; never raises for
        a device's failure."""
        if self.output.resting():
            return
        probing = self.output.probing
        reads = group.reads[:1] if probing else list(group.reads)
        result = PollResult(answered=False)
        retries = 0 if self.tracker.failures or probing else self.retries
        for index, read in enumerate(reads):
            try:
                words = await self._read(read, group, retries)
            except ReadFailure as failure:
                error = DeviceError(kind=failure.kind, code=failure.code, message=failure.message)
                result.answered = result.answered or failure.answered
                if failure.answered:
                    _fail(result, read.request.points, error)
                    continue
                for rest in reads[index:]:  # no answer: the rest of this poll waits
                    _fail(result, rest.request.points, error)
                break
            result.answered = True
            values, errors = read(words)
            result.values.update(values)
            for name, message in errors.items():
                result.failed[name] = DeviceError(kind=DeviceErrorKind.DECODE, message=message)
        self.output.polled(sink, result, group.interval)

    async def _read(self, read: BlockDecoder, group: PollGroup, retries: int) -> list[int]:
        attempt = 0
        request = read.request
        while True:
            try:
                return await self.hub.read(self.unit, request)
            except ReadFailure as failure:
                if _refuses_gap(failure, request):
                    return await self._split(read, group)
                busy = failure.kind is DeviceErrorKind.MODBUS_EXCEPTION and failure.code == 6
                if attempt >= retries or not (failure.kind is DeviceErrorKind.TIMEOUT or busy):
                    raise
                attempt += 1
                await self.clock.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))

    async def _split(self, read: BlockDecoder, group: PollGroup) -> list[int]:
        """Replace a gap-bridging read the device refuses by its gap-free parts."""
        request = read.request
        parts = request.split()
        log.warning(
            "%s refuses the coalesced read %s (illegal data address): reading it in %d parts",
            self.device.id,
            request,
            len(parts),
        )
        position = group.reads.index(read)
        group.reads[position : position + 1] = [BlockDecoder(part) for part in parts]
        words = [0] * request.count
        for part in parts:
            got = await self.hub.read(self.unit, part)
            offset = part.address - request.address
            words[offset : offset + part.count] = got
        return words


def _fail(result: PollResult, points: Sequence[RegisterPoint], error: DeviceError) -> None:
    for point in points:
        result.failed[point.name] = error


def _refuses_gap(failure: ReadFailure, request: ReadRequest) -> bool:
    return (
        failure.kind is DeviceErrorKind.MODBUS_EXCEPTION
        and failure.code == ILLEGAL_DATA_ADDRESS
        and request.bridges_gap
    )


class ModbusSource:
    """Every Modbus device of a site, polled until cancelled: the `modbus` source."""

    name = "modbus"

    def __init__(self, pollers: list[DevicePoller], clock: Clock, stats: PollStats) -> None:
        self.pollers = pollers
        self.clock = clock
        self.stats = stats

    @classmethod
    def from_site(
        cls,
        site: SiteConfig,
        trackers: Mapping[str, DeviceTracker],
        stats: PollStats,
        clock: Clock,
    ) -> ModbusSource:
        """A poller for each Modbus device with a register map; one hub per address."""
        hubs = build_hubs(site, clock)
        max_gap = site.gateway.max_gap_registers
        plans: dict[tuple[str, float], list[PollGroup]] = {}  # one plan per device model
        pollers: list[DevicePoller] = []
        for device in site.devices:
            conn = device.connection
            if not isinstance(conn, ModbusTcp | ModbusRtu) or device.register_map is None:
                continue
            interval = device.poll_interval.total_seconds()
            plan = plans.get((device.register_map, interval))
            if plan is None:
                register_map = site.register_maps[device.register_map]
                plan = plans[(device.register_map, interval)] = poll_groups(
                    register_map, interval, max_gap
                )
            groups = [PollGroup(g.interval, list(g.reads)) for g in plan]
            hub = hubs[hub_key(conn)]
            points = site.register_maps[device.register_map].points
            report = ReportFilter(policies(points, everything=site.gateway.report_by_exception))
            pollers.append(DevicePoller(trackers[device.id], conn, groups, hub, clock, report))
        return cls(pollers, clock, stats)

    @property
    def requests_per_round(self) -> int:
        return sum(p.requests_per_poll for p in self.pollers)

    async def run(self, sink: Sink) -> None:
        tickers: dict[tuple[float, float], Ticker] = {}
        seen: dict[float, int] = {}
        async with asyncio.TaskGroup() as tasks:
            for poller in self.pollers:
                for group in poller.groups:
                    index = seen[group.interval] = seen.get(group.interval, -1) + 1
                    key = (group.interval, phase(index, group.interval))
                    ticker = tickers.get(key)
                    if ticker is None:
                        ticker = tickers[key] = Ticker(self.clock, *key)
                        tasks.create_task(ticker.run(), name=f"tick-{key[0]:g}s@{key[1]:g}")
                    poll = functools.partial(poller.poll, group, sink)
                    job = PollJob(poller.device.id, poll, self.clock)
                    tasks.create_task(
                        follow(ticker, job, self.stats), name=f"poll-{poller.device.id}"
                    )

    async def close(self) -> None:
        """Close the devices' connections."""
        for poller in self.pollers:
            await poller.hub.close()


SLOT = 0.02
"""Seconds between the start times of a schedule's polls."""


def phase(index: int, interval: float) -> float:
    """When, within its interval, the `index`-th device of that interval is polled.

    Devices are spread over the interval in slots `SLOT` apart, so no instant carries them
    all; the devices sharing a slot follow one `Ticker` and start together, so their
    requests and answers are handled in batches by one turn of the event loop each — a third
    less CPU per poll than one poll per turn (bench/gateway.py)."""
    slots = max(1, round(interval / SLOT))
    return interval * (index % slots) / slots
