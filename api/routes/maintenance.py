"""Preventive maintenance plans: periodic tasks per equipment, generated as work orders."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import ClockDep, PlanAdmin, PlanReader, ReaderDep, SessionDep, SitesDep
from api.schemas.maintenance import PlanCreate, PlanPublic, PlanUpdate
from api.store import maintenance
from api.workflows import maintenance as plans

router = APIRouter(prefix="/maintenance", tags=["maintenance"])


@router.get("/plans")
def list_plans(user: PlanReader, session: ReaderDep, site: str | None = None) -> list[PlanPublic]:
    found = maintenance.list_plans(session, site=site)
    return [PlanPublic.model_validate(p) for p in found if user.scope.covers(p.site)]


@router.post("/plans", status_code=status.HTTP_201_CREATED)
def create_plan(
    user: PlanAdmin, data: PlanCreate, session: SessionDep, clock: ClockDep
) -> PlanPublic:
    plan = plans.create(session, data=data, by=user.username, now=clock.now())
    return PlanPublic.model_validate(plan)


@router.patch("/plans/{plan_id}")
def update_plan(_: PlanAdmin, plan_id: str, data: PlanUpdate, session: SessionDep) -> PlanPublic:
    plan = plans.update(session, plan=maintenance.get(session, plan_id=plan_id), data=data)
    return PlanPublic.model_validate(plan)


@router.post("/generate")
def generate(
    user: PlanAdmin, session: SessionDep, sites: SitesDep, clock: ClockDep
) -> dict[str, int]:
    """Open the orders of plans that are due now (this also runs with every SLA check)."""
    user.scope.require_group("maintenance generation")
    return {"created": plans.generate_due(session, now=clock.now(), sites=sites)}
