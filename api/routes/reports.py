"""Reports for supervisors and the duty room, as JSON or CSV."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import ClockDep, LangQuery, ReaderDep, ReportReader, SitesDep
from api.domain import patrol as rounds
from api.domain.errors import InvalidInput
from api.routes.downloads import csv_download
from api.schemas.report import Handover, SlaReport
from api.workflows import reports

router = APIRouter(prefix="/reports", tags=["reports"])
Format = Annotated[Literal["json", "csv"], Query(description="json or csv")]


@router.get("/handover", response_model=Handover)
def handover(
    _: ReportReader,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str,
    shift: Annotated[str | None, Query(description="default: the shift running now")] = None,
    day: Annotated[date | None, Query(alias="date")] = None,
    format: Format = "json",
    lang: LangQuery = "zh-CN",
) -> Handover | Response:
    """Open alarms and orders, SLA breaches of the shift, patrol rounds, devices not online."""
    now = clock.now()
    if shift is None or day is None:
        config = sites.config(site)
        current = rounds.shift_of(config, now, sites.tz(site)) if config else None
        if current is None:
            raise InvalidInput("no shift is running now; give shift and date", field="shift")
        shift, day = shift or current[0].id, day or current[1]
    report = reports.handover(session, site=site, shift=shift, day=day, now=now, sites=sites)
    if format == "csv":
        return csv_download(reports.handover_csv(report, lang), f"handover-{site}-{day}-{shift}")
    return report


@router.get("/sla", response_model=SlaReport)
def sla(
    user: ReportReader,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    format: Format = "json",
) -> SlaReport | Response:
    """SLA compliance of the orders reported in [since, until) (default: the last 7 days)."""
    now = clock.now()
    until = until or now
    since = since or until - timedelta(days=7)
    if since >= until:
        raise InvalidInput("since must be before until", field="since")
    report = reports.sla_report(
        session, site=site, since=since, until=until, now=now, sites=sites, scope=user.scope
    )
    if format == "csv":
        return csv_download(reports.sla_csv(report), f"sla-{site or 'all'}")
    return report
