"""Test helpers of the gateway's tests: a listener on the central broker."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from estatewatch.contracts import decode_any, topics
from estatewatch.contracts.payloads import (
    DeviceStatus,
    GatewayMessage,
    Payload,
    TelemetryBatch,
)
from estatewatch.mqtt import Message, MqttClient, MqttSettings

_ids = itertools.count()


@dataclass
class Listener:
    """Everything a central consumer receives, decoded with the contract."""

    messages: list[tuple[Message, Payload]] = field(default_factory=list)

    def of(self, kind: type[Payload]) -> list[Payload]:
        return [p for _, p in self.messages if isinstance(p, kind)]

    def batches(self) -> list[TelemetryBatch]:
        return [p for p in self.of(TelemetryBatch) if isinstance(p, TelemetryBatch)]

    def statuses(self, device: str) -> list[DeviceStatus]:
        return [
            p for p in self.of(DeviceStatus) if isinstance(p, DeviceStatus) and p.device == device
        ]

    def readings(self, device: str) -> list[tuple[int, dict[str, object], dict[str, str]]]:
        """(ts, values, quality) of every reading of `device`, by time, duplicates removed."""
        seen: dict[int, tuple[int, dict[str, object], dict[str, str]]] = {}
        for batch in self.batches():
            for r in batch.readings:
                if r.device == device:
                    seen[r.ts] = (r.ts, dict(r.values), {k: v.value for k, v in r.quality.items()})
        return [seen[ts] for ts in sorted(seen)]

    def seqs(self, kind: type[GatewayMessage]) -> list[int]:
        return [p.seq for p in self.of(kind) if isinstance(p, GatewayMessage)]

    async def wait_for(
        self, check: Callable[[], object], within: float = 15.0, what: str = "a condition"
    ) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"waited {within} s in vain for {what}")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def listening(url: str, site: str = "+") -> AsyncIterator[Listener]:
    """A persistent-session subscriber to everything a gateway of `site` publishes from now
    on (retained messages, left by earlier tests, are skipped)."""
    listener = Listener()
    settings = MqttSettings(
        url=url,
        client_id=f"gw-test-listener-{next(_ids)}",
        clean_start=False,
        session_expiry=600,
        reconnect_max_delay=1,
        connect_timeout=10,
    )
    async with MqttClient(settings) as client:
        for topic_filter in (
            topics.telemetry_filter(site),
            topics.status_filter(site),
            topics.gateway_filter(site),
            topics.patrol_filter(site),
        ):
            await client.subscribe(topic_filter)

        async def collect() -> None:
            async for message in client.messages():
                if message.retain:
                    continue  # what earlier tests left on the broker, not this test's
                listener.messages.append((message, decode_any(message.topic, message.payload)))

        task = asyncio.create_task(collect())
        try:
            yield listener
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
