"""The outbox: everything the gateway sends goes in here and out to the central broker.

It owns the pipeline — the SQLite queue (`Store`), the batching `Pipeline` that commits to
it and the `Forwarder` that publishes from it — and the connection to the central broker,
and it is the sink every source publishes into (`reading`, `status`, `add`, `committed`,
`flush`). An async context manager: entering opens the queue, the connection and the flush
and publish loops in that order; leaving commits what is pending, waits up to `grace`
seconds for the broker's acknowledgements, announces `offline` and closes in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.jetstream import JetStreamSettings
from estatewatch.mqtt import MqttClient, MqttSettings
from gateway.devices import DeviceTracker
from gateway.forwarder import Forwarder
from gateway.messages import Outgoing, Stream, stream_topic
from gateway.parts import Parts, cancel
from gateway.pipeline import Pipeline
from gateway.store import QueueStats, Statement, Store, Sync
from gateway.uplink import JetStreamUplink

log = logging.getLogger(__name__)

DRAIN_GRACE_S = 2.0


class Announcer(Protocol):
    """Told of each connection to the central broker, and asked to say goodbye on it."""

    def online(self, client: MqttClient) -> None: ...

    async def offline(self, client: MqttClient) -> None: ...


@dataclass(frozen=True)
class QueueSettings:
    path: str
    sync: Sync = "full"
    max_bytes: int = 512 * 1024 * 1024
    max_age_ms: int = 7 * 86_400_000
    window: int = 100
    drain_rate: float = 200.0
    max_delay: float = 0.2


class Outbox:
    def __init__(
        self,
        queue: QueueSettings,
        central: MqttSettings,
        *,
        site: str,
        gateway: str,
        clock: Clock,
        parts: Parts,
        announcer: Announcer,
        jetstream: JetStreamSettings | None = None,
    ) -> None:
        """`jetstream`: telemetry into the cluster's stream by JetStream (`gateway.uplink`),
        released only once the replicated stream stored it; None: all by MQTT."""
        self.queue = queue
        self.site = site
        self.gateway = gateway
        self.clock = clock
        self.parts = parts
        self.announcer = announcer
        self.store = Store(
            queue.path, sync=queue.sync, max_bytes=queue.max_bytes, max_age_ms=queue.max_age_ms
        )
        self.client = MqttClient(central, on_connect=self._connected)
        self.uplink = (
            JetStreamUplink(self.client, jetstream, name=f"{site}/{gateway}")
            if jetstream is not None
            else None
        )
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._forwarder: Forwarder | None = None
        self._pipeline: Pipeline | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Outbox:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _open(self) -> None:
        queue = self.queue
        await self._stack.enter_async_context(self.store)
        stats = self.store.stats
        if stats.depth:
            log.info(
                "%d messages (%d bytes) wait in the queue from before", stats.depth, stats.bytes
            )
        forwarder = Forwarder(
            self.store,
            self.uplink or self.client,
            self.clock,
            window=queue.window,
            drain_rate=queue.drain_rate,
        )
        pipeline = Pipeline(
            self.store,
            site=self.site,
            gateway=self.gateway,
            clock=self.clock,
            max_delay=queue.max_delay,
            protect=forwarder.protect,
            on_commit=forwarder.wake,
        )
        self._forwarder, self._pipeline = forwarder, pipeline
        await self._stack.enter_async_context(self.client)  # connects from now on
        if self.uplink is not None:
            await self._stack.enter_async_context(self.uplink)
        self._stack.callback(self._forget)
        self._stack.push_async_callback(self.announcer.offline, self.client)
        self._stack.push_async_callback(cancel, self._tasks)
        self._tasks.append(self.parts.spawn(forwarder.run(), "forwarder"))
        self._tasks.append(self.parts.spawn(pipeline.run(), "pipeline"))
        self._stack.push_async_callback(self._last_commit)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def _last_commit(self) -> None:
        log.debug("stopping: last commit")
        with contextlib.suppress(Exception):
            await self.pipeline.flush()
        log.debug("stopping: waiting for acknowledgements")
        await self.forwarder.drain(grace=DRAIN_GRACE_S)

    def _forget(self) -> None:
        self._forwarder = self._pipeline = None

    def _connected(self, client: MqttClient, session_present: bool) -> None:
        self.announcer.online(client)
        if self._forwarder is not None:
            self._forwarder.link_up()

    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "use the outbox inside `async with`"
        return self._pipeline

    @property
    def forwarder(self) -> Forwarder:
        assert self._forwarder is not None, "use the outbox inside `async with`"
        return self._forwarder

    # --- the sink sources publish into -------------------------------------------------------

    def reading(self, fragment: bytes, *, urgent: bool = False) -> None:
        """One encoded reading for the next telemetry batch (`urgent`: the priority lane)."""
        self.pipeline.add_reading(fragment, urgent=urgent)

    def status(self, tracker: DeviceTracker) -> None:
        """The device's status now (nothing before its first poll)."""
        status = tracker.status(to_epoch_ms(self.clock.now()))
        if status is None:
            return
        topic = stream_topic(Stream.DEVICE_STATUS, self.site, self.gateway, status.device)
        self.pipeline.add(Outgoing(Stream.DEVICE_STATUS, topic, True, message=status))

    def add(self, message: Outgoing, extra: Sequence[Statement] = ()) -> None:
        """A message; `extra` statements are committed in the same transaction."""
        self.pipeline.add(message, extra)

    def committed(self) -> asyncio.Future[None]:
        """Resolves once everything added so far is committed."""
        return self.pipeline.committed()

    async def flush(self) -> None:
        """Commit everything pending now."""
        await self.pipeline.flush()

    async def settle(self) -> None:
        """Commit what is pending and let those waiting for the commit act on it (a site
        broker acknowledging the messages that caused it) before their connections close."""
        with contextlib.suppress(Exception):
            await self.pipeline.flush()
        await asyncio.sleep(0)

    # --- what the health figures read --------------------------------------------------------

    @property
    def stats(self) -> QueueStats:
        return self.store.stats

    @property
    def dropped_in_memory(self) -> int:
        return self.pipeline.dropped_in_memory

    @property
    def connected(self) -> bool:
        return self.client.connected.is_set()

    @property
    def backlog(self) -> bool:
        """Messages from before the connection came up are still draining."""
        return self.forwarder.backlog
