"""The change feed (what the live stream replays) and the MQTT outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.orm import Session

from api.db import mark_changed
from api.models import Counter, FeedEvent, OutboxMessage
from estatewatch.contracts.payloads import Payload

FEED = "feed"
OUTBOX = "outbox"


class FeedEntry(Protocol):
    """A change to put on the feed (`api.schemas.feed.FeedChange` is one)."""

    @property
    def kind(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def subject_id(self) -> str: ...
    @property
    def payload(self) -> BaseModel: ...


def next_value(session: Session, *, name: str) -> int:
    """Take the next value of a counter. The row stays locked until this transaction ends,
    so values commit in the order they were taken."""
    value = session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()
    return int(value)


def append(session: Session, change: FeedEntry, *, at: datetime) -> int:
    """Add a change to the feed; returns its sequence number (the resume token)."""
    seq = next_value(session, name=FEED)
    session.add(
        FeedEvent(
            seq=seq,
            at=at,
            kind=change.kind,
            site=change.site,
            subject_id=change.subject_id,
            payload=change.payload.model_dump(mode="json"),
        )
    )
    mark_changed(session, FEED)
    return seq


class StoredChange(Protocol):
    """A change as the feed holds it: a row of `events_after`."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def subject_id(self) -> str: ...
    @property
    def payload(self) -> str:
        """Its payload's JSON text as stored."""
        ...


def events_after(
    session: Session,
    *,
    after: int,
    limit: int,
    sites: list[str] | None = None,
    kinds: list[str] | None = None,
) -> list[StoredChange]:
    """Plain rows, not ORM objects, with the payload as its JSON text: a storm's feed is
    read by the thousand by streams that send that text on, so decoding it to encode it
    again was wasted (and nothing reading the feed changes it)."""
    payload = cast(FeedEvent.payload, Text).label("payload")
    query = select(FeedEvent.seq, FeedEvent.kind, FeedEvent.site, FeedEvent.subject_id, payload)
    query = query.where(FeedEvent.seq > after)
    if sites:
        query = query.where(FeedEvent.site.in_(sites))
    if kinds:
        query = query.where(FeedEvent.kind.in_(kinds))
    rows: list[Any] = list(session.execute(query.order_by(FeedEvent.seq).limit(limit)))
    return rows


def bounds(session: Session) -> tuple[int, int]:
    """(oldest retained seq - 1, newest seq): a token below the first was pruned away."""
    newest = session.scalar(select(Counter.value).where(Counter.name == FEED)) or 0
    oldest = session.scalar(select(func.min(FeedEvent.seq)))
    return (oldest - 1 if oldest is not None else newest), newest


def prune(session: Session, *, before: datetime) -> int:
    result: Any = session.execute(delete(FeedEvent).where(FeedEvent.at < before))
    return int(result.rowcount or 0)


def enqueue(session: Session, *, topic: str, payload: Payload, at: datetime) -> None:
    """Queue an MQTT message to be published once this transaction commits."""
    session.add(OutboxMessage(topic=topic, payload=payload.model_dump_json(), created_at=at))
    mark_changed(session, OUTBOX)


def pending(session: Session, *, limit: int) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
    return list(session.scalars(query.order_by(OutboxMessage.id).limit(limit)))


def mark_published(session: Session, *, ids: list[int], at: datetime) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=at))


def prune_published(session: Session, *, before: datetime) -> int:
    result: Any = session.execute(delete(OutboxMessage).where(OutboxMessage.published_at < before))
    return int(result.rowcount or 0)
