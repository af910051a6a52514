"""Alarm ingestion against SQLite and PostgreSQL: idempotent by event_id, ordered by
revision, and exactly one work order per alarm."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from api.db import Database
from api.domain.alarms import AlarmState
from api.models import Alarm, AlarmEventRecord, FeedEvent, OutboxMessage, WorkOrder
from api.sites import Sites
from api.store import alarms
from api.workflows import alarms as alarm_flows
from api.workflows.alarms import Outcome, on_alarm_event
from tests.api.helpers import T0, alarm_event


def _count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _apply(db: Database, sites: Sites, event, minutes: float = 0) -> Outcome:  # type: ignore[no-untyped-def]
    with db.write() as session:
        return on_alarm_event(session, event, now=T0 + timedelta(minutes=minutes), sites=sites)


def test_the_same_event_three_times_is_stored_once(db: Database, sites: Sites) -> None:
    event = alarm_event()
    outcomes = [_apply(db, sites, event) for _ in range(3)]
    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert _count(db, AlarmEventRecord) == 1
    assert _count(db, WorkOrder) == 1
    assert _count(db, FeedEvent) == 2  # the alarm and its work order, once each
    with db.read() as session:
        topics = list(session.scalars(select(OutboxMessage.topic)))
    assert len(topics) == 1
    assert topics[0].startswith("ew/v1/harbour-view/workorder/")


def test_an_older_revision_joins_the_history_but_does_not_rewind(
    db: Database, sites: Sites
) -> None:
    raised = alarm_event(revision=1)
    cleared = alarm_event(revision=2, event="cleared", active=False)
    assert _apply(db, sites, cleared) is Outcome.APPLIED  # arrives first
    assert _apply(db, sites, raised) is Outcome.STALE
    with db.read() as session:
        alarm = alarms.get(session, alarm_id="alarm-1")
        history = alarms.history(session, alarm_id="alarm-1")
    assert (alarm.revision, alarm.state) == (2, AlarmState.CLEARED)
    assert [(e.revision, e.applied) for e in history] == [(1, False), (2, True)]


def test_revisions_move_the_alarm_through_its_states(db: Database, sites: Sites) -> None:
    steps = [
        alarm_event(revision=1),
        alarm_event(revision=2, event="acknowledged", acknowledged=True, acknowledged_by="dina"),
        alarm_event(revision=3, event="cleared", active=False, acknowledged=True),
        alarm_event(revision=4, event="closed", active=False, acknowledged=True),
    ]
    states = []
    for event in steps:
        _apply(db, sites, event)
        with db.read() as session:
            states.append(alarms.get(session, alarm_id="alarm-1").state)
    assert states == ["active", "acknowledged", "closed", "closed"]
    assert _count(db, WorkOrder) == 1


def test_policy_decides_which_alarms_make_orders(db: Database, sites: Sites) -> None:
    _apply(db, sites, alarm_event("warn", severity="warning", category="battery_low"))
    _apply(
        db,
        sites,
        alarm_event("burst", severity="major", category="pipe_burst", device_kind="water_pump_set"),
    )
    _apply(db, sites, alarm_event("lift", category="entrapment"))
    with db.read() as session:
        orders = {o.alarm_id: o for o in session.scalars(select(WorkOrder))}
    assert set(orders) == {"burst", "lift"}
    assert (orders["lift"].trade, orders["lift"].urgency) == ("elevator", "urgent")
    assert (orders["burst"].trade, orders["burst"].urgency) == ("water_electric", "urgent")
    assert orders["lift"].reported_at == T0  # the SLA clock starts at the raise


def test_concurrent_consumers_make_one_order(db: Database, sites: Sites) -> None:
    """Six threads deliver the same raise and its update at once, as a shared subscription
    after a reconnect might: one alarm, two history entries, one order."""
    events = [alarm_event(revision=1), alarm_event(revision=2, event="updated", occurrences=2)]
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def consume(event) -> None:  # type: ignore[no-untyped-def]
        try:
            outcomes.append(_apply(db, sites, event))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(events[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert outcomes.count(Outcome.DUPLICATE) == 4
    assert _count(db, Alarm) == 1
    assert _count(db, AlarmEventRecord) == 2
    assert _count(db, WorkOrder) == 1
    with db.read() as session:
        assert alarms.get(session, alarm_id="alarm-1").revision == 2


def test_acknowledge_records_who_and_queues_a_command(db: Database, sites: Sites) -> None:
    _apply(db, sites, alarm_event())
    with db.write() as session:
        alarm = alarms.get(session, alarm_id="alarm-1")
        command = alarm_flows.acknowledge(session, alarm=alarm, by="dina", note="on my way", now=T0)
    with db.read() as session:
        alarm = alarms.get(session, alarm_id="alarm-1")
        outbox = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        actions = alarms.actions(session, alarm_id="alarm-1")
    assert (alarm.ack_requested_by, alarm.ack_requested_at) == ("dina", T0)
    assert outbox[-1].topic == "ew/v1/harbour-view/alarm-command/alarm-1"
    assert command.command_id in outbox[-1].payload
    assert [(a.kind, a.by, a.note) for a in actions] == [("acknowledge", "dina", "on my way")]
