"""The way into the outbox: every message the gateway sends is first committed here.

Readings are gathered into `TelemetryBatch`es (batching is what makes MQTT cheap) and the
other messages queue as they are. Readings of life-safety devices (fire alarm panels, smoke
and fire sensors) are batched apart and committed in the priority lane with device statuses
and patrol scans: a fire alarm is never queued behind a backlog of telemetry, nor dropped
before it when the queue is full; a flush gives each message its `seq` and commits them all
in one SQLite transaction, at most `max_delay` after the first of them arrived (so one
commit covers a poll cycle's readings). The `seq` counters are committed with the messages
that use them, so after a crash they resume exactly where the committed messages end:
gap-free, never reused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence

from estatewatch.clock import Clock, to_epoch_ms
from gateway.errors import StoreError
from gateway.messages import Outgoing, Stream, stream_topic
from gateway.store import PRIORITY, TELEMETRY, NewRow, Statement, Store

log = logging.getLogger(__name__)

MAX_PENDING_READINGS = 200_000
"""Readings held in memory while the disk refuses writes; beyond this the oldest go."""


class Pipeline:
    """Batches and commits; `run()` is its flush loop."""

    def __init__(
        self,
        store: Store,
        *,
        site: str,
        gateway: str,
        clock: Clock,
        max_delay: float = 0.2,
        max_readings: int = 500,
        max_bytes: int = 128 * 1024,
        protect: Callable[[], Collection[int]] = frozenset,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.site = site
        self.gateway = gateway
        self.clock = clock
        self.max_delay = max_delay
        self.max_readings = max_readings
        self.max_bytes = max_bytes
        self.protect = protect
        self.on_commit = on_commit
        self.topic = stream_topic(Stream.TELEMETRY, site, gateway)
        self._readings: list[bytes] = []
        self._urgent: list[bytes] = []
        self._reading_bytes = 0
        self._messages: list[tuple[Outgoing, Sequence[Statement]]] = []
        self._committed: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.commits = 0
        self.dropped_in_memory = 0

    # --- adding ------------------------------------------------------------------------------

    def add_reading(self, fragment: bytes, *, urgent: bool = False) -> None:
        """Queue one encoded reading for the next telemetry batch (`urgent`: for the next
        batch of the priority lane, a life-safety device's)."""
        if urgent:
            self._urgent.append(fragment)
            self._wake.set()
            return
        self._readings.append(fragment)
        self._reading_bytes += len(fragment)
        if len(self._readings) == 1 or self._reading_bytes >= self.max_bytes * 4:
            self._wake.set()

    def add(self, message: Outgoing, extra: Sequence[Statement] = ()) -> None:
        """Queue a message; `extra` statements are committed in the same transaction."""
        self._messages.append((message, extra))
        self._wake.set()

    def committed(self) -> asyncio.Future[None]:
        """Resolves once everything added so far is committed."""
        if self._committed is None:
            self._committed = asyncio.get_running_loop().create_future()
            self._wake.set()  # resolves at the next flush, even with nothing to commit
        return self._committed

    @property
    def pending(self) -> int:
        return len(self._readings) + len(self._urgent) + len(self._messages)

    # --- flushing ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Flush `max_delay` after something arrives, for ever."""
        while True:
            await self._wake.wait()
            if self._reading_bytes < self.max_bytes * 4:
                await self.clock.sleep(self.max_delay)
            self._wake.clear()
            try:
                await self.flush()
            except StoreError as exc:
                log.error("the queue refused a write, retrying in 1 s: %s", exc)
                self._wake.set()
                await self.clock.sleep(1.0)

    async def flush(self) -> None:
        """Commit everything pending now."""
        async with self._lock:
            if not self._readings and not self._messages and not self._urgent:
                if self._committed is not None and not self._committed.done():
                    self._committed.set_result(None)
                self._committed = None
                return
            readings, messages, urgent = self._readings, self._messages, self._urgent
            future, self._committed = self._committed, None
            self._readings, self._messages, self._reading_bytes = [], [], 0
            self._urgent = []
            rows, extra = self._rows(readings, messages, urgent)
            try:
                await self.store.append(
                    rows, now_ms=to_epoch_ms(self.clock.now()), extra=extra, protect=self.protect()
                )
            except BaseException:
                self._urgent[:0] = urgent
                self._put_back(readings, messages, future)
                raise
            self.commits += 1
            if future is not None and not future.done():
                future.set_result(None)
            self.on_commit()

    def _rows(
        self,
        readings: list[bytes],
        messages: list[tuple[Outgoing, Sequence[Statement]]],
        urgent: Sequence[bytes] = (),
    ) -> tuple[list[NewRow], list[Statement]]:
        seqs = dict(self.store.next_seq)  # committed values: a failed commit reuses them

        def take(stream: str) -> int:
            seq = seqs.get(stream, 0)
            seqs[stream] = seq + 1
            return seq

        rows: list[NewRow] = []
        extra: list[Statement] = []
        for message, statements in messages:
            seq = take(message.stream)
            payload = message.render(self.site, self.gateway, seq)
            rows.append(
                NewRow(PRIORITY, message.stream, seq, message.topic, message.retain, payload)
            )
            extra.extend(statements)
        # Urgent readings are ordinary TelemetryBatches on the telemetry topic (consumers see
        # no difference), with telemetry seqs; only their lane differs.
        batches = [(PRIORITY, b) for b in self._batches(list(urgent))]
        batches += [(TELEMETRY, b) for b in self._batches(readings)]
        for lane, batch in batches:
            seq = take(Stream.TELEMETRY)
            payload = Outgoing(Stream.TELEMETRY, self.topic, False, fragments=batch).render(
                self.site, self.gateway, seq
            )
            rows.append(NewRow(lane, Stream.TELEMETRY, seq, self.topic, False, payload))
        return rows, extra

    def _batches(self, readings: list[bytes]) -> list[list[bytes]]:
        batches: list[list[bytes]] = []
        current: list[bytes] = []
        size = 0
        for fragment in readings:
            if current and (
                len(current) >= self.max_readings or size + len(fragment) > self.max_bytes
            ):
                batches.append(current)
                current, size = [], 0
            current.append(fragment)
            size += len(fragment) + 1
        if current:
            batches.append(current)
        return batches

    def _put_back(
        self,
        readings: list[bytes],
        messages: list[tuple[Outgoing, Sequence[Statement]]],
        future: asyncio.Future[None] | None,
    ) -> None:
        self._readings[:0] = readings
        self._messages[:0] = messages
        self._reading_bytes = sum(len(r) for r in self._readings)
        excess = len(self._readings) - MAX_PENDING_READINGS
        if excess > 0:
            del self._readings[:excess]
            self.dropped_in_memory += excess
            log.error("the queue still refuses writes: %d readings dropped from memory", excess)
        if future is not None:
            if self._committed is None:
                self._committed = future
            else:
                self._committed.add_done_callback(lambda _: _settle(future))


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
