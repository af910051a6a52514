"""Moving work orders through their lifecycle, and flagging SLA breaches once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain import sla
from api.domain.errors import InvalidInput
from api.domain.permissions import Role
from api.domain.transitions import EVENT_OF, OPEN_STATES, Action, next_state
from api.models import SlaBreach, User, WorkOrder, WorkOrderLog
from api.sites import Sites
from api.store.workorder_events import record
from estatewatch.contracts.payloads import WorkOrderEventType, WorkOrderState

S = WorkOrderState


@dataclass(frozen=True, slots=True)
class Change:
    """What an action brings with it (the fields of its request body)."""

    note: str = ""
    assignee: str | None = None
    contact: str | None = None
    eta: datetime | None = None
    result: str | None = None
    parts: tuple[str, ...] = ()
    photo_refs: tuple[str, ...] = ()
    callback_note: str | None = None


def _check_technician(session: Session, username: str) -> None:
    user = session.get(User, username)
    if user is None or not user.active or user.role != Role.TECHNICIAN:
        raise InvalidInput(f"{username!r} is not an active technician", field="assignee")


def _stamp(order: WorkOrder, target: S, change: Change, now: datetime) -> None:
    """Set the fields and first-reached times that `target` implies."""
    if target is S.DISPATCHED:
        order.assignee = change.assignee or order.assignee
        order.assignee_contact = change.contact or order.assignee_contact
        order.eta = change.eta or order.eta
        order.dispatched_at = order.dispatched_at or now
    elif target is S.ACCEPTED:
        order.responded_at = order.responded_at or now
    elif target is S.ON_SITE:
        order.on_site_at = order.on_site_at or now
    elif target is S.COMPLETED:
        order.completed_at = now
        order.result = change.result
        order.parts = list(change.parts)
        order.photo_refs = [*order.photo_refs, *change.photo_refs]
    elif target is S.VERIFIED:
        order.verified_at = now
        order.callback_note = change.callback_note
    elif target is S.CLOSED:
        order.closed_at = now
    elif target is S.CANCELLED:
        order.cancelled_at = now


def transition(
    session: Session,
    *,
    order: WorkOrder,
    action: Action,
    change: Change,
    by: str,
    now: datetime,
    sites: Sites,
) -> WorkOrder:
    """Apply `action` if the transition table allows it (else `IllegalTransition`), audit
    it, publish it, and flag any SLA clock it reveals as missed."""
    source = S(order.state)
    target = next_state(source, action)
    if action in (Action.DISPATCH, Action.REOPEN):
        assignee = change.assignee or order.assignee
        if assignee is None:
            raise InvalidInput("a re-dispatch needs an assignee", field="assignee")
        _check_technician(session, assignee)
    if action is Action.REOPEN:
        # Not fixed: the callback clock restarts at the next completion; escalate.
        order.completed_at = None
        order.verified_at = None
        order.escalation_level += 1
    _stamp(order, target, change, now)
    order.state = target
    data: dict[str, Any] = {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in (
            ("assignee", change.assignee),
            ("contact", change.contact),
            ("eta", change.eta),
            ("result", change.result),
            ("callback_note", change.callback_note),
        )
        if v is not None
    }
    record(
        session,
        order,
        event=EVENT_OF[action],
        action=str(action),
        from_state=source,
        by=by,
        at=now,
        sites=sites,
        note=change.note,
        data=data,
    )
    if action is Action.REOPEN:
        record(
            session,
            order,
            event=WorkOrderEventType.ESCALATED,
            action="escalate",
            from_state=order.state,
            by=by,
            at=now,
            sites=sites,
            note=f"reopened: escalation level {order.escalation_level}",
        )
    flag_breaches(session, order=order, now=now, sites=sites)
    return order


def flag_breaches(session: Session, *, order: WorkOrder, now: datetime, sites: Sites) -> list[str]:
    """Record each newly missed SLA clock once; publish it and escalate the order."""
    late = sla.breaches(order, sites.sla(order.site), now, tz=sites.tz(order.site))
    new = [clock for clock in late if clock not in order.breached]
    for clock in new:
        try:
            with session.begin_nested():
                order.breaches.append(
                    SlaBreach(order_id=order.id, clock=clock, due_at=late[clock], detected_at=now)
                )
                session.flush()
        except IntegrityError:  # another instance flagged it first
            session.refresh(order, ["breaches"])
            continue
        record(
            session,
            order,
            event=WorkOrderEventType.SLA_BREACHED,
            action="sla_breached",
            from_state=order.state,
            by="sla",
            at=now,
            sites=sites,
            note=f"{clock} was due at {late[clock].isoformat()}",
            data={"clock": clock},
        )
        order.escalation_level += 1
        record(
            session,
            order,
            event=WorkOrderEventType.ESCALATED,
            action="escalate",
            from_state=order.state,
            by="sla",
            at=now,
            sites=sites,
            note=f"{clock} breached: escalation level {order.escalation_level}",
        )
    return new


def warn_approaching(
    session: Session, *, order: WorkOrder, now: datetime, sites: Sites
) -> list[str]:
    """Publish `sla_warning` once per clock about to run out (routed as
    `workorder.sla_warning`: someone can still act before the breach)."""
    soon = sla.warnings(order, sites.sla(order.site), now, tz=sites.tz(order.site))
    if not soon:
        return []
    warned = {
        (entry.data or {}).get("clock")
        for entry in session.scalars(
            select(WorkOrderLog).where(
                WorkOrderLog.order_id == order.id, WorkOrderLog.action == "sla_warning"
            )
        )
    }
    new = [clock for clock in soon if clock not in warned]
    for clock in new:
        left = max(int((soon[clock] - now).total_seconds() // 60), 0)
        record(
            session,
            order,
            event=WorkOrderEventType.SLA_WARNING,
            action="sla_warning",
            from_state=order.state,
            by="sla",
            at=now,
            sites=sites,
            note=f"{clock} is due at {soon[clock].isoformat()}: {left} min left",
            data={"clock": clock, "due_at": soon[clock].isoformat()},
        )
    return new


def check_sla(session: Session, *, now: datetime, sites: Sites, limit: int = 1000) -> int:
    """One pass of the SLA checker over open orders; returns how many breaches it flagged."""
    query = (
        select(WorkOrder)
        .where(WorkOrder.state.in_([str(s) for s in OPEN_STATES]))
        .order_by(WorkOrder.reported_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: two checkers never share an order
    )
    flagged = 0
    for order in session.scalars(query).all():
        flagged += len(flag_breaches(session, order=order, now=now, sites=sites))
        warn_approaching(session, order=order, now=now, sites=sites)
    return flagged
