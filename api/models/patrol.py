"""Patrol scans (live and late-synced) and the scans that could not be accepted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base


class PatrolScanRecord(Base):
    __tablename__ = "patrol_scans"

    scan_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    handheld: Mapped[str] = mapped_column(String(64))
    guard: Mapped[str] = mapped_column(String(64))
    tag_uid: Mapped[str] = mapped_column(String(32))
    checkpoint: Mapped[str] = mapped_column(String(64))
    building: Mapped[str] = mapped_column(String(64))
    scanned_at: Mapped[datetime]
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    synced_late: Mapped[bool] = mapped_column(default=False)
    verified: Mapped[str] = mapped_column(String(16), default="none")
    finding: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (Index("ix_patrol_scans_site_time", "site", "scanned_at"),)


class PatrolExceptionRecord(Base):
    __tablename__ = "patrol_exceptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    handheld: Mapped[str | None] = mapped_column(String(256))
    guard: Mapped[str | None] = mapped_column(String(256))
    tag_uid: Mapped[str | None] = mapped_column(String(256))
    scanned_at: Mapped[datetime | None]
    raw: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_patrol_exceptions_site_time", "site", "received_at"),)
