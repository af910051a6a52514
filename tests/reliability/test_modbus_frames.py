"""Modbus devices that talk garbage: a real TCP server answering the gateway's real requests
with short frames, another unit's answer, another transaction's, another function's, noise,
or a closed connection. Each such device must end up not online, with a reason; no reading
of it is invented; the good devices of the estate keep their pace; the gateway lives on."""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import ModbusTcp, SiteConfig
from estatewatch.contracts.payloads import DeviceState
from estatewatch.testing.services import Mosquitto, free_port
from simulators.harness import run_estate
from tests.gateway.conftest import fast, running_gateway
from tests.gateway.helpers import Listener, listening
from tests.reliability.harness import record_row

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.reliability]

Answer = Callable[[bytes], bytes | None]


def _valid(request: bytes) -> bytes:
    """A well-formed all-zero answer to a read request (function 1-4)."""
    tid, _, _, unit, function, _, count = struct.unpack(">HHHBBHH", request[:12])
    payload = bytes((count + 7) // 8) if function in (1, 2) else bytes(2 * count)
    pdu = bytes([function, len(payload)]) + payload
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def _patch(frame: bytes, offset: int, delta: int, fmt: str) -> bytes:
    size = struct.calcsize(fmt)
    (value,) = struct.unpack_from(fmt, frame, offset)
    mask = (1 << (8 * size)) - 1
    return frame[:offset] + struct.pack(fmt, (value + delta) & mask) + frame[offset + size :]


def _noise(_: bytes) -> bytes:
    return random.Random(7).randbytes(random.Random().randint(1, 40))


BEHAVIOURS: dict[str, Answer] = {
    "short_frame": lambda req: _valid(req)[:5],
    "wrong_unit": lambda req: _patch(_valid(req), 6, 1, ">B"),
    "wrong_transaction": lambda req: _patch(_valid(req), 0, 1, ">H"),
    "wrong_function": lambda req: _patch(_valid(req), 7, 1, ">B"),
    "length_lies": lambda req: _patch(_valid(req), 4, 40, ">H"),
    "noise": _noise,
    "hangs_up": lambda req: None,
}


@contextlib.asynccontextmanager
async def broken_device(answer: Answer) -> AsyncIterator[int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(7)
                (length,) = struct.unpack(">H", header[4:6])
                request = header + await reader.readexactly(length - 1)
                reply = answer(request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    port = free_port()
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        yield port


def with_broken_devices(site: SiteConfig, ports: dict[str, int]) -> SiteConfig:
    """The estate plus one pump controller per behaviour, each on its broken server."""
    model = next(d for d in site.devices if d.id == "pump-domestic-low")
    extra = []
    for name, port in ports.items():
        conn = ModbusTcp(protocol="modbus_tcp", host="127.0.0.1", port=port, unit_id=1)
        update = {"id": f"bad-{name.replace('_', '-')}", "name": name, "connection": conn}
        extra.append(model.model_copy(update=update))
    return site.model_copy(update={"devices": [*site.devices, *extra]})


def _state(central: Listener, device: str) -> DeviceState | None:
    statuses = central.statuses(device)
    return statuses[-1].state if statuses else None


async def test_devices_that_talk_garbage_are_not_online_and_harm_no_one(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        ports = {
            name: await stack.enter_async_context(broken_device(answer))
            for name, answer in BEHAVIOURS.items()
        }
        central = await stack.enter_async_context(listening(mosquitto.url, example_site.site.id))
        estate = await stack.enter_async_context(
            run_estate(example_site, seed=9, clock=FakeClock())
        )
        site = fast(with_broken_devices(estate.site, ports), interval=0.2, timeout=0.3)
        gateway = await stack.enter_async_context(running_gateway(site, mosquitto.url, tmp_path))
        bad = [f"bad-{name.replace('_', '-')}" for name in BEHAVIOURS]
        await central.wait_for(
            lambda: (
                all(_state(central, d) not in (None, DeviceState.ONLINE) for d in bad)
                and len(central.readings("pump-domestic-low")) > 20
            ),
            within=30,
            what="every broken device to be judged",
        )
        before = len(central.readings("pump-domestic-low"))
        await asyncio.sleep(2.0)
        pace = (len(central.readings("pump-domestic-low")) - before) / 2.0
        figures = gateway.figures()
    for name, device in zip(BEHAVIOURS, bad, strict=True):
        status = central.statuses(device)[-1]
        assert status.state in (DeviceState.OFFLINE, DeviceState.DEGRADED), (name, status)
        assert status.last_error is not None, (name, status)
        assert status.last_error.message, (name, status)
        # nothing made up: a reading of a broken device carries no value
        invented = [v for _, v, _ in central.readings(device) if v]
        assert invented == [], (name, invented[:2])
        record_row(
            "modbus_frames",
            {
                "device answers with": name,
                "state": status.state.value,
                "error": status.last_error.kind.value,
                "readings invented": len(invented),
            },
        )
    assert pace >= 0.7 / 0.2, pace  # the good pump kept (most of) its 5 polls a second
    assert figures.devices_online >= len(example_site.devices) - 6  # the silent MQTT sensors
