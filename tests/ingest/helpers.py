"""Helpers for ingest's tests: a producer of contract telemetry, a running ingest, counts."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from estatewatch.clock import Clock
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import TelemetryBatch
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import InfluxDB
from ingest.retry import Backoff
from ingest.service import Ingest
from ingest.settings import IngestSettings, limits_for, mqtt_for
from ingest.sinks import SinkSettings, make_sink

SITE, GATEWAY = "harbour-view", "gw-harbour-1"
_ids = itertools.count(1)


def now_ms() -> int:
    return int(time.time() * 1000)


def settings_for(
    mqtt_url: str, influx: InfluxDB, db: str, *, client_id: str | None = None, **over: Any
) -> IngestSettings:
    """Settings for a test's ingest: its own shared-subscription group (unless given), and a
    short session expiry, so no session left behind on the session broker takes a share of
    a later test's stream."""
    n = next(_ids)
    mqtt = mqtt_for(mqtt_url, client_id or f"ingest-test-{n}", session_expiry=10)
    base = IngestSettings(
        mqtt=mqtt,
        group=f"ingest-test-{n}",
        influx=SinkSettings(url=influx.url, database=db, retention_policy="raw"),
        limits=limits_for(mqtt, max_lines=500, max_age=0.1),
        backoff=Backoff(base=0.05, cap=0.5),
    )
    return replace(base, **over)


@asynccontextmanager
async def running(settings: IngestSettings, clock: Clock | None = None) -> AsyncIterator[Ingest]:
    sink = make_sink(settings.sink, settings.influx)
    try:
        async with Ingest(settings, sink, clock=clock) as ingest:
            yield ingest
    finally:
        await sink.aclose()


class Producer:
    """Publishes `TelemetryBatch`es built with the contract's model, each reading with its
    own (device, ts), so the count in InfluxDB says whether any was lost."""

    def __init__(self, client: MqttClient, *, devices: int = 5, start: int | None = None) -> None:
        self.client = client
        self.devices = devices
        self.t0 = start if start is not None else now_ms() - 3_600_000
        self.seq = 0
        self.readings = 0

    def batch(self, size: int) -> TelemetryBatch:
        readings = []
        for _ in range(size):
            i = self.readings
            readings.append(
                {
                    "device": f"pump-{i % self.devices}",
                    "kind": "water_pump_set",
                    "building": "podium",
                    "room": "pump-room",
                    "ts": self.t0 + i // self.devices,
                    "values": {"outlet_pressure": 0.4 + (i % 10) / 100, "seq": i},
                }
            )
            self.readings += 1
        self.seq += 1
        return TelemetryBatch.model_validate(
            {"site": SITE, "gateway": GATEWAY, "seq": self.seq, "readings": readings}
        )

    async def publish(self, messages: int, size: int = 10, pause: float = 0.0) -> None:
        topic = topics.telemetry(SITE, GATEWAY)
        for _ in range(messages):
            await self.client.publish(topic, self.batch(size).to_bytes())
            if pause:
                await asyncio.sleep(pause)


@asynccontextmanager
async def producer(url: str, **kwargs: Any) -> AsyncIterator[Producer]:
    async with MqttClient(MqttSettings(url, client_id=f"producer-{next(_ids)}")) as client:
        yield Producer(client, **kwargs)


def count(
    influx: InfluxDB, db: str, field: str = "seq", measurement: str = "water_pump_set"
) -> int:
    result: Any = influx.query(f'SELECT count("{field}") FROM "{measurement}"', db)
    series = result["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


async def eventually(check: Callable[[], bool], within: float = 20.0, what: str = "") -> None:
    """Poll `check` (real time, bounded) until it holds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what or check}")
        await asyncio.sleep(0.05)


async def count_reaches(influx: InfluxDB, db: str, n: int, within: float = 30.0) -> None:
    last = -1

    def check() -> bool:
        nonlocal last
        last = count(influx, db)
        return last >= n

    try:
        await eventually(check, within)
    except AssertionError:
        raise AssertionError(f"InfluxDB holds {last} of {n} readings after {within}s") from None
