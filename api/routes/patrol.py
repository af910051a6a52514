"""Patrol: guards sync their scans (and findings); the duty room reads rounds and exceptions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import (
    ClockDep,
    CurrentUser,
    PatrolReader,
    PatrolSubmitter,
    ReaderDep,
    SessionDep,
    SitesDep,
)
from api.domain import patrol as rounds
from api.domain.errors import Forbidden, InvalidInput
from api.domain.permissions import Permission, has
from api.schemas.patrol import (
    PatrolExceptionPublic,
    Reinspection,
    ScanBatch,
    ScanPublic,
    ScanResult,
    ShiftCompletion,
)
from api.store import patrol
from api.workflows import patrol as patrol_flows
from api.workflows import reinspection

router = APIRouter(prefix="/patrol", tags=["patrol"])


@router.post("/scans")
def submit_scans(
    user: PatrolSubmitter, batch: ScanBatch, session: SessionDep, sites: SitesDep, clock: ClockDep
) -> list[ScanResult]:
    """Scans made by the signed-in guard, live or synced late from a handheld that lost
    signal, each with its original time. Sending a batch again changes nothing."""
    if user.guard_id is None:
        raise Forbidden("only a guard (a user with a guard_id) submits scans", field="guard_id")
    config = sites.config(batch.site)
    if config is not None and config.guards and user.guard_id not in {g.id for g in config.guards}:
        raise InvalidInput(f"guard {user.guard_id!r} is not on {batch.site}'s roster", field="site")
    now = clock.now()
    return [
        patrol_flows.submit(
            session, site=batch.site, guard=user.guard_id, scan=scan, now=now, sites=sites
        )
        for scan in batch.scans
    ]


def _window(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    until = until or now
    try:
        return since or until - timedelta(hours=24), until
    except OverflowError:
        raise InvalidInput("until is too early to look a day back from", field="until") from None


@router.get("/scans")
def list_scans(
    _: PatrolReader,
    session: ReaderDep,
    clock: ClockDep,
    site: str,
    since: datetime | None = None,
    until: datetime | None = None,
    guard: str | None = None,
) -> list[ScanPublic]:
    """Scans by their original time (default: the last 24 h)."""
    start, end = _window(since, until, clock.now())
    found = patrol.scans(session, site=site, since=start, until=end, guard=guard)
    return [ScanPublic.model_validate(s) for s in found]


@router.get("/exceptions")
def list_exceptions(
    _: PatrolReader,
    session: ReaderDep,
    clock: ClockDep,
    site: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PatrolExceptionPublic]:
    start, end = _window(since, until, clock.now())
    found = patrol.exceptions(session, site=site, since=start, until=end)
    return [PatrolExceptionPublic.model_validate(e) for e in found]


@router.get("/completion")
def completion(
    _: PatrolReader,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str,
    shift: Annotated[str | None, Query(description="default: the shift running now")] = None,
    day: Annotated[date | None, Query(alias="date", description="the shift's start date")] = None,
) -> ShiftCompletion:
    """Each round of the shift: checkpoints scanned within its window, missed, out of order."""
    if shift is None or day is None:
        config = sites.config(site)
        current = rounds.shift_of(config, clock.now(), sites.tz(site)) if config else None
        if current is None:
            raise InvalidInput("no shift is running now; give shift and date", field="shift")
        shift, day = shift or current[0].id, day or current[1]
    return patrol_flows.shift_completion(session, site=site, shift_id=shift, day=day, sites=sites)


@router.get("/reinspections")
def reinspections(
    user: CurrentUser,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str,
    at: Annotated[datetime | None, Query(description="the round's time (default: now)")] = None,
) -> list[Reinspection]:
    """The re-inspection tasks on the rounds at `at`: each by-deadline finding due by then
    and not yet verified, at its checkpoint, with its owner and the photos before and after
    (for guards, the duty room and supervisors)."""
    if not (has(user.role, Permission.PATROL_READ) or has(user.role, Permission.PATROL_SUBMIT)):
        raise Forbidden(f"a {user.role} does not patrol", field="site")
    return reinspection.due(session, site=site, at=at or clock.now(), sites=sites)
