"""Work orders opened from alarms, findings, plans and by hand (each once where it has a
natural key), edited and commented on. Moving one through its lifecycle is
`workflows.lifecycle`; its SLA clocks, `workflows.sla`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.domain.errors import Conflict
from api.domain.policy import Classification, department_of
from api.domain.transitions import OPEN_STATES
from api.models import WorkOrder, WorkOrderLog
from api.schemas.workorder import WorkOrderCreate, WorkOrderUpdate
from api.sites import Sites
from api.store import workorders as order_store
from api.store.workorders import Created, new_order, order_id_for_alarm, order_id_for_scan
from api.workflows.order_events import record
from estatewatch.clock import from_epoch_ms
from estatewatch.contracts.payloads import AlarmEvent, WorkOrderEventType, WorkOrderSource

SYSTEM = "system"


def open_once(session: Session, order: WorkOrder, *, sites: Sites) -> Created:
    """Insert `order` unless it exists (`store.workorders.insert_once`); a new one is
    logged and published as `created`."""
    result = order_store.insert_once(session, order)
    if result.created:
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
    return result


def order_for_alarm_event(event: AlarmEvent, *, kind: Classification, now: datetime) -> WorkOrder:
    """The (transient) order an alarm opens, showing `event`; `store.batch` inserts it."""
    return new_order(
        id=order_id_for_alarm(event.alarm_id),
        site=event.site,
        source=WorkOrderSource.ALARM,
        alarm_id=event.alarm_id,
        category=event.category,
        title=event.title,
        description=event.message,
        trade=kind.trade,
        department=kind.department,
        urgency=kind.urgency,
        building=event.building,
        device=event.target if event.target_kind == "device" else None,
        location=event.room or "",
        # The SLA clock runs from the fault's onset, not from the raise after its hold.
        reported_at=from_epoch_ms(
            event.onset_at if event.onset_at is not None else event.raised_at
        ),
        created_at=now,
        created_by=SYSTEM,
    )


def creation_log(order: WorkOrder) -> dict[str, Any]:
    """The log row of an order's creation (as `order_events.record` writes it)."""
    return {
        "order_id": order.id,
        "revision": order.revision,
        "action": "create",
        "from_state": None,
        "to_state": order.state,
        "by": order.created_by,
        "at": order.created_at,
        "note": "",
        "data": {},
    }


def open_for_finding(
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
    return open_once(session, order, sites=sites)


def open_by_hand(
    session: Session, *, data: WorkOrderCreate, by: str, now: datetime, sites: Sites
) -> WorkOrder:
    """An order a dispatcher or customer service opens (an owner's call, a complaint)."""
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
    return open_once(session, order, sites=sites).order


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
    return order_store.add_note(
        session, order=order, by=by, at=at, text=text, to_requester=to_requester
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
