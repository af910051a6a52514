"""DL/T 645-2007 meters: the `dlt645` source.

Meters hang on an RS-485 bus, reached through a transparent serial-to-TCP gateway (`host`/
`port`: the bytes go through unchanged) or a serial port of the box. One `MeterBus` per bus,
with its own lock: the bus is half-duplex, one question and one answer at a time, and its
meters are told apart by address. A meter is asked one data identifier per request (DL/T 645
has no multi-read that every meter supports), each point in turn.

The same offline/degraded handling as Modbus (`DeviceTracker`): a poll with no answer counts
a failure, `offline_after` in a row is `offline`, then only the first point is probed at a
backoff doubling up to a minute. An abnormal answer (error byte, e.g. "no requested data")
makes that point fail with `protocol_error` and the meter `degraded`; a garbled answer (bad
checksum, not BCD) is a `decode` error. After a timeout the TCP connection is reopened, so a
late answer cannot be taken for the next question's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from estatewatch import dlt645
from estatewatch.clock import Clock
from estatewatch.codec import Value
from estatewatch.config import Dlt645, Dlt645Point, SiteConfig
from estatewatch.contracts.payloads import DeviceError, DeviceErrorKind
from gateway.devices import DeviceTracker, PollResult
from gateway.errors import ReadFailure
from gateway.poller import DeviceOutput, poll_each
from gateway.report import ReportFilter, policies
from gateway.schedule import PollStats
from gateway.sink import Sink

log = logging.getLogger(__name__)

MAX_FRAME = 12 + dlt645.MAX_DATA + 4


def bus_key(connection: Dlt645) -> str:
    if connection.host is not None:
        return f"tcp://{connection.host}:{connection.port}"
    return f"serial://{connection.serial_port}"


@dataclass(frozen=True, slots=True)
class MeterPoint:
    """A configured point with its identifier and format worked out once."""

    name: str
    di: int
    format: dlt645.DataFormat
    scale: float

    @classmethod
    def of(cls, point: Dlt645Point) -> MeterPoint:
        di = dlt645.parse_identifier(point.di)
        known = dlt645.IDENTIFIERS.get(di)
        if point.size is not None and point.decimals is not None:
            fmt = dlt645.DataFormat(point.size, point.decimals, point.signed, point.unit)
        else:
            assert known is not None  # the config refuses an unknown identifier without both
            fmt = known[1]
        return cls(point.name, di, fmt, point.scale)

    def value(self, data: bytes) -> Value:
        value = dlt645.decode_value(data, self.format)
        return value if self.scale == 1.0 else round(value * self.scale, 9)


class Wire(Protocol):
    """One open link to a bus: bytes out, bytes in."""

    async def send(self, data: bytes) -> None: ...

    async def receive(self, at_most: int) -> bytes: ...

    async def close(self) -> None: ...


class TcpWire:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> TcpWire:
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self, at_most: int) -> bytes:
        data = await self.reader.read(at_most)
        if not data:
            raise ConnectionResetError("the transparent gateway closed the connection")
        return data

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class SerialWire:
    """A serial port through pyserial, its blocking calls in a thread."""

    def __init__(self, port: Any) -> None:
        self.port = port

    @classmethod
    async def open(cls, connection: Dlt645) -> SerialWire:
        try:
            import serial  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise OSError("pyserial is not installed (pip install pyserial)") from None
        port = await asyncio.to_thread(
            serial.Serial,
            connection.serial_port,
            baudrate=connection.baudrate,
            parity=connection.parity,
            bytesize=8,
            stopbits=1,
            timeout=0.05,
        )
        return cls(port)

    async def send(self, data: bytes) -> None:
        await asyncio.to_thread(self.port.write, data)

    async def receive(self, at_most: int) -> bytes:
        while True:
            data: bytes = await asyncio.to_thread(self.port.read, at_most)
            if data:
                return data

    async def close(self) -> None:
        await asyncio.to_thread(self.port.close)


class MeterBus:
    """One RS-485 bus of meters: one request at a time, reconnecting on demand."""

    def __init__(self, key: str, connection: Dlt645, timeout: float) -> None:
        self.key = key
        self.connection = connection
        self.timeout = timeout
        self.lock = asyncio.Lock()
        self._wire: Wire | None = None

    async def _open(self) -> Wire:
        if self._wire is None:
            conn = self.connection
            try:
                if conn.host is not None:
                    self._wire = await asyncio.wait_for(
                        TcpWire.open(conn.host, conn.port), self.timeout
                    )
                else:
                    self._wire = await SerialWire.open(conn)
            except (OSError, TimeoutError) as exc:
                raise ReadFailure(
                    DeviceErrorKind.CONNECTION, f"cannot reach {self.key}: {exc or 'timeout'}"
                ) from exc
        return self._wire

    async def read(self, address: str, point: MeterPoint) -> bytes:
        """The value bytes of `point` from meter `address`; a `ReadFailure` otherwise."""
        request = dlt645.encode_frame(dlt645.read_request(address, point.di))
        async with self.lock:
            wire = await self._open()
            try:
                await wire.send(request)
                raw = await asyncio.wait_for(self._frame(wire), self.timeout)
            except TimeoutError:
                await self.close()  # a late answer must not meet the next question
                raise ReadFailure(
                    DeviceErrorKind.TIMEOUT,
                    f"no answer within {self.timeout:g} s to {point.name} ({point.di:08X})",
                ) from None
            except OSError as exc:
                await self.close()
                raise ReadFailure(DeviceErrorKind.CONNECTION, f"{self.key}: {exc}") from exc
        try:
            return dlt645.answer_value(dlt645.decode_frame(raw), address, point.di)
        except dlt645.AbnormalAnswer as exc:
            raise ReadFailure(
                DeviceErrorKind.PROTOCOL_ERROR, f"{point.name} ({point.di:08X}): {exc}", exc.code
            ) from exc
        except dlt645.FrameError as exc:
            raise ReadFailure(DeviceErrorKind.DECODE, f"{point.name}: {exc}") from exc

    async def _frame(self, wire: Wire) -> bytes:
        buffer = b""
        while True:
            found = dlt645.frame_length(buffer)
            if found is not None and len(buffer) >= found[0] + found[1]:
                start, length = found
                return buffer[start : start + length]
            if len(buffer) > MAX_FRAME + 16:
                return buffer  # noise: decode_frame says what is wrong with it
            buffer += await wire.receive(MAX_FRAME)

    async def close(self) -> None:
        wire, self._wire = self._wire, None
        if wire is not None:
            await wire.close()


class MeterPoller:
    """Polls one meter, point by point, and reports to the sink."""

    def __init__(
        self,
        tracker: DeviceTracker,
        connection: Dlt645,
        bus: MeterBus,
        clock: Clock,
        report: ReportFilter,
    ) -> None:
        self.tracker = tracker
        self.device = tracker.device
        self.address = connection.address
        self.points = [MeterPoint.of(p) for p in connection.points]
        self.bus = bus
        self.clock = clock
        self.output = DeviceOutput(tracker, clock, report)
        self.interval = self.device.poll_interval.total_seconds()

    async def poll(self, sink: Sink) -> None:
        if self.output.resting():
            return
        probing = self.output.probing
        points = self.points[:1] if probing else self.points
        result = PollResult(answered=False)
        for index, point in enumerate(points):
            try:
                data = await self.bus.read(self.address, point)
                result.values[point.name] = point.value(data)
                result.answered = True
            except dlt645.FrameError as exc:  # bytes that are not BCD
                result.answered = True
                result.failed[point.name] = DeviceError(
                    kind=DeviceErrorKind.DECODE, message=f"{point.name}: {exc}"
                )
            except ReadFailure as failure:
                error = DeviceError(kind=failure.kind, code=failure.code, message=failure.message)
                if failure.answered:
                    result.answered = True
                    result.failed[point.name] = error
                    continue
                for rest in points[index:]:  # no answer: the rest of this poll waits
                    result.failed[rest.name] = error
                break
        self.output.polled(sink, result, self.interval)


class Dlt645Source:
    """Every DL/T 645 meter of a site, polled until cancelled: the `dlt645` source."""

    name = "dlt645"

    def __init__(self, pollers: list[MeterPoller], clock: Clock, stats: PollStats) -> None:
        self.pollers = pollers
        self.clock = clock
        self.stats = stats
        self.buses = {id(p.bus): p.bus for p in pollers}

    @classmethod
    def from_site(
        cls,
        site: SiteConfig,
        trackers: Mapping[str, DeviceTracker],
        stats: PollStats,
        clock: Clock,
    ) -> Dlt645Source:
        buses: dict[str, MeterBus] = {}
        pollers: list[MeterPoller] = []
        everything = site.gateway.report_by_exception
        for device in site.devices:
            conn = device.connection
            if not isinstance(conn, Dlt645):
                continue
            key = bus_key(conn)
            bus = buses.get(key)
            timeout = conn.timeout.total_seconds()
            if bus is None:
                bus = buses[key] = MeterBus(key, conn, timeout)
            bus.timeout = max(bus.timeout, timeout)
            report = ReportFilter(policies(conn.points, everything=everything))
            pollers.append(MeterPoller(trackers[device.id], conn, bus, clock, report))
        return cls(pollers, clock, stats)

    async def run(self, sink: Sink) -> None:
        async with asyncio.TaskGroup() as tasks:
            poll_each(tasks, self.pollers, self.clock, self.stats, sink)

    async def close(self) -> None:
        for bus in self.buses.values():
            await bus.close()
