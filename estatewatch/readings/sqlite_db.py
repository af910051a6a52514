"""One SQLite file behind asyncio: a writer thread and a few reader threads, each with its own
connection, so the event loop never blocks on the database and reads go on during a write
(WAL: readers see the last committed state while the writer works).

SQLite errors become the reading store's: `StoreUnavailable` for what may pass (the file is
locked, the disk full or unreadable), `QueryError` for the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from estatewatch.readings.sqlite_schema import DDL, SCHEMA_VERSION
from estatewatch.readings.store import QueryError, ReadingsError, StoreUnavailable

T = TypeVar("T")

Connection = sqlite3.Connection


def _translate(path: Path, exc: sqlite3.Error) -> ReadingsError:
    if isinstance(exc, sqlite3.OperationalError):
        return StoreUnavailable(f"SQLite {path}: {exc}")
    return QueryError(f"SQLite {path}: {exc}")


def _rollback(conn: Connection) -> None:
    """Undo what is left of a failed transaction (SQLite may have rolled it back already)."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


class Database:
    """`await db.open()`, then `await db.read(fn)` / `await db.write(fn)` with `fn(conn)`
    run on a database thread (`write` inside one IMMEDIATE transaction); `await db.close()`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        readers: int = 2,
        busy_timeout: float = 10.0,
        synchronous: str = "FULL",
    ) -> None:
        if readers < 1:
            raise ValueError("readers must be at least 1")
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}")
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous.upper()
        self._readers = readers
        self._writer: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def _connect(self, *, query_only: bool) -> Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        if query_only:
            conn.execute("PRAGMA query_only = 1")
        with self._lock:
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def _conn(self, *, query_only: bool) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        return conn if conn is not None else self._connect(query_only=query_only)

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn(query_only=False)
        # WAL is a property of the file: every connection (ingest's, the API's) then uses it.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise QueryError(
                    f"{self.path} has schema version {version}; this EstateWatch knows "
                    f"{SCHEMA_VERSION}: upgrade EstateWatch"
                )
            for statement in DDL:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    async def open(self) -> None:
        """Create the file and its tables if needed (safe while another process does)."""
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ew-sqlite-write")
        self._reader = ThreadPoolExecutor(self._readers, thread_name_prefix="ew-sqlite-read")
        try:
            await self._run(self._writer, lambda: self._create())
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        executors = [e for e in (self._writer, self._reader) if e is not None]
        self._writer = self._reader = None
        for executor in executors:
            await asyncio.to_thread(executor.shutdown, wait=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:  # no thread uses them any more
            conn.close()

    async def _run(self, executor: ThreadPoolExecutor | None, job: Callable[[], T]) -> T:
        if executor is None:
            raise StoreUnavailable(f"SQLite {self.path} is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, job)
        except sqlite3.Error as exc:
            raise _translate(self.path, exc) from exc
        except OSError as exc:  # creating the file's directory
            raise StoreUnavailable(f"SQLite {self.path}: {exc}") from exc

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await self._run(self._reader, lambda: fn(self._conn(query_only=True)))

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """`fn(conn)` in one transaction, committed when it returns, rolled back if it
        raises."""

        def job() -> T:
            conn = self._conn(query_only=False)
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
            return result

        return await self._run(self._writer, job)
