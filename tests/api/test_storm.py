"""Alarm storms in the store (issue #23), on SQLite and PostgreSQL: a burst stored in
batches keeps every alarm once, a redelivered batch changes nothing, and a root alarm's
children open no work order until they are released."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from api.db import Database
from api.models import Alarm, AlarmEventRecord, FeedEvent, OutboxMessage, WorkOrder, WorkOrderLog
from api.sites import Sites
from api.store import alarms as alarm_store
from api.workflows.alarms import Outcome, on_alarm_events
from estatewatch.contracts.payloads import AlarmEvent
from tests.api.helpers import T0, alarm_event

BATCH = 100


def _counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (
                Alarm,
                AlarmEventRecord,
                WorkOrder,
                WorkOrderLog,
                FeedEvent,
                OutboxMessage,
            )
        }


def _store(db: Database, sites: Sites, events: list[AlarmEvent]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for start in range(0, len(events), BATCH):
        with db.write() as session:
            outcomes += on_alarm_events(session, events[start : start + BATCH], now=T0, sites=sites)
    return outcomes


def test_a_storm_stores_every_alarm_once_and_a_redelivery_changes_nothing(
    db: Database, sites: Sites
) -> None:
    storm = [
        alarm_event(f"storm-{n}", severity="major", category="pressure_loss") for n in range(500)
    ]
    storm += [alarm_event(f"storm-{n}", 2, "updated") for n in range(0, 500, 2)]
    storm.insert(50, storm[10])  # a repeat inside the batch
    outcomes = _store(db, sites, storm)
    assert outcomes.count(Outcome.APPLIED) == 750
    assert outcomes.count(Outcome.DUPLICATE) == 1
    counts = _counts(db)
    assert counts["alarms"] == 500
    assert counts["alarm_events"] == 750
    assert counts["work_orders"] == 500  # one per alarm, however often it came
    assert counts["work_order_log"] == 500
    assert counts["feed_events"] == 750 + 500  # each applied revision, each new order
    assert counts["outbox"] == 500
    with db.read() as session:
        shown = session.scalar(select(Alarm.revision).where(Alarm.alarm_id == "storm-0"))
    assert shown == 2

    again = _store(db, sites, storm)  # the broker redelivers all of it
    assert set(again) == {Outcome.DUPLICATE}
    assert _counts(db) == counts


def test_an_older_revision_after_a_newer_one_is_kept_but_not_shown(
    db: Database, sites: Sites
) -> None:
    _store(db, sites, [alarm_event("late", 3, "updated"), alarm_event("late", 1)])
    with db.read() as session:
        alarm = session.get(Alarm, "late")
        assert alarm is not None
        assert alarm.revision == 3
        assert len(alarm_store.history(session, alarm_id="late")) == 2


def _child(revision: int, event: str, **fields: Any) -> AlarmEvent:
    return alarm_event(
        "lift-child", revision, event, category="entrapment", severity="critical", **fields
    )


def test_a_root_s_children_are_kept_under_it_and_released_when_it_clears(
    db: Database, sites: Sites
) -> None:
    root = alarm_event(
        "outage", category="outage", severity="critical", target="power-room-1",
        device_kind="power_room", building="podium", room="power-room-1",
    )  # fmt: skip
    child = _child(1, "raised", parent_alarm_id="outage")
    _store(db, sites, [root, child])
    with db.read() as session:
        assert session.scalar(select(WorkOrder.alarm_id)) == "outage"  # the root's only
        assert [c.alarm_id for c in alarm_store.children_of(session, alarm_id="outage")] == [
            "lift-child"
        ]
        board, _ = alarm_store.board(session, fields=frozenset({"alarm_id"}))
        assert [r["alarm_id"] for r in board] == ["outage"]  # the child is under its root

    released = _child(2, "updated", details={"released_from": "outage"})
    _store(db, sites, [released])
    with db.read() as session:
        orders = set(session.scalars(select(WorkOrder.alarm_id)))
        child_row = session.get(Alarm, "lift-child")
    assert orders == {"outage", "lift-child"}  # an alarm in its own right now
    assert child_row is not None
    assert child_row.parent_alarm_id is None
