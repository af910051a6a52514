"""The gateway never writes to a Modbus device: it has no configuration that could make it,
so it sends read functions (1-4) and nothing else. Checked on the wire, through a proxy
that records every request the real gateway sends to the real simulated estate, and in the
source, so a write cannot creep in unnoticed."""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import ModbusTcp, SiteConfig
from estatewatch.testing.services import Mosquitto, free_port
from simulators.harness import run_estate
from tests.gateway.conftest import fast, running_gateway
from tests.gateway.helpers import listening

ROOT = Path(__file__).resolve().parents[2]
READS = {1, 2, 3, 4}
WRITE_CALLS = re.compile(r"\b(write_(coil|coils|register|registers)|mask_write|readwrite)\w*\(")


def test_no_write_call_exists_in_the_gateway() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "gateway").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if WRITE_CALLS.search(line)
    ]
    assert offenders == []


@contextlib.asynccontextmanager
async def recording_proxy(target: tuple[str, int], functions: Counter[int]) -> AsyncIterator[int]:
    """A TCP proxy to `target` that counts the function code of every Modbus request."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*target)
        back = asyncio.create_task(pipe(up_reader, writer))
        try:
            while True:
                header = await reader.readexactly(7)
                (length,) = struct.unpack(">H", header[4:6])
                body = await reader.readexactly(length - 1)
                functions[body[0]] += 1
                up_writer.write(header + body)
                await up_writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            back.cancel()
            for end in (up_writer, writer):
                end.close()
                with contextlib.suppress(Exception):
                    await end.wait_closed()

    port = free_port()
    server = await asyncio.start_server(client, "127.0.0.1", port)
    async with server:
        yield port


@pytest.mark.integration
async def test_on_the_wire_the_gateway_only_reads(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    functions: Counter[int] = Counter()
    async with contextlib.AsyncExitStack() as stack:
        estate = await stack.enter_async_context(
            run_estate(example_site, seed=2, clock=FakeClock())
        )
        proxies: dict[tuple[str, int], int] = {}
        devices = []
        for device in estate.site.devices:
            conn = device.connection
            if isinstance(conn, ModbusTcp):
                key = (conn.host, conn.port)
                if key not in proxies:
                    proxies[key] = await stack.enter_async_context(recording_proxy(key, functions))
                conn = conn.model_copy(update={"port": proxies[key]})
                device = device.model_copy(update={"connection": conn})
            devices.append(device)
        site = fast(estate.site.model_copy(update={"devices": devices}))
        central = await stack.enter_async_context(listening(mosquitto.url, site.site.id))
        await stack.enter_async_context(running_gateway(site, mosquitto.url, tmp_path))
        # every kind of device (pumps, elevators, power rooms) answered through the proxies
        await central.wait_for(
            lambda: all(central.readings(d) for d in ("pump-fire", "elevator-3", "power-room-1")),
            what="readings through the proxies",
        )
        await asyncio.sleep(1.0)
    assert sum(functions.values()) > 20
    assert set(functions) <= READS, functions
