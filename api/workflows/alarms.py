"""What happens to alarms: an AlarmEvent arrives (and may open a work order), a duty
engineer acknowledges one, the board is read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from api.domain.alarms import SEVERITY_RANK, AlarmState, state_of, work_order_for
from api.domain.errors import Conflict
from api.models import Alarm, WorkOrder
from api.schemas.alarm import AlarmPublic
from api.schemas.feed import AlarmChange, WorkOrderChange
from api.sites import Sites
from api.store import alarms as alarm_store
from api.store import batch, feed
from api.store.alarms import Outcome
from api.workflows import workorders
from api.workflows.order_events import event_of
from estatewatch.clock import from_epoch_ms, to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    AlarmCommand,
    AlarmEvent,
    Severity,
    WorkOrderEvent,
    WorkOrderEventType,
)

BOARD_FIELDS = frozenset(AlarmPublic.model_fields)
BOARD_PAGE = TypeAdapter(list[AlarmPublic])

__all__ = [
    "Outcome",
    "acknowledge",
    "board",
    "on_alarm_event",
    "on_alarm_events",
    "publish",
    "to_public",
]


def on_alarm_event(session: Session, event: AlarmEvent, *, now: datetime, sites: Sites) -> Outcome:
    """An AlarmEvent arrived (any number of times, in any order): `on_alarm_events` of one."""
    return on_alarm_events(session, [event], now=now, sites=sites)[0]


def on_alarm_events(
    session: Session, events: Sequence[AlarmEvent], *, now: datetime, sites: Sites
) -> list[Outcome]:
    """A batch of AlarmEvents arrived (any of them any number of times, in any order);
    returns what happened to each, in order.

    1. Keep each event once (a known `event_id` is DUPLICATE); an alarm shows its newest
       revision (an older one is kept in its history as STALE).
    2. Put each applied revision of an alarm on the live feed, in order.
    3. Open an alarm's work order if `domain.alarms.work_order_for` says so: the first time
       the alarm is seen raised or active and explained by no root alarm, as the site's
       dispatch policy classifies it; the order's creation goes on the feed and the outbox.

    In SQLAlchemy Core, one statement per table for the whole batch (`store.batch`), each
    idempotent by key: a redelivered batch changes nothing.
    """
    outcomes = [Outcome.DUPLICATE] * len(events)
    known = batch.known_events(session, (e.event_id for e in events))
    fresh: dict[str, int] = {}
    for index, event in enumerate(events):
        if event.event_id not in known and event.event_id not in fresh:
            fresh[event.event_id] = index
    if not fresh:
        return outcomes
    held = batch.held_alarms(session, (events[i].alarm_id for i in fresh.values()))
    shown = {alarm_id: int(row["revision"]) for alarm_id, row in held.items()}
    applied: list[AlarmEvent] = []
    newest: dict[str, AlarmEvent] = {}
    event_rows = []
    for index in fresh.values():
        event = events[index]
        newer = event.revision > shown.get(event.alarm_id, 0)
        if newer:
            shown[event.alarm_id] = event.revision
            newest[event.alarm_id] = event
            applied.append(event)
        outcomes[index] = Outcome.APPLIED if newer else Outcome.STALE
        event_rows.append(_event_row(event, applied=newer, now=now))
    batch.upsert_alarms(session, [_alarm_row(e, now) for e in newest.values()])
    inserted = batch.insert_new(session, batch.EVENTS, event_rows)
    for event_id, index in fresh.items():
        if event_id not in inserted:  # another consumer stored it a moment ago
            outcomes[index] = Outcome.DUPLICATE
    applied = [e for e in applied if e.event_id in inserted]
    _publish_applied(session, applied, held=held, now=now, sites=sites)
    batch.forget(session, set(newest))
    return outcomes


def _publish_applied(
    session: Session,
    applied: list[AlarmEvent],
    *,
    held: dict[str, dict[str, Any]],
    now: datetime,
    sites: Sites,
) -> None:
    """Feed entries of the applied revisions, in order, and the work orders they open, each
    with its log entry, its feed entry and its WorkOrderEvent in the outbox."""
    orders = batch.orders_of(session, (e.alarm_id for e in applied))
    opened: dict[str, WorkOrder] = {}
    for event in applied:
        has_order = event.alarm_id in orders or event.alarm_id in opened
        kind = work_order_for(event, has_order=has_order, policy=sites.dispatch(event.site))
        if kind is not None:
            opened[event.alarm_id] = workorders.order_for_alarm_event(event, kind=kind, now=now)
    rows = [batch.order_row(o) for o in opened.values()]
    created = batch.insert_new(session, batch.ORDERS, rows)
    orders |= {alarm_id: order.id for alarm_id, order in opened.items()}
    entries: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    for event in applied:
        public = _public_of(event, held.get(event.alarm_id), orders.get(event.alarm_id), now)
        entries.append(_entry(AlarmChange, event.site, event.alarm_id, public, now))
        order = opened.pop(event.alarm_id, None)
        if order is None or order.id not in created:
            continue
        payload = event_of(
            order, WorkOrderEventType.CREATED, by=order.created_by, at=now, note="", sites=sites
        )
        entries.append(_entry(WorkOrderChange, order.site, order.id, payload, now))
        logs.append(workorders.creation_log(order))
        outbox.append(
            {
                "topic": topics.workorder(order.site, order.id),
                "payload": payload.model_dump_json(),
                "created_at": now,
            }
        )
    batch.insert_all(session, batch.ORDER_LOG, logs)
    batch.append_feed(session, entries)
    batch.enqueue_all(session, outbox)


def _entry(
    change: type[AlarmChange] | type[WorkOrderChange],
    site: str,
    subject_id: str,
    payload: AlarmPublic | WorkOrderEvent,
    at: datetime,
) -> dict[str, Any]:
    kind = change.model_fields["kind"].default
    return {
        "at": at,
        "kind": kind,
        "site": site,
        "subject_id": subject_id,
        "payload": payload.model_dump(mode="json"),
    }


def _event_row(event: AlarmEvent, *, applied: bool, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "alarm_id": event.alarm_id,
        "revision": event.revision,
        "event": event.event.value,
        "ts": from_epoch_ms(event.ts),
        "received_at": now,
        "applied": applied,
        "payload": event.model_dump(mode="json"),
    }


def _alarm_row(event: AlarmEvent, now: datetime) -> dict[str, Any]:
    """The alarm's columns showing `event` (its newest revision)."""
    return {
        "alarm_id": event.alarm_id,
        "site": event.site,
        "rule": event.rule,
        "category": event.category,
        "severity": event.severity.value,
        "severity_rank": SEVERITY_RANK[event.severity],
        "target_kind": event.target_kind.value,
        "target": event.target,
        "device_kind": event.device_kind.value if event.device_kind else None,
        "building": event.building,
        "room": event.room,
        "title": event.title,
        "message": event.message,
        "title_zh": event.title_zh,
        "message_zh": event.message_zh,
        "state": state_of(event).value,
        "last_event": event.event.value,
        "revision": event.revision,
        "raised_at": from_epoch_ms(event.raised_at),
        "onset_at": from_epoch_ms(
            event.onset_at if event.onset_at is not None else event.raised_at
        ),
        "last_event_at": from_epoch_ms(event.ts),
        "active": event.active,
        "acknowledged": event.acknowledged,
        "acknowledged_by": event.acknowledged_by,
        "cleared_at": from_epoch_ms(event.cleared_at) if event.cleared_at else None,
        "occurrences": event.occurrences,
        "value": event.value,
        "details": dict(event.details),
        "updated_at": now,
        "parent_alarm_id": event.parent_alarm_id,
    }


def _public_of(
    event: AlarmEvent, held: dict[str, Any] | None, order_id: str | None, now: datetime
) -> AlarmPublic:
    """The alarm as the board shows it at `event`'s revision."""
    row = _alarm_row(event, now)
    row["ack_requested_by"] = held["ack_requested_by"] if held else None
    row["ack_requested_at"] = held["ack_requested_at"] if held else None
    row["work_order_id"] = order_id
    return AlarmPublic.model_validate(row)


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
    children: bool = False,
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
        children=children,
    )
    return BOARD_PAGE.validate_python(rows), following
