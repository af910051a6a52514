"""Work orders opened from alarms, findings, plans and by hand (each once where it has a
natural key), edited and commented on. Moving one through its lifecycle is
`workflows.lifecycle`; its SLA clocks, `workflows.sla`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.domain.errors import Conflict, Forbidden, InvalidInput
from api.domain.permissions import Permission, Principal, has, may_lower_urgency
from api.domain.policy import (
    Classification,
    classify_report,
    department_of,
    is_lowering,
    report_categories,
)
from api.domain.transitions import OPEN_STATES
from api.models import WorkOrder, WorkOrderLog
from api.schemas.workorder import WorkOrderCreate, WorkOrderUpdate
from api.sites import Sites
from api.store import users as user_store
from api.store import workorders as order_store
from api.store.workorders import Created, new_order, order_id_for_alarm, order_id_for_scan
from api.workflows.order_events import record
from api.workflows.parts import check_photos
from api.workflows.sla import flag_breaches
from estatewatch.clock import from_epoch_ms
from estatewatch.contracts.payloads import (
    AlarmEvent,
    Trade,
    Urgency,
    WorkOrderEventType,
    WorkOrderSource,
)

SYSTEM = "system"

CLOCK_SKEW = timedelta(minutes=2)
"""How far in the future a reported time may lie (a phone's or a PC's clock running ahead);
beyond it the time is refused: a report dated tomorrow would push every deadline."""


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
        title_zh=event.title_zh,
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


def check_reported_at(reported_at: datetime, now: datetime) -> None:
    """Refuse a report time beyond `CLOCK_SKEW` in the future (a 422 naming the field)."""
    if reported_at > now + CLOCK_SKEW:
        raise InvalidInput(
            f"reported_at {reported_at.isoformat()} is in the future (now {now.isoformat()}): "
            "a report cannot be dated ahead",
            field="reported_at",
            detail_zh="报事时间晚于当前时间：报事时间不能提前填写",
        )


def _classify_by_hand(data: WorkOrderCreate, sites: Sites) -> tuple[str, Trade, Urgency]:
    """The category, trade and urgency of a hand-made order: a category of the site's
    dispatch policy brings that rule's trade and urgency (never below the rule's)."""
    if data.category is None:
        if data.trade is None:
            raise InvalidInput(
                "name a trade, or a category of the dispatch policy",
                field="trade",
                detail_zh="请填写工种，或选择派单策略中的类别",
            )
        return data.source, data.trade, data.urgency
    policy = sites.dispatch(data.site)
    rule = classify_report(policy, data.category)
    if rule is None or not rule.create:
        known = report_categories(policy)
        raise InvalidInput(
            f"unknown category {data.category!r}; the dispatch policy knows: {', '.join(known)}",
            field="category",
            detail_zh=f"未知类别 {data.category!r}；可选：{'、'.join(known)}",
            allowed=known,
        )
    trade = data.trade or rule.trade
    if trade is None:
        raise InvalidInput(
            f"the {data.category!r} rule names no trade: name one",
            field="trade",
            detail_zh=f"类别 {data.category!r} 未规定工种，请填写工种",
        )
    urgency = rule.urgency if is_lowering(rule.urgency, data.urgency) else data.urgency
    return data.category, trade, urgency


def open_by_hand(
    session: Session, *, data: WorkOrderCreate, by: str, now: datetime, sites: Sites
) -> WorkOrder:
    """An order a dispatcher or customer service opens (an owner's call, a complaint). With
    a category it gets the clocks of an alarm-born order of that category (a phoned-in
    entrapment has the 30-minute on-site clock)."""
    reported_at = data.reported_at or now
    check_reported_at(reported_at, now)
    category, trade, urgency = _classify_by_hand(data, sites)
    order = new_order(
        id=uuid.uuid4().hex[:20],
        site=data.site,
        source=data.source,
        category=category,
        title=data.title,
        description=data.description,
        trade=trade,
        department=data.department or department_of(trade),
        urgency=urgency,
        building=data.building,
        device=data.device,
        location=data.location,
        requester_name=data.requester_name,
        requester_contact=data.requester_contact,
        reported_at=reported_at,
        created_at=now,
        created_by=by,
    )
    check_photos(session, site=data.site, refs=data.photo_refs)
    order.photo_refs = list(data.photo_refs)
    return open_once(session, order, sites=sites).order


def _check_lowering(order: WorkOrder, data: WorkOrderUpdate, user: Principal) -> bool:
    """Whether `data` lowers the order's urgency, refusing it unless `user` may (a
    supervisor, or the duty engineer giving a reason)."""
    if data.urgency is None or not is_lowering(Urgency(order.urgency), data.urgency):
        return False
    if not may_lower_urgency(user.role, reason=data.reason):
        if data.reason is None and may_lower_urgency(user.role, reason="?"):
            raise InvalidInput(
                "lowering an urgent order's urgency needs a reason",
                field="reason",
                detail_zh="降低紧急工单的紧急程度须说明原因",
            )
        raise Forbidden(
            f"a {user.role} may not lower an urgent order's urgency: a supervisor, or the "
            "duty engineer with a reason, may",
            field="urgency",
            detail_zh="无权降低紧急工单的紧急程度：须由主管，或值班工程师说明原因后操作",
        )
    return True


def _check_owner(session: Session, username: str) -> None:
    account = user_store.get(session, username=username)
    if account is None or not account.active:
        raise InvalidInput(
            f"{username!r} is no active user: a finding's owner answers for its fix",
            field="owner",
            detail_zh=f"{username!r} 不是在用账号：整改责任人须为系统用户",
        )


def update(
    session: Session,
    *,
    order: WorkOrder,
    data: WorkOrderUpdate,
    user: Principal,
    now: datetime,
    sites: Sites,
) -> WorkOrder:
    """Edit an open order; lowering its urgency is checked (`_check_lowering`) and logged
    as its own `lower_urgency` entry with the reason."""
    if order.state not in OPEN_STATES:
        raise Conflict(f"work order {order.id!r} is {order.state}: it can no longer change")
    lowered = _check_lowering(order, data, user)
    if data.owner is not None:
        _check_owner(session, data.owner)
    by = user.username
    changes = data.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    before = {k: getattr(order, k) for k in changes}
    for key, value in changes.items():
        setattr(order, key, value)
    if "title" in changes:
        order.title_zh = None  # a person's own words, in one language: the old Chinese is stale
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
        note=reason or "",
        data={"before": _jsonable(before), "after": _jsonable(changes)},
    )
    if lowered:
        record(
            session,
            order,
            event=WorkOrderEventType.UPDATED,
            action="lower_urgency",
            from_state=order.state,
            by=by,
            at=now,
            sites=sites,
            note=reason or "",
            data={"from": before["urgency"], "to": order.urgency, "role": str(user.role)},
        )
    return order


def comment(
    session: Session,
    *,
    order: WorkOrder,
    user: Principal,
    at: datetime,
    text: str,
    to_requester: bool,
    sites: Sites,
) -> WorkOrderLog:
    """A note on the order; one given to the requester (`order:answer`: not a technician,
    whose notes go to the duty room, which answers) also stops their answer clock."""
    if to_requester and not has(user.role, Permission.ORDER_ANSWER):
        raise Forbidden(
            f"a {user.role} may not answer the requester: post the note without "
            "to_requester, it goes to the duty room, which answers the requester",
            field="to_requester",
            detail_zh="无权答复业主：请去掉“答复业主”再提交，备注将转给值班室，由值班室答复业主",
        )
    by = user.username
    if not has(user.role, Permission.ORDER_ANSWER):
        # The duty room answers the requester from it: on the board and to the on-duty
        # duty engineers (the planner routes `note` events there).
        record(
            session, order, event=WorkOrderEventType.NOTE, action="comment",
            from_state=order.state, by=by, at=at, sites=sites, note=text,
        )  # fmt: skip
        return order_store.last_log(session, order=order)
    if to_requester and order.requester_answered_at is None:
        order.requester_answered_at = at
        order.updated_at = at
    return order_store.add_note(
        session, order=order, by=by, at=at, text=text, to_requester=to_requester
    )


PROGRESS_STATES = frozenset({"new", "dispatched", "accepted", "on_site"})
"""Where a progress answer makes sense: not yet done."""


def answer_progress(
    session: Session,
    *,
    order: WorkOrder,
    user: Principal,
    why_open: str,
    done_by: datetime,
    now: datetime,
    sites: Sites,
) -> WorkOrder:
    """The structured progress answer to the requester: why the order is still open and
    by when it will be done. It restarts the 24-hour progress clock and moves the expected
    completion; a clock it answers late stays breached (flagged first)."""
    if order.state not in PROGRESS_STATES:
        raise Conflict(
            f"work order {order.id!r} is {order.state}: no progress answer is owed",
            detail_zh="该工单已完成或已关闭，无需进度反馈",
        )
    if done_by <= now:
        raise InvalidInput(
            "done_by must lie in the future",
            field="done_by",
            detail_zh="预计完成时间须晚于当前时间",
        )
    flag_breaches(session, order=order, now=now, sites=sites)
    order.progress_at = now
    order.progress_count += 1
    order.expected_done_at = done_by
    if order.requester_answered_at is None:
        order.requester_answered_at = now
    record(
        session,
        order,
        event=WorkOrderEventType.UPDATED,
        action="progress",
        from_state=order.state,
        by=user.username,
        at=now,
        sites=sites,
        note=why_open,
        data={"why_open": why_open, "done_by": done_by.isoformat()},
    )
    return order


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
