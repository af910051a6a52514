"""Writing a batch until InfluxDB has it, and finding the messages it will never take.

A retryable failure (network, 5xx, 429, ...) is retried with backoff for as long as it
takes: nothing is acknowledged meanwhile, so the broker holds the rest (backpressure). A
rejection (400 bad data) is narrowed down by writing halves of the batch until the single
messages at fault are found; every other message is written (InfluxDB overwrites the points
that a half wrote twice), and the culprits are returned with InfluxDB's reason.

A partial write of points beyond the retention policy is neither: the batch is written but
for its oldest points, which no retry can store. They are counted, and the messages that
held them are returned (cause ``beyond_retention``) so their dead letters say so.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, NamedTuple

from estatewatch.clock import Clock
from ingest.batch import Entry, M, body, halves, oldest
from ingest.errors import RejectedWriteError, RetryableWriteError
from ingest.metrics import IngestStats
from ingest.retry import Backoff
from ingest.sinks import Sink

log = logging.getLogger(__name__)


class Rejection(NamedTuple, Generic[M]):
    """A message (or part of it) the store would not keep."""

    entry: Entry[M]
    reason: str
    cause: str = "rejected"
    """``rejected`` (refused: nothing of it written by this message's write) or
    ``beyond_retention`` (its points older than the retention dropped, the rest written)."""


class Writer(Generic[M]):
    def __init__(
        self,
        sink: Sink,
        *,
        clock: Clock,
        stats: IngestStats,
        backoff: Backoff | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.sink = sink
        self.clock = clock
        self.stats = stats
        self.backoff = backoff or Backoff()
        self._rand = rand

    async def write(self, entries: Sequence[Entry[M]]) -> list[Rejection[M]]:
        """Write the entries' lines; the entries InfluxDB refused, with why."""
        writable = [e for e in entries if e.count]
        if not writable:
            return []
        return await self._deliver(writable)

    async def _deliver(self, entries: Sequence[Entry[M]]) -> list[Rejection[M]]:
        try:
            dropped = await self._write_retrying(body(entries))
        except RejectedWriteError as exc:
            self.stats.write_rejections_total += 1
            if len(entries) == 1:
                return [Rejection(entries[0], f"InfluxDB refused it ({exc.status}): {exc.reason}")]
            left, right = halves(entries)
            return await self._deliver(left) + await self._deliver(right)
        self.stats.lines_written_total += sum(e.count for e in entries) - dropped
        if not dropped:
            return []
        self.stats.points_beyond_retention_total += dropped
        log.warning("the store dropped %d points older than its retention policy", dropped)
        return [
            Rejection(entry, _beyond(count, entry.count, first), "beyond_retention")
            for entry, count, first in oldest(entries, dropped)
        ]

    async def _write_retrying(self, payload: bytes) -> int:
        attempt = 0
        while True:
            try:
                dropped = await self.sink.write(payload)
            except RetryableWriteError as exc:
                attempt += 1
                self.stats.write_retries_total += 1
                self.stats.influx_healthy = False
                delay = self.backoff.delay(attempt, retry_after=exc.retry_after, rand=self._rand)
                # The first failure loudly, the rest quietly: an outage is one event.
                level = logging.WARNING if attempt == 1 else logging.DEBUG
                log.log(level, "InfluxDB write failed, retrying in %.1fs: %s", delay, exc)
                await self.clock.sleep(delay)
                continue
            if attempt:
                log.warning("InfluxDB write succeeded after %d retries", attempt)
            self.stats.influx_healthy = True
            return dropped


def _beyond(count: int, of: int, first_ms: int) -> str:
    oldest = datetime.fromtimestamp(first_ms / 1000, UTC).isoformat(timespec="seconds")
    return (
        f"{count} of its {of} points are older than the store's retention policy (oldest"
        f" {oldest}) and were dropped; the others were written"
    )
