"""Alarms in the database: each AlarmEvent kept once, the alarm showing its newest
revision, the board query, acknowledgements and comments as rows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.alarms import OPEN_ALARM_STATES, AlarmState
from api.domain.errors import NotFound
from api.models import Alarm, AlarmAction, AlarmEventRecord, WorkOrder
from api.store import cursor as cursors
from estatewatch.contracts.payloads import Severity

BOARD_ORDER = (Alarm.severity_rank, Alarm.raised_at, Alarm.alarm_id)


class Outcome(StrEnum):
    APPLIED = "applied"  # the newest revision: the alarm now shows it
    STALE = "stale"  # kept in the history, older than what the alarm shows
    DUPLICATE = "duplicate"  # this event_id was seen before: nothing happened


def board(
    session: Session,
    *,
    sites: list[str] | None = None,
    buildings: list[str] | None = None,
    severities: list[Severity] | None = None,
    states: list[AlarmState] | None = None,
    limit: int = 500,
    offset: int = 0,
    cursor: str | None = None,
    fields: frozenset[str],
    children: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """The alarm board: open alarms (or those in `states`), most severe first, then the
    longest waiting, as rows of the columns named in `fields` and `work_order_id`. Returns a
    page and the cursor of the next one (None: the last page).

    Reads plain columns, not ORM objects: the board is the API's hottest read (see
    bench/api.py)."""
    columns = [c for c in Alarm.__table__.columns if c.name in fields | {"severity_rank"}]
    query = select(*columns, WorkOrder.id.label("work_order_id")).select_from(Alarm)
    query = query.outerjoin(WorkOrder, WorkOrder.alarm_id == Alarm.alarm_id)
    wanted = [str(s) for s in states or OPEN_ALARM_STATES]
    if AlarmState.CLOSED not in wanted:
        # Lets the database use the partial index of open alarms (ix_alarms_open_board).
        query = query.where(Alarm.state != AlarmState.CLOSED)
    query = query.where(Alarm.state.in_(wanted))
    if not children:  # a root alarm's children are shown under it, not beside it
        query = query.where(Alarm.parent_alarm_id.is_(None))
    if sites:
        query = query.where(Alarm.site.in_(sites))
    if buildings:
        query = query.where(Alarm.building.in_(buildings))
    if severities:
        query = query.where(Alarm.severity.in_([str(s) for s in severities]))
    if cursor is not None:
        key = cursors.decode(cursor, (int, datetime, str))
        query = query.where(cursors.after(BOARD_ORDER, key))
    query = query.order_by(*BOARD_ORDER)
    rows = session.execute(query.limit(limit).offset(offset)).mappings().all()
    following = None
    if len(rows) == limit:
        last = rows[-1]
        following = cursors.encode((last["severity_rank"], last["raised_at"], last["alarm_id"]))
    return [dict(r) for r in rows], following


def get(session: Session, *, alarm_id: str, for_update: bool = False) -> Alarm:
    alarm = session.get(Alarm, alarm_id, with_for_update=for_update)
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id!r}", field="alarm_id")
    return alarm


def children_of(session: Session, *, alarm_id: str) -> list[Alarm]:
    """The alarms a root alarm explains (or explained), the first raised first."""
    query = select(Alarm).where(Alarm.parent_alarm_id == alarm_id)
    return list(session.scalars(query.order_by(Alarm.raised_at, Alarm.alarm_id)))


def work_order_of(session: Session, *, alarm_id: str) -> str | None:
    return session.scalar(select(WorkOrder.id).where(WorkOrder.alarm_id == alarm_id))


def history(session: Session, *, alarm_id: str) -> list[AlarmEventRecord]:
    query = select(AlarmEventRecord).where(AlarmEventRecord.alarm_id == alarm_id)
    return list(session.scalars(query.order_by(AlarmEventRecord.revision)))


def actions(session: Session, *, alarm_id: str) -> list[AlarmAction]:
    query = select(AlarmAction).where(AlarmAction.alarm_id == alarm_id)
    return list(session.scalars(query.order_by(AlarmAction.id)))


def request_ack(
    session: Session, *, alarm: Alarm, by: str, note: str, command_id: str, now: datetime
) -> None:
    """Record that `by` asked the rules engine to acknowledge `alarm`."""
    alarm.ack_requested_by = by
    alarm.ack_requested_at = now
    alarm.updated_at = now
    session.add(
        AlarmAction(
            alarm_id=alarm.alarm_id,
            kind="acknowledge",
            command_id=command_id,
            by=by,
            at=now,
            note=note,
        )
    )


def comment(session: Session, *, alarm: Alarm, by: str, text: str, now: datetime) -> AlarmAction:
    action = AlarmAction(alarm_id=alarm.alarm_id, kind="comment", by=by, at=now, note=text)
    session.add(action)
    session.flush()
    return action
