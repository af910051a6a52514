"""Alarms in the database: each AlarmEvent kept once, the alarm showing its newest
revision, the board query, acknowledgements and comments as rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.alarms import OPEN_ALARM_STATES, SEVERITY_RANK, AlarmState, state_of
from api.domain.errors import NotFound
from api.models import Alarm, AlarmAction, AlarmEventRecord, WorkOrder
from api.store import cursor as cursors
from estatewatch.clock import from_epoch_ms
from estatewatch.contracts.payloads import AlarmEvent, Severity

BOARD_ORDER = (Alarm.severity_rank, Alarm.raised_at, Alarm.alarm_id)


class Outcome(StrEnum):
    APPLIED = "applied"  # the newest revision: the alarm now shows it
    STALE = "stale"  # kept in the history, older than what the alarm shows
    DUPLICATE = "duplicate"  # this event_id was seen before: nothing happened


def _show(alarm: Alarm, event: AlarmEvent, now: datetime) -> None:
    """Make `alarm` show `event` (its newest revision)."""
    alarm.site = event.site
    alarm.rule = event.rule
    alarm.category = event.category
    alarm.severity = event.severity
    alarm.severity_rank = SEVERITY_RANK[event.severity]
    alarm.target_kind = event.target_kind
    alarm.target = event.target
    alarm.device_kind = event.device_kind
    alarm.building = event.building
    alarm.room = event.room
    alarm.title = event.title
    alarm.message = event.message
    alarm.state = state_of(event)
    alarm.last_event = event.event
    alarm.revision = event.revision
    alarm.raised_at = from_epoch_ms(event.raised_at)
    onset = event.onset_at if event.onset_at is not None else event.raised_at
    alarm.onset_at = from_epoch_ms(onset)
    alarm.last_event_at = from_epoch_ms(event.ts)
    alarm.active = event.active
    alarm.acknowledged = event.acknowledged
    alarm.acknowledged_by = event.acknowledged_by
    alarm.cleared_at = from_epoch_ms(event.cleared_at) if event.cleared_at else None
    alarm.occurrences = event.occurrences
    alarm.value = event.value
    alarm.details = dict(event.details)
    alarm.updated_at = now


def _lock_or_create(session: Session, event: AlarmEvent, now: datetime) -> tuple[Alarm, bool]:
    alarm = session.get(Alarm, event.alarm_id, with_for_update=True)
    if alarm is not None:
        return alarm, False
    alarm = Alarm(alarm_id=event.alarm_id)
    _show(alarm, event, now)
    try:
        with session.begin_nested():
            session.add(alarm)
    except IntegrityError:  # another consumer created it a moment ago: wait for it
        existing = session.get(Alarm, event.alarm_id, with_for_update=True)
        if existing is None:
            raise
        return existing, False
    return alarm, True


@dataclass(frozen=True, slots=True)
class Recorded:
    outcome: Outcome
    alarm: Alarm | None
    """The alarm, now showing the event (APPLIED), or as it was (STALE); None if DUPLICATE."""


def record_event(session: Session, event: AlarmEvent, *, now: datetime) -> Recorded:
    """Keep one AlarmEvent, whatever how often or in which order it arrives.

    A known `event_id` is a no-op. Otherwise the event joins the alarm's history, and the
    alarm shows it only if its revision is newer than the one shown."""
    if session.get(AlarmEventRecord, event.event_id) is not None:
        return Recorded(Outcome.DUPLICATE, None)
    alarm, created = _lock_or_create(session, event, now)
    newer = created or event.revision > alarm.revision
    try:
        with session.begin_nested():
            session.add(
                AlarmEventRecord(
                    event_id=event.event_id,
                    alarm_id=event.alarm_id,
                    revision=event.revision,
                    event=event.event,
                    ts=from_epoch_ms(event.ts),
                    received_at=now,
                    applied=newer,
                    payload=event.model_dump(mode="json"),
                )
            )
    except IntegrityError:  # the same event, delivered twice at once to two consumers
        return Recorded(Outcome.DUPLICATE, None)
    if not newer:
        return Recorded(Outcome.STALE, alarm)
    if not created:
        _show(alarm, event, now)
    session.flush()
    return Recorded(Outcome.APPLIED, alarm)


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
