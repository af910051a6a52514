"""Ingest's counters: plain attributes on the hot path, exported to Prometheus on scrape."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


@dataclass
class IngestStats:
    messages_total: int = 0
    """Messages received from the broker."""
    acked_total: int = 0
    """Messages acknowledged: written (or dead-lettered) for good."""
    lines_written_total: int = 0
    batches_written_total: int = 0
    write_retries_total: int = 0
    write_rejections_total: int = 0
    """Writes InfluxDB refused (each narrows the batch down to the message at fault)."""
    points_beyond_retention_total: int = 0
    """Points the store dropped as older than its retention (a partial write, not retried)."""
    dead_letters: Counter[str] = field(default_factory=Counter)
    """Dead letters by cause: `payload` (invalid for the contract), `value` (some values
    not storable, the rest written), `rejected` (InfluxDB refused it), `beyond_retention`
    (points older than the retention dropped, the rest written), `internal`."""
    unacked: int = 0
    """Messages received and not yet acknowledged: bounded by the MQTT receive maximum."""
    unacked_high_water: int = 0
    influx_healthy: bool = True

    @property
    def dead_letters_total(self) -> int:
        return sum(self.dead_letters.values())

    def received(self) -> None:
        self.messages_total += 1
        self.unacked += 1
        self.unacked_high_water = max(self.unacked_high_water, self.unacked)


class _StatsCollector(Collector):
    def __init__(self, stats: IngestStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self.stats
        for name, doc, value in (
            ("ew_ingest_messages", "MQTT messages received", s.messages_total),
            ("ew_ingest_acked", "MQTT messages acknowledged", s.acked_total),
            ("ew_ingest_lines_written", "points written to InfluxDB", s.lines_written_total),
            ("ew_ingest_batches_written", "batches written to InfluxDB", s.batches_written_total),
            ("ew_ingest_write_retries", "InfluxDB writes retried", s.write_retries_total),
            ("ew_ingest_write_rejections", "InfluxDB writes refused", s.write_rejections_total),
            (
                "ew_ingest_points_beyond_retention",
                "points dropped by the store as older than its retention policy",
                s.points_beyond_retention_total,
            ),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        dead = CounterMetricFamily(
            "ew_ingest_dead_letters", "messages sent to the dead-letter topic", labels=["cause"]
        )
        for cause in ("payload", "value", "rejected", "beyond_retention", "internal"):
            dead.add_metric([cause], s.dead_letters[cause])
        yield dead
        yield GaugeMetricFamily(
            "ew_ingest_unacked", "messages received and not yet acknowledged", value=s.unacked
        )
        yield GaugeMetricFamily(
            "ew_ingest_influx_up",
            "1 when the last InfluxDB write succeeded",
            value=1 if s.influx_healthy else 0,
        )


def registry_for(stats: IngestStats) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_StatsCollector(stats))
    return registry
