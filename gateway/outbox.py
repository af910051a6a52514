"""The store-and-forward queue: every outgoing message is committed to SQLite first.

- WAL with `synchronous=FULL`: a committed message survives kill -9 and power loss. One
  commit per batch (a telemetry flush, a scan), never one per reading.
- `seq` is assigned per message model inside the transaction that enqueues, so the numbers
  a central consumer sees are gap-free across restarts (a row is deleted only when the broker
  acknowledged it; a crash before the delete means a harmless repeat of the same seq).
- Bounded by bytes and age; the oldest rows go first, and every dropped message is counted
  in the database (`dropped_total`) and logged.

All SQLite work runs on one dedicated thread, so the event loop never waits on a disk.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from estatewatch.clock import Clock, to_epoch_ms

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL,
    retain INTEGER NOT NULL, created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS seqs (model TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to enqueue; `build(seq)` makes its payload with the seq it was given."""

    model: str
    topic: str
    build: Callable[[int], bytes]
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    topic: str
    payload: bytes
    retain: bool
    created_ms: int


class Outbox:
    """Use as `async with Outbox(path, clock=...) as outbox:`."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock,
        max_bytes: int = 512 * 1024 * 1024,
        max_age_s: float = 7 * 86400,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.max_bytes = max_bytes
        self.max_age_ms = int(max_age_s * 1000)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._db: sqlite3.Connection | None = None
        self.depth = 0
        self.bytes = 0
        self.max_id = 0
        self.enqueued = asyncio.Event()
        """Set whenever something was enqueued (the forwarder clears it)."""

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Outbox:
        await self.run(self._open)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.run(self._close)
        self._executor.shutdown(wait=True)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        row = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
        ).fetchone()
        self.depth, self.bytes = int(row[0]), int(row[1])
        self.max_id = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0])
        self._db = db

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "use the outbox inside `async with`"
        return self._db

    # --- writing (database thread) -------------------------------------------------------

    def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(db)` in one durable transaction (database thread only)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._recount()
            raise
        return result

    def put(self, db: sqlite3.Connection, items: Sequence[Outgoing]) -> list[int]:
        """Enqueue `items` within the caller's transaction; returns their seqs."""
        now = to_epoch_ms(self.clock.now())
        seqs = []
        next_seq: dict[str, int] = {}
        for item in items:
            if item.model not in next_seq:
                row = db.execute("SELECT next FROM seqs WHERE model = ?", (item.model,)).fetchone()
                next_seq[item.model] = int(row[0]) if row else 0
            seq = next_seq[item.model]
            next_seq[item.model] = seq + 1
            payload = item.build(seq)
            cur = db.execute(
                "INSERT INTO outbox (model, topic, payload, retain, created_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (item.model, item.topic, payload, int(item.retain), now),
            )
            self.max_id = int(cur.lastrowid or self.max_id)
            self.depth += 1
            self.bytes += len(payload)
            seqs.append(seq)
        db.executemany(
            "INSERT INTO seqs (model, next) VALUES (?, ?)"
            " ON CONFLICT(model) DO UPDATE SET next = excluded.next",
            list(next_seq.items()),
        )
        if self.bytes > self.max_bytes:
            self._drop_oldest(db)
        return seqs

    def _drop_oldest(self, db: sqlite3.Connection) -> None:
        dropped = 0
        while self.bytes > self.max_bytes and self.depth > 0:
            rows = db.execute(
                "SELECT id, LENGTH(payload) FROM outbox ORDER BY id LIMIT 100"
            ).fetchall()
            for row_id, size in rows:
                if self.bytes <= self.max_bytes:
                    break
                db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
                self.bytes -= int(size)
                self.depth -= 1
                dropped += 1
        self._count(db, "dropped_total", dropped)
        log.warning("outbox over %d bytes: dropped the %d oldest messages", self.max_bytes, dropped)

    def _count(self, db: sqlite3.Connection, name: str, n: int) -> None:
        if n:
            db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, n),
            )

    def _recount(self) -> None:
        row = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
        ).fetchone()
        self.depth, self.bytes = int(row[0]), int(row[1])

    # --- the async interface -------------------------------------------------------------

    async def enqueue(self, items: Sequence[Outgoing]) -> list[int]:
        """Commit `items` durably; returns their seqs."""
        if not items:
            return []
        seqs = await self.run(lambda: self.transaction(lambda db: self.put(db, items)))
        self.enqueued.set()
        return seqs

    async def peek(self, after: int, limit: int, until: int | None = None) -> list[Stored]:
        """Up to `limit` messages with `after < id [<= until]`, oldest first."""

        def query() -> list[Stored]:
            sql = "SELECT id, topic, payload, retain, created_ms FROM outbox WHERE id > ?"
            args: tuple[int, ...] = (after,)
            if until is not None:
                sql += " AND id <= ?"
                args = (after, until)
            rows = self.db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit)).fetchall()
            return [Stored(int(r[0]), r[1], bytes(r[2]), bool(r[3]), int(r[4])) for r in rows]

        return await self.run(query)

    async def delete(self, ids: Sequence[int]) -> None:
        """Forget messages the broker acknowledged (one transaction per 500)."""
        for start in range(0, len(ids), 500):
            chunk = tuple(ids[start : start + 500])
            await self.run(partial(self.transaction, partial(self._remove, ids=chunk)))

    def _remove(self, db: sqlite3.Connection, *, ids: tuple[int, ...]) -> None:
        marks = ",".join("?" * len(ids))
        found = db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox WHERE id IN ({marks})",
            ids,
        ).fetchone()
        db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", ids)
        self.depth -= int(found[0])
        self.bytes -= int(found[1])
        self._count(db, "published_total", int(found[0]))

    async def trim_expired(self) -> int:
        """Drop messages older than `max_age`; returns how many."""
        cutoff = to_epoch_ms(self.clock.now()) - self.max_age_ms

        def trim(db: sqlite3.Connection) -> int:
            found = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
                " WHERE created_ms < ?",
                (cutoff,),
            ).fetchone()
            n = int(found[0])
            if n:
                db.execute("DELETE FROM outbox WHERE created_ms < ?", (cutoff,))
                self.depth -= n
                self.bytes -= int(found[1])
                self._count(db, "dropped_total", n)
            return n

        dropped = await self.run(lambda: self.transaction(trim))
        if dropped:
            log.warning(
                "outbox: dropped %d messages older than %d s", dropped, self.max_age_ms // 1000
            )
        return dropped

    async def counter(self, name: str) -> int:
        def read() -> int:
            row = self.db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            return int(row[0]) if row else 0

        return await self.run(read)

    async def oldest_ms(self) -> int | None:
        def read() -> int | None:
            row = self.db.execute("SELECT MIN(created_ms) FROM outbox").fetchone()
            return None if row[0] is None else int(row[0])

        return await self.run(read)
