"""Helpers for the engine tests on a real broker: an alarm listener, a telemetry publisher,
and a bounded wait."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from estatewatch.config import SiteConfig, parse_site
from estatewatch.contracts import topics
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import (
    AlarmEvent,
    DeadLetter,
    DeviceReading,
    Payload,
    Scalar,
    TelemetryBatch,
)
from estatewatch.mqtt import MqttClient, MqttSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "estate.yaml"
_ids = itertools.count(1)


def client_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}-{time.monotonic_ns()}"


def other_site(site_id: str) -> SiteConfig:
    """The example estate under another site id (a second estate on the same broker)."""
    return parse_site(EXAMPLE.read_text().replace("id: harbour-view", f"id: {site_id}", 1))


async def wait_for(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class Listener:
    """Collects alarm events and dead letters from the broker."""

    def __init__(self, client: MqttClient) -> None:
        self.client = client
        self.events: list[AlarmEvent] = []
        self.urgent: list[bool] = []
        """Per event: sent in the life-safety lane."""
        self.dead: list[DeadLetter] = []

    async def run(self) -> None:
        async for message in self.client.messages():
            parts = topics.parse(message.topic)
            if parts is not None and parts.kind == "alarm":
                self.events.append(decode(AlarmEvent, message.topic, message.payload))
                self.urgent.append(message.urgent)
            elif parts is not None and parts.kind == "deadletter":
                self.dead.append(decode(DeadLetter, message.topic, message.payload))

    def rules(self, event: str | None = None) -> list[str]:
        return [e.rule for e in self.events if event is None or e.event.value == event]


@contextlib.asynccontextmanager
async def listening(url: str) -> AsyncIterator[Listener]:
    async with MqttClient(MqttSettings(url=url, client_id=client_id("listener"))) as client:
        await client.subscribe(topics.alarm_filter(), qos=1)
        await client.subscribe(topics.deadletter_filter(), qos=1)
        listener = Listener(client)
        task = asyncio.create_task(listener.run())
        try:
            yield listener
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Publisher:
    """Publishes contract payloads as a gateway would."""

    def __init__(self, client: MqttClient, site: SiteConfig) -> None:
        self.client = client
        self.site = site
        self.seq = itertools.count()

    async def readings(self, ts: int, values: dict[str, dict[str, Scalar]]) -> None:
        readings = []
        for device_id, points in values.items():
            d = self.site.device(device_id)
            readings.append(
                DeviceReading(
                    device=device_id, kind=d.kind, building=d.building, room=d.room, ts=ts,
                    values=points,
                )
            )  # fmt: skip
        batch = TelemetryBatch(
            site=self.site.site.id, gateway=self.site.gateway.id, seq=next(self.seq),
            readings=readings,
        )  # fmt: skip
        await self.send(topics.telemetry(self.site.site.id, self.site.gateway.id), batch)

    async def send(self, topic: str, payload: Payload | bytes) -> None:
        data = payload if isinstance(payload, bytes) else payload.to_bytes()
        await self.client.publish(topic, data, qos=1)


@contextlib.asynccontextmanager
async def publishing(url: str, site: SiteConfig) -> AsyncIterator[Publisher]:
    async with MqttClient(MqttSettings(url=url, client_id=client_id("gateway"))) as client:
        yield Publisher(client, site)
