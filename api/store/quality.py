"""Quality samples and their callbacks.

"Not fixed" on an order still completed or verified reopens it (re-dispatch to its
technician, escalation level up, through the lifecycle). A closed order is final in the
lifecycle, so "not fixed" there opens a follow-up order one escalation level higher that
names the original; both paths publish ESCALATED so the routing rules reach the supervisor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain import quality
from api.domain.errors import Conflict, InvalidInput, NotFound
from api.domain.transitions import Action
from api.models import QualityCallback, QualitySample, WorkOrder
from api.sites import Sites
from api.store import lifecycle, workorders
from api.store.workorder_events import record
from estatewatch.contracts.payloads import WorkOrderEventType, WorkOrderState

RESULTS = ("satisfied", "not_fixed")
SAMPLED_STATES = (WorkOrderState.COMPLETED, WorkOrderState.VERIFIED, WorkOrderState.CLOSED)


def closed_in_week(session: Session, *, site: str, monday: date, sites: Sites) -> list[str]:
    """Orders whose work was completed that week (closed, or awaiting the callback)."""
    start, end = quality.week_bounds(monday, sites.tz(site))
    query = select(WorkOrder.id).where(
        WorkOrder.site == site,
        WorkOrder.state.in_([str(s) for s in SAMPLED_STATES]),
        WorkOrder.completed_at >= start,
        WorkOrder.completed_at < end,
    )
    return list(session.scalars(query))


def take_sample(
    session: Session,
    *,
    site: str,
    monday: date,
    by: str,
    now: datetime,
    sites: Sites,
    seed: int | None = None,
) -> QualitySample:
    """The week's sample: drawn once and recorded with its seed and population."""
    week_start = quality.week_bounds(monday, sites.tz(site))[0].astimezone(UTC)
    existing = session.scalars(
        select(QualitySample).where(
            QualitySample.site == site, QualitySample.week_start == week_start
        )
    ).first()
    if existing is not None:
        return existing
    population = sorted(closed_in_week(session, site=site, monday=monday, sites=sites))
    seed = quality.new_seed() if seed is None else seed
    percent = sites.sla(site).quality_sample_percent
    sample = QualitySample(
        id="qs_" + uuid.uuid4().hex[:12],
        site=site,
        week_start=week_start,
        seed=seed,
        population=population,
        order_ids=quality.draw(population, percent, seed),
        created_at=now,
        created_by=by,
    )
    session.add(sample)
    session.flush()
    for order_id in sample.order_ids:
        session.add(QualityCallback(sample_id=sample.id, order_id=order_id, note=""))
    session.flush()
    return sample


@dataclass(frozen=True, slots=True)
class CallbackOutcome:
    callback: QualityCallback
    reopened: WorkOrder | None


def record_callback(
    session: Session,
    *,
    sample_id: str,
    order_id: str,
    result: str,
    by: str,
    note: str,
    now: datetime,
    sites: Sites,
) -> CallbackOutcome:
    if result not in RESULTS:
        raise InvalidInput(f"result is one of {', '.join(RESULTS)}", field="result")
    callback = session.get(QualityCallback, (sample_id, order_id), with_for_update=True)
    if callback is None:
        raise NotFound(f"order {order_id!r} is not in sample {sample_id!r}", field="order_id")
    if callback.result is not None:
        raise Conflict(f"the callback on {order_id} was recorded by {callback.by}")
    callback.result, callback.by, callback.at, callback.note = result, by, now, note
    reopened = None
    if result == "not_fixed":
        order = workorders.get(session, order_id=order_id, for_update=True)
        reopened = _reopen(session, order, by=by, note=note, now=now, sites=sites)
    session.flush()
    return CallbackOutcome(callback, reopened)


def _reopen(
    session: Session, order: WorkOrder, *, by: str, note: str, now: datetime, sites: Sites
) -> WorkOrder:
    why = f"quality callback: not fixed. {note}".strip()
    if order.state != WorkOrderState.CLOSED:
        change = lifecycle.Change(note=why, assignee=order.assignee)
        return lifecycle.transition(
            session, order=order, action=Action.REOPEN, change=change, by=by, now=now, sites=sites
        )
    follow = workorders.new_order(
        id=uuid.uuid4().hex[:20],
        site=order.site,
        source=order.source,
        category=order.category,
        title=f"[返修 rework] {order.title}",
        description=f"{why}\nfollows {order.id}",
        trade=order.trade,
        department=order.department,
        urgency=order.urgency,
        building=order.building,
        device=order.device,
        location=order.location,
        requester_name=order.requester_name,
        requester_contact=order.requester_contact,
        reported_at=now,
        created_at=now,
        created_by=by,
    )
    follow = workorders.insert_once(session, follow, sites=sites).order
    follow.escalation_level = order.escalation_level + 1
    record(
        session,
        follow,
        event=WorkOrderEventType.ESCALATED,
        action="escalate",
        from_state=follow.state,
        by=by,
        at=now,
        sites=sites,
        note=f"quality callback on {order.id}: not fixed; escalation level "
        f"{follow.escalation_level}",
    )
    return follow


def report(
    session: Session, *, site: str, since: datetime, until: datetime
) -> list[dict[str, object]]:
    """Callback results per technician and trade for samples of weeks in [since, until)."""
    rows = session.execute(
        select(WorkOrder.assignee, WorkOrder.trade, QualityCallback.result)
        .join(QualitySample, QualitySample.id == QualityCallback.sample_id)
        .join(WorkOrder, WorkOrder.id == QualityCallback.order_id)
        .where(
            QualitySample.site == site,
            QualitySample.week_start >= since,
            QualitySample.week_start < until,
        )
    ).all()
    table: dict[tuple[str, str], dict[str, int]] = {}
    for assignee, trade, result in rows:
        cell = table.setdefault(
            (assignee or "-", trade), {"sampled": 0, "satisfied": 0, "not_fixed": 0, "pending": 0}
        )
        cell["sampled"] += 1
        cell[result or "pending"] += 1
    return [{"technician": k[0], "trade": k[1], **v} for k, v in sorted(table.items())]
