"""The database: engine, sessions, SQLite tuning and migrations at start-up.

SQLite (the default, a file) runs in WAL mode, so readers never wait for the writer. A write
session starts with `BEGIN IMMEDIATE`: SQLite then queues writers on its busy timeout instead
of failing a read-then-write transaction whose snapshot another writer made stale. PostgreSQL
is reached with psycopg 3.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000

ChangeListener = Callable[[frozenset[str]], None]


def database_url(text: str) -> URL:
    """A URL from a setting: a bare path means a SQLite file; `postgresql://` uses psycopg."""
    if "://" not in text:
        return URL.create("sqlite", database=text)
    url = make_url(text)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:"):
        raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
    return url


class Database:
    """One engine and its session factories. `write()` and `read()` are units of work:
    commit on success, roll back on error."""

    def __init__(self, url: str | URL) -> None:
        self.url = database_url(url) if isinstance(url, str) else url
        self._listeners: list[ChangeListener] = []
        # SQLite has one writer; its busy handler makes a waiting writer sleep in steps of
        # up to 100 ms. Writers of this process queue here instead and start the moment the
        # last one commits (a storm's consumer, planner and sends take turns ~50x a second).
        # Other processes still meet the busy timeout. Re-entrant: a nested write fails on
        # SQLite's lock as it did, not on this one.
        self._write_turn: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if self.url.get_backend_name() == "sqlite":
            self._write_turn = threading.RLock()
            assert self.url.database is not None
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                self.url, connect_args={"check_same_thread": False}, pool_size=8
            )
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(self.url, pool_size=8, pool_pre_ping=True)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(
            self.engine.execution_options(ew_read_only=True), expire_on_commit=False
        )

    def on_change(self, listener: ChangeListener) -> None:
        """Call `listener(kinds)` after each commit that marked changes (see `mark_changed`)."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with self._write_turn, self._writer() as session:
            with session.begin():
                yield session
            # Only now is it committed. (SQLAlchemy's after_commit event also fires when a
            # SAVEPOINT is released, which would wake waiters before the data is visible.)
            kinds = frozenset(session.info.pop("changes", ()))
        if kinds:
            for listener in self._listeners:
                listener(kinds)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; safe with several
        instances starting at once on PostgreSQL, which serialises on an advisory lock)."""
        with self.engine.begin() as connection:
            run_migrations(connection, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def mark_changed(session: Session, kind: str) -> None:
    """Note that this transaction wrote to the feed or the outbox, so that waiters are woken
    once it commits."""
    session.info.setdefault("changes", set()).add(kind)


def run_migrations(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    # Let SQLAlchemy's BEGIN (below) start transactions, not the sqlite3 module, whose own
    # handling breaks SAVEPOINT.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    read_only = connection.get_execution_options().get("ew_read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
