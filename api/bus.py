"""The API on MQTT: consume alarms, device status and patrol messages; publish the outbox.

This is the only module that touches the broker (through `estatewatch.mqtt`). Messages are
acknowledged only after their transaction committed (manual ack, persistent session), so a
crash means redelivery, and ingestion is idempotent, so redelivery is harmless. Outgoing
messages were written to the outbox in the transaction that caused them; they are marked
published once the broker acknowledged them (at least once; their ids make a repeat
harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.exc import OperationalError

from api import inbound
from api.db import Database
from api.live import Pulse, wait
from api.settings import Settings
from api.sites import Sites
from api.store import feed
from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import DeadLetter, Payload
from estatewatch.errors import PayloadError
from estatewatch.mqtt import Message, MqttClient, MqttSettings
from estatewatch.supervise import MAX_BACKOFF_S, supervise

log = logging.getLogger(__name__)

SUBSCRIPTIONS = (topics.alarm_filter(), topics.status_filter(), topics.patrol_filter())
OUTBOX_BATCH = 200
CONSUME_BATCH = 500
"""Messages stored in one transaction at most; the MQTT receive window bounds it too."""
RECEIVE_WINDOW = 1000
"""Unacknowledged messages the broker may send ahead (MQTT 5 receive maximum): two full
batches, so the next batch is on hand when one commits."""
OUTBOX_DEFER_S = 1.0
"""How long the outbox publisher lets a storm's consumer go first, at most: both want the
process's one interpreter lock and SQLite's one writer, and the consumer's alarms are on the
way to a notification while the outbox's MQTT copies of what was stored can wait a moment."""
COMPONENT = "api"


@dataclass(frozen=True, slots=True)
class _Outgoing:
    id: int
    topic: str
    payload: bytes


class Bus:
    """`async with Bus(...):` consumes and publishes until the block ends."""

    def __init__(
        self, settings: Settings, *, db: Database, sites: Sites, clock: Clock, pulse: Pulse
    ) -> None:
        self.db, self.sites, self.clock, self.pulse = db, sites, clock, pulse
        self.outbox_poll_interval = settings.outbox_poll_interval.total_seconds()
        assert settings.mqtt_url is not None
        self.client = MqttClient(
            MqttSettings(
                url=settings.mqtt_url,
                client_id=settings.mqtt_client_id,
                clean_start=False,
                session_expiry=settings.mqtt_session_expiry,
                manual_ack=True,
                max_inflight=RECEIVE_WINDOW,
                urgent_first=True,  # a critical alarm before a storm of lesser ones
                connect_timeout=None,  # serve HTTP even while the broker is away
            )
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._quiet = asyncio.Event()
        """Set while the consumer has nothing in hand and nothing received waiting."""
        self._quiet.set()
        self.consumed = 0
        self.published = 0
        self.dead_letters = 0

    async def __aenter__(self) -> Bus:
        await self.client.__aenter__()
        for topic_filter in SUBSCRIPTIONS:
            await self.client.subscribe(topic_filter, qos=1)
        self._tasks = [
            asyncio.create_task(supervise("MQTT consumer", self._consume)),
            asyncio.create_task(supervise("outbox publisher", self._publish)),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.__aexit__(exc_type, exc, tb)

    @property
    def connected(self) -> bool:
        return self.client.connected.is_set()

    def figures(self) -> dict[str, float]:
        """For /health and /metrics: messages stored, published and dead-lettered."""
        return {
            "consumed": self.consumed,
            "published": self.published,
            "dead_letters": self.dead_letters,
            "connected": int(self.connected),
        }

    # --- consuming -----------------------------------------------------------------------

    async def _consume(self) -> None:
        async for batch in self.client.batches(CONSUME_BATCH):
            self._quiet.clear()
            decoded = [(message, await self._decode(message)) for message in batch]
            await self._store([(m, p) for m, p in decoded if p is not None])
            for message in batch:
                self.client.ack(message)  # stored or dead-lettered: either way, for good
            self.consumed += len(batch)
            if not self.client.backlog:
                self._quiet.set()

    async def _decode(self, message: Message) -> Payload | None:
        parts = topics.parse(message.topic)
        model = inbound.MODELS.get(parts.kind) if parts else None
        if model is None:
            await self._dead_letter(message, "not a topic the API consumes")
            return None
        try:
            return decode(model, message.topic, message.payload)
        except PayloadError as exc:
            await self._dead_letter(message, exc.reason)
            return None

    async def _store(self, items: list[tuple[Message, Payload]]) -> None:
        """All in one transaction (an alarm storm is stored at the database's commit rate
        times the batch, not one alarm a commit); if that fails for a reason other than the
        database being away, one by one, so only the message at fault is dead-lettered."""
        if not items:
            return
        if len(items) > 1:
            try:
                await self._retrying(lambda: self._apply([p for _, p in items]), items[0][0])
                return
            except Exception:  # one of them is at fault: find it below
                log.warning("a batch of %d could not be stored; storing one by one", len(items))
        for message, payload in items:
            try:
                await self._retrying(functools.partial(self._apply, [payload]), message)
            except Exception as exc:  # this message's supervisor: keep it, with the reason
                log.exception("cannot store %s; dead-lettering it", message.topic)
                await self._dead_letter(message, f"{type(exc).__name__}: {exc}")

    async def _retrying(self, store: Callable[[], list[str]], first: Message) -> None:
        backoff = 1.0
        while True:
            try:
                outcomes = await asyncio.to_thread(store)
                log.debug("%s: %s", first.topic, outcomes)
                return
            except OperationalError as exc:  # the database is away: wait, never drop
                log.warning("cannot store %s (%s); retrying in %.0f s", first.topic, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _apply(self, payloads: list[Payload]) -> list[str]:
        with self.db.write() as session:
            now = self.clock.now()
            return inbound.apply_batch(session, payloads, now=now, sites=self.sites)

    async def _dead_letter(self, message: Message, reason: str) -> None:
        parts = topics.parse(message.topic)
        site = parts.site if parts else "unknown"
        letter = DeadLetter(
            component=COMPONENT,
            source_topic=message.topic[:1024],
            reason=reason[:4000],
            received_at=to_epoch_ms(self.clock.now()),
            payload_bytes=len(message.payload),
            payload=message.payload[:4096].decode("utf-8", errors="replace"),
        )
        log.warning("dead letter from %s: %s", message.topic, reason)

        def write() -> None:
            with self.db.write() as session:
                feed.enqueue(
                    session,
                    topic=topics.deadletter(site, COMPONENT),
                    payload=letter,
                    at=self.clock.now(),
                )

        await asyncio.to_thread(write)
        self.dead_letters += 1

    # --- publishing the outbox -----------------------------------------------------------

    async def _consumer_quiet(self) -> None:
        """Until the consumer has stored what it received, at most OUTBOX_DEFER_S: in a
        storm the outbox goes out between the consumer's batches, or once a second."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(OUTBOX_DEFER_S):
                await self._quiet.wait()

    def _pending(self) -> list[_Outgoing]:
        with self.db.read() as session:
            return [
                _Outgoing(m.id, m.topic, m.payload.encode())
                for m in feed.pending(session, limit=OUTBOX_BATCH)
            ]

    def _mark(self, ids: list[int]) -> None:
        with self.db.write() as session:
            feed.mark_published(session, ids=ids, at=self.clock.now())

    async def _publish(self) -> None:
        interval = self.outbox_poll_interval
        while True:
            waiter = self.pulse.waiter(feed.OUTBOX)
            await self._consumer_quiet()
            batch = await asyncio.to_thread(self._pending)
            if not batch:
                await wait(waiter, interval)
                continue
            # Resolves at each PUBACK; paho resends across reconnects, so this only waits.
            await asyncio.gather(
                *(
                    self.client.publish_nowait(m.topic, m.payload, qos=1, retain=_retained(m.topic))
                    for m in batch
                )
            )
            await asyncio.to_thread(self._mark, [m.id for m in batch])
            self.published += len(batch)
            log.debug("published %d outbox message(s)", len(batch))


def _retained(topic: str) -> bool:
    """Whether the topic tree retains this kind (the duty roster): a late subscriber gets
    the message in force."""
    parts = topics.parse(topic)
    return parts is not None and topics.TOPICS[parts.kind].retained
