"""What happens to alarms: an AlarmEvent arrives (and may open a work order), a duty
engineer acknowledges one, the board is read."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from api.domain.alarms import AlarmState, work_order_for
from api.domain.errors import Conflict
from api.models import Alarm
from api.schemas.alarm import AlarmPublic
from api.schemas.feed import AlarmChange
from api.sites import Sites
from api.store import alarms as alarm_store
from api.store import feed
from api.store.alarms import Outcome
from api.workflows import workorders
from estatewatch.clock import to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import AlarmCommand, AlarmEvent, Severity

BOARD_FIELDS = frozenset(AlarmPublic.model_fields)
BOARD_PAGE = TypeAdapter(list[AlarmPublic])

__all__ = ["Outcome", "acknowledge", "board", "on_alarm_event", "publish", "to_public"]


def on_alarm_event(session: Session, event: AlarmEvent, *, now: datetime, sites: Sites) -> Outcome:
    """An AlarmEvent arrived (any number of times, in any order).

    1. Keep it once; the alarm shows it if it is the newest revision (`store.alarms`).
    2. Put the alarm's new state on the live feed.
    3. Open its work order if `domain.alarms.work_order_for` says so: the first time the
       alarm is seen raised or active, as the site's dispatch policy classifies it.
    """
    recorded = alarm_store.record_event(session, event, now=now)
    if recorded.outcome is not Outcome.APPLIED or recorded.alarm is None:
        return recorded.outcome
    alarm = recorded.alarm
    order_id = publish(session, alarm=alarm, at=now)
    kind = work_order_for(event, has_order=order_id is not None, policy=sites.dispatch(event.site))
    if kind is not None:
        workorders.open_for_alarm(session, alarm=alarm, kind=kind, now=now, sites=sites)
    return Outcome.APPLIED


def to_public(alarm: Alarm, work_order_id: str | None = None) -> AlarmPublic:
    public = AlarmPublic.model_validate(alarm)
    public.work_order_id = work_order_id
    return public


def publish(session: Session, *, alarm: Alarm, at: datetime) -> str | None:
    """Put the alarm's new state on the live feed; returns the id of its work order."""
    session.flush()
    order_id = alarm_store.work_order_of(session, alarm_id=alarm.alarm_id)
    change = AlarmChange(
        site=alarm.site, subject_id=alarm.alarm_id, payload=to_public(alarm, order_id)
    )
    feed.append(session, change, at=at)
    return order_id


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
    alarm_store.request_ack(
        session, alarm=alarm, by=by, note=note, command_id=command.command_id, now=now
    )
    feed.enqueue(
        session, topic=topics.alarm_command(alarm.site, alarm.alarm_id), payload=command, at=now
    )
    publish(session, alarm=alarm, at=now)
    return command


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
    """The alarm board (`store.alarms.board`), validated in one call: the board is the
    API's hottest read."""
    rows, following = alarm_store.board(
        session,
        sites=sites,
        buildings=buildings,
        severities=severities,
        states=states,
        limit=limit,
        offset=offset,
        cursor=cursor,
        fields=BOARD_FIELDS,
    )
    return BOARD_PAGE.validate_python(rows), following
