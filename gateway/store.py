"""The gateway's SQLite file: the store-and-forward queue (outbox), the `seq` counters and
the memory of patrol scans, written by one dedicated thread.

Durability: WAL journal with `synchronous=FULL` by default — a commit returns only after the
WAL is fsynced, so what was committed survives kill -9 *and* power loss. `NORMAL` survives
kill -9 but may lose the last commits on power loss; it is offered for SD cards that cannot
take the fsyncs. Appends are batched (one commit per flush of the pipeline, a few per
second), which keeps FULL cheap (see docs/performance.md). Deletes of acknowledged rows are
committed with `synchronous=NORMAL`: losing one only means a harmless redelivery (same seq),
and the next FULL commit fsyncs the WAL up to and including it anyway.

The queue is bounded by payload bytes and age; the oldest rows go first — telemetry before
patrol scans, statuses and health — and every dropped row is counted (persisted, so the
count survives restarts).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, TypeVar

from gateway.errors import StoreError

T = TypeVar("T")
Sync = Literal["full", "normal"]
PRIORITY, TELEMETRY = 0, 1
"""Lanes: telemetry may be drained behind live data; everything else goes in order first."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lane INTEGER NOT NULL,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    retain INTEGER NOT NULL,
    enq_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_lane ON outbox (lane, id);
CREATE TABLE IF NOT EXISTS seqs (stream TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scans_seen (scan_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scan_counters (
    handheld TEXT NOT NULL, counter INTEGER NOT NULL, at_ms INTEGER NOT NULL,
    PRIMARY KEY (handheld, counter)
);
"""


@dataclass(frozen=True, slots=True)
class NewRow:
    lane: int
    stream: str
    seq: int
    topic: str
    retain: bool
    payload: bytes


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    lane: int
    stream: str
    seq: int
    topic: str
    retain: bool
    payload: bytes


Statement = tuple[str, tuple[object, ...]]


@dataclass(slots=True)
class QueueStats:
    depth: int = 0
    bytes: int = 0
    oldest_ms: int | None = None
    dropped_total: int = 0
    published_total: int = 0


class Store:
    """Use as `async with Store(path) as store:`; every call runs on the store's thread."""

    def __init__(
        self,
        path: str | Path,
        *,
        sync: Sync = "full",
        max_bytes: int = 512 * 1024 * 1024,
        max_age_ms: int = 7 * 86_400_000,
    ) -> None:
        self.path = Path(path)
        self.sync = sync
        self.max_bytes = max_bytes
        self.max_age_ms = max_age_ms
        self.stats = QueueStats()
        self.next_seq: dict[str, int] = {}
        self.last_id = [0, 0]
        """The newest row id of each lane."""
        self.latest_retained: dict[str, int] = {}
        """Retained topic -> id of its newest row: an older one must not be retained."""
        self._db: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="gateway-store")

    async def __aenter__(self) -> Store:
        try:
            await self._call(self._open)
        except (sqlite3.Error, OSError) as exc:
            self._thread.shutdown(wait=False)
            raise StoreError(f"cannot open the queue {self.path}: {exc}") from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._call(self._close)
        self._thread.shutdown(wait=True)

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "use the store inside `async with`"
        return self._db

    # --- the store's thread ----------------------------------------------------------------

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db = db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self.sync.upper()}")
        db.executescript(SCHEMA)
        self.next_seq = dict(db.execute("SELECT stream, next FROM seqs").fetchall())
        counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        depth, size = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
        ).fetchone()
        self.stats = QueueStats(
            depth, size, self._oldest(), counters.get("dropped", 0), counters.get("published", 0)
        )
        for lane in (PRIORITY, TELEMETRY):
            (last,) = db.execute("SELECT MAX(id) FROM outbox WHERE lane = ?", (lane,)).fetchone()
            self.last_id[lane] = last or 0
        self.latest_retained = dict(
            db.execute("SELECT topic, MAX(id) FROM outbox WHERE retain = 1 GROUP BY topic")
        )

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _append(
        self,
        rows: Sequence[NewRow],
        extra: Sequence[Statement],
        now_ms: int,
        protect: Collection[int],
    ) -> int:
        db = self.db
        ids: list[int] = []
        added = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                cursor = db.execute(
                    "INSERT INTO outbox (lane, stream, seq, topic, retain, enq_ms, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (row.lane, row.stream, row.seq, row.topic, row.retain, now_ms, row.payload),
                )
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
                added += len(row.payload)
            seqs: dict[str, int] = {}
            for row in rows:
                seqs[row.stream] = max(seqs.get(row.stream, 0), row.seq + 1)
            db.executemany(
                "INSERT INTO seqs (stream, next) VALUES (?, ?)"
                " ON CONFLICT (stream) DO UPDATE SET next = excluded.next",
                list(seqs.items()),
            )
            for sql, params in extra:
                db.execute(sql, params)
            dropped, freed = self._drop_oldest(now_ms, self.stats.bytes + added, protect)
            if dropped:
                db.execute(
                    "INSERT INTO counters (name, value) VALUES ('dropped', ?) ON CONFLICT"
                    " (name) DO UPDATE SET value = value + excluded.value",
                    (dropped,),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        stats = self.stats
        stats.depth += len(rows) - dropped
        stats.bytes += added - freed
        stats.dropped_total += dropped
        if rows and (stats.oldest_ms is None or dropped):
            stats.oldest_ms = self._oldest()
        self.next_seq.update(seqs)
        for row, row_id in zip(rows, ids, strict=True):
            self.last_id[row.lane] = row_id
            if row.retain:
                self.latest_retained[row.topic] = row_id
        return dropped

    def _drop_oldest(self, now_ms: int, size: int, protect: Collection[int]) -> tuple[int, int]:
        """Delete rows past the age bound; then, while the queue is over its size bound, the
        oldest telemetry — patrol scans, device statuses and health (the priority lane) only
        once no telemetry is left: a guard's scan outweighs a second of readings."""
        dropped = freed = 0
        cutoff = now_ms - self.max_age_ms
        oldest = self.stats.oldest_ms
        passes: list[tuple[str, bool]] = []
        # Each pass only when its bound may be crossed: this runs on every append.
        if oldest is not None and oldest < cutoff:
            passes.append(("id", True))
        if size > self.max_bytes:
            passes.append(("lane DESC, id", False))
        for order, by_age in passes:
            while True:
                batch = self.db.execute(
                    # `order` is one of the two constants above, never input.
                    f"SELECT id, enq_ms, LENGTH(payload) FROM outbox ORDER BY {order} LIMIT 256"  # noqa: S608
                ).fetchall()
                doomed = []
                for row_id, enq_ms, length in batch:
                    if (enq_ms >= cutoff) if by_age else (size - freed <= self.max_bytes):
                        break
                    if row_id in protect:
                        continue  # in flight: it may yet arrive; drop the next one instead
                    doomed.append((row_id,))
                    freed += length
                if not doomed:
                    break
                self.db.executemany("DELETE FROM outbox WHERE id = ?", doomed)
                dropped += len(doomed)
        return dropped, freed

    def _fetch(self, lane: int, after: int, upto: int | None, limit: int) -> list[Row]:
        sql = "SELECT id, lane, stream, seq, topic, retain, payload FROM outbox"
        sql += " WHERE lane = ? AND id > ?" + (" AND id <= ?" if upto is not None else "")
        params: tuple[int, ...] = (lane, after) if upto is None else (lane, after, upto)
        rows = self.db.execute(sql + " ORDER BY id LIMIT ?", (*params, limit)).fetchall()
        return [Row(i, ln, s, q, t, bool(r), p) for i, ln, s, q, t, r, p in rows]

    def _delete(self, ids: Sequence[int]) -> None:
        db = self.db
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            freed = 0
            gone = 0
            for row_id in ids:
                found = db.execute(
                    "DELETE FROM outbox WHERE id = ? RETURNING LENGTH(payload)", (row_id,)
                ).fetchone()
                if found is not None:
                    freed += found[0]
                    gone += 1
            db.execute(
                "INSERT INTO counters (name, value) VALUES ('published', ?) ON CONFLICT"
                " (name) DO UPDATE SET value = value + excluded.value",
                (len(ids),),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.execute(f"PRAGMA synchronous={self.sync.upper()}")
        stats = self.stats
        stats.depth -= gone
        stats.bytes -= freed
        stats.published_total += len(ids)
        stats.oldest_ms = self._oldest()

    def _oldest(self) -> int | None:
        row = self.db.execute("SELECT enq_ms FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    # --- the loop's side -------------------------------------------------------------------

    async def append(
        self,
        rows: Sequence[NewRow],
        *,
        now_ms: int,
        extra: Sequence[Statement] = (),
        protect: Collection[int] = (),
    ) -> int:
        """Commit `rows` (and `extra` statements) in one transaction, with the `seq`
        counters they use; drops the oldest rows beyond the bounds (not those in `protect`)
        and returns how many it dropped."""
        try:
            return await self._call(lambda: self._append(rows, extra, now_ms, protect))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the queue {self.path}: {exc}") from exc

    async def fetch(self, lane: int, *, after: int, upto: int | None, limit: int) -> list[Row]:
        """Up to `limit` rows of `lane` with `after < id <= upto`, oldest first."""
        return await self._call(lambda: self._fetch(lane, after, upto, limit))

    async def delete(self, ids: Sequence[int]) -> None:
        """Forget rows the broker acknowledged."""
        try:
            await self._call(lambda: self._delete(ids))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the queue {self.path}: {exc}") from exc

    async def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run a read-only query on the store's thread (scan memory at start-up)."""
        return await self._call(lambda: self.db.execute(sql, params).fetchall())

    async def execute(self, statements: Sequence[Statement]) -> None:
        """Run statements in one transaction (pruning the scan memory)."""

        def run() -> None:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self.db.execute(sql, params)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

        await self._call(run)
