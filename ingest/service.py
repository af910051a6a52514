"""The ingest service: MQTT (or a JetStream consumer) in, InfluxDB out, at least once.

    consume  ─ messages from the broker, decoded into the open batch (the event loop)
    timer    ─ seals the open batch when it is `max_age` old
    writer   ─ writes sealed batches in order; then dead letters; then acknowledges

A message is acknowledged only after the batch holding it was written (or, for a message
InfluxDB or the contract refused, after its dead letter was published). While InfluxDB is
down the writer retries one batch, the queue of sealed batches fills, the consumer stops,
and the broker stops sending once `max_inflight` messages are unacknowledged: memory stays
bounded and the broker keeps the rest in the persistent session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from estatewatch.clock import Clock, SystemClock, to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.errors import PayloadError
from estatewatch.mqtt import Message, MqttError
from estatewatch.readings.influxql import InfluxConnection, InfluxQLStore
from estatewatch.readings.store import ReadingsError
from ingest.batch import Batch, Batcher, Entry
from ingest.deadletter import dead_letter, dead_letter_topic
from ingest.decode import DECODERS
from ingest.errors import IngestError
from ingest.metrics import IngestStats
from ingest.settings import IngestSettings
from ingest.sinks import Sink
from ingest.sources import Source, make_source
from ingest.writer import Writer

log = logging.getLogger(__name__)


def decode_entry(message: Message) -> Entry[Message]:
    """A message as a batch entry: its lines, or the reason it goes to the dead letters.
    Never raises: ingest does not crash on input."""
    parts = topics.parse(message.topic)
    decoder = DECODERS.get(parts.kind) if parts is not None else None
    if parts is None or decoder is None:
        return Entry(message, b"", 0, "not a topic ingest consumes", "payload")
    try:
        decoded = decoder(message.topic, parts, message.payload)
    except PayloadError as exc:
        return Entry(message, b"", 0, exc.reason, "payload")
    except Exception as exc:  # a bug must not stop the stream; the message is kept aside
        log.exception("ingest could not decode a message on %s", message.topic)
        return Entry(message, b"", 0, f"internal error: {exc!r}", "internal")
    if decoded.problems:
        reason = "; ".join(decoded.problems) + " (the message's other values were written)"
        return Entry(message, decoded.lines, decoded.count, reason, "value")
    return Entry(message, decoded.lines, decoded.count)


class Ingest:
    """`async with Ingest(settings, sink) as ingest: await ingest.wait()`."""

    def __init__(
        self,
        settings: IngestSettings,
        sink: Sink,
        *,
        clock: Clock | None = None,
        stats: IngestStats | None = None,
        source: Source | None = None,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.clock = clock or SystemClock()
        self.stats = stats or IngestStats()
        self.client: Source = source or make_source(settings)
        self._writer: Writer[Message] = Writer(
            sink, clock=self.clock, stats=self.stats, backoff=settings.backoff
        )
        self._batcher: Batcher[Message] = Batcher(settings.limits)
        self._sealed: asyncio.Queue[Batch[Message]] = asyncio.Queue(settings.queued_batches)
        self._seal_lock = asyncio.Lock()
        self._opened = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._writer_task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Ingest:
        if self.settings.setup and self.sink.name == "v1":
            await self._setup_schema()
        await self.client.__aenter__()
        try:
            for topic_filter in self.settings.subscriptions():
                await self.client.subscribe(topic_filter, qos=1)
        except BaseException:
            await self.client.__aexit__(None, None, None)
            raise
        self._tasks = [
            asyncio.create_task(self._consume(), name="ingest-consume"),
            asyncio.create_task(self._timer(), name="ingest-timer"),
        ]
        self._writer_task = asyncio.create_task(self._write_loop(), name="ingest-writer")
        log.info("ingest subscribed to %s", ", ".join(self.settings.subscriptions()))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._drain()
        await self.client.__aexit__(None, None, None)

    async def wait(self) -> None:
        """Run until a task fails (raising its error) or the caller is cancelled."""
        tasks = [*self._tasks, *([self._writer_task] if self._writer_task else [])]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise IngestError(f"{task.get_name()} failed") from task.exception()

    async def _drain(self) -> None:
        """Write what was received within `drain_timeout`; what is left is not acknowledged
        and comes back from the broker."""
        writer = self._writer_task
        if writer is None:
            return
        if writer.done():  # it failed: nothing will be written now
            return
        batch = self._batcher.seal()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.drain_timeout):
                if batch is not None:
                    await self._sealed.put(batch)
                await self._sealed.join()
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)

    async def _setup_schema(self) -> None:
        s = self.settings.influx
        connection = InfluxConnection(
            s.url, s.database, username=s.username, password=s.password, token=s.token
        )
        deadline = self.clock.monotonic() + self.settings.setup_timeout
        attempt = 0
        async with InfluxQLStore(connection, retention=self.settings.retention) as store:
            while True:
                try:
                    await store.setup()
                    return
                except ReadingsError as exc:
                    attempt += 1
                    if self.clock.monotonic() >= deadline:
                        raise IngestError(f"InfluxDB schema setup failed: {exc}") from exc
                    log.warning("InfluxDB schema setup failed, retrying: %s", exc)
                    await self.clock.sleep(self.settings.backoff.delay(attempt))

    def health(self) -> Mapping[str, Any]:
        s = self.stats
        mqtt_up = self.client.connected.is_set()
        status = "ok" if mqtt_up and s.influx_healthy else "degraded"
        return {
            "status": status,
            "mqtt_connected": mqtt_up,
            "influx_writing": s.influx_healthy,
            "unacked": s.unacked,
            "lines_written": s.lines_written_total,
            "dead_letters": s.dead_letters_total,
        }

    # --- the three tasks -----------------------------------------------------------------

    async def _consume(self) -> None:
        async for message in self.client.messages():
            self.stats.received()
            entry = decode_entry(message)
            async with self._seal_lock:
                was_open = self._batcher.open is not None
                batch = self._batcher.add(entry, self.clock.monotonic())
                if batch is not None:
                    await self._sealed.put(batch)
                elif not was_open:
                    self._opened.set()

    async def _timer(self) -> None:
        while True:
            deadline = self._batcher.deadline()
            if deadline is None:
                self._opened.clear()
                await self._opened.wait()
                continue
            await self.clock.sleep(deadline - self.clock.monotonic())
            async with self._seal_lock:
                quiet = self.client.backlog == 0
                batch = self._batcher.due(self.clock.monotonic(), quiet=quiet)
                if batch is not None:
                    await self._sealed.put(batch)

    async def _write_loop(self) -> None:
        while True:
            batch = await self._sealed.get()
            try:
                await self._complete(batch)
            finally:
                self._sealed.task_done()

    async def _complete(self, batch: Batch[Message]) -> None:
        for entry, reason, cause in await self._writer.write(batch.entries):
            entry.dead_letter = (
                reason if entry.dead_letter is None else f"{entry.dead_letter}; {reason}"
            )
            entry.cause = cause
        await self._publish_dead_letters(batch)
        for entry in batch.entries:
            self.client.ack(entry.message)
        self.stats.batches_written_total += 1
        self.stats.acked_total += len(batch)
        self.stats.unacked -= len(batch)

    async def _publish_dead_letters(self, batch: Batch[Message]) -> None:
        now = to_epoch_ms(self.clock.now())
        pending = []
        for entry in batch.entries:
            if entry.dead_letter is None:
                continue
            m = entry.message
            letter = dead_letter(
                topic=m.topic, reason=entry.dead_letter, payload=m.payload, received_at=now
            )
            cause = entry.cause or "payload"
            # The first of each cause loudly; the rest are on the topic and in the counter.
            level = logging.WARNING if not self.stats.dead_letters[cause] else logging.DEBUG
            log.log(level, "dead letter (%s) from %s: %s", cause, m.topic, entry.dead_letter)
            self.stats.dead_letters[cause] += 1
            pending.append(self.client.publish(dead_letter_topic(m.topic), letter.to_bytes()))
        for outcome in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(outcome, MqttError):
                log.error("a dead letter could not be published: %s", outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
