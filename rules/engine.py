"""The rules engine service: owns the MQTT I/O, the clock, the state store and the rule
file, and runs `evaluate` on everything it receives.

    async with RulesEngine(sites, mqtt=MqttSettings(url), state_path="rules.db") as engine:
        await engine.wait_closed()

Alarm events go through an outbox: written to SQLite with the alarm rows in one
transaction, published, and deleted when the broker acknowledged them, so a crash between
the two publishes them on the next start (consumers are idempotent by revision).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import orjson

from estatewatch.clock import Clock, SystemClock, to_epoch_ms
from estatewatch.config.site import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import (
    AlarmEvent,
    AlarmEventType,
    DeadLetter,
    Severity,
    TelemetryBatch,
)
from estatewatch.errors import ConfigError, PayloadError
from estatewatch.mqtt import Message, MqttClient, MqttError, MqttSettings
from rules.evaluate import Event, Tick, evaluate
from rules.loader import RuleSet, load_rules
from rules.metrics import RulesStats
from rules.plan import compile_site
from rules.state import EngineState, replan, restore, snapshot
from rules.store import StateStore, Write

log = logging.getLogger(__name__)

COMPONENT = "rules"
_MODELS = topics.models(
    "telemetry", "device_status", "gateway_state", "patrol_scan", "patrol_exception",
    "alarm_command", "roster",
)  # fmt: skip
"""What the engine consumes (`topics.TOPICS` holds the model of each kind)."""


def subscriptions(site: str) -> list[str]:
    return [
        topics.telemetry_filter(site),
        topics.status_filter(site),
        topics.TOPICS["gateway_state"].filter(site),
        topics.patrol_filter(site),
        topics.alarm_command_filter(site),
        topics.roster_filter(site),
    ]


class RulesEngine:
    """One instance runs the rules of a set of sites; instances with disjoint sites run
    side by side on one broker."""

    def __init__(
        self,
        sites: Sequence[SiteConfig],
        *,
        mqtt: MqttSettings,
        rules_path: str | Path | None = None,
        state_path: str | Path = "estatewatch-rules.db",
        clock: Clock | None = None,
        tick_s: float = 1.0,
        snapshot_s: float = 10.0,
        reload_s: float = 2.0,
    ) -> None:
        if not sites:
            raise ValueError("the rules engine needs at least one site")
        self.sites = list(sites)
        self.mqtt_settings = mqtt
        self.rules_path = Path(rules_path) if rules_path else None
        self.state_path = str(state_path)
        self.clock = clock or SystemClock()
        self.tick_s, self.snapshot_s, self.reload_s = tick_s, snapshot_s, reload_s
        self.stats = RulesStats()
        self.rules: RuleSet | None = None
        self.state = EngineState()
        self._rules_mtime: float | None = None
        self._writes: asyncio.Queue[Write | None] = asyncio.Queue()
        self._sent: asyncio.Queue[tuple[int | None, asyncio.Future[None]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._stack = contextlib.AsyncExitStack()
        self._store: StateStore | None = None
        self._client: MqttClient | None = None
        self._closed = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> RulesEngine:
        self.rules = await asyncio.to_thread(load_rules, self.rules_path, sites=self.sites)
        self._rules_mtime = self._mtime()
        plans = [compile_site(site, self.rules) for site in self.sites]
        self._store = await asyncio.to_thread(StateStore, self.state_path)
        loaded = await asyncio.to_thread(self._store.load)
        self.state = restore(plans, loaded.snapshots, loaded.alarms, self._now())
        try:
            self._client = await self._stack.enter_async_context(MqttClient(self.mqtt_settings))
            for site in self.state.sites:
                for topic_filter in subscriptions(site):
                    await self._client.subscribe(topic_filter, qos=1)
        except BaseException:
            await self._stack.aclose()
            self._store.close()
            raise
        for seq, topic, payload in loaded.outbox:  # committed before a crash, maybe unsent
            future = self._client.publish_nowait(topic, payload, urgent=critical(payload))
            self._sent.put_nowait((seq, future))
        for coro in (self._consume(), self._ticker(), self._writer(), self._confirmer()):
            self._tasks.append(asyncio.create_task(coro))
        if self.rules_path is not None:
            self._tasks.append(asyncio.create_task(self._reloader()))
        sites = ", ".join(self.state.sites)
        log.info("rules engine running for %s with %s rules", sites, self.rules.source)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        consume, ticker, writer, confirmer, *rest = self._tasks
        for task in (consume, ticker, *rest):
            task.cancel()
        await asyncio.gather(consume, ticker, *rest, return_exceptions=True)
        self._queue_snapshot()
        self._writes.put_nowait(None)  # the writer drains what is queued, then stops
        await asyncio.gather(writer, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained(), 5.0)
        confirmer.cancel()
        await asyncio.gather(confirmer, return_exceptions=True)
        await self._stack.aclose()
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
        self._closed.set()

    # --- what operations see -------------------------------------------------------------

    @property
    def mqtt_connected(self) -> bool:
        return self._client is not None and self._client.connected.is_set()

    @property
    def unconfirmed(self) -> int:
        return self._sent.qsize()

    def open_alarms(self) -> dict[str, Counter[str]]:
        """Open alarms by site and severity."""
        return {
            site: Counter(alarm.severity.value for alarm in state.book.by_id.values())
            for site, state in self.state.sites.items()
        }

    def health(self) -> dict[str, Any]:
        up = self.mqtt_connected
        return {
            "status": "ok" if up else "degraded",
            "mqtt_connected": up,
            "sites": sorted(self.state.sites),
            "messages": self.stats.messages,
            "open_alarms": sum(sum(c.values()) for c in self.open_alarms().values()),
            "unconfirmed": self.unconfirmed,
        }

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def _drained(self) -> None:
        await self._sent.join()

    def _now(self) -> int:
        return to_epoch_ms(self.clock.now())

    # --- input -------------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._client is not None
        async for message in self._client.messages():
            self.stats.messages += 1
            started = time.perf_counter()
            self.handle(message)
            self.stats.evaluation.observe(time.perf_counter() - started)

    def handle(self, message: Message) -> list[AlarmEvent]:
        """Decode and evaluate one message; queue what it raised."""
        parts = topics.parse(message.topic)
        if parts is None or parts.site not in self.state.sites or parts.kind not in _MODELS:
            return []
        if parts.kind == "roster" and not message.payload:
            self.state.sites[parts.site].roster = None  # retained roster cleared: the file's
            return []
        try:
            payload = decode(_MODELS[parts.kind], message.topic, message.payload)
        except PayloadError as exc:
            self._dead_letter(parts.site, message, exc.reason)
            return []
        if getattr(payload, "site", parts.site) != parts.site:
            self._dead_letter(parts.site, message, "the payload's site is not the topic's")
            return []
        if isinstance(payload, TelemetryBatch):
            self.stats.readings += len(payload.readings)
        self.state, events = evaluate(self.state, cast(Event, payload), self._now())
        if events:
            self._emit(events)
        return events

    def _dead_letter(self, site: str, message: Message, reason: str) -> None:
        self.stats.dead_letters += 1
        log.warning("unusable message on %s: %s", message.topic, reason)
        letter = DeadLetter(
            component=COMPONENT,
            source_topic=message.topic[:1024],
            reason=reason[:4000],
            received_at=self._now(),
            payload_bytes=len(message.payload),
            payload=message.payload[:4096].decode("utf-8", errors="replace")[:4096],
        )
        assert self._client is not None
        future = self._client.publish_nowait(topics.deadletter(site, COMPONENT), letter.to_bytes())
        future.add_done_callback(_quiet)

    # --- time --------------------------------------------------------------------------

    async def _ticker(self) -> None:
        last_snapshot = self.clock.monotonic()
        while True:
            await self.clock.sleep(self.tick_s)
            self.tick()
            if self.clock.monotonic() - last_snapshot >= self.snapshot_s:
                last_snapshot = self.clock.monotonic()
                self._queue_snapshot()

    def tick(self) -> list[AlarmEvent]:
        self.state, events = evaluate(self.state, Tick(), self._now())
        if events:
            self._emit(events)
        return events

    # --- reload ------------------------------------------------------------------------

    def _mtime(self) -> float | None:
        if self.rules_path is None:
            return None
        try:
            return self.rules_path.stat().st_mtime
        except OSError:
            return None

    async def _reloader(self) -> None:
        while True:
            await self.clock.sleep(self.reload_s)
            if self._mtime() != self._rules_mtime:
                await self.reload()

    async def reload(self) -> ConfigError | None:
        """Load the rule file again. A file with errors is refused (each issue is logged
        with its file, line and field) and the rules already running stay."""
        self._rules_mtime = self._mtime()
        try:
            rules = await asyncio.to_thread(load_rules, self.rules_path, sites=self.sites)
        except ConfigError as exc:
            for issue in exc.issues:
                log.error("rule file refused, keeping the running rules: %s", issue)
            return exc
        self.rules = rules
        plans = [compile_site(site, rules) for site in self.sites]
        events = replan(self.state, plans, self._now())
        if events:
            self._emit(events)
        self.stats.reloads += 1
        log.info("rules reloaded from %s", rules.source)
        return None

    # --- output ------------------------------------------------------------------------

    def _emit(self, events: list[AlarmEvent]) -> None:
        write = Write()
        for event in events:
            site = self.state.sites[event.site]
            alarm = site.book.by_id.get(event.alarm_id)
            if event.event is AlarmEventType.CLOSED or alarm is None:
                write.closed.add(event.alarm_id)
                write.alarms.pop(event.alarm_id, None)
            else:
                write.alarms[event.alarm_id] = (event.site, orjson.dumps(alarm.to_json()).decode())
            write.outbox.append((topics.alarm(event.site, event.alarm_id), event.to_bytes()))
        self.stats.events.update(event.event.value for event in events)
        self._writes.put_nowait(write)

    def _queue_snapshot(self) -> None:
        data = snapshot(self.state)
        bodies = {site: orjson.dumps(body).decode() for site, body in data.items()}
        self._writes.put_nowait(Write(snapshot=bodies, saved_at=self._now()))

    async def _writer(self) -> None:
        stop = False
        while not stop:
            batch: list[Write] = []
            item = await self._writes.get()
            while True:
                if item is None:
                    stop = True
                    break
                batch.append(item)
                if self._writes.empty() or len(batch) >= 200:
                    break
                item = self._writes.get_nowait()
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[Write]) -> None:
        """Alarms first, in one transaction, and out to the broker; then the snapshots (a
        large write that alarm events should not wait behind)."""
        assert self._store is not None
        assert self._client is not None
        alarms = [w for w in batch if w.snapshot is None]
        snapshots = [w for w in batch if w.snapshot is not None]
        if alarms:
            try:
                rows: list[tuple[int | None, str, bytes]] = list(
                    await asyncio.to_thread(self._store.write, alarms)
                )
            except Exception:  # the supervisor of the store: alarms go out even if it fails
                log.exception("cannot save alarm state to %s; publishing anyway", self.state_path)
                rows = [(None, topic, payload) for w in alarms for topic, payload in w.outbox]
            for seq, topic, payload in rows:
                urgent = critical(payload)
                future = self._client.publish_nowait(topic, payload, urgent=urgent)
                self._sent.put_nowait((seq, future))
        if snapshots:
            try:
                await asyncio.to_thread(self._store.write, snapshots[-1:])
            except Exception:
                log.exception("cannot save a snapshot to %s (the next one will)", self.state_path)

    async def _confirmer(self) -> None:
        assert self._store is not None
        done: list[int] = []
        taken = 0
        while True:
            seq, future = await self._sent.get()
            taken += 1
            try:
                await future
                if seq is not None:
                    done.append(seq)
            except MqttError as exc:
                log.warning("alarm event not acknowledged by the broker (kept): %s", exc)
            if self._sent.empty() or len(done) >= 500:
                if done:
                    await asyncio.to_thread(self._store.sent, done)
                    done = []
                for _ in range(taken):
                    self._sent.task_done()
                taken = 0


def _quiet(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("dead letter not delivered: %s", future.exception())


def critical(payload: bytes) -> bool:
    """A critical alarm's event travels in the life-safety lane (estatewatch/mqtt.py): the
    API's consumer takes it ahead of a storm of lesser ones."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and body.get("severity") == Severity.CRITICAL.value
