"""Maintenance plans, and the work orders they generate when due (one per occurrence)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.errors import NotFound
from api.domain.policy import department_of
from api.domain.usage import usage_step
from api.models import MaintenancePlan
from api.schemas.maintenance import PlanCreate, PlanUpdate
from api.sites import Sites
from api.store.workorders import Created, insert_once, new_order
from estatewatch.clock import to_epoch_ms
from estatewatch.contracts.payloads import Trade, Urgency, WorkOrderSource, stable_id

MAX_PLANS_PER_PASS = 500


def create(session: Session, *, data: PlanCreate, by: str, now: datetime) -> MaintenancePlan:
    plan = MaintenancePlan(
        id=uuid.uuid4().hex[:20],
        site=data.site,
        device=data.device,
        building=data.building,
        title=data.title,
        description=data.description,
        trade=data.trade,
        department=data.department or department_of(data.trade),
        interval_days=data.interval_days,
        next_due_at=data.first_due_at,
        counter_point=data.counter_point,
        counter_interval=data.counter_interval,
        active=True,
        created_at=now,
        created_by=by,
    )
    session.add(plan)
    session.flush()
    return plan


def get(session: Session, *, plan_id: str) -> MaintenancePlan:
    plan = session.get(MaintenancePlan, plan_id)
    if plan is None:
        raise NotFound(f"no maintenance plan {plan_id!r}", field="plan_id")
    return plan


def list_plans(session: Session, *, site: str | None = None) -> list[MaintenancePlan]:
    query = select(MaintenancePlan)
    if site is not None:
        query = query.where(MaintenancePlan.site == site)
    order = (MaintenancePlan.next_due_at.is_(None), MaintenancePlan.next_due_at, MaintenancePlan.id)
    return list(session.scalars(query.order_by(*order)))


def update(session: Session, *, plan: MaintenancePlan, data: PlanUpdate) -> MaintenancePlan:
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(plan, key, value)
    session.flush()
    return plan


def _order_for(
    session: Session,
    plan: MaintenancePlan,
    due: datetime,
    now: datetime,
    sites: Sites,
    *,
    occurrence: object = None,
) -> Created:
    order = new_order(
        id=stable_id("workorder", "maintenance", plan.id, occurrence or to_epoch_ms(due)),
        site=plan.site,
        source=WorkOrderSource.MAINTENANCE,
        category="maintenance",
        title=plan.title,
        description=plan.description,
        trade=Trade(plan.trade),
        department=plan.department,
        urgency=Urgency.GENERAL,
        building=plan.building,
        device=plan.device,
        location="",
        reported_at=due,
        created_at=now,
        created_by="maintenance",
    )
    return insert_once(session, order, sites=sites)


def generate_due(session: Session, *, now: datetime, sites: Sites) -> int:
    """Open the order of every active plan that has come due, and move the plan to its next
    occurrence. After a long stop only the latest missed occurrence becomes an order (the
    others would only be noise); its id makes a second run a no-op."""
    query = (
        select(MaintenancePlan)
        .where(MaintenancePlan.active.is_(True), MaintenancePlan.next_due_at <= now)
        .order_by(MaintenancePlan.next_due_at)
        .limit(MAX_PLANS_PER_PASS)
        .with_for_update(skip_locked=True)
    )
    created = 0
    for plan in session.scalars(query).all():
        if plan.next_due_at is None or plan.interval_days is None:
            continue  # a usage-only plan
        step = timedelta(days=plan.interval_days)
        missed = int((now - plan.next_due_at) / step)
        due = plan.next_due_at + missed * step
        result = _order_for(session, plan, due, now, sites)
        plan.last_order_id = result.order.id
        plan.next_due_at = due + step
        if plan.counter_interval is not None and plan.counter_value is not None:
            plan.counter_next = plan.counter_value + plan.counter_interval  # serviced now
        created += result.created
    return created


@dataclass(frozen=True)
class UsagePlan:
    id: str
    site: str
    device: str
    point: str


def usage_plans(session: Session) -> list[UsagePlan]:
    """The active plans that follow a device's counter: whose counters to read."""
    rows = session.execute(
        select(
            MaintenancePlan.id,
            MaintenancePlan.site,
            MaintenancePlan.device,
            MaintenancePlan.counter_point,
        ).where(MaintenancePlan.active.is_(True), MaintenancePlan.counter_point.is_not(None))
    ).all()
    return [UsagePlan(i, s, d, p) for i, s, d, p in rows if d is not None and p is not None]


def record_usage(
    session: Session, *, counters: Mapping[str, float], now: datetime, sites: Sites
) -> int:
    """Take each plan's counter as read now (plan id → value); open the order of every plan
    whose counter reached its threshold. Returns the orders created."""
    if not counters:
        return 0
    query = select(MaintenancePlan).where(
        MaintenancePlan.id.in_(list(counters)), MaintenancePlan.active.is_(True)
    )
    created = 0
    for plan in session.scalars(query.with_for_update(skip_locked=True)).all():
        if plan.counter_interval is None:
            continue
        value = counters[plan.id]
        step = usage_step(
            interval=plan.counter_interval,
            threshold=plan.counter_next,
            last=plan.counter_value,
            value=value,
        )
        if step.due:
            # The threshold names the occurrence: a second pass over the same reading, or
            # another API instance, finds the order already there.
            result = _order_for(
                session, plan, now, now, sites, occurrence=f"usage:{plan.counter_next:g}"
            )
            plan.last_order_id = result.order.id
            created += result.created
            if plan.interval_days is not None:
                plan.next_due_at = now + timedelta(days=plan.interval_days)  # serviced now
        plan.counter_next = step.next_at
        plan.counter_value = value
        plan.counter_seen_at = now
    return created
