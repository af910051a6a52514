"""Maintenance plans in the database: the plans, the ones come due, the ones that follow a
device's counter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.errors import NotFound
from api.models import MaintenancePlan

MAX_PLANS_PER_PASS = 500


def add(session: Session, plan: MaintenancePlan) -> MaintenancePlan:
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


def lock_due(session: Session, *, now: datetime) -> list[MaintenancePlan]:
    """Active plans whose next date has come, the most overdue first, locked (two API
    instances never share a plan)."""
    query = (
        select(MaintenancePlan)
        .where(MaintenancePlan.active.is_(True), MaintenancePlan.next_due_at <= now)
        .order_by(MaintenancePlan.next_due_at)
        .limit(MAX_PLANS_PER_PASS)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query).all())


def lock_active(session: Session, *, ids: Iterable[str]) -> list[MaintenancePlan]:
    """The active plans among `ids`, locked."""
    query = select(MaintenancePlan).where(
        MaintenancePlan.id.in_(list(ids)), MaintenancePlan.active.is_(True)
    )
    return list(session.scalars(query.with_for_update(skip_locked=True)).all())


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
