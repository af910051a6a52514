"""Emergency incidents: open by hand, check off steps, notes, close, review, export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import (
    ClockDep,
    IncidentReader,
    IncidentReviewer,
    IncidentRunner,
    ReaderDep,
    SessionDep,
    SitesDep,
)
from api.domain.errors import NotFound
from api.incidents import export
from api.incidents import store as incidents
from api.models import Incident
from api.sites import Sites
from estatewatch.config.emergency import EmergencyPlan

router = APIRouter(prefix="/incidents", tags=["incidents"])


class IncidentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    site: str
    plan: str
    type: str
    title: str
    building: str | None
    state: str
    alarm_ids: list[str]
    steps_done: list[str]
    owners_notice: dict[str, str]
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    review_due_at: datetime | None
    reviewed_by: str | None


class IncidentOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str
    plan: str
    building: str | None = None
    title: str = Field(default="", max_length=256)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class ReviewIn(BaseModel):
    """The supervisor's review (response times, resources, what to improve)."""

    model_config = ConfigDict(extra="forbid")

    response_minutes: float | None = Field(default=None, ge=0)
    resources: str = Field(default="", max_length=4000)
    improvements: str = Field(min_length=1, max_length=4000)


def _plan(sites: Sites, site: str, plan_id: str) -> EmergencyPlan:
    config = sites.config(site)
    for plan in config.emergency_plans if config else []:
        if plan.id == plan_id:
            return plan
    raise NotFound(f"site {site!r} has no emergency plan {plan_id!r}", field="plan")


def _load(session: Session, incident_id: str) -> Incident:
    return incidents.get(session, incident_id, for_update=True)


@router.get("")
def list_incidents(
    user: IncidentReader, session: ReaderDep, site: str | None = None, state: str | None = None
) -> list[IncidentPublic]:
    query = select(Incident).order_by(Incident.opened_at.desc()).limit(200)
    if site:
        query = query.where(Incident.site == site)
    if (scope := user.scope.sites) is not None:
        query = query.where(Incident.site.in_(scope))
    if state:
        query = query.where(Incident.state == state)
    return [IncidentPublic.model_validate(i) for i in session.scalars(query)]


@router.post("", status_code=status.HTTP_201_CREATED)
def open_incident(
    user: IncidentRunner, data: IncidentOpen, session: SessionDep, sites: SitesDep, clock: ClockDep
) -> IncidentPublic:
    plan = _plan(sites, data.site, data.plan)
    config = sites.config(data.site)
    assert config is not None
    incident = incidents.open_incident(
        session,
        config,
        plan,
        by=user.username,
        now=clock.now(),
        building=data.building,
        sites=sites,
        title=data.title,
    )
    return IncidentPublic.model_validate(incident)


@router.get("/{incident_id}")
def get_incident(_: IncidentReader, incident_id: str, session: ReaderDep) -> dict[str, Any]:
    """The incident with its timeline (the JSON export)."""
    incident = incidents.get(session, incident_id)
    return export.to_json(incident, incidents.timeline(session, incident_id), None)


@router.get("/{incident_id}/export.html", response_class=HTMLResponse)
def export_html(
    _: IncidentReader,
    incident_id: str,
    session: ReaderDep,
    sites: SitesDep,
    lang: Annotated[str, Query(pattern="^(zh-CN|en)$")] = "zh-CN",
) -> HTMLResponse:
    incident = incidents.get(session, incident_id)
    plan = _plan(sites, incident.site, incident.plan)
    entries = incidents.timeline(session, incident_id)
    page = export.to_html(incident, entries, plan, language=lang, tz=sites.tz(incident.site))
    return HTMLResponse(page)


@router.get("/{incident_id}/export.json")
def export_json(
    _: IncidentReader, incident_id: str, session: ReaderDep, sites: SitesDep
) -> dict[str, Any]:
    incident = incidents.get(session, incident_id)
    plan = _plan(sites, incident.site, incident.plan)
    return export.to_json(incident, incidents.timeline(session, incident_id), plan)


@router.post("/{incident_id}/steps/{step}")
def step_done(
    user: IncidentRunner,
    incident_id: str,
    step: str,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> IncidentPublic:
    incident = _load(session, incident_id)
    plan = _plan(sites, incident.site, incident.plan)
    incidents.step_done(session, incident, plan, step=step, by=user.username, now=clock.now())
    return IncidentPublic.model_validate(incident)


@router.post("/{incident_id}/notes", status_code=status.HTTP_201_CREATED)
def add_note(
    user: IncidentRunner, incident_id: str, data: NoteIn, session: SessionDep, clock: ClockDep
) -> IncidentPublic:
    incident = _load(session, incident_id)
    incidents.note(session, incident, by=user.username, now=clock.now(), text=data.text)
    return IncidentPublic.model_validate(incident)


@router.post("/{incident_id}/close")
def close(
    user: IncidentRunner, incident_id: str, session: SessionDep, sites: SitesDep, clock: ClockDep
) -> IncidentPublic:
    incident = _load(session, incident_id)
    incidents.close(session, incident, by=user.username, now=clock.now(), sites=sites)
    return IncidentPublic.model_validate(incident)


@router.post("/{incident_id}/review")
def review(
    user: IncidentReviewer,
    incident_id: str,
    data: ReviewIn,
    session: SessionDep,
    clock: ClockDep,
) -> IncidentPublic:
    incident = _load(session, incident_id)
    incidents.review(
        session, incident, by=user.username, now=clock.now(), content=data.model_dump()
    )
    return IncidentPublic.model_validate(incident)
