"""The group monitoring centre (集团监控中心): the estates a user may see, side by side."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ClockDep, ReaderDep, ReportReader, SitesDep
from api.schemas.overview import GroupOverview
from api.workflows import overview as group

router = APIRouter(prefix="/group", tags=["group"])


@router.get("/overview")
def overview(
    user: ReportReader, session: ReaderDep, sites: SitesDep, clock: ClockDep
) -> GroupOverview:
    """Per estate: open critical alarms, orders past their SLA clocks, SLA compliance this
    month, patrol completion today and devices offline; the estate needing attention first.
    A user of some estates sees only theirs."""
    return group.overview(session, scope=user.scope, now=clock.now(), sites=sites)
