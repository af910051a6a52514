"""Preventive maintenance: plans, and the work orders they open when due by the calendar
or by a device's counter (run hours, starts), one per occurrence."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.domain.errors import InvalidInput
from api.domain.policy import department_of
from api.domain.usage import usage_step
from api.models import MaintenancePlan
from api.schemas.maintenance import PlanCreate, PlanUpdate
from api.sites import Sites
from api.store import maintenance as plans
from api.store.workorders import Created, new_order
from api.workflows.workorders import open_once
from estatewatch.clock import to_epoch_ms
from estatewatch.contracts.payloads import Trade, Urgency, WorkOrderSource, stable_id


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
        checklist=list(data.checklist),
        due_within_days=data.due_within_days,
        active=True,
        created_at=now,
        created_by=by,
    )
    return plans.add(session, plan)


def update(session: Session, *, plan: MaintenancePlan, data: PlanUpdate) -> MaintenancePlan:
    """Apply the changes, or refuse them (nothing changed) when the plan would be left
    without a schedule, as creating it would."""
    changes = data.model_dump(exclude_unset=True)
    after = {
        key: changes.get(key, getattr(plan, key))
        for key in ("interval_days", "next_due_at", "counter_interval")
    }
    if (after["interval_days"] is None) != (after["next_due_at"] is None):
        raise InvalidInput("interval_days and next_due_at go together", field="interval_days")
    if after["interval_days"] is None and (
        plan.counter_point is None or after["counter_interval"] is None
    ):
        raise InvalidInput(
            "the plan would have no schedule: keep interval_days, or a usage counter",
            field="interval_days" if "interval_days" in changes else "counter_interval",
        )
    for key, value in changes.items():
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
    order.due_by = due + timedelta(days=plan.due_within_days or plan.interval_days or 7)
    order.checklist = [{"item": item, "ok": None, "note": ""} for item in plan.checklist]
    return open_once(session, order, sites=sites)


def generate_due(session: Session, *, now: datetime, sites: Sites) -> int:
    """Open the order of every active plan that has come due, and move the plan to its next
    occurrence. After a long stop only the latest missed occurrence becomes an order (the
    others would only be noise); its id makes a second run a no-op."""
    created = 0
    for plan in plans.lock_due(session, now=now):
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


def record_usage(
    session: Session, *, counters: Mapping[str, float], now: datetime, sites: Sites
) -> int:
    """Take each plan's counter as read now (plan id → value); open the order of every plan
    whose counter reached its threshold. Returns the orders created."""
    if not counters:
        return 0
    created = 0
    for plan in plans.lock_active(session, ids=counters):
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
