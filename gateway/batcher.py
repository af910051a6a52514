"""Collects readings and events and commits them to the outbox in batches.

Readings are packed into `TelemetryBatch`es of up to `max_readings`; a flush happens when that
many are waiting or `max_delay` after the first one arrived, whichever comes first, and is one
SQLite transaction together with any status or health messages waiting with them.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from estatewatch.clock import Clock
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import DeviceReading, TelemetryBatch
from gateway.outbox import Outbox, Outgoing

log = logging.getLogger(__name__)


class Batcher:
    def __init__(
        self,
        outbox: Outbox,
        *,
        site: str,
        gateway: str,
        clock: Clock,
        max_readings: int = 50,
        max_delay: float = 0.1,
    ) -> None:
        self.outbox = outbox
        self.site = site
        self.gateway = gateway
        self.clock = clock
        self.max_readings = max_readings
        self.max_delay = max_delay
        self._readings: list[DeviceReading] = []
        self._messages: list[Outgoing] = []
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self.flushes = 0

    def add_reading(self, reading: DeviceReading) -> None:
        self._readings.append(reading)
        self._arrived.set()
        if len(self._readings) >= self.max_readings:
            self._full.set()

    def add(self, message: Outgoing) -> None:
        self._messages.append(message)
        self._arrived.set()

    def _batch(self, readings: list[DeviceReading], seq: int) -> bytes:
        return TelemetryBatch(
            site=self.site, gateway=self.gateway, seq=seq, readings=readings
        ).to_bytes()

    async def flush(self) -> None:
        """Commit everything waiting, in one transaction."""
        readings, self._readings = self._readings, []
        messages, self._messages = self._messages, []
        self._arrived.clear()
        self._full.clear()
        topic = topics.telemetry(self.site, self.gateway)
        items = [
            Outgoing("telemetry", topic, partial(self._batch, readings[i : i + self.max_readings]))
            for i in range(0, len(readings), self.max_readings)
        ]
        items.extend(messages)
        if items:
            await self.outbox.enqueue(items)
            self.flushes += 1

    async def run(self) -> None:
        """Flush until cancelled; the caller flushes once more on shutdown."""
        while True:
            await self._arrived.wait()
            if not self._full.is_set():
                sleeper = asyncio.ensure_future(self.clock.sleep(self.max_delay))
                full = asyncio.ensure_future(self._full.wait())
                try:
                    await asyncio.wait({sleeper, full}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    sleeper.cancel()
                    full.cancel()
            await self.flush()
