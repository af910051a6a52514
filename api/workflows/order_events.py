"""Recording a change to a work order: the audit log entry, the WorkOrderEvent on the
workorder topic (through the outbox) and the live feed, all in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.domain import sla
from api.domain.permissions import Role, may_take
from api.domain.transitions import allowed_actions
from api.models import WorkOrder
from api.schemas.feed import WorkOrderChange
from api.schemas.workorder import WorkOrderPublic
from api.sites import Sites
from api.store import feed, workorders
from estatewatch.clock import to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    Trade,
    Urgency,
    WorkOrderEvent,
    WorkOrderEventType,
    WorkOrderSource,
    WorkOrderState,
)


def deadlines_of(order: WorkOrder, sites: Sites) -> dict[str, datetime]:
    return sla.deadlines(
        order, sites.sla(order.site), tz=sites.tz(order.site), calendar=sites.calendar(order.site)
    )


def event_of(
    order: WorkOrder,
    event: WorkOrderEventType,
    *,
    by: str | None,
    at: datetime,
    note: str,
    sites: Sites,
) -> WorkOrderEvent:
    return WorkOrderEvent(
        event_id=f"{order.id}:{order.revision}",
        order_id=order.id,
        revision=order.revision,
        event=event,
        state=WorkOrderState(order.state),
        site=order.site,
        source=WorkOrderSource(order.source),
        alarm_id=order.alarm_id,
        title=order.title,
        title_zh=order.title_zh,
        trade=Trade(order.trade),
        department=order.department,
        urgency=Urgency(order.urgency),
        assignee=order.assignee,
        building=order.building,
        device=order.device,
        deadlines={k: to_epoch_ms(v) for k, v in deadlines_of(order, sites).items()},
        breached=order.breached,
        escalation_level=order.escalation_level,
        by=by,
        at=to_epoch_ms(at),
        note=note[:4000],
    )


def record(
    session: Session,
    order: WorkOrder,
    *,
    event: WorkOrderEventType,
    action: str,
    from_state: str | None,
    by: str,
    at: datetime,
    sites: Sites,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> WorkOrderEvent:
    """Log a change already made to `order` and publish it as a new revision."""
    if from_state is not None:  # not the creation: a new revision
        order.revision += 1
    order.updated_at = at
    workorders.add_log(
        session, order=order, action=action, from_state=from_state, by=by, at=at, note=note,
        data=data,
    )  # fmt: skip
    payload = event_of(order, event, by=by, at=at, note=note, sites=sites)
    session.flush()
    change = WorkOrderChange(site=order.site, subject_id=order.id, payload=payload)
    feed.append(session, change, at=at)
    feed.enqueue(session, topic=topics.workorder(order.site, order.id), payload=payload, at=at)
    return payload


def to_public(order: WorkOrder, sites: Sites, role: Role | None = None) -> WorkOrderPublic:
    """The order as the API shows it, with its SLA deadlines and, for `role`, the actions
    it may take now."""
    public = WorkOrderPublic.model_validate(order)
    public.deadlines = deadlines_of(order, sites)
    public.breached = order.breached
    allowed = allowed_actions(WorkOrderState(order.state))
    public.allowed_actions = [a for a in allowed if role is None or may_take(role, a)]
    public.alarm_active = order.alarm is not None and order.alarm.active
    return public
