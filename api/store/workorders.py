"""Work orders: creation from alarms, findings and by hand (each idempotent where it has a
natural key), queries, edits and comments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.errors import Conflict, NotFound
from api.domain.policy import Classification, department_of
from api.domain.transitions import OPEN_STATES
from api.models import Alarm, WorkOrder, WorkOrderLog
from api.schemas.workorder import WorkOrderCreate, WorkOrderUpdate
from api.sites import Sites
from api.store import cursor as cursors
from api.store.workorder_events import record
from estatewatch.contracts.payloads import (
    WorkOrderEventType,
    WorkOrderSource,
    WorkOrderState,
    stable_id,
)

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Created:
    order: WorkOrder
    created: bool


def order_id_for_alarm(alarm_id: str) -> str:
    return stable_id("workorder", "alarm", alarm_id)


def order_id_for_scan(scan_id: str) -> str:
    return stable_id("workorder", "finding", scan_id)


def insert_once(session: Session, order: WorkOrder, *, sites: Sites) -> Created:
    """Insert `order` unless an order with its id (a stable id from the alarm or scan)
    exists; under a race the database's unique constraints decide, and the loser returns
    the winner's order."""
    existing = session.get(WorkOrder, order.id)
    if existing is not None:
        return Created(existing, created=False)
    try:
        with session.begin_nested():
            session.add(order)
            record(
                session,
                order,
                event=WorkOrderEventType.CREATED,
                action="create",
                from_state=None,
                by=order.created_by,
                at=order.created_at,
                sites=sites,
            )
    except IntegrityError:
        existing = session.get(WorkOrder, order.id, populate_existing=True)
        if existing is None:
            raise
        return Created(existing, created=False)
    return Created(order, created=True)


def new_order(**fields: Any) -> WorkOrder:
    """A work order in state `new`, at revision 1."""
    at = fields["created_at"]
    return WorkOrder(
        state=WorkOrderState.NEW,
        revision=1,
        escalation_level=0,
        updated_at=at,
        parts=[],
        photo_refs=[],
        **fields,
    )


def create_from_alarm(
    session: Session, *, alarm: Alarm, kind: Classification, now: datetime, sites: Sites
) -> Created:
    """The one order of this alarm, created if it does not exist yet."""
    order = new_order(
        id=order_id_for_alarm(alarm.alarm_id),
        site=alarm.site,
        source=WorkOrderSource.ALARM,
        alarm_id=alarm.alarm_id,
        category=alarm.category,
        title=alarm.title,
        description=alarm.message,
        trade=kind.trade,
        department=kind.department,
        urgency=kind.urgency,
        building=alarm.building,
        device=alarm.target if alarm.target_kind == "device" else None,
        location=alarm.room or "",
        reported_at=alarm.raised_at,
        created_at=now,
        created_by=SYSTEM,
    )
    return insert_once(session, order, sites=sites)


def create_from_finding(
    session: Session,
    *,
    scan_id: str,
    site: str,
    kind: Classification,
    description: str,
    priority: str,
    location: str,
    building: str,
    reported_at: datetime,
    due_at: datetime | None,
    photo_refs: list[str],
    by: str,
    now: datetime,
    sites: Sites,
) -> Created:
    """The one order of a guard's finding (a scan carries at most one)."""
    order = new_order(
        id=order_id_for_scan(scan_id),
        site=site,
        source=WorkOrderSource.FINDING,
        scan_id=scan_id,
        category="finding",
        finding_priority=priority,
        title=description.splitlines()[0][:200],
        description=description,
        trade=kind.trade,
        department=kind.department,
        urgency=kind.urgency,
        building=building,
        location=location,
        reported_at=reported_at,
        fix_due_at=due_at,
        created_at=now,
        created_by=by,
    )
    order.photo_refs = list(photo_refs)
    return insert_once(session, order, sites=sites)


def create_manual(
    session: Session, *, data: WorkOrderCreate, by: str, now: datetime, sites: Sites
) -> WorkOrder:
    order = new_order(
        id=uuid.uuid4().hex[:20],
        site=data.site,
        source=data.source,
        category=data.source,
        title=data.title,
        description=data.description,
        trade=data.trade,
        department=data.department or department_of(data.trade),
        urgency=data.urgency,
        building=data.building,
        device=data.device,
        location=data.location,
        requester_name=data.requester_name,
        requester_contact=data.requester_contact,
        reported_at=data.reported_at or now,
        created_at=now,
        created_by=by,
    )
    return insert_once(session, order, sites=sites).order


def get(session: Session, *, order_id: str, for_update: bool = False) -> WorkOrder:
    order = session.get(WorkOrder, order_id, with_for_update=for_update)
    if order is None:
        raise NotFound(f"no work order {order_id!r}", field="order_id")
    return order


def list_orders(
    session: Session,
    *,
    site: str | None = None,
    states: list[WorkOrderState] | None = None,
    open_only: bool = False,
    assignee: str | None = None,
    urgency: str | None = None,
    limit: int = 200,
    offset: int = 0,
    cursor: str | None = None,
) -> tuple[list[WorkOrder], str | None]:
    """The queue, urgent first, then the longest waiting; and the next page's cursor."""
    query = select(WorkOrder)
    if site is not None:
        query = query.where(WorkOrder.site == site)
    if states:
        query = query.where(WorkOrder.state.in_([str(s) for s in states]))
    elif open_only:
        query = query.where(WorkOrder.state.in_([str(s) for s in OPEN_STATES]))
    if assignee is not None:
        query = query.where(WorkOrder.assignee == assignee)
    if urgency is not None:
        query = query.where(WorkOrder.urgency == urgency)
    if cursor is not None:
        last_urgency, *rest = cursors.decode(cursor, (str, datetime, str))
        query = query.where(
            or_(
                WorkOrder.urgency < last_urgency,
                and_(
                    WorkOrder.urgency == last_urgency,
                    cursors.after((WorkOrder.reported_at, WorkOrder.id), tuple(rest)),
                ),
            )
        )
    query = query.order_by(WorkOrder.urgency.desc(), WorkOrder.reported_at, WorkOrder.id)
    orders = list(session.scalars(query.limit(limit).offset(offset)))
    following = None
    if len(orders) == limit:
        last = orders[-1]
        following = cursors.encode((last.urgency, last.reported_at, last.id))
    return orders, following


def log_of(session: Session, *, order_id: str) -> list[WorkOrderLog]:
    query = select(WorkOrderLog).where(WorkOrderLog.order_id == order_id)
    return list(session.scalars(query.order_by(WorkOrderLog.id)))


def update(
    session: Session,
    *,
    order: WorkOrder,
    data: WorkOrderUpdate,
    by: str,
    now: datetime,
    sites: Sites,
) -> WorkOrder:
    if order.state not in OPEN_STATES:
        raise Conflict(f"work order {order.id!r} is {order.state}: it can no longer change")
    changes = data.model_dump(exclude_unset=True)
    before = {k: getattr(order, k) for k in changes}
    for key, value in changes.items():
        setattr(order, key, value)
    if "trade" in changes and "department" not in changes and data.trade is not None:
        order.department = department_of(data.trade)
    record(
        session,
        order,
        event=WorkOrderEventType.UPDATED,
        action="update",
        from_state=order.state,
        by=by,
        at=now,
        sites=sites,
        data={"before": _jsonable(before), "after": _jsonable(changes)},
    )
    return order


def comment(
    session: Session, *, order: WorkOrder, by: str, at: datetime, text: str, to_requester: bool
) -> WorkOrderLog:
    """A note on the order; one given to the requester also stops their answer clock."""
    if to_requester and order.requester_answered_at is None:
        order.requester_answered_at = at
        order.updated_at = at
    entry = WorkOrderLog(
        order_id=order.id,
        revision=order.revision,
        action="answer_requester" if to_requester else "comment",
        from_state=order.state,
        to_state=order.state,
        by=by,
        at=at,
        note=text,
        data={},
    )
    session.add(entry)
    session.flush()
    return entry


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
