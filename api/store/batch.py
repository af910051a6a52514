"""Rows written a batch at a time, in SQLAlchemy Core: one statement per table per batch,
each idempotent by its key (`INSERT … ON CONFLICT DO NOTHING`, an upsert guarded by the
revision), on SQLite and PostgreSQL alike.

An alarm storm is stored at the database's statement rate, not at the ORM's per-object
cost (~6 ms of flushes and savepoints per alarm; see docs/performance.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.db import mark_changed
from api.models import (
    Alarm,
    AlarmEventRecord,
    Counter,
    FeedEvent,
    OutboxMessage,
    WorkOrder,
    WorkOrderLog,
)
from api.store.feed import FEED, OUTBOX

ALARMS: Table = Alarm.__table__  # type: ignore[assignment]
EVENTS: Table = AlarmEventRecord.__table__  # type: ignore[assignment]
ORDERS: Table = WorkOrder.__table__  # type: ignore[assignment]
ORDER_LOG: Table = WorkOrderLog.__table__  # type: ignore[assignment]
FEED_EVENTS: Table = FeedEvent.__table__  # type: ignore[assignment]
OUTBOX_MESSAGES: Table = OutboxMessage.__table__  # type: ignore[assignment]

ALARM_KEEPS = frozenset({"alarm_id", "ack_requested_by", "ack_requested_at"})
"""Columns an upsert from an AlarmEvent leaves alone: the key, and what people did here."""


def _insert(session: Session, table: Table) -> Any:
    """The dialect's own INSERT, which knows ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_new(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> set[Any]:
    """Insert the rows whose primary key is not there yet; returns the keys inserted (a row
    a concurrent writer or an earlier delivery put there is left as it is)."""
    if not rows:
        return set()
    (key,) = table.primary_key.columns
    stmt = _insert(session, table).on_conflict_do_nothing().returning(key)
    return set(session.execute(stmt, list(rows)).scalars())


def insert_all(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that have no natural key (logs): one executemany."""
    if rows:
        session.execute(table.insert(), list(rows))


def known_events(session: Session, event_ids: Iterable[str]) -> set[str]:
    ids = list(event_ids)
    if not ids:
        return set()
    query = select(EVENTS.c.event_id).where(EVENTS.c.event_id.in_(ids))
    return set(session.execute(query).scalars())


def held_alarms(session: Session, alarm_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The alarms' revision and acknowledgement requests, locked (PostgreSQL) in key order
    so that two consumers cannot deadlock; an absent alarm is absent from the result."""
    ids = sorted(set(alarm_ids))
    if not ids:
        return {}
    columns = (
        ALARMS.c.alarm_id,
        ALARMS.c.revision,
        ALARMS.c.ack_requested_by,
        ALARMS.c.ack_requested_at,
    )
    query = select(*columns).where(ALARMS.c.alarm_id.in_(ids)).order_by(ALARMS.c.alarm_id)
    rows = session.execute(query.with_for_update()).mappings()
    return {r["alarm_id"]: dict(r) for r in rows}


def upsert_alarms(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert each alarm, or make it show the row's revision if that is newer than the one
    it shows (a concurrent or repeated write of an older revision changes nothing)."""
    if not rows:
        return
    stmt = _insert(session, ALARMS)
    names = [name for name in rows[0] if name not in ALARM_KEEPS]
    stmt = stmt.on_conflict_do_update(
        index_elements=[ALARMS.c.alarm_id],
        set_={name: stmt.excluded[name] for name in names},
        where=ALARMS.c.revision < stmt.excluded.revision,
    )
    session.execute(stmt, list(rows))


def orders_of(session: Session, alarm_ids: Iterable[str]) -> dict[str, str]:
    """alarm id → its work order's id, for those that have one."""
    ids = list(set(alarm_ids))
    if not ids:
        return {}
    query = select(ORDERS.c.alarm_id, ORDERS.c.id).where(ORDERS.c.alarm_id.in_(ids))
    return {alarm_id: order_id for alarm_id, order_id in session.execute(query)}


def _order_columns() -> list[tuple[str, str, Any]]:
    """(attribute, column, scalar default) of every work-order column, worked out once."""
    out = []
    for column in ORDERS.columns:
        default = column.default
        scalar = default.arg if default is not None and default.is_scalar else None  # type: ignore[attr-defined]
        out.append((column.key, column.name, scalar))
    return out


_ORDER_COLUMNS = _order_columns()


def order_row(order: WorkOrder) -> dict[str, Any]:
    """A (transient) work order as a row of every column; a column left unset takes the
    model's scalar default, as a flush would give it. Read from the instance's own dict:
    a storm's thousand orders × 49 instrumented getattrs were ~35 ms of the burst."""
    values = order.__dict__
    row: dict[str, Any] = {}
    for key, name, default in _ORDER_COLUMNS:
        value = values.get(key)
        row[name] = default if value is None else value
    return row


def append_feed(session: Session, entries: Sequence[dict[str, Any]]) -> int:
    """Append changes (`at`, `kind`, `site`, `subject_id`, `payload`) to the feed, in order,
    taking a block of sequence numbers in one statement; returns the last one."""
    if not entries:
        return 0
    last = session.execute(
        update(Counter)
        .where(Counter.name == FEED)
        .values(value=Counter.value + len(entries))
        .returning(Counter.value)
    ).scalar_one()
    first = int(last) - len(entries) + 1
    insert_all(session, FEED_EVENTS, [{**e, "seq": first + i} for i, e in enumerate(entries)])
    mark_changed(session, FEED)
    return int(last)


def enqueue_all(session: Session, messages: Sequence[dict[str, Any]]) -> None:
    """Queue MQTT messages (`topic`, `payload` JSON text, `created_at`) for the outbox."""
    if messages:
        insert_all(session, OUTBOX_MESSAGES, [{**m, "published_at": None} for m in messages])
        mark_changed(session, OUTBOX)


def forget(session: Session, alarm_ids: set[str]) -> None:
    """Expire alarms this session holds that a Core statement changed behind its back."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Alarm) and obj.alarm_id in alarm_ids:
            session.expire(obj)
