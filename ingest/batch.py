"""Batches and what they owe the broker: pure bookkeeping, no I/O, no clock of its own.

A batch holds MQTT messages in the order they arrived, each with its lines (none for a
message that goes to the dead-letter topic). It is sealed when it reaches a size (lines,
bytes or messages) or an age, or when the stream pauses; the writer then writes it,
dead-letters what InfluxDB refused and acknowledges every message of it, in order.

The message limit matters as much as the line limit: the broker sends no more than `receive
maximum` unacknowledged messages, so a batch that waited for more would wait for its own
flush timer. For the same reason, and so that a quiet stream is written promptly, a batch is
also sealed when nothing has arrived for `max_idle` while nothing is waiting to be read: a
broker that sends fewer unacknowledged messages than `max_messages` then costs a short pause
per batch, not the whole `max_age`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

M = TypeVar("M")
"""Whatever identifies a message for acknowledgement (an `estatewatch.mqtt.Message`)."""


@dataclass(slots=True)
class Entry(Generic[M]):
    """One message in a batch."""

    message: M
    lines: bytes
    count: int
    dead_letter: str | None = None
    """Why the message (or part of it) cannot be used; it is acknowledged after its dead
    letter is published."""
    cause: str = ""
    """The dead letter's cause, for counting: payload, value, rejected, internal."""


@dataclass(frozen=True)
class BatchLimits:
    max_lines: int = 5000
    max_bytes: int = 8 * 1024 * 1024
    max_messages: int = 300
    max_age: float = 1.0
    """Seconds from a batch's first message to its flush, however small it is."""
    max_idle: float = 0.05
    """Seconds without a new message (and none waiting) after which the batch is flushed."""

    def __post_init__(self) -> None:
        if min(self.max_lines, self.max_bytes, self.max_messages) < 1:
            raise ValueError("batch limits must be positive")
        if self.max_age <= 0 or self.max_idle <= 0:
            raise ValueError("batch limits must be positive")


@dataclass(slots=True)
class Batch(Generic[M]):
    entries: list[Entry[M]] = field(default_factory=list)
    lines: int = 0
    size: int = 0
    opened_at: float = 0.0
    last_added: float = 0.0

    def add(self, entry: Entry[M]) -> None:
        self.entries.append(entry)
        self.lines += entry.count
        self.size += len(entry.lines) + 1

    def writable(self) -> list[Entry[M]]:
        return [e for e in self.entries if e.count]

    def __len__(self) -> int:
        return len(self.entries)


def body(entries: Sequence[Entry[M]]) -> bytes:
    """The line protocol of these entries, as one request body."""
    return b"\n".join([e.lines for e in entries if e.count])


def halves(entries: Sequence[Entry[M]]) -> tuple[Sequence[Entry[M]], Sequence[Entry[M]]]:
    """Split by lines, not by messages, so each half is a similar write."""
    total = sum(e.count for e in entries)
    running = 0
    for i, entry in enumerate(entries):
        running += entry.count
        if running * 2 >= total:
            cut = max(1, min(i + 1, len(entries) - 1))
            return entries[:cut], entries[cut:]
    return entries[:1], entries[1:]


def oldest(entries: Sequence[Entry[M]], n: int) -> list[tuple[Entry[M], int, int]]:
    """The entries holding the `n` oldest points of their lines, each with how many of them
    and the oldest time: InfluxDB's "points beyond retention policy dropped=n" names no
    point, but what it drops is everything older than its cutoff, i.e. the n oldest."""
    if n <= 0:
        return []
    stamps: list[tuple[int, int]] = []
    for index, entry in enumerate(entries):
        for line in entry.lines.splitlines():
            _, _, stamp = line.rstrip().rpartition(b" ")
            try:
                stamps.append((int(stamp), index))
            except ValueError:
                continue  # not ingest's line protocol: it cannot be among the dropped
    stamps.sort()
    found: dict[int, list[int]] = {}
    for ts, index in stamps[:n]:
        found.setdefault(index, []).append(ts)
    return [(entries[i], len(ts), min(ts)) for i, ts in sorted(found.items())]


class Batcher(Generic[M]):
    """Collects entries into the open batch and seals it when it is full or old enough."""

    def __init__(self, limits: BatchLimits) -> None:
        self.limits = limits
        self._open: Batch[M] | None = None

    @property
    def open(self) -> Batch[M] | None:
        return self._open

    def add(self, entry: Entry[M], now: float) -> Batch[M] | None:
        """Add one message's entry; the sealed batch when this filled it."""
        batch = self._open
        if batch is None:
            batch = self._open = Batch(opened_at=now)
        batch.add(entry)
        batch.last_added = now
        lim = self.limits
        if (
            batch.lines >= lim.max_lines
            or batch.size >= lim.max_bytes
            or len(batch) >= lim.max_messages
        ):
            return self.seal()
        return None

    def deadline(self) -> float | None:
        """When the open batch may next be due (monotonic seconds); None if none is open."""
        batch = self._open
        if batch is None:
            return None
        return min(batch.opened_at + self.limits.max_age, batch.last_added + self.limits.max_idle)

    def due(self, now: float, *, quiet: bool) -> Batch[M] | None:
        """The open batch, sealed, if it reached `max_age`, or if it has been idle for
        `max_idle` and the stream is `quiet` (no message waiting to be read)."""
        batch = self._open
        if batch is None:
            return None
        if now >= batch.opened_at + self.limits.max_age or (
            quiet and now >= batch.last_added + self.limits.max_idle
        ):
            return self.seal()
        return None

    def seal(self) -> Batch[M] | None:
        batch, self._open = self._open, None
        return batch
