"""The test harness: a whole simulated estate on loopback, for the other components' tests.

    async with run_estate(site, seed=1) as estate:
        gateway_site = estate.site              # devices relocated to 127.0.0.1:<free port>
        estate.inject("elevator-3", "entrapment")
        estate.values("elevator-3")["fault_code"]   # 31: what a gateway reads right now
        estate.freeze()                         # served values stay put for exact comparisons

`SimulatedEstate` (in `simulators.estate`) also offers `clear`, `faults`, `unfreeze`,
`step_once` (advance the physics one step, for fake-clock tests) and `device_ids`.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from estatewatch.clock import Clock, ScaledClock, SystemClock
from estatewatch.config import Bacnet, Dlt645, ModbusTcp, SiteConfig
from estatewatch.testing.services import free_port
from simulators.estate import SimulatedEstate

__all__ = ["SimulatedEstate", "relocate", "run_estate"]

LOOPBACK = "127.0.0.1"


def free_udp_port() -> int:
    """A UDP port free on loopback right now (BACnet/IP is UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def relocate(site: SiteConfig) -> SiteConfig:
    """The site with every Modbus TCP device and DL/T 645 meter behind a TCP gateway moved to
    127.0.0.1 on a free port; devices that shared an address share one new port (and keep
    their unit ids and meter addresses). Each BACnet device, and the gateway's own BACnet
    port, gets a free UDP port of its own on 127.0.0.1."""
    ports: dict[tuple[str, int], int] = {}
    devices = []
    for device in site.devices:
        conn = device.connection
        if isinstance(conn, ModbusTcp) or (isinstance(conn, Dlt645) and conn.host is not None):
            key = (conn.host or "", conn.port)
            if key not in ports:
                ports[key] = free_port()
            port = ports[key]
            moved = conn.model_copy(update={"host": LOOPBACK, "port": port})
            device = device.model_copy(update={"connection": moved})
        elif isinstance(conn, Bacnet) and conn.address is not None:
            udp = conn.model_copy(update={"address": f"{LOOPBACK}:{free_udp_port()}"})
            device = device.model_copy(update={"connection": udp})
        devices.append(device)
    bacnet = site.gateway.bacnet.model_copy(update={"address": f"{LOOPBACK}:{free_udp_port()}"})
    gateway = site.gateway.model_copy(update={"bacnet": bacnet})
    return site.model_copy(update={"devices": devices, "gateway": gateway})


@asynccontextmanager
async def run_estate(
    site: SiteConfig,
    *,
    seed: int = 1,
    speed: float = 1.0,
    mqtt_url: str | None = None,
    clock: Clock | None = None,
    step: float = 0.1,
) -> AsyncIterator[SimulatedEstate]:
    """Serve every device of `site` on loopback until the block exits.

    Time is `clock` if given (a `FakeClock` for tests), else real time sped up `speed`
    times; the physics steps every `step` seconds of that time. MQTT sensors publish on
    `mqtt_url` when it is given. The yielded estate's `.site` is the relocated config to
    hand to a gateway.
    """
    if clock is not None and speed != 1.0:
        raise ValueError("give either a clock or a speed, not both")
    if clock is None:
        clock = SystemClock() if speed == 1.0 else ScaledClock(speed)
    estate = SimulatedEstate(relocate(site), clock=clock, seed=seed, step=step)
    async with estate.running(bind_host=LOOPBACK, mqtt_url=mqtt_url):
        yield estate
