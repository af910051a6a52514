"""Where the gateway's input comes from: a small `Source` protocol and a registry by name.

A source has a `name` and `run(sink)`: it reads its equipment until cancelled and publishes
readings, device statuses and messages into the sink (the outbox). The gateway builds every
registered source the site file configures (a factory answers None when the site has
nothing for it) and runs each under `estatewatch.supervise`: a source that fails is logged
with its name and restarted with backoff, the others go on.

To add a protocol (BACnet, DL/T 645): describe its devices in the site file (a connection
model in `estatewatch.config`), write a Source, and register its factory in `SOURCES` below;
the composition root (`gateway.service`) does not change. Connections several sources share
come from `SourceContext.resources`, which opens them once and closes them at stop, after
what they carried is committed.

    modbus          Modbus TCP/RTU devices, polled on their schedules (gateway.polling)
    handheld-scans  patrol scans on the site broker (gateway.patrol)
    mqtt-sensors    JSON sensors on the site broker (gateway.site_mqtt)
    dlt645          DL/T 645-2007 meters, serial or through a transparent gateway (gateway.dlt645)
    bacnet          BACnet/IP devices: ReadPropertyMultiple polls and COV (gateway.bacnet)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Protocol, TypeVar

from estatewatch.clock import Clock
from estatewatch.config import SiteConfig
from gateway.bacnet import BacnetSource
from gateway.bacnet_link import BacnetLink
from gateway.devices import DeviceTracker
from gateway.dlt645 import Dlt645Source
from gateway.patrol import HandheldScans, PatrolIntake
from gateway.polling import ModbusSource
from gateway.schedule import PollStats
from gateway.sink import Sink
from gateway.site_mqtt import SensorSource, SiteBroker, site_broker_settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class Source(Protocol):
    """Reads its equipment until cancelled, publishing into `sink`."""

    name: str

    async def run(self, sink: Sink) -> None: ...


class Resources:
    """Connections sources share, opened by the first source that asks for them and closed
    when the gateway stops (in reverse order, on the gateway's exit stack)."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack
        self._open: dict[str, object] = {}

    async def shared(
        self, key: str, kind: type[T], make: Callable[[], AbstractAsyncContextManager[T]]
    ) -> T:
        """The resource `key`, entered on first use."""
        found = self._open.get(key)
        if found is None:
            found = self._open[key] = await self._stack.enter_async_context(make())
        assert isinstance(found, kind), f"{key} is a {type(found).__name__}"
        return found

    def on_close(self, close: Callable[[], Awaitable[None]]) -> None:
        """Run `close` when the gateway stops."""
        self._stack.push_async_callback(close)


@dataclass(frozen=True)
class SourceContext:
    """What a source factory may use: the site, the gateway's shared parts and its
    connections' settings."""

    site: SiteConfig
    clock: Clock
    trackers: Mapping[str, DeviceTracker]
    """One per device, shared with the health figures and the heartbeat."""
    stats: PollStats
    """Poll timing, shown in the health figures."""
    patrol: PatrolIntake
    """The scan checks, shared with `POST /scans`."""
    resources: Resources
    site_url: str
    """The site broker of sensors and handhelds."""
    client_id: str
    """The gateway's MQTT client id (the site broker's session is `{client_id}-site`)."""


SourceFactory = Callable[[SourceContext], Awaitable[Source | None]]


async def site_broker(context: SourceContext) -> SiteBroker:
    """The site broker connection, one for every source that listens there."""
    settings = site_broker_settings(context.site_url, f"{context.client_id}-site")
    return await context.resources.shared("site-mqtt", SiteBroker, lambda: SiteBroker(settings))


async def modbus(context: SourceContext) -> Source | None:
    source = ModbusSource.from_site(context.site, context.trackers, context.stats, context.clock)
    if not source.pollers:
        return None
    context.resources.on_close(source.close)
    log.info(
        "%d Modbus devices in %d requests per round",
        len(source.pollers),
        source.requests_per_round,
    )
    return source


async def dlt645_meters(context: SourceContext) -> Source | None:
    source = Dlt645Source.from_site(context.site, context.trackers, context.stats, context.clock)
    if not source.pollers:
        return None
    context.resources.on_close(source.close)
    log.info("%d DL/T 645 meters on %d buses", len(source.pollers), len(source.buses))
    return source


async def bacnet_devices(context: SourceContext) -> Source | None:
    source = BacnetSource.from_site(context.site, context.trackers, context.stats, context.clock)
    if not source.pollers:
        return None
    await context.resources.shared("bacnet", BacnetLink, lambda: source.link)
    log.info("%d BACnet devices", len(source.pollers))
    return source


async def handheld_scans(context: SourceContext) -> Source | None:
    source = HandheldScans(context.patrol, context.site.site.id)
    await source.listen(await site_broker(context))
    return source


async def mqtt_sensors(context: SourceContext) -> Source | None:
    source = SensorSource(context.site, context.trackers, context.clock)
    if not source.encoders:
        return None
    await source.listen(await site_broker(context))
    log.info("%d MQTT sensors", len(source.encoders))
    return source


SOURCES: dict[str, SourceFactory] = {
    HandheldScans.name: handheld_scans,
    ModbusSource.name: modbus,
    SensorSource.name: mqtt_sensors,
    Dlt645Source.name: dlt645_meters,
    BacnetSource.name: bacnet_devices,
}
"""Source name -> factory, in the order they are built. Order matters on the site broker:
a message goes to the first source whose route takes its topic, so handheld scans come
before sensors (whose topics may hold wildcards)."""


async def make_source(name: str, context: SourceContext) -> Source | None:
    """The source `name` as the site configures it, or None when it configures none."""
    try:
        factory = SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None
    return await factory(context)


async def configured_sources(context: SourceContext) -> list[Source]:
    """Every registered source the site configures, in registry order."""
    sources = []
    for name in SOURCES:
        source = await make_source(name, context)
        if source is not None:
            sources.append(source)
    return sources
