"""DL/T 645-2007 meters over TCP: what a transparent serial-to-TCP gateway in front of an
RS-485 bus of meters looks like to the gateway.

Meters that share a host and port in the site config share one server (one bus), told apart
by their addresses; the wildcard address AAAAAAAAAAAA reaches a bus's only meter. A read
(C = 0x11) of an identifier the meter knows is answered with its current value in the
standard's format (`estatewatch.dlt645`) — divided by the point's `scale`, as a meter behind
current transformers reports secondary values the gateway scales back; one it does not
know gets an abnormal answer "no requested data", as a real meter's does. Protocol faults:

- `offline`: no answer at all (the master times out);
- `meter_error`: every read answered abnormally with error byte 0x01 (other error);
- `garbage`: answers whose checksum is wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextlib import AsyncExitStack
from types import TracebackType

from estatewatch import dlt645
from estatewatch.config import Dlt645
from simulators.device import DeviceSim
from simulators.errors import SimulatorError
from simulators.faults import Fault

log = logging.getLogger(__name__)

SERVED: dict[int, str] = {
    0x00000000: "energy",
    0x00010000: "energy",
    0x02010100: "voltage_l1",
    0x02010200: "voltage_l2",
    0x02010300: "voltage_l3",
    0x02020100: "current_l1",
    0x02020200: "current_l2",
    0x02020300: "current_l3",
    0x02030000: "active_power",
    0x02040000: "reactive_power",
    0x02060000: "power_factor",
    0x02800002: "frequency",
}
"""What a simulated meter answers, by data identifier: its model's value of that name."""


def answer(sim: DeviceSim, request: dlt645.Frame) -> bytes | None:
    """The bytes `sim` answers `request` with, or None for no answer."""
    if Fault.OFFLINE in sim.faults or request.is_answer:
        return None
    connection = sim.device.connection
    assert isinstance(connection, Dlt645)
    address = connection.address
    if request.function != dlt645.READ or len(request.data) != 4 or Fault.METER_ERROR in sim.faults:
        reply = dlt645.error_answer(address, dlt645.MeterError.OTHER)
    else:
        di = int.from_bytes(request.data, "little")
        name = SERVED.get(di)
        known = dlt645.IDENTIFIERS.get(di)
        if name is None or known is None:
            reply = dlt645.error_answer(address, dlt645.MeterError.NO_DATA)
        else:
            value = float(sim.model.values().get(name, 0.0)) / _scale(connection, di)
            reply = dlt645.read_answer(address, di, dlt645.encode_value(value, known[1]))
    raw = dlt645.encode_frame(reply, wake=2)
    if Fault.GARBAGE in sim.faults:
        raw = raw[:-2] + bytes(((raw[-2] + 0x5A) & 0xFF,)) + raw[-1:]
    return raw


def _scale(connection: Dlt645, di: int) -> float:
    """The scale the site gives the point of `di` (a CT ratio): the meter serves the value
    before it, as a meter behind current transformers shows secondary amperes."""
    for point in connection.points:
        if dlt645.parse_identifier(point.di) == di and point.scale:
            return point.scale
    return 1.0


class MeterBusServer:
    """One TCP server for the meters behind one transparent gateway."""

    def __init__(self, host: str, port: int, sims: list[DeviceSim]) -> None:
        self.host, self.port = host, port
        self.meters: dict[str, DeviceSim] = {}
        for sim in sims:
            conn = sim.device.connection
            assert isinstance(conn, Dlt645)
            self.meters[conn.address] = sim
        self._server: asyncio.Server | None = None

    def meter(self, address: str) -> DeviceSim | None:
        if address == dlt645.WILDCARD and len(self.meters) == 1:
            return next(iter(self.meters.values()))
        return self.meters.get(address)

    async def start(self, bind_host: str) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, bind_host, self.port)
        except OSError as exc:
            raise SimulatorError(
                f"cannot serve DL/T 645 on {bind_host}:{self.port}: {exc}"
            ) from exc

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = b""
        try:
            while True:
                data = await reader.read(512)
                if not data:
                    return
                buffer += data
                while (found := dlt645.frame_length(buffer)) is not None:
                    start, length = found
                    if len(buffer) < start + length:
                        break
                    raw, buffer = buffer[start : start + length], buffer[start + length :]
                    reply = self._reply(raw)
                    if reply is not None:
                        writer.write(reply)
                        await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def _reply(self, raw: bytes) -> bytes | None:
        try:
            request = dlt645.decode_frame(raw)
        except dlt645.FrameError:
            return None  # a meter ignores a frame that does not check out
        sim = self.meter(request.address)
        return None if sim is None else answer(sim, request)


class MeterServers:
    """Every DL/T 645 meter reached over TCP, one server per address; an async context."""

    def __init__(self, sims: Iterable[DeviceSim], *, bind_host: str | None = "127.0.0.1") -> None:
        by_address: dict[tuple[str, int], list[DeviceSim]] = {}
        for sim in sims:
            conn = sim.device.connection
            if isinstance(conn, Dlt645) and conn.host is not None:
                by_address.setdefault((conn.host, conn.port), []).append(sim)
        self.bind_host = bind_host
        self.servers = [MeterBusServer(h, p, s) for (h, p), s in by_address.items()]
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> MeterServers:
        try:
            for server in self.servers:
                await server.start(self.bind_host or server.host)
                self._stack.push_async_callback(server.close)
        except BaseException:
            await self._stack.aclose()
            raise
        if self.servers:
            log.info("%d DL/T 645 buses served", len(self.servers))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()
