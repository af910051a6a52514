"""Persistence: migrations create exactly the models' schema; times and counters behave the
same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from api.db import MIGRATIONS, Database, database_url
from api.models import Base, FeedEvent, User
from api.schemas.alarm import AcknowledgeIn
from api.store import feed
from tests.dates import local, utc


@dataclass(frozen=True)
class _Entry:
    """A feed entry the store takes (only its sequence numbers matter here)."""

    subject_id: str
    kind: str = "alarm"
    site: str = "s"
    payload: AcknowledgeIn = field(default_factory=AcknowledgeIn)


def test_migrations_create_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert differences == []
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert version == ScriptDirectory.from_config(config).get_current_head()


def test_migrating_twice_changes_nothing(db: Database) -> None:
    db.migrate()
    with db.read() as session:
        assert feed.bounds(session) == (0, 0)


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    database = Database(str(tmp_path / "wal.db"))
    with database.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    database.dispose()
    assert (mode, keys) == ("wal", 1)


def test_urls() -> None:
    assert database_url("var/api.db").render_as_string() == "sqlite:///var/api.db"
    assert database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="in-memory"):
        database_url("sqlite://")


def test_times_come_back_aware_utc(db: Database) -> None:
    shanghai = timezone(timedelta(hours=8))
    moment = utc(0, 8, ms=123).astimezone(shanghai)
    with db.write() as session:
        session.add(User(username="u", role="admin", password_hash="x", created_at=moment))
    with db.read() as session:
        stored = session.scalars(select(User.created_at)).one()
    assert stored == moment
    assert stored.tzinfo is UTC


def test_naive_times_are_refused(db: Database) -> None:
    with db.read() as session:
        session.add(
            User(username="n", role="admin", password_hash="x", created_at=local(-305, tz=None))
        )
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


def test_feed_sequence_commits_in_order_under_concurrent_writers(db: Database) -> None:
    """Eight threads append 25 changes each; every change gets a distinct number and a
    reader never sees a number before a smaller one has committed (the counter row lock)."""
    at = utc(0)
    errors: list[BaseException] = []
    seen_gaps: list[tuple[int, int]] = []

    def writer() -> None:
        try:
            for _ in range(25):
                with db.write() as session:
                    feed.append(session, _Entry("x"), at=at)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def reader() -> None:
        last = 0
        for _ in range(200):
            with db.read() as session:
                seqs = [e.seq for e in feed.events_after(session, after=last, limit=1000)]
            if seqs:
                expected = list(range(last + 1, last + 1 + len(seqs)))
                if seqs != expected:
                    seen_gaps.append((last, seqs[0]))
                last = seqs[-1]

    threads = [threading.Thread(target=writer) for _ in range(8)] + [
        threading.Thread(target=reader)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert seen_gaps == []
    with db.read() as session:
        seqs = list(session.scalars(select(FeedEvent.seq).order_by(FeedEvent.seq)))
    assert seqs == list(range(1, 201))


def test_listeners_hear_of_changes_only_once_they_are_visible(db: Database) -> None:
    """A change made inside a SAVEPOINT is announced after the outer commit, when another
    connection can read it, and a rolled-back change is not announced at all."""
    seen: list[tuple[frozenset[str], int]] = []

    def listener(kinds: frozenset[str]) -> None:
        with db.read() as session:
            seen.append((kinds, len(feed.events_after(session, after=0, limit=10))))

    db.on_change(listener)
    at = utc(0)
    with db.write() as session:
        with session.begin_nested():
            feed.append(session, _Entry("x"), at=at)
        session.execute(text("SELECT 1"))
    with pytest.raises(RuntimeError), db.write() as session:  # noqa: PT012
        feed.append(session, _Entry("y"), at=at)
        raise RuntimeError("rolled back")
    assert seen == [(frozenset({"feed"}), 1)]


def test_the_feed_reads_back_each_payload_as_the_json_text_it_stored(db: Database) -> None:
    """Streams send a change's stored JSON text on untouched; it must be that JSON on both
    backends (PostgreSQL's driver would hand back a decoded dict without the cast)."""
    entry = _Entry("alarm-1", payload=AcknowledgeIn(note='水泵 pump 2 · "quoted"'))
    with db.write() as session:
        feed.append(session, entry, at=utc(0))
    with db.read() as session:
        (stored,) = feed.events_after(session, after=0, limit=10)
    assert isinstance(stored.payload, str)
    assert json.loads(stored.payload) == entry.payload.model_dump(mode="json")
