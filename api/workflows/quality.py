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

from sqlalchemy.orm import Session

from api.domain import quality
from api.domain.errors import Conflict, InvalidInput, NotFound
from api.domain.transitions import Action
from api.models import QualityCallback, QualitySample, WorkOrder
from api.sites import Sites
from api.store import quality as samples
from api.store import workorders as order_store
from api.workflows import lifecycle, workorders
from api.workflows.order_events import record
from estatewatch.contracts.payloads import WorkOrderEventType, WorkOrderState

RESULTS = ("satisfied", "not_fixed")


def closed_in_week(session: Session, *, site: str, monday: date, sites: Sites) -> list[str]:
    """Orders whose work was completed that week (closed, or awaiting the callback)."""
    start, end = quality.week_bounds(monday, sites.tz(site))
    return samples.completed_between(session, site=site, start=start, end=end)


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
    existing = samples.sample_of_week(session, site=site, week_start=week_start)
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
    return samples.add_sample(session, sample)


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
    callback = samples.lock_callback(session, sample_id=sample_id, order_id=order_id)
    if callback is None:
        raise NotFound(f"order {order_id!r} is not in sample {sample_id!r}", field="order_id")
    if callback.result is not None:
        raise Conflict(f"the callback on {order_id} was recorded by {callback.by}")
    callback.result, callback.by, callback.at, callback.note = result, by, now, note
    reopened = None
    if result == "not_fixed":
        order = order_store.get(session, order_id=order_id, for_update=True)
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
    follow = order_store.new_order(
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
    follow = workorders.open_once(session, follow, sites=sites).order
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
