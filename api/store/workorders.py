"""Work orders in the database: inserted once by their natural key, the queue, the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.errors import NotFound
from api.domain.transitions import OPEN_STATES, RETURNS
from api.models import Alarm, SlaBreach, WorkOrder, WorkOrderLog
from api.store import cursor as cursors
from estatewatch.contracts.payloads import WorkOrderState, stable_id

RETURN_ACTIONS = sorted(str(a) for a in RETURNS)

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Created:
    order: WorkOrder
    created: bool


def order_id_for_alarm(alarm_id: str) -> str:
    return stable_id("workorder", "alarm", alarm_id)


def order_id_for_scan(scan_id: str) -> str:
    return stable_id("workorder", "finding", scan_id)


def insert_once(session: Session, order: WorkOrder) -> Created:
    """Insert `order` unless an order with its id (a stable id from the alarm or scan)
    exists; under a race the database's unique constraints decide, and the loser returns
    the winner's order."""
    existing = session.get(WorkOrder, order.id)
    if existing is not None:
        return Created(existing, created=False)
    try:
        with session.begin_nested():
            session.add(order)
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
        parts_used=[],
        photo_refs=[],
        **fields,
    )


def get(session: Session, *, order_id: str, for_update: bool = False) -> WorkOrder:
    order = session.get(WorkOrder, order_id, with_for_update=for_update)
    if order is None:
        raise NotFound(f"no work order {order_id!r}", field="order_id")
    return order


def _queue(
    query: Select[Any],
    *,
    site: str | None,
    sites: list[str] | None,
    states: list[WorkOrderState] | None,
    open_only: bool,
    assignee: str | None,
    urgency: str | None,
    cursor: str | None,
) -> Select[Any]:
    """`query` filtered to the queue's page, urgent first, then the longest waiting (the
    order of `ix_work_orders_queue`). `sites` (an estate scope) narrows it to those sites."""
    if site is not None:
        query = query.where(WorkOrder.site == site)
    if sites is not None:
        query = query.where(WorkOrder.site.in_(sites))
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
    return query.order_by(WorkOrder.urgency.desc(), WorkOrder.reported_at, WorkOrder.id)


def _following(last: Any, rows: int, limit: int) -> str | None:
    if rows < limit:
        return None
    return cursors.encode((last.urgency, last.reported_at, last.id))


def list_orders(
    session: Session,
    *,
    site: str | None = None,
    sites: list[str] | None = None,
    states: list[WorkOrderState] | None = None,
    open_only: bool = False,
    assignee: str | None = None,
    urgency: str | None = None,
    limit: int = 200,
    offset: int = 0,
    cursor: str | None = None,
) -> tuple[list[WorkOrder], str | None]:
    """The queue, urgent first, then the longest waiting; and the next page's cursor."""
    query = _queue(
        select(WorkOrder), site=site, sites=sites, states=states, open_only=open_only,
        assignee=assignee, urgency=urgency, cursor=cursor,
    )  # fmt: skip
    orders = list(session.scalars(query.limit(limit).offset(offset)))
    return orders, _following(orders[-1] if orders else None, len(orders), limit)


@dataclass(frozen=True, slots=True)
class QueuePage:
    """A page of the queue as plain rows: the order's columns plus `alarm_active`."""

    rows: list[Row[Any]]
    breached: dict[str, list[str]]
    """Order id -> its breached clocks (by name), for the orders of the page that have any."""
    returned: dict[str, WorkOrderLog]
    """Order id -> the log entry of its last return to the dispatch queue (declined or
    handed back), for the page's orders waiting there after one."""
    following: str | None


def queue_page(
    session: Session,
    *,
    site: str | None = None,
    sites: list[str] | None = None,
    states: list[WorkOrderState] | None = None,
    open_only: bool = False,
    assignee: str | None = None,
    urgency: str | None = None,
    limit: int = 200,
    offset: int = 0,
    cursor: str | None = None,
) -> QueuePage:
    """`list_orders` for the queue's page as the API shows it, in two statements: the page's
    rows with their alarm's `active` (a join, no ORM objects), then the page's breaches."""
    query = _queue(
        select(*WorkOrder.__table__.c, Alarm.active.label("alarm_active")).outerjoin(
            Alarm, Alarm.alarm_id == WorkOrder.alarm_id
        ),
        site=site, sites=sites, states=states, open_only=open_only, assignee=assignee,
        urgency=urgency, cursor=cursor,
    )  # fmt: skip
    rows = list(session.execute(query.limit(limit).offset(offset)).all())
    breached: dict[str, list[str]] = {}
    if rows:
        found = session.execute(
            select(SlaBreach.order_id, SlaBreach.clock)
            .where(SlaBreach.order_id.in_([r.id for r in rows]))
            .order_by(SlaBreach.order_id, SlaBreach.clock)
        )
        for order_id, clock in found:
            breached.setdefault(order_id, []).append(clock)
    waiting = [r.id for r in rows if r.state == WorkOrderState.NEW]
    returned = last_returns(session, order_ids=waiting)
    return QueuePage(
        rows, breached, returned, _following(rows[-1] if rows else None, len(rows), limit)
    )


def last_returns(session: Session, *, order_ids: list[str]) -> dict[str, WorkOrderLog]:
    """Each order's last decline or hand-back, in one statement for a page of orders."""
    if not order_ids:
        return {}
    query = (
        select(WorkOrderLog)
        .where(WorkOrderLog.order_id.in_(order_ids), WorkOrderLog.action.in_(RETURN_ACTIONS))
        .order_by(WorkOrderLog.id)
    )
    return {entry.order_id: entry for entry in session.scalars(query)}


def log_of(session: Session, *, order_id: str) -> list[WorkOrderLog]:
    query = select(WorkOrderLog).where(WorkOrderLog.order_id == order_id)
    return list(session.scalars(query.order_by(WorkOrderLog.id)))


def add_note(
    session: Session, *, order: WorkOrder, by: str, at: datetime, text: str, to_requester: bool
) -> WorkOrderLog:
    """A note in the order's log (no new revision)."""
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


def last_log(session: Session, *, order: WorkOrder) -> WorkOrderLog:
    """The order's latest log entry (the one just added)."""
    session.flush()
    found = session.scalars(
        select(WorkOrderLog)
        .where(WorkOrderLog.order_id == order.id)
        .order_by(WorkOrderLog.id.desc())
        .limit(1)
    ).one()
    return found


def add_log(
    session: Session,
    *,
    order: WorkOrder,
    action: str,
    from_state: str | None,
    by: str,
    at: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """The audit log entry of a change made to `order` (at its current revision)."""
    session.add(
        WorkOrderLog(
            order_id=order.id,
            revision=order.revision,
            action=action,
            from_state=from_state,
            to_state=order.state,
            by=by,
            at=at,
            note=note,
            data=data or {},
        )
    )


def add_breach(
    session: Session, *, order: WorkOrder, clock: str, due_at: datetime, at: datetime
) -> bool:
    """Record that `clock` of `order` ran out, once: False if it was recorded already
    (another instance flagged it first)."""
    try:
        with session.begin_nested():
            order.breaches.append(
                SlaBreach(order_id=order.id, clock=clock, due_at=due_at, detected_at=at)
            )
            session.flush()
    except IntegrityError:
        session.refresh(order, ["breaches"])
        return False
    return True


def warned_clocks(session: Session, *, order_id: str) -> set[str]:
    """The clocks of the order whose `sla_warning` was published already."""
    entries = session.scalars(
        select(WorkOrderLog).where(
            WorkOrderLog.order_id == order_id, WorkOrderLog.action == "sla_warning"
        )
    )
    return {clock for e in entries if isinstance(clock := (e.data or {}).get("clock"), str)}


def lock_open(session: Session, *, limit: int) -> list[WorkOrder]:
    """Open orders, the longest waiting first, locked; on PostgreSQL two callers never
    share an order (`skip_locked`)."""
    query = (
        select(WorkOrder)
        .where(WorkOrder.state.in_([str(s) for s in OPEN_STATES]))
        .order_by(WorkOrder.reported_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query).all())
