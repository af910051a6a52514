"""How the gateway is doing: the periodic `GatewayHealth` message, `/health` and
`/metrics` all read the same numbers (`Vitals.figures()`); the `Heartbeat` sends the health
message and, for the broker's retained freshness, every device's status again."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.contracts.payloads import DeviceState, GatewayHealth
from gateway.devices import DeviceTracker
from gateway.messages import Outgoing, Stream, stream_topic
from gateway.schedule import PollStats, every
from gateway.store import QueueStats


@dataclass(frozen=True, slots=True)
class Figures:
    """A snapshot of everything the health message and the metrics say."""

    uptime_s: float
    devices_total: int
    devices_online: int
    poll_latency_p50_ms: float
    poll_latency_p99_ms: float
    poll_lateness_p99_ms: float
    polls_total: int
    polls_skipped_total: int
    queue_depth: int
    queue_bytes: int
    queue_oldest_ms: int | None
    dropped_total: int
    published_total: int
    broker_connected: bool
    scans: dict[str, int]

    def message(self, *, site: str, gateway: str, ts: int) -> GatewayHealth:
        return GatewayHealth(
            site=site,
            gateway=gateway,
            seq=0,
            ts=ts,
            uptime_s=self.uptime_s,
            devices_total=self.devices_total,
            devices_online=self.devices_online,
            poll_latency_p50_ms=round(self.poll_latency_p50_ms, 3),
            poll_latency_p99_ms=round(self.poll_latency_p99_ms, 3),
            poll_lateness_p99_ms=round(self.poll_lateness_p99_ms, 3),
            queue_depth=self.queue_depth,
            queue_bytes=self.queue_bytes,
            queue_oldest_ms=self.queue_oldest_ms,
            dropped_total=self.dropped_total,
            published_total=self.published_total,
        )

    def status(self) -> dict[str, Any]:
        """The `/health` body: `degraded` while the uplink is down or devices are offline."""
        problems = []
        if not self.broker_connected:
            problems.append("no connection to the central broker: buffering")
        if self.devices_online < self.devices_total:
            problems.append(f"{self.devices_total - self.devices_online} devices not online")
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "devices_online": self.devices_online,
            "devices_total": self.devices_total,
            "queue_depth": self.queue_depth,
            "dropped_total": self.dropped_total,
            "poll_lateness_p99_ms": round(self.poll_lateness_p99_ms, 3),
        }


def online(states: list[DeviceState | None]) -> int:
    """Devices that answer (degraded ones answer, with some points failing)."""
    return sum(1 for s in states if s in (DeviceState.ONLINE, DeviceState.DEGRADED))


class FiguresCollector(Collector):
    def __init__(self, figures: Callable[[], Figures]) -> None:
        self.figures = figures

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        f = self.figures()
        for name, doc, value in (
            ("ew_gateway_polls", "device polls done", f.polls_total),
            (
                "ew_gateway_polls_skipped",
                "poll ticks skipped (the previous poll overran)",
                f.polls_skipped_total,
            ),
            (
                "ew_gateway_dropped",
                "queued messages dropped (queue full or too old)",
                f.dropped_total,
            ),
            ("ew_gateway_published", "messages the central broker acknowledged", f.published_total),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        scans = CounterMetricFamily("ew_gateway_scans", "patrol scans taken", labels=["outcome"])
        for outcome, count in f.scans.items():
            scans.add_metric([outcome], count)
        yield scans
        for name, doc, gauge in (
            ("ew_gateway_devices", "configured devices", f.devices_total),
            ("ew_gateway_devices_online", "devices answering", f.devices_online),
            ("ew_gateway_queue_depth", "messages waiting in the queue", f.queue_depth),
            ("ew_gateway_queue_bytes", "payload bytes waiting in the queue", f.queue_bytes),
            (
                "ew_gateway_poll_lateness_p99_seconds",
                "p99 of poll start lateness",
                f.poll_lateness_p99_ms / 1000,
            ),
            (
                "ew_gateway_poll_duration_p99_seconds",
                "p99 of poll duration",
                f.poll_latency_p99_ms / 1000,
            ),
            (
                "ew_gateway_broker_up",
                "1 while connected to the central broker",
                int(f.broker_connected),
            ),
        ):
            yield GaugeMetricFamily(name, doc, value=gauge)


def registry_for(figures: Callable[[], Figures]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(FiguresCollector(figures))
    return registry


class Queue(Protocol):
    """What the health figures read of the outbox, and the way the heartbeat sends."""

    @property
    def stats(self) -> QueueStats: ...

    @property
    def dropped_in_memory(self) -> int: ...

    @property
    def connected(self) -> bool: ...

    @property
    def backlog(self) -> bool: ...

    def add(self, message: Outgoing) -> None: ...

    def status(self, tracker: DeviceTracker) -> None: ...


class Vitals:
    """Gathers the figures from the parts that keep them."""

    def __init__(
        self,
        *,
        clock: Clock,
        trackers: Mapping[str, DeviceTracker],
        stats: PollStats,
        queue: Queue,
        scans: Callable[[], Mapping[str, int]],
    ) -> None:
        self.clock = clock
        self.trackers = trackers
        self.stats = stats
        self.queue = queue
        self.scans = scans
        self.started = clock.monotonic()

    def figures(self) -> Figures:
        store = self.queue.stats
        return Figures(
            uptime_s=max(0.0, self.clock.monotonic() - self.started),
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
            dropped_total=store.dropped_total + self.queue.dropped_in_memory,
            published_total=store.published_total,
            broker_connected=self.queue.connected,
            scans=dict(self.scans()),
        )


class Heartbeat:
    """Every `interval`: the `GatewayHealth` message, then every device's status again
    (retained freshness) unless it would only pile up unsent (no broker, or a backlog)."""

    def __init__(
        self,
        vitals: Vitals,
        queue: Queue,
        *,
        site: str,
        gateway: str,
        interval: float,
    ) -> None:
        self.vitals = vitals
        self.queue = queue
        self.site = site
        self.gateway = gateway
        self.interval = interval
        self.topic = stream_topic(Stream.GATEWAY_HEALTH, site, gateway)

    async def beat(self) -> None:
        now = to_epoch_ms(self.vitals.clock.now())
        health = self.vitals.figures().message(site=self.site, gateway=self.gateway, ts=now)
        self.queue.add(Outgoing(Stream.GATEWAY_HEALTH, self.topic, False, message=health))
        if self.queue.connected and not self.queue.backlog:
            for tracker in self.vitals.trackers.values():
                self.queue.status(tracker)

    async def run(self) -> None:
        clock = self.vitals.clock
        await every(clock, self.interval, self.beat, phase=clock.monotonic() + self.interval)
