"""Publishing the outbox to the central broker: QoS 1, a bounded window of unacknowledged
messages, and a row deleted only once the broker acknowledged it.

Three lanes, each oldest first:
- *priority*: device status, patrol scans and exceptions, gateway health — few, and what
  the duty room acts on; always first, never throttled.
- *live telemetry*: batches committed since the link last came up.
- *backlog telemetry*: batches committed before that (an uplink outage, a restart). They
  drain in order, with their original timestamps, at most `drain_rate` messages a second and
  at most half the window, so live data always has room.

A retained message (device status) is published retained only if it is the newest one of
its topic in the queue: a backlog must not overwrite the broker's current state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

from estatewatch.clock import Clock
from estatewatch.contracts import topics
from gateway.store import PRIORITY, TELEMETRY, Row, Store
from gateway.uplink import Uplink

log = logging.getLogger(__name__)


class Forwarder:
    """`run()` publishes for ever; `wake()` after a commit, `link_up()` on each connection."""

    def __init__(
        self,
        store: Store,
        client: Uplink,
        clock: Clock,
        *,
        window: int = 100,
        drain_rate: float = 200.0,
        delete_delay: float = 0.05,
    ) -> None:
        if window < 2:
            raise ValueError("window must be at least 2")
        self.store = store
        self.client = client
        self.clock = clock
        self.window = window
        self.drain_rate = drain_rate
        self.delete_delay = delete_delay
        self.inflight: dict[int, Row] = {}
        """Handed to the client, not yet acknowledged."""
        self.handed: set[int] = set()
        """Handed to the client, not yet deleted from the store."""
        self.mark = store.last_id[TELEMETRY]
        """Telemetry rows up to this id are backlog."""
        self._next = {PRIORITY: 0, TELEMETRY: self.mark}
        self._backlog_next = 0
        self._tokens = float(window // 2)
        self._tokens_at = clock.monotonic()
        self._acked: list[int] = []
        self._wake = asyncio.Event()
        self._deletes = asyncio.Event()
        self._retry_at = 0.0
        self._failures = 0
        self._closing = False
        self._refill_pending = False
        self.acknowledged = 0
        self._wake.set()

    # --- signals -----------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def _refill(self) -> None:
        self._refill_pending = False
        self._wake.set()

    def link_up(self) -> None:
        """The broker connection (re)opened: what waited until now is backlog."""
        self.mark = max(self.mark, self.store.last_id[TELEMETRY])
        self._next[TELEMETRY] = max(self._next[TELEMETRY], self.mark)
        self._wake.set()

    def protect(self) -> set[int]:
        """Rows the store must not drop: they are on their way."""
        return set(self.handed)

    @property
    def backlog(self) -> bool:
        return self._backlog_next < self.mark

    # --- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        deleter = asyncio.create_task(self._delete_loop(), name="gateway-deletes")
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                wait = self._retry_at - self.clock.monotonic()
                if wait > 0:
                    await self.clock.sleep(wait)
                await self._pump()
        finally:
            deleter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await deleter

    async def drain(self, grace: float) -> None:
        """At shutdown: publish what is queued and wait for its acknowledgements, for up to
        `grace` seconds while the broker is there. What is left stays queued for the next
        start."""
        deadline = self.clock.monotonic() + grace
        while (self.store.stats.depth or self.inflight) and self.client.connected.is_set():
            if self.clock.monotonic() >= deadline:
                break
            self._wake.set()
            await asyncio.sleep(0.02)
        self._closing = True
        await self._delete_acked()

    async def _pump(self) -> None:
        free = self.window - len(self.inflight)
        if free <= 0:
            return
        rows = await self._take(PRIORITY, free, upto=None)
        rows += await self._take(TELEMETRY, free - len(rows), upto=None)
        budget = min(free - len(rows), self._backlog_budget())
        if budget > 0 and self.backlog:
            taken = await self._take_backlog(budget)
            self._tokens -= len(taken)
            rows += taken
        for row in rows:
            self._publish(row)
        if self.backlog and self._tokens < 1 and not self._refill_pending:
            self._refill_pending = True  # one timer at a time: acks wake the pump often
            asyncio.get_running_loop().call_later(1.0 / max(self.drain_rate, 1e-3), self._refill)

    def _backlog_budget(self) -> int:
        now = self.clock.monotonic()
        burst = self.window // 2
        self._tokens = min(burst, self._tokens + (now - self._tokens_at) * self.drain_rate)
        self._tokens_at = now
        in_flight = sum(
            1 for row in self.inflight.values() if row.lane == TELEMETRY and row.id <= self.mark
        )
        return min(int(self._tokens), burst - in_flight)

    async def _take(self, lane: int, limit: int, upto: int | None) -> list[Row]:
        if limit <= 0 or self.store.last_id[lane] <= self._next[lane]:
            return []  # nothing committed since the last look: no need to ask the store
        after = self._next[lane]
        fetched = await self.store.fetch(
            lane, after=after, upto=upto, limit=limit + len(self.handed)
        )
        taken: list[Row] = []
        for row in fetched:
            if len(taken) == limit:
                break
            self._next[lane] = max(self._next[lane], row.id)
            if row.id not in self.handed:
                taken.append(row)
        return taken

    async def _take_backlog(self, limit: int) -> list[Row]:
        requested = limit + len(self.handed)  # at most that many are skipped as handed
        fetched = await self.store.fetch(
            TELEMETRY, after=self._backlog_next, upto=self.mark, limit=requested
        )
        taken: list[Row] = []
        for row in fetched:
            if len(taken) == limit:
                break
            self._backlog_next = row.id
            if row.id not in self.handed:
                taken.append(row)
        else:
            if len(fetched) < requested:
                self._backlog_next = self.mark  # drained
        return taken

    def _publish(self, row: Row) -> None:
        retain = row.retain and self.store.latest_retained.get(row.topic) == row.id
        # Telemetry in the priority lane is a life-safety device's (gateway/pipeline.py): it
        # stays in that lane at every hop after this one too (estatewatch/mqtt.py).
        urgent = row.lane == PRIORITY and _is_telemetry(row.topic)
        future = self.client.publish_nowait(
            row.topic, row.payload, qos=1, retain=retain, urgent=urgent
        )
        self.inflight[row.id] = row
        self.handed.add(row.id)
        future.add_done_callback(partial(self._settled, row))

    def _settled(self, row: Row, future: asyncio.Future[None]) -> None:
        self.inflight.pop(row.id, None)
        error = None if future.cancelled() else future.exception()
        if future.cancelled() or error is not None:
            self.handed.discard(row.id)
            if self._closing:
                return
            self._rewind(row)
            self._failures += 1
            delay = min(30.0, 0.5 * 2 ** min(self._failures, 6))
            self._retry_at = self.clock.monotonic() + delay
            level = logging.ERROR if self._failures == 1 else logging.DEBUG
            log.log(
                level,
                "the broker refused %s seq %d: %s; retrying in %.1f s",
                row.stream,
                row.seq,
                error,
                delay,
            )
        else:
            self._failures = 0
            self.acknowledged += 1
            self._acked.append(row.id)
            self._deletes.set()
        self._wake.set()

    def _rewind(self, row: Row) -> None:
        if row.lane == TELEMETRY and row.id <= self.mark:
            self._backlog_next = min(self._backlog_next, row.id - 1)
        else:
            self._next[row.lane] = min(self._next[row.lane], row.id - 1)

    async def _delete_loop(self) -> None:
        while True:
            await self._deletes.wait()
            await self.clock.sleep(self.delete_delay)
            self._deletes.clear()
            await self._delete_acked()

    async def _delete_acked(self) -> None:
        ids, self._acked = self._acked, []
        if ids:
            await self.store.delete(ids)
            self.handed.difference_update(ids)


def _is_telemetry(topic: str) -> bool:
    """Asked of priority-lane rows only (statuses, scans, life-safety batches: few), so the
    telemetry lane's rows pay no topic parsing."""
    parts = topics.parse(topic)
    return parts is not None and parts.kind == "telemetry"
