"""The rules engine's figures for Prometheus: plain counters on the hot path, read on scrape."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

# Seconds. A message is evaluated in tens of microseconds; a slow one (a large batch, a
# snapshot in the same turn of the loop) in milliseconds. The 100 ms target sits mid-range.
LATENCY_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)


@dataclass
class Latency:
    """A histogram without locks: the engine observes from its one event loop."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        running, out = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


@dataclass
class RulesStats:
    messages: int = 0
    readings: int = 0
    dead_letters: int = 0
    reloads: int = 0
    events: Counter[str] = field(default_factory=Counter)
    """Alarm events published, by type (raised, acknowledged, cleared, closed...)."""
    evaluation: Latency = field(default_factory=Latency)
    """Time from a message's arrival to its alarms being queued for the broker."""


class EngineFigures(Protocol):
    """What the collector reads from the engine on scrape (`rules.engine.RulesEngine` is
    one): its counters and a few figures of the moment."""

    @property
    def stats(self) -> RulesStats: ...
    @property
    def mqtt_connected(self) -> bool: ...
    @property
    def unconfirmed(self) -> int: ...
    def open_alarms(self) -> dict[str, Counter[str]]: ...


class _EngineCollector(Collector):
    def __init__(self, engine: EngineFigures) -> None:
        self.engine = engine

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        engine, stats = self.engine, self.engine.stats
        for name, doc, value in (
            ("ew_rules_messages", "MQTT messages evaluated", stats.messages),
            ("ew_rules_readings", "readings evaluated", stats.readings),
            ("ew_rules_dead_letters", "messages sent to the dead-letter topic", stats.dead_letters),
            ("ew_rules_reloads", "rule files reloaded", stats.reloads),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        events = CounterMetricFamily(
            "ew_rules_alarm_events", "alarm events published", labels=["event"]
        )
        for event, count in sorted(stats.events.items()):
            events.add_metric([event], count)
        yield events
        yield HistogramMetricFamily(
            "ew_rules_evaluation_seconds",
            "time from a message's arrival to its alarms being queued",
            buckets=stats.evaluation.cumulative(),
            sum_value=stats.evaluation.total,
        )
        open_alarms = GaugeMetricFamily(
            "ew_rules_open_alarms", "alarms open now", labels=["site", "severity"]
        )
        for site, by_severity in sorted(engine.open_alarms().items()):
            for severity, count in sorted(by_severity.items()):
                open_alarms.add_metric([site, severity], count)
        yield open_alarms
        yield GaugeMetricFamily(
            "ew_rules_unconfirmed",
            "alarm events saved and not yet acknowledged by the broker",
            value=engine.unconfirmed,
        )
        yield GaugeMetricFamily(
            "ew_rules_mqtt_connected", "1 while connected to the broker",
            value=1 if engine.mqtt_connected else 0,
        )  # fmt: skip


def registry_for(engine: EngineFigures) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_EngineCollector(engine))
    return registry
