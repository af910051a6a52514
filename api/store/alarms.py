"""Alarms: idempotent ingestion of AlarmEvents, the board, acknowledgements, comments."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.errors import Conflict, NotFound
from api.domain.policy import classify_alarm
from api.models import Alarm, AlarmAction, AlarmEventRecord, WorkOrder
from api.schemas.alarm import OPEN_ALARM_STATES, AlarmPublic, AlarmState
from api.sites import Sites
from api.store import cursor as cursors
from api.store import feed, workorders
from estatewatch.clock import from_epoch_ms, to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import AlarmCommand, AlarmEvent, AlarmEventType, Severity

FEED_KIND = "alarm"
SEVERITY_RANK = {s: rank for rank, s in enumerate(Severity)}  # critical first
BOARD_ORDER = (Alarm.severity_rank, Alarm.raised_at, Alarm.alarm_id)
BOARD_FIELDS = frozenset(AlarmPublic.model_fields) | {"severity_rank"}
BOARD_PAGE = TypeAdapter(list[AlarmPublic])


class Outcome(StrEnum):
    APPLIED = "applied"  # the newest revision: the alarm now shows it
    STALE = "stale"  # kept in the history, older than what the alarm shows
    DUPLICATE = "duplicate"  # this event_id was seen before: nothing happened


def state_of(event: AlarmEvent) -> AlarmState:
    if event.event is AlarmEventType.CLOSED:
        return AlarmState.CLOSED
    if event.active:
        return AlarmState.ACKNOWLEDGED if event.acknowledged else AlarmState.ACTIVE
    return AlarmState.CLOSED if event.acknowledged else AlarmState.CLEARED


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


def apply_alarm_event(
    session: Session, event: AlarmEvent, *, now: datetime, sites: Sites
) -> Outcome:
    """Store one AlarmEvent, whatever how often or in which order it arrives.

    A known `event_id` is a no-op. Otherwise the event joins the alarm's history, and the
    alarm shows it only if its revision is newer than the one shown. The first time an alarm
    is seen raised or active, the site's dispatch policy may open its work order (at most one
    per alarm, enforced by the database)."""
    if session.get(AlarmEventRecord, event.event_id) is not None:
        return Outcome.DUPLICATE
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
        return Outcome.DUPLICATE
    if not newer:
        return Outcome.STALE
    if not created:
        _show(alarm, event, now)
    order_id = publish(session, alarm=alarm, at=now)
    if order_id is None and (event.event is AlarmEventType.RAISED or event.active):
        kind = classify_alarm(sites.dispatch(event.site), event)
        if kind is not None:
            workorders.create_from_alarm(session, alarm=alarm, kind=kind, now=now, sites=sites)
    return Outcome.APPLIED


def to_public(alarm: Alarm, work_order_id: str | None = None) -> AlarmPublic:
    public = AlarmPublic.model_validate(alarm)
    public.work_order_id = work_order_id
    return public


def publish(session: Session, *, alarm: Alarm, at: datetime) -> str | None:
    """Put the alarm's new state on the live feed; returns the id of its work order."""
    session.flush()
    order_id = work_order_of(session, alarm_id=alarm.alarm_id)
    feed.append(
        session,
        kind=FEED_KIND,
        site=alarm.site,
        subject_id=alarm.alarm_id,
        payload=to_public(alarm, order_id),
        at=at,
    )
    return order_id


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
) -> tuple[list[AlarmPublic], str | None]:
    """The alarm board: open alarms (or those in `states`), most severe first, then the
    longest waiting. Returns a page and the cursor of the next one (None: the last page).

    Reads plain columns, not ORM objects, and validates the page in one call: the board is
    the API's hottest read (see bench/api.py)."""
    columns = [c for c in Alarm.__table__.columns if c.name in BOARD_FIELDS]
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
    return BOARD_PAGE.validate_python([dict(r) for r in rows]), following


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


def acknowledge(
    session: Session, *, alarm: Alarm, by: str, note: str, now: datetime
) -> AlarmCommand:
    """Record who acknowledged and when, and send the rules engine an AlarmCommand (through
    the outbox, so it leaves only if this commits). The rules engine's `acknowledged`
    event then updates the alarm itself."""
    if alarm.state == AlarmState.CLOSED:
        raise Conflict(f"alarm {alarm.alarm_id!r} is closed", field="alarm_id")
    if alarm.acknowledged or alarm.ack_requested_by is not None:
        who = alarm.acknowledged_by or alarm.ack_requested_by
        raise Conflict(f"alarm {alarm.alarm_id!r} was already acknowledged by {who}")
    command = AlarmCommand(
        command_id=uuid.uuid4().hex[:20],
        alarm_id=alarm.alarm_id,
        site=alarm.site,
        action="acknowledge",
        by=by,
        at=to_epoch_ms(now),
        note=note,
    )
    alarm.ack_requested_by = by
    alarm.ack_requested_at = now
    alarm.updated_at = now
    session.add(
        AlarmAction(
            alarm_id=alarm.alarm_id,
            kind="acknowledge",
            command_id=command.command_id,
            by=by,
            at=now,
            note=note,
        )
    )
    feed.enqueue(
        session, topic=topics.alarm_command(alarm.site, alarm.alarm_id), payload=command, at=now
    )
    publish(session, alarm=alarm, at=now)
    return command


def comment(session: Session, *, alarm: Alarm, by: str, text: str, now: datetime) -> AlarmAction:
    action = AlarmAction(alarm_id=alarm.alarm_id, kind="comment", by=by, at=now, note=text)
    session.add(action)
    session.flush()
    return action
