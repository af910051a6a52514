"""The change feed behind the live stream, and the outbox of MQTT messages to publish."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, BigId


class Counter(Base):
    """Named counters. Taking the next value locks the row until commit, so feed sequence
    numbers become visible in order: a reader that saw `n` never later finds `n - 1`."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class FeedEvent(Base):
    """One change a dashboard should see; `seq` is the resume token."""

    __tablename__ = "feed_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="alarm, workorder, device_status")
    site: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(256))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class OutboxMessage(Base):
    """An MQTT message written in the same transaction as the change it reports, published
    (and marked) later: a commit without its message, or a message without its commit,
    cannot happen."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)
