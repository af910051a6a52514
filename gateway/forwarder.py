"""Outbox → central broker, QoS 1, deleting each message only once the broker acknowledged it.

A bounded window of messages is in flight (paho resends them after a reconnect). Two lanes:
messages enqueued since the last (re)connect are *live* and go first; older ones are the
*backlog*, drained oldest-first at no more than `backlog_rate` messages per second, so a long
outage does not delay live data. Acknowledged rows are deleted in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import Any

from estatewatch.clock import Clock
from estatewatch.mqtt import MqttClient, MqttError
from gateway.outbox import Outbox, Stored

log = logging.getLogger(__name__)


class Forwarder:
    def __init__(
        self,
        outbox: Outbox,
        client: MqttClient,
        *,
        clock: Clock,
        window: int = 200,
        backlog_rate: float = 500.0,
        delete_every: float = 0.05,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.clock = clock
        self.window = window
        self.backlog_rate = backlog_rate
        self.delete_every = delete_every
        self.inflight: dict[int, asyncio.Future[None]] = {}
        self._acked: list[int] = []
        self._wake = asyncio.Event()
        self.mark = outbox.max_id  # ids up to here are backlog
        self.live_after = self.mark
        self.backlog_after = 0
        self._tokens = 0.0
        self._tokens_at = clock.monotonic()
        self._connections = client.connections
        self.published = 0

    @property
    def backlog_pending(self) -> bool:
        return self.backlog_after < self.mark

    async def run(self) -> None:
        """Forward until cancelled."""
        deleter = asyncio.create_task(self._delete_loop(), name="outbox-deleter")
        try:
            await self._forward_loop()
        finally:
            deleter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await deleter
            await self.delete_acked()

    async def _forward_loop(self) -> None:
        while True:
            if not self.client.connected.is_set():
                await self.client.connected.wait()
            if self.client.connections != self._connections:
                self._connections = self.client.connections
                # What waited during the outage is backlog now; new messages are live.
                self.mark = max(self.mark, self.outbox.max_id)
                self.live_after = max(self.live_after, self.mark)
                if self.backlog_pending:
                    log.info("uplink back: draining a backlog up to message %d", self.mark)
            room = self.window - len(self.inflight)
            sent = 0
            if room > 0:
                self.outbox.enqueued.clear()
                live = await self.outbox.peek(self.live_after, room)
                if live:
                    self.live_after = live[-1].id
                    sent += self._send(live)
                    room -= len(live)
                budget = min(room, int(self._refill()))
                if budget > 0 and self.backlog_pending:
                    rows = await self.outbox.peek(self.backlog_after, budget, until=self.mark)
                    self.backlog_after = rows[-1].id if rows else self.mark
                    rows = [r for r in rows if r.id not in self.inflight]
                    self._tokens -= len(rows)
                    sent += self._send(rows)
            if sent == 0:
                await self._idle()

    def _refill(self) -> float:
        now = self.clock.monotonic()
        cap = max(1.0, self.backlog_rate * 0.2)
        self._tokens = min(cap, self._tokens + (now - self._tokens_at) * self.backlog_rate)
        self._tokens_at = now
        return self._tokens

    async def _idle(self) -> None:
        """Wait for an enqueue, an acknowledgement, backlog tokens or a reconnect."""
        self._wake.clear()
        waits: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self.outbox.enqueued.wait()),
            asyncio.ensure_future(self._wake.wait()),
        ]
        if self.backlog_pending:
            waits.append(asyncio.ensure_future(self.clock.sleep(0.02)))
        try:
            await asyncio.wait(waits, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    def _send(self, rows: list[Stored]) -> int:
        for row in rows:
            future = self.client.publish_nowait(row.topic, row.payload, qos=1, retain=row.retain)
            self.inflight[row.id] = future
            future.add_done_callback(partial(self._settled, row.id))
        return len(rows)

    def _settled(self, row_id: int, future: asyncio.Future[None]) -> None:
        self.inflight.pop(row_id, None)
        self._wake.set()
        if future.cancelled() or future.exception() is not None:
            error = None if future.cancelled() else future.exception()
            if not isinstance(error, MqttError) or "closed" not in str(error):
                log.warning(
                    "publish of message %d failed (%s); it will be sent again", row_id, error
                )
            self.backlog_after = min(self.backlog_after, row_id - 1)
            self.mark = max(self.mark, row_id)
            return
        self._acked.append(row_id)
        self.published += 1

    async def drain(self, within: float) -> bool:
        """Wait (up to `within` real seconds) until every queued message was acknowledged."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.outbox.depth - len(self._acked) > 0 or self.inflight:
            left = deadline - loop.time()
            if left <= 0 or not self.client.connected.is_set():
                return False
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(left, 0.1))
        return True

    async def _delete_loop(self) -> None:
        while True:
            await self.clock.sleep(self.delete_every)
            await self.delete_acked()

    async def delete_acked(self) -> None:
        acked, self._acked = self._acked, []
        if acked:
            await self.outbox.delete(acked)
