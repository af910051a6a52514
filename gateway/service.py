"""The gateway's composition root: builds the outbox, the patrol checks, the configured
sources, the heartbeat, the scan-memory pruner and the HTTP endpoint, in that order, and
tears them down in reverse. It knows no protocol: sources come from `gateway.sources`.

    async with Gateway(site, GatewayOptions(central_url=...)) as gateway:
        await stop.wait()

Stopping: HTTP stops taking syncs, the sources stop (inputs first), what they caused is
committed and the site broker acknowledges it, the heartbeat and pruner stop, then the
outbox commits what is left, waits up to 2 s for the broker's acknowledgements, announces
`offline` and closes the connection and the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from types import TracebackType

from estatewatch.clock import Clock, SystemClock
from estatewatch.config import SiteConfig
from estatewatch.jetstream import JetStreamSettings
from estatewatch.mqtt import MqttSettings
from estatewatch.supervise import supervise
from gateway.devices import DeviceTracker
from gateway.handhelds import HandheldKey, load_keys, load_tag_keys
from gateway.health import Figures, Heartbeat, Vitals, registry_for
from gateway.http import HttpServer, gateway_app
from gateway.outbox import Outbox, QueueSettings
from gateway.parts import Parts, cancel
from gateway.patrol import PatrolIntake
from gateway.polling import DevicePoller, ModbusSource
from gateway.presence import Presence
from gateway.scan_memory import ScanMemoryPruner, ScanRecords
from gateway.scans import ScanValidator
from gateway.schedule import PollStats
from gateway.sources import Resources, Source, SourceContext, configured_sources
from gateway.store import Store, Sync
from gateway.topology import check_topology

log = logging.getLogger(__name__)


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
    central_nats: str | None = None
    """Every node's NATS URL, comma-separated: telemetry by JetStream (`gateway.uplink`)."""


@dataclass(frozen=True)
class _Running:
    """What exists once the gateway started."""

    outbox: Outbox
    vitals: Vitals
    sources: dict[str, Source]


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
        self.parts = Parts()
        self._stack = AsyncExitStack()
        self._running: _Running | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Gateway:
        try:
            self._running = await self._start(self._stack)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._stack.aclose()
        finally:
            self._running = None

    async def _start(self, stack: AsyncExitStack) -> _Running:
        site, options, clock, cfg = self.site, self.options, self.clock, self.site.gateway
        _report_key_problems(self.keys, self.tag_keys)
        presence = Presence(site=self.site_id, gateway=self.gateway_id, clock=clock)
        queue = QueueSettings(
            path=options.buffer_path or cfg.buffer_path,
            sync=options.sync,
            max_bytes=int(cfg.buffer_max_mb * 1024 * 1024),
            max_age_ms=int(cfg.buffer_max_age.total_seconds() * 1000),
            window=options.window,
            drain_rate=options.drain_rate,
            max_delay=options.max_delay,
        )
        outbox = await stack.enter_async_context(
            Outbox(
                queue,
                self._central_settings(presence),
                site=self.site_id,
                gateway=self.gateway_id,
                clock=clock,
                parts=self.parts,
                announcer=presence,
                jetstream=(
                    JetStreamSettings.from_url(options.central_nats)
                    if options.central_nats
                    else None
                ),
            )
        )
        records = ScanRecords(outbox.store)
        memory = await records.load()
        validator = ScanValidator(
            site, self.keys, memory, gateway=self.gateway_id, tag_keys=self.tag_keys
        )
        patrol = PatrolIntake(validator, clock)
        vitals = Vitals(
            clock=clock,
            trackers=self.trackers,
            stats=self.stats,
            queue=outbox,
            scans=patrol.scan_counts,
        )
        # Periodic parts: stopped after the sources, before the outbox's last commit.
        periodic: list[asyncio.Task[None]] = []
        stack.push_async_callback(cancel, periodic)
        interval = cfg.health_interval.total_seconds()
        heartbeat = Heartbeat(
            vitals, outbox, site=self.site_id, gateway=self.gateway_id, interval=interval
        )
        pruner = ScanMemoryPruner(records, memory, clock, first=interval)
        periodic.append(self.parts.spawn(heartbeat.run(), "heartbeat"))
        periodic.append(self.parts.spawn(pruner.run(), "scan-pruner"))
        # Sources: built from the site file, each run under supervision.
        context = SourceContext(
            site=site,
            clock=clock,
            trackers=self.trackers,
            stats=self.stats,
            patrol=patrol,
            resources=Resources(stack),
            site_url=options.site_url or options.central_url,
            client_id=self._client_id(),
        )
        sources = await configured_sources(context)
        stack.push_async_callback(outbox.settle)  # before shared connections close
        inputs: list[asyncio.Task[None]] = []
        stack.push_async_callback(cancel, inputs)
        for source in sources:
            run = partial(source.run, outbox)
            task = asyncio.create_task(
                supervise(f"source {source.name}", run, clock=clock, logger=log),
                name=f"gateway-{source.name}",
            )
            inputs.append(task)
        if options.http_port is not None:
            app = gateway_app(
                patrol, outbox, registry_for(vitals.figures), lambda: vitals.figures().status()
            )
            await stack.enter_async_context(
                HttpServer(app, host=options.http_host, port=options.http_port)
            )
        log.info(
            "gateway %s of %s: sources %s",
            self.gateway_id,
            self.site_id,
            ", ".join(s.name for s in sources) or "none",
        )
        return _Running(outbox, vitals, {s.name: s for s in sources})

    async def wait(self) -> None:
        """Return never; raise what stopped a part of the gateway (its supervisor restarts
        it)."""
        await self.parts.wait()

    # --- what the CLI, tests and the bench look at -------------------------------------------

    @property
    def running(self) -> _Running:
        if self._running is None:
            raise RuntimeError("the gateway runs inside `async with` only")
        return self._running

    @property
    def store(self) -> Store:
        return self.running.outbox.store

    def figures(self) -> Figures:
        return self.running.vitals.figures()

    def source(self, name: str) -> Source | None:
        """The running source `name`, if the site configures one."""
        return self.running.sources.get(name)

    @property
    def pollers(self) -> list[DevicePoller]:
        """The Modbus devices' pollers."""
        modbus = self.source(ModbusSource.name)
        return modbus.pollers if isinstance(modbus, ModbusSource) else []

    # --- the central broker ------------------------------------------------------------------

    def _client_id(self) -> str:
        return self.options.client_id or f"ew-gw-{self.site_id}-{self.gateway_id}"[:60]

    def _central_settings(self, presence: Presence) -> MqttSettings:
        return MqttSettings(
            url=self.options.central_url,
            client_id=self._client_id(),
            will=presence.will(),
            max_inflight=max(self.options.window, 20),
            connect_timeout=None,  # buffer from the start, even with the uplink down
        )


def _report_key_problems(
    keys: Mapping[str, HandheldKey], tag_keys: Mapping[str, HandheldKey]
) -> None:
    for what, found, refusal in (
        ("handheld", keys, "bad_signature"),
        ("checkpoint", tag_keys, "cloned_tag"),
    ):
        for name, key in found.items():
            if key.problem:
                log.error(
                    "%s %s: %s; its scans will be refused as %s", what, name, key.problem, refusal
                )
