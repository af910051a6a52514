"""The gateway: Modbus polling, MQTT sensors and patrol scans in; one durable queue out to
the central broker. An async context manager that owns every task it starts.

    async with Gateway(site, GatewayOptions(central_url=...)) as gateway:
        await stop.wait()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType

from estatewatch import __version__
from estatewatch.clock import Clock, SystemClock, to_epoch_ms
from estatewatch.config import ModbusRtu, ModbusTcp, SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import GatewayState
from estatewatch.mqtt import MqttClient, MqttSettings, Will
from gateway.devices import DeviceTracker
from gateway.forwarder import Forwarder
from gateway.handhelds import load_keys, load_tag_keys
from gateway.health import Figures, online, registry_for
from gateway.http import HttpServer, gateway_app
from gateway.messages import Outgoing, Stream, stream_topic
from gateway.modbus import hub_key
from gateway.patrol import PatrolIntake
from gateway.pipeline import Pipeline
from gateway.polling import DevicePoller, ModbusSource, PollGroup, poll_groups
from gateway.scan_memory import ScanRecords
from gateway.scans import ScanValidator
from gateway.schedule import PollStats, every
from gateway.site_mqtt import SiteSource
from gateway.store import Store, Sync
from gateway.topology import build_hubs, check_topology

log = logging.getLogger(__name__)

PRUNE_INTERVAL = 3600.0


@dataclass(frozen=True)
class GatewayOptions:
    central_url: str
    site_url: str | None = None
    """The site broker (sensors, handhelds); None: the central one."""
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    """`POST /scans`, `/health`, `/metrics`; None: no HTTP endpoint."""
    buffer_path: str | None = None
    """The SQLite queue; None: the site config's `gateway.buffer_path`."""
    sync: Sync = "full"
    window: int = 100
    drain_rate: float = 200.0
    max_delay: float = 0.2
    client_id: str | None = None


class Gateway:
    def __init__(
        self,
        site: SiteConfig,
        options: GatewayOptions,
        *,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        check_topology(site)
        self.site = site
        self.options = options
        self.clock = clock or SystemClock()
        self.site_id = site.site.id
        self.gateway_id = site.gateway.id
        self.keys = load_keys(site, environ)
        self.tag_keys = load_tag_keys(site, environ)
        self.stats = PollStats()
        self.trackers = {
            d.id: DeviceTracker(d, site=self.site_id, gateway=self.gateway_id) for d in site.devices
        }
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._intake: list[asyncio.Task[None]] = []
        self._started = self.clock.monotonic()
        self.pollers: list[DevicePoller] = []
        self.failure: BaseException | None = None
        self._failed = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Gateway:
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _start(self) -> None:
        site, options, stack = self.site, self.options, self._stack
        for what, keys, refusal in (
            ("handheld", self.keys, "bad_signature"),
            ("checkpoint", self.tag_keys, "cloned_tag"),
        ):
            for name, key in keys.items():
                if key.problem:
                    log.error(
                        "%s %s: %s; its scans will be refused as %s",
                        what,
                        name,
                        key.problem,
                        refusal,
                    )
        cfg = site.gateway
        self.store = await stack.enter_async_context(
            Store(
                options.buffer_path or cfg.buffer_path,
                sync=options.sync,
                max_bytes=int(cfg.buffer_max_mb * 1024 * 1024),
                max_age_ms=int(cfg.buffer_max_age.total_seconds() * 1000),
            )
        )
        stats = self.store.stats
        if stats.depth:
            log.info(
                "%d messages (%d bytes) wait in the queue from before", stats.depth, stats.bytes
            )
        self.central = MqttClient(self._central_settings(), on_connect=self._central_up)
        self.forwarder = Forwarder(
            self.store,
            self.central,
            self.clock,
            window=options.window,
            drain_rate=options.drain_rate,
        )
        self.pipeline = Pipeline(
            self.store,
            site=self.site_id,
            gateway=self.gateway_id,
            clock=self.clock,
            max_delay=options.max_delay,
            protect=self.forwarder.protect,
            on_commit=self.forwarder.wake,
        )
        await stack.enter_async_context(self.central)
        self._spawn(self._tasks, self.forwarder.run(), "forwarder")
        self._spawn(self._tasks, self.pipeline.run(), "pipeline")
        self.scan_records = ScanRecords(self.store)
        memory = await self.scan_records.load()
        validator = ScanValidator(
            site, self.keys, memory, gateway=self.gateway_id, tag_keys=self.tag_keys
        )
        self.patrol = PatrolIntake(validator, self.pipeline, self.clock)
        self.source = ModbusSource(self._pollers(), self.clock, self.stats)
        if self.pollers:
            self._spawn(self._intake, self.source.run(), "modbus")
        await self._start_site()
        self._spawn(self._tasks, self._periodic(), "periodic")
        if options.http_port is not None:
            app = gateway_app(
                self.patrol, registry_for(self.figures), lambda: self.figures().status()
            )
            await stack.enter_async_context(
                HttpServer(app, host=options.http_host, port=options.http_port)
            )
        log.info(
            "gateway %s of %s: %d Modbus devices in %d requests per round, %d MQTT sensors",
            self.gateway_id,
            self.site_id,
            len(self.pollers),
            sum(p.requests_per_poll for p in self.pollers),
            len(self.site_source.encoders),
        )

    async def _start_site(self) -> None:
        options = self.options
        settings = MqttSettings(
            url=options.site_url or options.central_url,
            client_id=f"{self._client_id()}-site",
            clean_start=False,
            session_expiry=7 * 86400,  # scans sent while the gateway restarts wait for it
            manual_ack=True,
            connect_timeout=None,
        )
        self.site_client = await self._stack.enter_async_context(MqttClient(settings))
        self.site_source = SiteSource(
            self.site, self.site_client, self.trackers, self, self.pipeline, self.patrol, self.clock
        )
        await self.site_source.subscribe()
        self._spawn(self._intake, self.site_source.run(), "site-mqtt")

    async def _stop(self) -> None:
        log.debug("stopping: inputs")
        await _cancel(self._intake)  # no more input
        if hasattr(self, "pipeline"):
            log.debug("stopping: last commit")
            with contextlib.suppress(Exception):
                await self.pipeline.flush()
            log.debug("stopping: waiting for acknowledgements")
            await self.forwarder.drain(grace=2.0)
        log.debug("stopping: tasks")
        await _cancel(self._tasks)
        if hasattr(self, "central") and self.central.connected.is_set():
            with contextlib.suppress(Exception):
                offline = self._state("offline").to_bytes()
                topic = topics.gateway_state(self.site_id, self.gateway_id)
                await asyncio.wait_for(self.central.publish(topic, offline, retain=True), 2.0)
        for poller in self.pollers:
            await poller.hub.close()
        log.debug("stopping: connections and the queue")
        await self._stack.aclose()

    def _spawn(self, into: list[asyncio.Task[None]], coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"gateway-{name}")
        task.add_done_callback(self._crashed)
        into.append(task)

    def _crashed(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        log.critical("%s stopped: %r", task.get_name(), error, exc_info=error)
        self.failure = error or RuntimeError(f"{task.get_name()} ended")
        self._failed.set()

    async def wait(self) -> None:
        """Return never; raise what stopped a part of the gateway (its supervisor restarts
        it)."""
        await self._failed.wait()
        assert self.failure is not None
        raise self.failure

    # --- the central broker ------------------------------------------------------------------

    def _client_id(self) -> str:
        return self.options.client_id or f"ew-gw-{self.site_id}-{self.gateway_id}"[:60]

    def _state(self, state: str) -> GatewayState:
        return GatewayState(
            site=self.site_id,
            gateway=self.gateway_id,
            state="online" if state == "online" else "offline",
            ts=to_epoch_ms(self.clock.now()),
            version=f"{__version__} on {socket.gethostname()}"[:256],
        )

    def _central_settings(self) -> MqttSettings:
        will = Will(
            topics.gateway_state(self.site_id, self.gateway_id), self._state("offline").to_bytes()
        )
        return MqttSettings(
            url=self.options.central_url,
            client_id=self._client_id(),
            will=will,
            max_inflight=max(self.options.window, 20),
            connect_timeout=None,  # buffer from the start, even with the uplink down
        )

    def _central_up(self, client: MqttClient, session_present: bool) -> None:
        topic = topics.gateway_state(self.site_id, self.gateway_id)
        future = client.publish_nowait(topic, self._state("online").to_bytes(), retain=True)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.forwarder.link_up()

    # --- the sink the sources write to -------------------------------------------------------

    def reading(self, fragment: bytes) -> None:
        self.pipeline.add_reading(fragment)

    def status(self, tracker: DeviceTracker) -> None:
        status = tracker.status(to_epoch_ms(self.clock.now()))
        if status is None:
            return
        topic = stream_topic(Stream.DEVICE_STATUS, self.site_id, self.gateway_id, status.device)
        self.pipeline.add(Outgoing(Stream.DEVICE_STATUS, topic, True, message=status))

    # --- Modbus ------------------------------------------------------------------------------

    def _pollers(self) -> list[DevicePoller]:
        hubs = build_hubs(self.site, self.clock)
        max_gap = self.site.gateway.max_gap_registers
        plans: dict[tuple[str, float], list[PollGroup]] = {}  # one plan per device model
        for device in self.site.devices:
            conn = device.connection
            if not isinstance(conn, ModbusTcp | ModbusRtu) or device.register_map is None:
                continue
            interval = device.poll_interval.total_seconds()
            plan = plans.get((device.register_map, interval))
            if plan is None:
                register_map = self.site.register_maps[device.register_map]
                plan = plans[(device.register_map, interval)] = poll_groups(
                    register_map, interval, max_gap
                )
            groups = [PollGroup(g.interval, list(g.reads)) for g in plan]
            hub = hubs[hub_key(conn)]
            tracker = self.trackers[device.id]
            self.pollers.append(DevicePoller(tracker, conn, groups, hub, self, self.clock))
        return self.pollers

    # --- health ------------------------------------------------------------------------------

    def figures(self) -> Figures:
        store = self.store.stats
        return Figures(
            uptime_s=max(0.0, self.clock.monotonic() - self._started),
            devices_total=len(self.trackers),
            devices_online=online([t.state for t in self.trackers.values()]),
            poll_latency_p50_ms=self.stats.duration.percentile(50) * 1000,
            poll_latency_p99_ms=self.stats.duration.percentile(99) * 1000,
            poll_lateness_p99_ms=self.stats.lateness.percentile(99) * 1000,
            polls_total=self.stats.polls,
            polls_skipped_total=self.stats.skipped,
            queue_depth=store.depth,
            queue_bytes=store.bytes,
            queue_oldest_ms=store.oldest_ms,
            dropped_total=store.dropped_total + self.pipeline.dropped_in_memory,
            published_total=store.published_total,
            broker_connected=self.central.connected.is_set(),
            scans={k.value: v for k, v in self.patrol.counts.items()},
        )

    async def _periodic(self) -> None:
        interval = self.site.gateway.health_interval.total_seconds()
        last_prune = -PRUNE_INTERVAL

        async def tick() -> None:
            nonlocal last_prune
            now = to_epoch_ms(self.clock.now())
            health = self.figures().message(site=self.site_id, gateway=self.gateway_id, ts=now)
            topic = stream_topic(Stream.GATEWAY_HEALTH, self.site_id, self.gateway_id)
            self.pipeline.add(Outgoing(Stream.GATEWAY_HEALTH, topic, False, message=health))
            # Statuses again (retained freshness), unless they would only pile up unsent.
            if self.central.connected.is_set() and not self.forwarder.backlog:
                for tracker in self.trackers.values():
                    self.status(tracker)
            if self.clock.monotonic() - last_prune >= PRUNE_INTERVAL:
                last_prune = self.clock.monotonic()
                await self.scan_records.prune(self.patrol.validator.memory, now)

        await every(self.clock, interval, tick, phase=self.clock.monotonic() + interval)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
