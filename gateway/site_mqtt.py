"""The site broker: MQTT sensors and patrol scans come in here.

The sources that listen to it (`mqtt-sensors`, `handheld-scans`) share one `SiteBroker`: one
persistent session, each message routed to the first source whose route takes its topic (in
the order the sources were built) and acknowledged only once what it caused is committed to
the outbox, so a gateway that dies in between gets the message again: a reading or a scan it
accepted is never lost. A message no source takes is acknowledged at once (it causes
nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.config import Device, MqttSensor, SiteConfig
from estatewatch.mqtt import Message, MqttClient, MqttSettings
from gateway.devices import DeviceTracker
from gateway.messages import ReadingEncoder
from gateway.sensors import SensorRouter, map_payload
from gateway.sink import Sink

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 86400
"""Scans sent while the gateway restarts wait for it on the site broker."""


def site_broker_settings(url: str, client_id: str) -> MqttSettings:
    return MqttSettings(
        url=url,
        client_id=client_id,
        clean_start=False,
        session_expiry=SESSION_EXPIRY_S,
        manual_ack=True,
        connect_timeout=None,
    )


@dataclass
class Route:
    """The messages one source takes: subscribed `filters`, and the topics it `accepts`."""

    name: str
    accepts: Callable[[str], bool]
    queue: asyncio.Queue[Message | Exception] = field(default_factory=asyncio.Queue)


class SiteBroker:
    """`async with SiteBroker(settings) as broker:`; sources `route()` at build time (before
    any message is read, so a persistent session's first messages find their source) and
    then read their `messages()`."""

    def __init__(self, settings: MqttSettings) -> None:
        self.client = MqttClient(settings)
        self.routes: list[Route] = []
        self.unmatched = 0
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SiteBroker:
        await self.client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self.client.__aexit__(exc_type, exc, tb)

    async def route(
        self, name: str, filters: Sequence[str], accepts: Callable[[str], bool]
    ) -> Route:
        route = Route(name, accepts)
        self.routes.append(route)
        for topic_filter in filters:
            await self.client.subscribe(topic_filter, qos=1)
        return route

    async def messages(self, route: Route) -> AsyncIterator[Message]:
        """The route's messages, for ever; raises what stopped the connection's reader."""
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="gateway-site-mqtt")
        while True:
            item = await route.queue.get()
            if isinstance(item, Exception):
                raise item
            yield item

    def ack_when(self, message: Message, committed: asyncio.Future[None]) -> None:
        """Acknowledge `message` once `committed` resolves."""
        committed.add_done_callback(partial(self._ack, message))

    def _ack(self, message: Message, _: asyncio.Future[None]) -> None:
        self.client.ack(message)

    async def _read(self) -> None:
        try:
            async for message in self.client.messages():
                for route in self.routes:
                    if route.accepts(message.topic):
                        route.queue.put_nowait(message)
                        break
                else:
                    self.unmatched += 1
                    log.debug("no sensor or handheld for topic %s: ignored", message.topic)
                    self.client.ack(message)
        except Exception as exc:  # handed to the sources, whose supervisors restart them
            for route in self.routes:
                route.queue.put_nowait(exc)


class SensorSource:
    """MQTT sensors on the site broker, their JSON fields mapped to readings: the
    `mqtt-sensors` source."""

    name = "mqtt-sensors"

    def __init__(
        self, site: SiteConfig, trackers: Mapping[str, DeviceTracker], clock: Clock
    ) -> None:
        self.site = site
        self.trackers = trackers
        self.clock = clock
        self.router = SensorRouter(site.devices)
        self.encoders = {d.id: ReadingEncoder(d) for d in site.devices if _is_sensor(d)}
        self.received = 0
        self.failed = 0
        self._notes: set[str] = set()
        self._listening: tuple[SiteBroker, Route] | None = None

    async def listen(self, broker: SiteBroker) -> None:
        """Subscribe to the sensors' topics."""
        self._listening = (
            broker,
            await broker.route(
                self.name, self.router.filters, lambda topic: self.router.find(topic) is not None
            ),
        )

    async def run(self, sink: Sink) -> None:
        if self._listening is None:
            raise RuntimeError(f"{self.name}: listen() before run()")
        broker, route = self._listening
        async for message in broker.messages(route):
            self.received += 1
            try:
                self.handle(message, sink)
            except Exception:  # a supervisor: one message our code cannot take must not
                # stop the others, nor come back for ever (it is acknowledged all the same)
                self.failed += 1
                log.exception("cannot take the message on %s; skipped", message.topic)
            broker.ack_when(message, sink.committed())

    def handle(self, message: Message, sink: Sink) -> None:
        device = self.router.find(message.topic)
        if device is None:
            log.debug("no sensor for topic %s: ignored", message.topic)
            return
        conn = device.connection
        assert isinstance(conn, MqttSensor)
        received = to_epoch_ms(self.clock.now())
        result, ts, note = map_payload(conn, message.payload, received)
        if note and device.id not in self._notes:
            self._notes.add(device.id)
            log.warning("%s: %s", device.id, note)
        tracker = self.trackers[device.id]
        reading, changed = tracker.observe(result, ts)
        if reading is not None:
            encoder = self.encoders[device.id]
            sink.reading(encoder.encode(reading), urgent=encoder.urgent)
        if changed:
            sink.status(tracker)


def _is_sensor(device: Device) -> bool:
    return isinstance(device.connection, MqttSensor)
