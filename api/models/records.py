"""The records a property company keeps: signed shift handovers (交接班) and the notices
sent when a shift ended without one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base


class Handover(Base):
    """One shift's handover: the report as of the shift's end, filed (signed) by the
    outgoing duty engineer and signed by the incoming one; frozen once both have."""

    __tablename__ = "handovers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    shift: Mapped[str] = mapped_column(String(64))
    date: Mapped[str] = mapped_column(String(10), doc="local date the shift started on")
    start: Mapped[datetime]
    end: Mapped[datetime]
    revision: Mapped[int] = mapped_column(default=1)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the report's canonical JSON")
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime]
    filed_note: Mapped[str] = mapped_column(Text, default="")
    signed_by: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None]
    signed_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("site", "shift", "date", name="uq_handovers_shift"),)

    @property
    def frozen(self) -> bool:
        return self.signed_by is not None


class HandoverNotice(Base):
    """A shift that ended without a signed handover, told to the supervisors once."""

    __tablename__ = "handover_notices"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    shift: Mapped[str] = mapped_column(String(64), primary_key=True)
    date: Mapped[str] = mapped_column(String(10), primary_key=True)
    noticed_at: Mapped[datetime]
    people: Mapped[list[str]] = mapped_column(JSON, default=list)
