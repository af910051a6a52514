"""The duty roster as edited through the API (it replaces the site file's `roster`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, BigId


class RosterEntryRecord(Base):
    """`person` works `shift` on `weekdays` as `role` at `site`."""

    __tablename__ = "duty_roster"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    person: Mapped[str] = mapped_column(String(64))
    shift: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_duty_roster_site", "site"),)
