"""The gateway as one async context manager: polls, sensors, scans in; the outbox and the
forwarder out. Every task is owned here and cancelled on exit, after a last flush."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from paho.mqtt.client import topic_matches_sub
from prometheus_client import CollectorRegistry, Gauge

from estatewatch import __version__
from estatewatch.clock import Clock, SystemClock, to_epoch_ms
from estatewatch.config import ModbusRtu, ModbusTcp, SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import DeviceState, GatewayHealth, GatewayState, ScanSource
from estatewatch.mqtt import Message, MqttClient, MqttSettings, Will
from estatewatch.ops import OpsServer
from gateway.batcher import Batcher
from gateway.forwarder import Forwarder
from gateway.http import HttpServer, build_app
from gateway.hub import Hub, hub_key
from gateway.messages import dead_letter, health_message, status_message
from gateway.outbox import Outbox
from gateway.poller import DevicePoller
from gateway.scan_intake import ScanIntake
from gateway.scans import handheld_keys
from gateway.sensors import SensorPayloadError, map_payload, sensors_for
from gateway.stats import PollStats

log = logging.getLogger(__name__)

STATUS_REFRESH = 60.0
MAINTENANCE_EVERY = 60.0


@dataclass(frozen=True)
class GatewayOptions:
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    site_mqtt_url: str | None = None
    buffer_path: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    ops_port: int | None = None
    backlog_rate: float = 500.0
    window: int = 200
    flush_readings: int = 50
    flush_delay: float = 0.1
    drain_on_stop: float = 3.0


class GatewayService:
    """`async with GatewayService(site, options) as gateway:` runs until the block exits."""

    def __init__(self, site: SiteConfig, options: GatewayOptions, *, clock: Clock | None = None):
        self.site = site
        self.options = options
        self.clock = clock or SystemClock()
        self.site_id, self.gateway_id = site.site.id, site.gateway.id
        self.stats = PollStats()
        self.pollers: list[DevicePoller] = []
        self.started = time.monotonic()
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[Any]] = []
        self.registry = CollectorRegistry()

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> GatewayService:
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
        site, opts, gw = self.site, self.options, self.site.gateway
        self.outbox = await self._stack.enter_async_context(
            Outbox(
                opts.buffer_path or gw.buffer_path,
                clock=self.clock,
                max_bytes=int(gw.buffer_max_mb * 1024 * 1024),
                max_age_s=gw.buffer_max_age.total_seconds(),
            )
        )
        if self.outbox.depth:
            log.info(
                "outbox holds %d messages from before; they go out first-in", self.outbox.depth
            )
        self.intake = ScanIntake(
            self.outbox, site, handheld_keys(site), gateway=self.gateway_id, clock=self.clock
        )
        await self.intake.prepare()
        self.batcher = Batcher(
            self.outbox,
            site=self.site_id,
            gateway=self.gateway_id,
            clock=self.clock,
            max_readings=opts.flush_readings,
            max_delay=opts.flush_delay,
        )
        self._build_pollers()
        self.central = await self._stack.enter_async_context(
            MqttClient(self._central_settings(), on_connect=self._announce)
        )
        self.forwarder = Forwarder(
            self.outbox,
            self.central,
            clock=self.clock,
            window=opts.window,
            backlog_rate=opts.backlog_rate,
        )
        self.site_client = await self._stack.enter_async_context(
            MqttClient(
                MqttSettings(
                    url=opts.site_mqtt_url or opts.mqtt_url,
                    client_id=f"ew-gw-{self.gateway_id}-site",
                    clean_start=False,
                    session_expiry=3600,
                    connect_timeout=None,
                )
            )
        )
        for device in site.devices:
            conn = device.connection
            if not isinstance(conn, ModbusTcp | ModbusRtu):
                await self.site_client.subscribe(conn.topic, qos=1)
        await self.site_client.subscribe(topics.handheld_filter(self.site_id), qos=1)
        self._metrics()
        if opts.http_port is not None:
            app = build_app(self.intake, self.registry, self.health)
            await self._stack.enter_async_context(
                HttpServer(app, host=opts.http_host, port=opts.http_port)
            )
        if opts.ops_port is not None:
            await self._stack.enter_async_context(
                OpsServer(self.registry, self.health, host=opts.http_host, port=opts.ops_port)
            )
        self._spawn("batcher", self.batcher.run)
        self._spawn("forwarder", self.forwarder.run)
        self._spawn("site-mqtt", self._site_messages)
        self._spawn("health", self._health_loop)
        self._spawn("status-refresh", self._status_loop)
        self._spawn("maintenance", self._maintenance_loop)
        for poller in self.pollers:
            self._spawn(f"poll-{poller.device.id}", poller.run)
        log.info(
            "gateway %s up: %d Modbus devices on %d connections, uplink %s",
            self.gateway_id,
            len(self.pollers),
            len(self.hubs),
            opts.mqtt_url,
        )

    def _build_pollers(self) -> None:
        self.hubs: dict[str, Hub] = {}
        for device in self.site.devices:
            conn = device.connection
            if not isinstance(conn, ModbusTcp | ModbusRtu):
                continue
            key = hub_key(conn)
            timeout = conn.timeout.total_seconds()
            if key not in self.hubs:
                self.hubs[key] = Hub(conn, clock=self.clock, timeout=timeout)
            hub = self.hubs[key]
            hub.timeout = min(hub.timeout, timeout)
            self.pollers.append(
                DevicePoller(
                    device,
                    self.site.register_map_of(device.id),
                    hub,
                    clock=self.clock,
                    max_gap=self.site.gateway.max_gap_registers,
                    stats=self.stats,
                    on_reading=self.batcher.add_reading,
                    on_status=self._status_changed,
                )
            )

    def _central_settings(self) -> MqttSettings:
        offline = GatewayState(
            site=self.site_id,
            gateway=self.gateway_id,
            state="offline",
            ts=to_epoch_ms(self.clock.now()),
            version=__version__,
        )
        return MqttSettings(
            url=self.options.mqtt_url,
            client_id=f"ew-gw-{self.gateway_id}",
            clean_start=False,
            session_expiry=86400,
            max_inflight=self.options.window,
            will=Will(topics.gateway_state(self.site_id, self.gateway_id), offline.to_bytes()),
            connect_timeout=None,  # buffer from the first second, uplink or not
        )

    def _announce(self, client: MqttClient, session_present: bool) -> None:
        online = GatewayState(
            site=self.site_id,
            gateway=self.gateway_id,
            state="online",
            ts=to_epoch_ms(self.clock.now()),
            version=__version__,
        )
        topic = topics.gateway_state(self.site_id, self.gateway_id)
        client.publish_nowait(topic, online.to_bytes(), retain=True)

    def _spawn(self, name: str, fn: Callable[[], Awaitable[Any]]) -> None:
        self._tasks.append(asyncio.create_task(self._supervised(name, fn), name=name))

    async def _supervised(self, name: str, fn: Callable[[], Awaitable[Any]]) -> None:
        """Restart a task that failed, with backoff: one bug must not stop the gateway."""
        delay = 1.0
        while True:
            try:
                await fn()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; restarting in %.0f s", name, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _stop(self) -> None:
        pollers = [t for t in self._tasks if t.get_name().startswith("poll-")]
        others = [t for t in self._tasks if t not in pollers and t.get_name() != "forwarder"]
        await _cancel(pollers + others)
        if hasattr(self, "batcher") and hasattr(self, "outbox"):
            with contextlib.suppress(Exception):
                await self.batcher.flush()
        forwarder = [t for t in self._tasks if t.get_name() == "forwarder"]
        if forwarder and self.central.connected.is_set():
            await self.forwarder.drain(self.options.drain_on_stop)
        await _cancel(forwarder)
        if hasattr(self, "central") and self.central.connected.is_set():
            offline = GatewayState(
                site=self.site_id,
                gateway=self.gateway_id,
                state="offline",
                ts=to_epoch_ms(self.clock.now()),
                version=__version__,
            )
            topic = topics.gateway_state(self.site_id, self.gateway_id)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.central.publish(topic, offline.to_bytes(), retain=True), 2
                )
        for hub in getattr(self, "hubs", {}).values():
            hub.close()
        await self._stack.aclose()
        self._tasks.clear()

    # --- inputs --------------------------------------------------------------------------

    def _status_changed(self, poller: DevicePoller) -> None:
        message = status_message(
            self.site_id, self.gateway_id, poller, to_epoch_ms(self.clock.now())
        )
        if message is not None:
            state = poller.health.state
            level = logging.INFO if state is DeviceState.ONLINE else logging.WARNING
            log.log(level, "%s is %s", poller.device.id, state.value if state else "?")
            self.batcher.add(message)

    async def _site_messages(self) -> None:
        handhelds = topics.handheld_filter(self.site_id)
        async for message in self.site_client.messages():
            if topic_matches_sub(handhelds, message.topic):
                await self.intake.submit([message.payload], ScanSource.MQTT)
            else:
                self._sensor_message(message)

    def _sensor_message(self, message: Message) -> None:
        now = to_epoch_ms(self.clock.now())
        for sensor in sensors_for(self.site.devices, message.topic):
            try:
                self.batcher.add_reading(map_payload(sensor, message.payload, now))
                self.stats.readings += 1
            except SensorPayloadError as exc:
                reason = f"sensor {sensor.id}: {exc}"
                log.warning("dead letter from %s: %s", message.topic, reason)
                self.batcher.add(
                    dead_letter(
                        self.site_id, self.gateway_id, message.topic, reason, message.payload, now
                    )
                )

    # --- periodic ------------------------------------------------------------------------

    async def _health_loop(self) -> None:
        interval = self.site.gateway.health_interval.total_seconds()
        while True:
            await self.clock.sleep(interval)
            self.batcher.add(health_message(await self.gateway_health()))

    async def gateway_health(self) -> GatewayHealth:
        summary = self.stats.summary()
        return GatewayHealth(
            site=self.site_id,
            gateway=self.gateway_id,
            seq=0,
            ts=to_epoch_ms(self.clock.now()),
            uptime_s=time.monotonic() - self.started,
            devices_total=len(self.pollers),
            devices_online=self.devices_online,
            poll_latency_p50_ms=summary["latency_p50_ms"],
            poll_latency_p99_ms=summary["latency_p99_ms"],
            poll_lateness_p99_ms=summary["lateness_p99_ms"],
            queue_depth=max(0, self.outbox.depth),
            queue_bytes=max(0, self.outbox.bytes),
            queue_oldest_ms=await self.outbox.oldest_ms(),
            dropped_total=await self.outbox.counter("dropped_total"),
            published_total=await self.outbox.counter("published_total"),
        )

    @property
    def devices_online(self) -> int:
        up = (DeviceState.ONLINE, DeviceState.DEGRADED)
        return sum(1 for p in self.pollers if p.health.state in up)

    async def _status_loop(self) -> None:
        while True:
            await self.clock.sleep(STATUS_REFRESH)
            now = to_epoch_ms(self.clock.now())
            for poller in self.pollers:
                message = status_message(self.site_id, self.gateway_id, poller, now)
                if message is not None:
                    self.batcher.add(message)

    async def _maintenance_loop(self) -> None:
        while True:
            await self.outbox.trim_expired()
            await self.intake.expire_seen()
            await self.clock.sleep(MAINTENANCE_EVERY)

    # --- ops -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        connected = hasattr(self, "central") and self.central.connected.is_set()
        return {
            "status": "ok" if connected else "degraded",
            "uplink": "connected" if connected else "buffering",
            "devices_total": len(self.pollers),
            "devices_online": self.devices_online,
            "queue_depth": self.outbox.depth,
        }

    def _metrics(self) -> None:
        def gauge(name: str, doc: str, fn: Callable[[], float]) -> None:
            Gauge(name, doc, registry=self.registry).set_function(fn)

        gauge("ew_gateway_polls", "polls done", lambda: self.stats.polls)
        gauge(
            "ew_gateway_polls_missed", "poll ticks skipped as too late", lambda: self.stats.missed
        )
        gauge("ew_gateway_readings", "device readings produced", lambda: self.stats.readings)
        gauge(
            "ew_gateway_devices_online", "devices online or degraded", lambda: self.devices_online
        )
        gauge("ew_gateway_queue_depth", "messages in the outbox", lambda: self.outbox.depth)
        gauge("ew_gateway_queue_bytes", "payload bytes in the outbox", lambda: self.outbox.bytes)
        gauge(
            "ew_gateway_published",
            "messages acknowledged this run",
            lambda: self.forwarder.published,
        )
        gauge("ew_gateway_scans_accepted", "scans accepted", lambda: self.intake.counts["accepted"])
        gauge(
            "ew_gateway_scans_exceptions",
            "scans forwarded as exceptions",
            lambda: self.intake.counts["exception"],
        )


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
