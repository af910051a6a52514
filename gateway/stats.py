"""Poll timing figures for GatewayHealth and /metrics: recent samples, percentiles."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW = 4096


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class PollStats:
    """Lateness (start after the scheduled time) and latency (poll duration), in seconds."""

    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    latency: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    polls: int = 0
    missed: int = 0
    readings: int = 0

    def record(self, lateness: float, latency: float) -> None:
        self.polls += 1
        self.lateness.append(max(0.0, lateness))
        self.latency.append(latency)

    def summary(self) -> dict[str, float]:
        lateness, latency = list(self.lateness), list(self.latency)
        return {
            "latency_p50_ms": percentile(latency, 50) * 1000,
            "latency_p99_ms": percentile(latency, 99) * 1000,
            "lateness_p99_ms": percentile(lateness, 99) * 1000,
        }
