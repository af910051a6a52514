"""The duty roster: who (guard, duty engineer, technician) works which shift, and who is
on duty now."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ClockDep, PlanAdmin, PlanReader, ReaderDep, SessionDep, SitesDep
from api.schemas.common import Moment
from api.workflows import roster as roster_flows
from estatewatch.config.patrol import RosterEntry

router = APIRouter(prefix="/roster", tags=["roster"])


class RosterIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {"role": "guard", "person": "guard-li", "shift": "night"},
                        {"role": "technician", "person": "tom", "shift": "day", "weekdays": [0]},
                    ]
                }
            ]
        },
    )

    entries: list[RosterEntry] = Field(max_length=1000)


class OnDutyPublic(BaseModel):
    at: datetime
    guard: list[str]
    duty_engineer: list[str]
    technician: list[str]


@router.get("")
def get_roster(_: PlanReader, site: str, session: ReaderDep, sites: SitesDep) -> list[RosterEntry]:
    """The roster in force: as last edited here, else the site file's `roster`."""
    return roster_flows.effective(session, site=site, sites=sites)


@router.put("")
def put_roster(
    user: PlanAdmin,
    site: str,
    body: RosterIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> list[RosterEntry]:
    """Replace the site's roster (supervisor, admin)."""
    return roster_flows.replace(
        session, site=site, entries=body.entries, by=user.username, now=clock.now(), sites=sites
    )


@router.get("/now")
def on_duty_now(
    _: PlanReader,
    site: str,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    at: Moment | None = None,
) -> OnDutyPublic:
    """Who is rostered on a shift running at `at` (default: now)."""
    moment = at or clock.now()
    duty = roster_flows.on_duty(session, site=site, at=moment, sites=sites)
    return OnDutyPublic(at=moment, **duty)
