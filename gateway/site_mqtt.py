"""The site broker: MQTT sensors and patrol scans come in here.

The gateway holds a persistent session on the site broker and acknowledges each message
only once what it caused is committed to the outbox, so a gateway that dies in between gets
the message again: a reading or a scan it accepted is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.config import Device, MqttSensor, SiteConfig
from estatewatch.contracts import topics
from estatewatch.mqtt import Message, MqttClient
from gateway.devices import DeviceTracker
from gateway.messages import ReadingEncoder
from gateway.patrol import PatrolIntake
from gateway.pipeline import Pipeline
from gateway.polling import Sink
from gateway.sensors import SensorRouter, map_payload

log = logging.getLogger(__name__)


class SiteSource:
    """Consumes the site broker: sensors to readings, handheld messages to scans."""

    name = "site-mqtt"

    def __init__(
        self,
        site: SiteConfig,
        client: MqttClient,
        trackers: dict[str, DeviceTracker],
        sink: Sink,
        pipeline: Pipeline,
        patrol: PatrolIntake,
        clock: Clock,
    ) -> None:
        self.site = site
        self.client = client
        self.trackers = trackers
        self.sink = sink
        self.pipeline = pipeline
        self.patrol = patrol
        self.clock = clock
        self.router = SensorRouter(site.devices)
        self.encoders = {d.id: ReadingEncoder(d) for d in site.devices if self._is_sensor(d)}
        self.scan_filter = topics.handheld_filter(site.site.id)
        self.received = 0
        self.unmatched = 0
        self.failed = 0
        self._notes: set[str] = set()

    @staticmethod
    def _is_sensor(device: Device) -> bool:
        return isinstance(device.connection, MqttSensor)

    @property
    def filters(self) -> list[str]:
        return [self.scan_filter, *self.router.filters]

    async def subscribe(self) -> None:
        for topic_filter in self.filters:
            await self.client.subscribe(topic_filter, qos=1)

    async def run(self) -> None:
        async for message in self.client.messages():
            self.received += 1
            try:
                committed = self.handle(message)
            except Exception:  # a supervisor: one message our code cannot take must not
                # stop the others, nor come back for ever (it is acknowledged all the same)
                self.failed += 1
                log.exception("cannot take the message on %s; skipped", message.topic)
                committed = self.pipeline.committed()
            committed.add_done_callback(partial(self._ack, message))

    def _ack(self, message: Message, _: asyncio.Future[None]) -> None:
        self.client.ack(message)

    def handle(self, message: Message) -> asyncio.Future[None]:
        """Take one message; the future resolves when its effects are committed."""
        parts = topics.parse(message.topic)
        if parts is not None and parts.kind == "handheld_scan" and parts.site == self.site.site.id:
            return self.patrol.from_mqtt(message.topic, message.payload)
        device = self.router.find(message.topic)
        if device is None:
            self.unmatched += 1
            log.debug("no sensor or handheld for topic %s: ignored", message.topic)
            return self.pipeline.committed()
        self._sensor(device, message)
        return self.pipeline.committed()

    def _sensor(self, device: Device, message: Message) -> None:
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
            self.sink.reading(encoder.encode(reading), urgent=encoder.urgent)
        if changed:
            self.sink.status(tracker)
