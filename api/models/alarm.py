"""Alarms as the rules engine reports them, their full event history and people's actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, BigId


class Alarm(Base):
    """The latest state of one alarm: the newest revision applied."""

    __tablename__ = "alarms"

    alarm_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(16))
    severity_rank: Mapped[int] = mapped_column(doc="0 = critical; sorts the board")
    target_kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(256))
    device_kind: Mapped[str | None] = mapped_column(String(32))
    building: Mapped[str | None] = mapped_column(String(64))
    room: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256))
    message: Mapped[str] = mapped_column(Text, default="")
    title_zh: Mapped[str | None] = mapped_column(String(256), doc="None: only `title`")
    message_zh: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), doc="active, acknowledged, cleared, closed")
    last_event: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int]
    raised_at: Mapped[datetime]
    onset_at: Mapped[datetime | None] = mapped_column(
        doc="when the fault began (before the rule's `for`); durations and SLA clocks run from it"
    )
    last_event_at: Mapped[datetime]
    active: Mapped[bool]
    acknowledged: Mapped[bool] = mapped_column(default=False)
    acknowledged_by: Mapped[str | None] = mapped_column(String(256))
    cleared_at: Mapped[datetime | None]
    occurrences: Mapped[int] = mapped_column(default=1)
    value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ack_requested_by: Mapped[str | None] = mapped_column(String(64))
    ack_requested_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    parent_alarm_id: Mapped[str | None] = mapped_column(
        String(256), index=True, doc="the root alarm that explains this one (inhibited)"
    )

    __table_args__ = (
        Index("ix_alarms_board", "site", "state", "severity_rank", "raised_at"),
        # The board's own order over the open alarms only: most alarms are closed, so the
        # board reads its page straight off this index instead of sorting every open row.
        Index(
            "ix_alarms_open_board",
            "severity_rank",
            "raised_at",
            "alarm_id",
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
        Index("ix_alarms_building", "building"),
    )


class AlarmEventRecord(Base):
    """Every AlarmEvent received, applied or not; `event_id` makes a redelivery a no-op."""

    __tablename__ = "alarm_events"

    event_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarms.alarm_id"), index=True)
    revision: Mapped[int]
    event: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime]
    received_at: Mapped[datetime]
    applied: Mapped[bool] = mapped_column(doc="False: older than the revision already held")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class AlarmAction(Base):
    """What a person did to an alarm here: an acknowledgement request or a comment."""

    __tablename__ = "alarm_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarms.alarm_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="acknowledge or comment")
    command_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
