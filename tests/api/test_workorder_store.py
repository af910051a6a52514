"""Work-order storage against SQLite and PostgreSQL: the lifecycle, SLA flags under
concurrent checkers, and findings from patrol scans."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from api.db import Database
from api.domain.transitions import Action
from api.models import OutboxMessage, PatrolScanRecord, SlaBreach, WorkOrder, WorkOrderLog
from api.schemas.user import UserCreate
from api.sites import Sites
from api.store import workorders
from api.workflows import lifecycle, patrol, sla, users
from api.workflows.alarms import on_alarm_event
from api.workflows.lifecycle import Change
from estatewatch.clock import to_epoch_ms
from estatewatch.contracts.payloads import PatrolScan, stable_id
from tests.api.helpers import PASSWORD, SITE, T0, alarm_event

M = timedelta(minutes=1)


def _setup(db: Database, sites: Sites) -> str:
    with db.write() as session:
        users.create(
            session,
            data=UserCreate(username="tom", password=PASSWORD, role="technician"),
            cost=10,
            now=T0,
        )
        on_alarm_event(session, alarm_event("lift"), now=T0, sites=sites)
    return workorders.order_id_for_alarm("lift")


def _act(
    db: Database, sites: Sites, order_id: str, action: Action, at: timedelta, **change: object
) -> WorkOrder:
    with db.write() as session:
        order = workorders.get(session, order_id=order_id, for_update=True)
        return lifecycle.transition(
            session,
            order=order,
            action=action,
            change=Change(**change),  # type: ignore[arg-type]
            by="dina",
            now=T0 + at,
            sites=sites,
        )


def test_lifecycle_with_escalation(db: Database, sites: Sites) -> None:
    order_id = _setup(db, sites)
    _act(db, sites, order_id, Action.DISPATCH, 5 * M, assignee="tom", contact="1", eta=T0 + 20 * M)
    _act(db, sites, order_id, Action.ACCEPT, 6 * M)
    _act(db, sites, order_id, Action.ARRIVE, 25 * M)
    _act(
        db, sites, order_id, Action.COMPLETE, 40 * M, result="reset", override_reason="reset"
    )  # the alarm is still active: an override
    order = _act(db, sites, order_id, Action.REOPEN, 60 * M, note="stuck again")
    assert (order.state, order.escalation_level, order.revision) == ("dispatched", 1, 7)
    with db.read() as session:
        log = [
            (e.action, e.from_state, e.to_state)
            for e in workorders.log_of(session, order_id=order_id)
        ]
        published = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert log[-2:] == [
        ("reopen", "completed", "dispatched"),
        ("escalate", "dispatched", "dispatched"),
    ]
    assert published == 7  # created, 5 transitions, escalated


def test_concurrent_sla_checkers_flag_each_breach_once(db: Database, sites: Sites) -> None:
    for n in range(10):
        with db.write() as session:
            on_alarm_event(session, alarm_event(f"lift-{n}"), now=T0, sites=sites)
    errors: list[BaseException] = []

    def check() -> None:
        try:
            with db.write() as session:
                sla.check_clocks(session, now=T0 + 31 * M, sites=sites)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with db.read() as session:
        breaches = session.scalar(select(func.count()).select_from(SlaBreach))
        levels = set(session.scalars(select(WorkOrder.escalation_level)))
        flagged = session.scalar(
            select(func.count())
            .select_from(WorkOrderLog)
            .where(WorkOrderLog.action == "sla_breached")
        )
    assert breaches == flagged == 30  # response, dispatch, on_site of each of 10 orders
    assert levels == {3}


def test_a_finding_becomes_one_order_whatever_the_redelivery(db: Database, sites: Sites) -> None:
    scan = PatrolScan(
        site=SITE,
        gateway="gw-harbour-1",
        seq=1,
        scan_id=stable_id("hh-01", "04A1B20012", to_epoch_ms(T0)),
        handheld="hh-01",
        guard="guard-zhang",
        tag_uid="04A1B20012",
        checkpoint="fire-pump-room",
        building="podium",
        scanned_at=to_epoch_ms(T0),
        received_at=to_epoch_ms(T0),
        source="mqtt",
        finding={"description": "Sprinkler valve leaking", "priority": "immediate"},
    )
    for _ in range(3):
        with db.write() as session:
            patrol.on_scan(session, scan, now=T0, sites=sites)
    with db.read() as session:
        orders = list(session.scalars(select(WorkOrder)))
        scans = session.scalar(select(func.count()).select_from(PatrolScanRecord))
    assert scans == 1
    assert [(o.source, o.trade, o.urgency, o.fix_due_at) for o in orders] == [
        ("finding", "fire", "urgent", None)
    ]
