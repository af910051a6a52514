"""Where ingest reads from: one small interface, two sources, a registry by name.

    mqtt       the broker's topics, QoS 1 with manual acknowledgement (`estatewatch.mqtt`);
               the default, and what one machine or one Mosquitto runs on.
    jetstream  the telemetry stream of a NATS JetStream cluster, through the durable pull
               consumer every ingest instance shares (`streams.INGEST_CONSUMER`): each
               message goes to one instance and is delivered again — to any instance — if it
               is not acknowledged within the consumer's `ack_wait`. So an instance that dies
               loses nothing, and instances come and go without any of them being special.

Both hand the service `estatewatch.mqtt.Message`s (the JetStream subject turned back into
its MQTT topic) and take `ack(message)` once the batch holding it was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from estatewatch.contracts import streams, topics
from estatewatch.jetstream import (
    JetStreamSettings,
    connect,
    ensure_consumer,
    ensure_stream,
    retrying,
)
from estatewatch.mqtt import Message, MqttClient

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg
    from nats.js.client import JetStreamContext

    from ingest.settings import IngestSettings

log = logging.getLogger(__name__)

INGESTED = frozenset({"telemetry", "device_status", "gateway_health"})
"""The kinds ingest writes; the stream's other messages (scans, alarms...) are not its."""


class Source(Protocol):
    """What the ingest service reads and acknowledges through (`MqttClient` is one)."""

    connected: asyncio.Event

    async def __aenter__(self) -> Any: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None: ...

    def messages(self) -> AsyncIterator[Message]: ...

    def ack(self, message: Message) -> None: ...

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None: ...

    @property
    def backlog(self) -> int: ...


class JetStreamSource:
    """The shared durable pull consumer of the telemetry stream.

    At most `max_inflight` messages are held unacknowledged by this instance (the same
    window the MQTT source gets from the broker's receive maximum), so memory stays bounded
    while InfluxDB is down: the rest waits in the stream.
    """

    def __init__(
        self,
        settings: JetStreamSettings,
        *,
        name: str,
        max_inflight: int = 1000,
        fetch_batch: int = 500,
    ) -> None:
        self.settings = settings
        self.name = name
        self.max_inflight = max_inflight
        self.fetch_batch = fetch_batch
        self.connected = asyncio.Event()
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._held: dict[int, Msg] = {}
        self._acks: asyncio.Queue[Msg] = asyncio.Queue()
        self._room = asyncio.Event()
        self._room.set()
        self._mids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self.redelivered = 0
        """Messages this instance got that had been delivered before (to it or another)."""

    async def __aenter__(self) -> JetStreamSource:
        nc, js = await connect(self.settings, self.name)
        self._nc, self._js = nc, js
        try:
            await ensure_stream(js, self.settings)
            await ensure_consumer(js, self.settings, streams.INGEST_CONSUMER)
        except BaseException:
            await nc.close()
            raise
        self.connected.set()
        self._tasks = [
            asyncio.create_task(self._fetch(), name="jetstream-fetch"),
            asyncio.create_task(self._acker(), name="jetstream-ack"),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        fetch, acker = self._tasks or (None, None)
        if fetch is not None:
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
        if acker is not None:  # what was acknowledged goes out before the connection closes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acks.join(), 5.0)
            acker.cancel()
            await asyncio.gather(acker, return_exceptions=True)
        if self._nc is not None:
            with contextlib.suppress(Exception):  # closing a dead connection may raise
                await self._nc.flush(timeout=2)
            await self._nc.close()
        self.connected.clear()

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Nothing to do: the consumer covers the whole stream."""

    async def messages(self) -> AsyncIterator[Message]:
        while True:
            yield await self._queue.get()

    def ack(self, message: Message) -> None:
        held = self._held.pop(message.mid, None)
        if held is not None:
            self._acks.put_nowait(held)

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish on the topic's plain subject (dead letters): MQTT subscribers see it."""
        assert self._nc is not None
        await self._nc.publish(streams.subject(topic), payload)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def _fetch(self) -> None:
        """Pull while there is room; on any failure but an empty pull (a node going away,
        a leader election, a subscription lost in a reconnect) bind afresh and go on."""
        assert self._js is not None
        js = self._js

        async def bind() -> Any:
            return await js.pull_subscribe_bind(
                durable=streams.INGEST_CONSUMER, stream=streams.TELEMETRY_STREAM
            )

        while True:
            sub: Any = await retrying("bind the ingest consumer", self.settings.setup_timeout, bind)
            try:
                await self._pull(sub)
            except Exception as exc:  # supervised: logged, and the pull starts again
                log.warning("pulling from %s failed, binding again: %r", self.name, exc)
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
                await asyncio.sleep(0.5)

    async def _pull(self, sub: Any) -> None:
        from nats.errors import TimeoutError as NatsTimeout

        while True:
            free = self.max_inflight - len(self._held) - self._acks.qsize()
            if free <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            try:
                batch = await sub.fetch(batch=min(free, self.fetch_batch), timeout=1.0)
            except NatsTimeout:
                continue
            self.connected.set()
            for msg in batch:
                self._deliver(msg)

    def _deliver(self, msg: Msg) -> None:
        topic = streams.topic(msg.subject)
        parts = topics.parse(topic)
        if parts is None or parts.kind not in INGESTED:  # the stream holds the whole tree
            self._acks.put_nowait(msg)
            return
        if msg.metadata.num_delivered > 1:
            self.redelivered += 1
        mid = next(self._mids)
        self._held[mid] = msg
        self._queue.put_nowait(Message(topic, msg.data, 1, False, mid))

    async def _acker(self) -> None:
        while True:
            msg = await self._acks.get()
            try:
                await msg.ack()
            except Exception as exc:  # lost: the message comes again after ack_wait (harmless)
                log.debug("ack lost: %r", exc)
            finally:
                self._acks.task_done()
                self._room.set()


def make_source(settings: IngestSettings) -> Source:
    """The source the settings name (`mqtt` unless told `jetstream`)."""
    factory = SOURCES.get(settings.source)
    if factory is None:
        known = ", ".join(sorted(SOURCES))
        raise ValueError(f"unknown source {settings.source!r}; known: {known}")
    return factory(settings)


def _jetstream(settings: IngestSettings) -> Source:
    if settings.jetstream is None:
        raise ValueError("the jetstream source needs the cluster's URLs (--nats)")
    return JetStreamSource(
        settings.jetstream,
        name=settings.mqtt.client_id or "ew-ingest",
        max_inflight=settings.mqtt.max_inflight,
    )


SOURCES: dict[str, Callable[[IngestSettings], Source]] = {
    "mqtt": lambda s: MqttClient(s.mqtt),
    "jetstream": _jetstream,
}
"""Source name -> factory."""
