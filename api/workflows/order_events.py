"""Recording a change to a work order: the audit log entry, the WorkOrderEvent on the
workorder topic (through the outbox) and the live feed, all in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy.orm import Session

from api.domain import sla
from api.domain.permissions import Role, may_take
from api.domain.transitions import RETURNS, Action, allowed_actions
from api.models import WorkOrder, WorkOrderLog
from api.schemas.feed import WorkOrderChange
from api.schemas.workorder import PendingClockPublic, ReturnPublic, WorkOrderPublic
from api.sites import Sites
from api.store import feed, workorders
from api.store.workorders import QueuePage
from estatewatch.clock import to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    PendingClock,
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
    due = deadlines_of(order, sites)
    state = WorkOrderState(order.state)
    return WorkOrderEvent(
        event_id=f"{order.id}:{order.revision}",
        order_id=order.id,
        revision=order.revision,
        event=event,
        state=state,
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
        deadlines={k: to_epoch_ms(v) for k, v in due.items()},
        pending=[
            PendingClock(clock=clock, due=to_epoch_ms(at))
            for clock, at in sla.pending(order, due, open=state.open)
        ],
        open=state.open,
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
    state = WorkOrderState(order.state)
    public.deadlines = deadlines_of(order, sites)
    public.pending_clocks = [
        PendingClockPublic(clock=clock, due=at)
        for clock, at in sla.pending(order, public.deadlines, open=state.open)
    ]
    public.open = state.open
    public.breached = order.breached
    allowed = allowed_actions(state)
    public.allowed_actions = [a for a in allowed if role is None or may_take(role, a)]
    public.alarm_active = order.alarm is not None and order.alarm.active
    return public


def last_return(state: str, log: list[WorkOrderLog]) -> ReturnPublic | None:
    """Why an order waiting in the dispatch queue came back there (its log's last decline
    or hand-back); None for an order that is not waiting there."""
    if state != WorkOrderState.NEW:
        return None
    returns = [e for e in log if e.action in RETURNS]
    return _return(returns[-1]) if returns else None


def _return(entry: WorkOrderLog) -> ReturnPublic:
    return ReturnPublic(action=Action(entry.action), reason=entry.note, by=entry.by, at=entry.at)


def queue_public(page: QueuePage, sites: Sites, role: Role | None = None) -> list[dict[str, Any]]:
    """The queue's page as `to_public` shows each order, with what every row shares worked
    out once per page: a site's SLA policy, zone and calendar, the actions each state
    allows `role`. Plain dicts, for one validation of the whole page."""
    clocks: dict[str, tuple[Any, Any, Any]] = {}
    actions: dict[str, list[str]] = {}
    out: list[dict[str, Any]] = []
    for row in page.rows:
        site = row.site
        if site not in clocks:
            clocks[site] = (sites.sla(site), sites.tz(site), sites.calendar(site))
        policy, tz, calendar = clocks[site]
        state = row.state
        if state not in actions:
            allowed = allowed_actions(WorkOrderState(state))
            actions[state] = [a for a in allowed if role is None or may_take(role, a)]
        data = row._asdict()
        subject = cast(sla.SlaSubject, row)
        data["deadlines"] = due = sla.deadlines(subject, policy, tz=tz, calendar=calendar)
        is_open = WorkOrderState(state).open
        data["pending_clocks"] = [
            {"clock": clock, "due": at} for clock, at in sla.pending(subject, due, open=is_open)
        ]
        data["open"] = is_open
        data["breached"] = page.breached.get(row.id, [])
        data["allowed_actions"] = actions[state]
        data["alarm_active"] = bool(row.alarm_active)
        returned = page.returned.get(row.id)
        data["last_return"] = _return(returned).model_dump() if returned else None
        out.append(data)
    return out
