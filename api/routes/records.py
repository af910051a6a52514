"""The records a property company keeps: fault analysis, a device's record, the monthly
report (JSON or printable HTML), the preventive-maintenance calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import (
    ClockDep,
    LangQuery,
    PlanReader,
    ReaderDep,
    ReportReader,
    RuntimeDep,
    SitesDep,
)
from api.domain.errors import InvalidInput
from api.domain.faults import GroupBy
from api.routes.downloads import csv_download
from api.schemas.records import DeviceRecord, FaultReport, MaintenanceCalendar, MonthlyReport
from api.web.printable import monthly_html
from api.workflows import records
from api.workflows.unusual import days_with_readings

router = APIRouter(tags=["records"])

From = Annotated[datetime | None, Query(alias="from", description="default: `to` − 30 days")]
To = Annotated[datetime | None, Query(description="default: now; excluded")]


def _period(
    start: datetime | None, end: datetime | None, now: datetime, days: int
) -> tuple[datetime, datetime]:
    end = end or now
    start = start or end - timedelta(days=days)
    if start >= end:
        raise InvalidInput("from must be before to", field="from")
    return start, end


def _single(sites: SitesDep, site: str | None) -> str:
    if site is None:
        if len(sites.ids) != 1:
            raise InvalidInput("give site: this API serves several sites", field="site")
        return sites.ids[0]
    return site


@router.get("/reports/faults", response_model=FaultReport)
def faults(
    _: ReportReader,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str,
    start: From = None,
    to: To = None,
    by: GroupBy = "device",
) -> FaultReport:
    """High-frequency faults (高频故障) per device, kind, location (building) or rule: counts,
    mean time between faults, mean time to repair, repeats within 30 days."""
    now = clock.now()
    since, until = _period(start, to, now, 30)
    return records.fault_report(
        session, site=site, by=by, since=since, until=until, now=now, sites=sites
    )


@router.get("/devices/{device}/record", response_model=DeviceRecord)
async def device_record(
    _: ReportReader,
    runtime: RuntimeDep,
    device: str,
    site: Annotated[str | None, Query(description="default: the only site served")] = None,
    start: Annotated[
        datetime | None, Query(alias="from", description="default: a year before to")
    ] = None,
    to: To = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    lang: LangQuery = "zh-CN",
) -> DeviceRecord | Response:
    """Every alarm, repair (result, parts, photos, each step) and maintenance done of the
    device, the days its operation log has values; for elevators and fire systems the
    statutory record. CSV with `format=csv`."""
    sites, now = runtime.sites, runtime.clock.now()
    site = _single(sites, site)
    since, until = _period(start, to, now, 365)
    found = records.device_of(sites, site, device)
    config = sites.config(site)
    assert config is not None
    tz = sites.tz(site)
    days = await days_with_readings(
        runtime.readings, config, found, first=since.astimezone(tz).date(),
        last=(until - timedelta(microseconds=1)).astimezone(tz).date(), tz=tz,
    )  # fmt: skip
    with runtime.db.read() as session:
        record = records.device_record(
            session, site=site, device=device, since=since, until=until, now=now,
            sites=sites, log_days=days,
        )  # fmt: skip
    if format == "csv":
        return csv_download(records.record_csv(record, lang), f"record-{device}")
    return record


@router.get("/reports/monthly", response_model=MonthlyReport)
def monthly(
    _: ReportReader,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str,
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default: last month")
    ] = None,
    format: Annotated[Literal["json", "html"], Query()] = "json",
    lang: LangQuery = "zh-CN",
) -> MonthlyReport | HTMLResponse:
    """The month: SLA compliance per clock, faults, patrol per route and guard, preventive
    maintenance done vs planned, quality samples and callbacks."""
    now = clock.now()
    if month is None:
        first = now.astimezone(sites.tz(site)).date().replace(day=1)
        month = (first - timedelta(days=1)).strftime("%Y-%m")
    report = records.monthly(session, site=site, month=month, now=now, sites=sites)
    if format == "html":
        config = sites.config(site)
        return HTMLResponse(
            monthly_html(report, lang=lang, tz=sites.tz(site),
                         site_name=config.site.name.pick(lang) if config else site),
            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )  # fmt: skip
    return report


@router.get("/maintenance/calendar", response_model=MaintenanceCalendar)
def maintenance_calendar(
    _: PlanReader,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str,
    year: Annotated[int | None, Query(ge=2000, le=2200, description="default: this year")] = None,
) -> MaintenanceCalendar:
    """The year's preventive maintenance per plan and per month (年度保养计划)."""
    year = year or clock.now().astimezone(sites.tz(site)).year
    return records.calendar(session, site=site, year=year, sites=sites)
