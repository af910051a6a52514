"""The rules engine on a NATS JetStream cluster: instances share the estates.

    async with ClusterRules(sites, JetStreamSettings.from_url(url), name="rules-0") as rules:
        await rules.wait_closed()

Every instance is given every estate and holds some of them (`rules.leases` says how many):

- **lease**: key `{site}` of the KV bucket `ew_rules_leases` (TTL `lease_s`), created to
  take the estate, renewed with compare-and-set every third of the TTL, deleted on a clean
  stop. An instance that dies stops renewing; the key expires and another takes the estate.
- **state**: key `{site}` of `ew_rules_state` (`rules.leases.Record`): the rule state
  (timers with their `since`, latches, deadman clocks), the open alarms, the last stream
  sequence evaluated and the alarm events not yet known published. Written with
  `update(last=revision)` after each evaluation batch (at most every `flush_s`, at once
  when alarm events are waiting), so an instance that lost its lease cannot overwrite its
  successor: its write fails and it drops the estate.
- **input**: the estate's telemetry through a consumer of `EW_TELEMETRY` of its own
  (`estatewatch.jetstream.open_consumer`), opened by each new owner at the sequence after
  the one its state includes; device status, scans and alarm commands as plain subjects
  (`plain_filters`).
- **output**: alarm events published as subjects `ew.v1.{site}.alarm.{id}` (MQTT
  subscribers of the cluster's listener get them as topics) only after the state that
  raised them is written, so a hand-over neither loses one nor raises it under a new id.
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
from typing import TYPE_CHECKING, Any, cast

from estatewatch.clock import Clock, SystemClock, to_epoch_ms
from estatewatch.config.site import SiteConfig
from estatewatch.contracts import streams, topics
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import AlarmEvent, TelemetryBatch
from estatewatch.errors import PayloadError
from estatewatch.jetstream import (
    JetStreamSettings,
    connect,
    ensure_kv,
    ensure_stream,
)
from estatewatch.mqtt import MqttClient, MqttSettings
from rules.engine import _MODELS, critical
from rules.estate_input import Held, plain_filters, pull_telemetry
from rules.evaluate import Event, Tick, evaluate
from rules.leases import Record, plan_moves
from rules.loader import load_rules
from rules.metrics import RulesStats
from rules.plan import SitePlan, compile_site
from rules.state import EngineState, restore

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.js.client import JetStreamContext
    from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

STOP_S = 8.0
"""How long a clean stop spends handing its estates over (each saved, its alarm events sent,
its lease given up); beyond that the leases run out and the next holder resumes."""


class ClusterRules:
    def __init__(
        self,
        sites: Sequence[SiteConfig],
        jetstream: JetStreamSettings,
        *,
        name: str,
        rules_path: str | Path | None = None,
        clock: Clock | None = None,
        mqtt: MqttSettings | None = None,
        lease_s: float = 10.0,
        tick_s: float = 1.0,
        flush_s: float = 0.2,
        state_s: float = 1.0,
    ) -> None:
        if not sites:
            raise ValueError("the rules engine needs at least one site")
        self.sites = list(sites)
        self.settings = jetstream
        self.name = name
        self.rules_path = Path(rules_path) if rules_path else None
        self.clock = clock or SystemClock()
        self.lease_s, self.tick_s, self.flush_s, self.state_s = lease_s, tick_s, flush_s, state_s
        self.stats = RulesStats()
        self.state = EngineState()
        self.held: dict[str, Held] = {}
        self.plans: dict[str, SitePlan] = {}
        self._free_rounds: dict[str, int] = {}
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._leases: KeyValue | None = None
        self._states: KeyValue | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = asyncio.Event()
        self._loose: set[asyncio.Task[Any]] = set()
        self._taking: set[str] = set()
        self.mqtt_settings = mqtt
        self._mqtt: MqttClient | None = None
        self._stack = contextlib.AsyncExitStack()

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._loose.add(task)
        task.add_done_callback(self._loose.discard)

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> ClusterRules:
        rules = await asyncio.to_thread(load_rules, self.rules_path, sites=self.sites)
        self.plans = {s.site.id: compile_site(s, rules) for s in self.sites}
        self._nc, self._js = await connect(self.settings, self.name)
        try:
            await ensure_stream(self._js, self.settings)
            self._leases = cast(
                "KeyValue",
                await ensure_kv(
                    self._js, self.settings, streams.RULES_LEASE_BUCKET, ttl=self.lease_s
                ),
            )
            self._states = cast(
                "KeyValue", await ensure_kv(self._js, self.settings, streams.RULES_STATE_BUCKET)
            )
            if self.mqtt_settings is not None:
                self._mqtt = await self._stack.enter_async_context(MqttClient(self.mqtt_settings))
        except BaseException:
            await self._stack.aclose()
            await self._nc.close()
            raise
        for coro in (self._leaser(), self._ticker(), self._flusher()):
            self._tasks.append(asyncio.create_task(coro))
        log.info("rules instance %s on %s for %d estates", self.name, self.settings.servers,
                 len(self.plans))  # fmt: skip
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Estates being taken too: a take half-way retries its consumer for up to the setup
        # timeout (30 s), and a stop waited it out.
        stopping = [*self._tasks, *self._loose]
        for task in stopping:
            task.cancel()
        await asyncio.gather(*stopping, return_exceptions=True)
        # A clean stop hands every estate over at once, all together and within one bound:
        # one by one, 5 s each, a stop with a node gone took minutes for 50 estates. What a
        # release leaves unsaid the next holder resumes from the state last written.
        releases = [self._release(site) for site in list(self.held)]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*releases, return_exceptions=True), STOP_S)
        assert self._nc is not None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._stack.aclose(), STOP_S)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._nc.close(), STOP_S)
        for task in list(self._loose):  # what the releases left going (unsubscribes)
            task.cancel()
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def health(self) -> dict[str, Any]:
        up = self._nc is not None and self._nc.is_connected
        return {
            "status": "ok" if up else "degraded",
            "nats_connected": up,
            "sites": sorted(self.held),
            "messages": self.stats.messages,
            "open_alarms": sum(len(s.book.by_id) for s in self.state.sites.values()),
        }

    @property
    def mqtt_connected(self) -> bool:
        """Connected to the cluster (the name the metrics collector reads)."""
        return self._nc is not None and self._nc.is_connected

    @property
    def unconfirmed(self) -> int:
        return sum(len(h.outbox) for h in self.held.values())

    def open_alarms(self) -> dict[str, Counter[str]]:
        return {
            site: Counter(a.severity.value for a in state.book.by_id.values())
            for site, state in self.state.sites.items()
        }

    def _now(self) -> int:
        return to_epoch_ms(self.clock.now())

    # --- leases ------------------------------------------------------------------------

    async def _leaser(self) -> None:
        while True:
            try:
                await self._round()
            except Exception as exc:  # supervised: the cluster may be electing a leader
                log.warning("%s: lease round failed: %r", self.name, exc)
            await asyncio.sleep(self.lease_s / 3)

    async def _round(self) -> None:
        """Heartbeat, renew, look, move. Every cluster call is bounded: a round must not
        outlast the leases it renews while the cluster elects a leader."""
        assert self._leases is not None
        bound = self.lease_s / 3
        with contextlib.suppress(Exception):
            key = streams.rules_instance_key(self.name)
            await asyncio.wait_for(self._leases.put(key, self.name.encode()), bound)
        held = list(self.held.values())
        await asyncio.gather(*(self._renew(h, bound) for h in held))
        live, taken = await asyncio.wait_for(self._look(), bound)
        moves = plan_moves(
            list(self.plans), me=self.name, held=self.held, taken=taken, live=live,
            free_rounds=self._free_rounds,
        )  # fmt: skip
        for site in moves.release:
            await self._release(site)
        for site in moves.take:
            if site not in self._taking:  # set up in the background: a slow one holds no round
                self._taking.add(site)
                self._background(self._taking_one(site))

    async def _renew(self, held: Held, bound: float) -> None:
        from nats.js.errors import KeyWrongLastSequenceError

        assert self._leases is not None
        try:
            held.lease_rev = await asyncio.wait_for(
                self._leases.update(held.site, self.name.encode(), last=held.lease_rev), bound
            )
            held.renewed = time.monotonic()
        except KeyWrongLastSequenceError:
            self._drop(held.site, "its lease lapsed or was taken")
        except Exception as exc:
            if time.monotonic() - held.renewed > self.lease_s:
                self._drop(held.site, f"its lease could not be renewed: {exc!r}")

    async def _look(self) -> tuple[int, set[str]]:
        """The live instances (their heartbeat keys, read from the stream's subjects: no
        consumer to create) and the estates someone holds."""
        from nats.js.errors import KeyDeletedError, KeyNotFoundError

        assert self._js is not None
        assert self._leases is not None
        bucket = f"KV_{streams.RULES_LEASE_BUCKET}"
        prefix = f"$KV.{streams.RULES_LEASE_BUCKET}.{streams.rules_instance_key('')}"
        info = await self._js.stream_info(bucket, subjects_filter=f"{prefix}>")
        live = len(info.state.subjects or {})
        taken = set(self.held)

        async def held_by_someone(site: str) -> None:
            try:
                await self._leases.get(site)  # type: ignore[union-attr]
                taken.add(site)
            except (KeyNotFoundError, KeyDeletedError):
                pass
            except Exception:
                taken.add(site)  # unknown: not ours to take this round

        await asyncio.gather(*(held_by_someone(s) for s in self.plans if s not in self.held))
        return max(live, 1), taken

    async def _taking_one(self, site: str) -> None:
        try:
            await asyncio.wait_for(self._take(site), self.lease_s)
        except Exception as exc:
            log.warning("%s: cannot take %s: %r", self.name, site, exc)
        finally:
            self._taking.discard(site)

    async def _take(self, site: str) -> None:
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        assert self._leases is not None
        assert self._states is not None
        assert self._js is not None
        try:
            lease_rev = await self._leases.create(site, self.name.encode())
        except KeyWrongLastSequenceError:
            return  # another instance was quicker
        try:
            entry = await self._states.get(site)
            record, state_rev = Record.from_bytes(entry.value), entry.revision or 0
        except KeyNotFoundError:
            record, state_rev = Record.from_bytes(None), 0
        snapshots = {site: record.snapshot} if record.snapshot else {}
        fresh = restore([self.plans[site]], snapshots, {site: record.alarms}, self._now())
        held = Held(site, lease_rev, state_rev, record.seq, outbox=list(record.outbox))
        self.state.sites[site] = fresh.sites[site]
        self.held[site] = held
        try:
            if held.seq is None:  # a first owner: from the stream's end, saved at once so
                info = await self._js.stream_info(streams.TELEMETRY_STREAM)  # a successor
                held.seq = info.state.last_seq  # starts there too, missing nothing between
                if not await self._write(held):
                    raise RuntimeError("its first state could not be saved")
            assert self._nc is not None
            for topic_filter in plain_filters(site):
                held.subs.append(
                    await self._nc.subscribe(
                        streams.subject_filter(topic_filter), cb=self._on_plain
                    )
                )
        except BaseException:
            self._drop(site, "it could not be set up")
            with contextlib.suppress(Exception):
                await self._leases.delete(site, last=lease_rev)
            raise
        held.tasks.append(asyncio.create_task(self._pull(held)))
        log.info("%s took %s (state revision %d, from sequence %s)",
                 self.name, site, state_rev, record.seq)  # fmt: skip

    def _drop(self, site: str, why: str) -> None:
        """Stop evaluating an estate without writing anything (another owns it now)."""
        held = self.held.pop(site, None)
        if held is None:
            return
        log.warning("%s drops %s: %s", self.name, site, why)
        for task in held.tasks:
            task.cancel()
        for sub in held.subs:
            self._background(sub.unsubscribe())
        self.state.sites.pop(site, None)

    async def _release(self, site: str) -> None:
        held = self.held.get(site)
        if held is None:
            return
        for task in held.tasks:
            task.cancel()
        await asyncio.gather(*held.tasks, return_exceptions=True)
        held.tasks = []
        if await self._write(held):
            await self._publish(held)
            await self._write(held)
        self._drop(site, "released")
        assert self._leases is not None
        with contextlib.suppress(Exception):
            await self._leases.delete(site, last=held.lease_rev)

    # --- input -------------------------------------------------------------------------

    async def _pull(self, held: Held) -> None:
        assert self._js is not None
        await pull_telemetry(self._js, self.settings, held, self._handle, self._background)

    async def _on_plain(self, msg: Any) -> None:
        self._handle(streams.topic(msg.subject), msg.data)

    def _handle(self, topic: str, data: bytes) -> None:
        parts = topics.parse(topic)
        if parts is None or parts.site not in self.held or parts.kind not in _MODELS:
            return
        self.stats.messages += 1
        try:
            payload = decode(_MODELS[parts.kind], topic, data)
        except PayloadError as exc:
            self.stats.dead_letters += 1
            log.warning("unusable message on %s: %s", topic, exc.reason)
            return
        if getattr(payload, "site", parts.site) != parts.site:
            return
        if isinstance(payload, TelemetryBatch):
            self.stats.readings += len(payload.readings)
        self.state, events = evaluate(self.state, cast(Event, payload), self._now())
        self.held[parts.site].dirty = True
        self._queue(events)

    # --- time and output ---------------------------------------------------------------

    async def _ticker(self) -> None:
        while True:
            await self.clock.sleep(self.tick_s)
            self.state, events = evaluate(self.state, Tick(), self._now())
            self._queue(events)

    def _queue(self, events: list[AlarmEvent]) -> None:
        for event in events:
            held = self.held.get(event.site)
            if held is not None:
                subject = streams.subject(topics.alarm(event.site, event.alarm_id))
                held.outbox.append((subject, event.to_bytes()))
        self.stats.events.update(event.event.value for event in events)

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            now = time.monotonic()
            due = [
                h for h in list(self.held.values())
                if h.outbox or (h.dirty and now - h.written >= self.state_s)
            ]  # fmt: skip
            results = await asyncio.gather(*(self._write(h) for h in due), return_exceptions=True)
            for held, ok in zip(due, results, strict=True):
                if ok is True and held.outbox:
                    await self._publish(held)

    async def _write(self, held: Held) -> bool:
        """Save the estate's state (compare-and-set); False if it was not saved."""
        from nats.js.errors import KeyWrongLastSequenceError

        assert self._states is not None
        site = self.state.sites.get(held.site)
        if site is None:
            return False
        body = Record.of(site, held.seq, held.outbox).to_bytes()
        held.dirty, held.written = False, time.monotonic()
        try:
            held.state_rev = await self._states.update(held.site, body, last=held.state_rev)
        except KeyWrongLastSequenceError:
            self._drop(held.site, "its state was written by another instance")
            return False
        except Exception as exc:
            held.dirty = True
            log.warning("%s: cannot save the state of %s: %r", self.name, held.site, exc)
            return False
        return True

    async def _publish(self, held: Held) -> None:
        """Publish what the last write saved; the next write forgets what went out."""
        assert self._nc is not None
        sent = list(held.outbox)
        try:
            if self._mqtt is not None:  # QoS 1 through the listener: kept for a subscriber's
                futures = [  # persistent session (a plain subject reaches it at QoS 0)
                    self._mqtt.publish_nowait(
                        streams.topic(subject), payload, urgent=critical(payload)
                    )
                    for subject, payload in sent
                ]
                await asyncio.wait_for(asyncio.gather(*futures), 15)
            else:
                for subject, payload in sent:
                    await self._nc.publish(subject, payload)
                await self._nc.flush(timeout=2)
        except Exception as exc:
            log.warning("%s: alarm events of %s not sent yet: %r", self.name, held.site, exc)
            return
        del held.outbox[: len(sent)]
        held.dirty = True
