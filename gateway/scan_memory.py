"""The scan memory: scan ids seen and counters used, per handheld (and per NTAG 424 tag),
that make duplicates and replays detectable across restarts — a typed repository over the
store's `scans_seen` and `scan_counters` tables.

`ScanMemory` is the in-memory view the checks read (`gateway.scans`); what it writes goes
out as statements that the pipeline commits in the same transaction as the message they
cause, so the memory and the outbox never disagree after a crash. `ScanRecords` loads it at
start-up and prunes it. This module and `gateway/store.py` are the only ones that speak SQL
to the store's tables.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from estatewatch.clock import Clock, to_epoch_ms
from gateway.schedule import every
from gateway.store import Statement, Store

COUNTER_WINDOW = 1024
"""Counters remembered per handheld; a scan synced late may be this far behind."""
MEMORY_MS = 30 * 86_400_000
"""How long a scan id is remembered (a handheld syncs within hours; 30 days is ample)."""
REJECTED_MEMORY = 10_000
PRUNE_INTERVAL_S = 3600.0


@dataclass
class Counters:
    high: int = -1
    recent: set[int] = field(default_factory=set)


@dataclass
class ScanMemory:
    """Scan ids seen (with when) and counters used, per handheld."""

    seen: dict[str, int] = field(default_factory=dict)
    counters: dict[str, Counters] = field(default_factory=dict)
    rejected: OrderedDict[bytes, None] = field(default_factory=OrderedDict)

    def remember_rejected(self, raw: bytes) -> bool:
        """Whether these exact bytes were rejected before (and remember them if not)."""
        digest = hashlib.sha256(raw).digest()
        if digest in self.rejected:
            return True
        self.rejected[digest] = None
        while len(self.rejected) > REJECTED_MEMORY:
            self.rejected.popitem(last=False)
        return False

    def remember(self, scan_id: str, at: int) -> Statement:
        """Remember an authentic scan's id; the statement does the same in the store."""
        self.seen[scan_id] = at
        return ("INSERT OR REPLACE INTO scans_seen (scan_id, at_ms) VALUES (?, ?)", (scan_id, at))

    def count(self, who: str, counter: int) -> None:
        """Remember that `who` (a handheld, or `tag:<uid>`) used `counter`."""
        counters = self.counters.setdefault(who, Counters())
        counters.recent.add(counter)
        counters.high = max(counters.high, counter)

    @staticmethod
    def counter_used(who: str, counter: int, at: int) -> Statement:
        """The statement that keeps `count(who, counter)` across restarts."""
        return (
            "INSERT OR IGNORE INTO scan_counters (handheld, counter, at_ms) VALUES (?, ?, ?)",
            (who, counter, at),
        )

    @classmethod
    def from_rows(
        cls, seen: Iterable[Sequence[object]], counters: Iterable[Sequence[object]]
    ) -> ScanMemory:
        """The memory as the store holds it: (scan_id, at_ms) and (handheld, counter) rows."""
        memory = cls(seen={str(scan_id): int(str(at)) for scan_id, at in seen})
        for handheld, value in counters:
            memory.count(str(handheld), int(str(value)))
        return memory

    def prune(self, now_ms: int) -> list[Statement]:
        """Forget what is too old; the statements do the same in the store."""
        cutoff = now_ms - MEMORY_MS
        self.seen = {k: at for k, at in self.seen.items() if at >= cutoff}
        statements: list[Statement] = [("DELETE FROM scans_seen WHERE at_ms < ?", (cutoff,))]
        for handheld, counters in self.counters.items():
            floor = counters.high - COUNTER_WINDOW
            counters.recent = {c for c in counters.recent if c > floor}
            statements.append(
                ("DELETE FROM scan_counters WHERE handheld = ? AND counter <= ?", (handheld, floor))
            )
        return statements


class ScanRecords:
    """The scan memory's tables in the store: loaded once at start-up, pruned now and then
    (the rows themselves are written with the messages, see `ScanMemory`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def load(self) -> ScanMemory:
        return ScanMemory.from_rows(
            await self.store.query("SELECT scan_id, at_ms FROM scans_seen"),
            await self.store.query("SELECT handheld, counter FROM scan_counters"),
        )

    async def prune(self, memory: ScanMemory, now_ms: int) -> None:
        """Forget scan ids older than `MEMORY_MS` and counters below each one's window."""
        await self.store.execute(memory.prune(now_ms))


class ScanMemoryPruner:
    """Prunes the scan memory every `interval` seconds, the first time `first` seconds after
    it starts."""

    def __init__(
        self,
        records: ScanRecords,
        memory: ScanMemory,
        clock: Clock,
        *,
        interval: float = PRUNE_INTERVAL_S,
        first: float = 0.0,
    ) -> None:
        self.records = records
        self.memory = memory
        self.clock = clock
        self.interval = interval
        self.first = first

    async def prune(self) -> None:
        await self.records.prune(self.memory, to_epoch_ms(self.clock.now()))

    async def run(self) -> None:
        start = self.clock.monotonic() + self.first
        await every(self.clock, self.interval, self.prune, phase=start)
