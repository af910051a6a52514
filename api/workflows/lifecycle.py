"""Moving a work order through its lifecycle (`domain.transitions` says which moves are
legal); each move is audited, published, and checked against the SLA clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.domain.errors import FaultStillActive, InvalidInput
from api.domain.permissions import Role
from api.domain.transitions import EVENT_OF, RETURNS, Action, next_state
from api.models import WorkOrder
from api.schemas.pm import ChecklistAnswer, SignatureIn
from api.sites import Sites
from api.store import patrol, users
from api.workflows import pm, roster
from api.workflows.order_events import record
from api.workflows.sla import flag_breaches
from estatewatch.contracts.payloads import (
    FindingPriority,
    Urgency,
    WorkOrderEventType,
    WorkOrderState,
)

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
    override_reason: str | None = None
    """Complete or close although the order's alarm is still active: why (audited)."""
    done_by: datetime | None = None
    """Accept: when the technician expects to be done (None: the site's default)."""
    checklist: tuple[ChecklistAnswer, ...] = ()
    """Complete a PM order: every item of its checklist, passed or failed."""
    signature: SignatureIn | None = None
    """Complete a PM order: the technician's signature."""


def _check_technician(session: Session, username: str, site: str) -> None:
    """The assignee is an active technician who may see the order: one dispatched an order
    of an estate outside theirs could not read it (a 404 on their own job)."""
    user = users.get(session, username=username)
    if user is None or not user.active or user.role != Role.TECHNICIAN:
        raise InvalidInput(
            f"{username!r} is not an active technician",
            field="assignee",
            detail_zh=f"{username} 不是在职的维修技工",
        )
    if user.estates and site not in user.estates:
        raise InvalidInput(
            f"{username!r} works for {', '.join(sorted(user.estates))}, not {site!r}",
            field="assignee",
            detail_zh=f"{username} 不负责项目 {site}，不能派给他",
        )


def _check_fault_cleared(order: WorkOrder, action: Action, change: Change) -> bool:
    """An order whose alarm is still active is not done: completing or closing it needs an
    explicit override with a reason. Returns whether this move is such an override."""
    if action not in (Action.COMPLETE, Action.CLOSE):
        return False
    if order.alarm is None or not order.alarm.active:
        return False
    if not (change.override_reason or "").strip():
        raise FaultStillActive(
            f"the fault of alarm {order.alarm_id} is still active: give an override_reason"
            f" to {action} the order anyway",
            field="override_reason",
            alarm_id=order.alarm_id,
        )
    return True


def _expected_done(order: WorkOrder, change: Change, now: datetime, sites: Sites) -> datetime:
    """When an accepted order should be done: the technician's word, or the site's default
    for its urgency; never in the past."""
    if change.done_by is not None:
        if change.done_by <= now:
            raise InvalidInput(
                "done_by must lie in the future",
                field="done_by",
                detail_zh="预计完成时间须晚于当前时间",
            )
        return change.done_by
    policy = sites.sla(order.site)
    urgent = order.urgency == Urgency.URGENT
    return now + (policy.urgent_completion if urgent else policy.general_completion)


def _check_finding(session: Session, order: WorkOrder, action: Action, change: Change) -> None:
    """A by-deadline finding (限期整改) is compared before and after: completing it needs
    the after photos, verifying it a re-inspection scan of its checkpoint since completion."""
    if order.finding_priority != FindingPriority.BY_DEADLINE:
        return
    if action is Action.COMPLETE and not change.photo_refs:
        raise InvalidInput(
            "a by-deadline finding is completed with photos after the repair (photo_refs), "
            "to compare with the finding's",
            field="photo_refs",
            detail_zh="限期整改项须上传整改后照片，与整改前对比",
        )
    if action is Action.VERIFY:
        done = order.completed_at
        if (
            order.scan_id is None
            or done is None
            or not patrol.reinspected(session, scan_id=order.scan_id, since=done)
        ):
            raise InvalidInput(
                "a by-deadline finding is verified only after a re-inspection scan of its "
                "checkpoint since the repair",
                field="action",
                detail_zh="限期整改项须在整改完成后复查扫码，方可验收",
            )


def _stamp(order: WorkOrder, target: S, change: Change, now: datetime) -> None:
    """Set the fields and first-reached times that `target` implies."""
    if target is S.DISPATCHED:
        order.assignee = change.assignee or order.assignee
        if order.finding_priority == FindingPriority.BY_DEADLINE and order.owner is None:
            order.owner = order.assignee  # the first technician answers for the fix
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
    elif target is S.NEW:  # rejected or handed back: unassigned, in the dispatch queue
        _unassign(order)


def _unassign(order: WorkOrder) -> None:
    """Back to the dispatch queue. The dispatch clock is unmet again and still runs from
    the report (`reported_at` is untouched): declining an order never buys it time. The
    first-reached times of a hand-back (accepted, on site) stay: they happened."""
    order.assignee = None
    order.assignee_contact = None
    order.eta = None
    order.dispatched_at = None
    order.expected_done_at = None  # the technician's word, gone with them


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
    overridden = _check_fault_cleared(order, action, change)
    if action in (Action.DISPATCH, Action.REOPEN):
        assignee = change.assignee or order.assignee
        if assignee is None:
            raise InvalidInput("a re-dispatch needs an assignee", field="assignee")
        _check_technician(session, assignee, order.site)
    _check_finding(session, order, action, change)
    if action is Action.COMPLETE:
        pm.check_completion(order, change.checklist, change.signature)
        pm.stamp(order, change.checklist, change.signature, by=by, now=now)
    if action is Action.ACCEPT:
        order.expected_done_at = _expected_done(order, change, now, sites)
    if action is Action.REOPEN:
        # Not fixed: the callback clock restarts at the next completion; escalate.
        order.completed_at = None
        order.verified_at = None
        order.escalation_level += 1
    returned_by = order.assignee if action in RETURNS else None
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
            ("override_reason", change.override_reason if overridden else None),
            ("done_by", order.expected_done_at if action is Action.ACCEPT else None),
            ("reason", change.note if action in RETURNS else None),
            ("returned_by", returned_by),
        )
        if v is not None
    }
    if overridden:
        data["alarm_active"] = True
    if action in (Action.DISPATCH, Action.REOPEN):
        on_shift = roster.technician_on_shift(session, order=order, at=now, sites=sites)
        if on_shift is not None:  # dispatch reads the roster, where the site keeps one
            data["on_shift"] = on_shift
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
    if action is Action.COMPLETE and pm.is_pm(order):
        pm.open_failed_items(session, order, now=now, sites=sites)
    flag_breaches(session, order=order, now=now, sites=sites)
    return order
