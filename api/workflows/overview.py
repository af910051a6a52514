"""The group monitoring centre: per estate, the five figures a group duty room watches,
ordered so the estate that needs attention comes first."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain import patrol as rounds
from api.domain.alarms import OPEN_ALARM_STATES
from api.domain.scope import EstateScope
from api.domain.transitions import OPEN_STATES
from api.models import Alarm, DeviceStatusRecord, WorkOrder
from api.schemas.overview import Attention, EstateFigures, GroupOverview
from api.sites import Sites
from api.store import patrol as patrol_store
from api.workflows import reports
from estatewatch.contracts.payloads import Severity
from estatewatch.contracts.telemetry import DeviceState

# Under this a figure turns the estate's card amber.
WARN_PERCENT = 90.0


def overview(session: Session, *, scope: EstateScope, now: datetime, sites: Sites) -> GroupOverview:
    figures = [_estate(session, site, now, sites) for site in scope.visible(sites.ids)]
    figures.sort(key=urgency)
    return GroupOverview(generated_at=now, estates=figures)


def urgency(e: EstateFigures) -> tuple[int, int, int, int, float, float, str]:
    rank = {"critical": 0, "warning": 1, "ok": 2}[e.attention]
    return (
        rank,
        -e.critical_alarms,
        -e.overdue_orders,
        -e.devices_offline,
        e.sla_compliance_percent if e.sla_compliance_percent is not None else 101.0,
        e.patrol_percent if e.patrol_percent is not None else 101.0,
        e.site,
    )


def _estate(session: Session, site: str, now: datetime, sites: Sites) -> EstateFigures:
    critical = session.scalar(
        select(func.count())
        .select_from(Alarm)
        .where(
            Alarm.site == site,
            Alarm.severity == Severity.CRITICAL,
            Alarm.state.in_([str(s) for s in OPEN_ALARM_STATES]),
        )
    )
    offline = session.scalar(
        select(func.count())
        .select_from(DeviceStatusRecord)
        .where(DeviceStatusRecord.site == site, DeviceStatusRecord.state == DeviceState.OFFLINE)
    )
    config = sites.config(site)
    figures = EstateFigures(
        site=site,
        name=config.site.name if config else site,
        attention="ok",
        critical_alarms=critical or 0,
        overdue_orders=_overdue(session, site, now, sites),
        sla_compliance_percent=_compliance(session, site, now, sites),
        patrol_percent=_patrol_today(session, site, now, sites),
        devices_offline=offline or 0,
    )
    figures.attention = attention_of(figures)
    return figures


def attention_of(e: EstateFigures) -> Attention:
    if e.critical_alarms or e.overdue_orders:
        return "critical"
    low = [p for p in (e.sla_compliance_percent, e.patrol_percent) if p is not None]
    if e.devices_offline or any(p < WARN_PERCENT for p in low):
        return "warning"
    return "ok"


def _overdue(session: Session, site: str, now: datetime, sites: Sites) -> int:
    orders = session.scalars(
        select(WorkOrder).where(
            WorkOrder.site == site, WorkOrder.state.in_([str(s) for s in OPEN_STATES])
        )
    )
    policy, tz = sites.sla(site), sites.tz(site)
    return sum(
        any(
            row.status == "breached" and row.met_at is None
            for row in reports.clock_rows(
                o, order_id=o.id, site=site, trade=o.trade, policy=policy, now=now, tz=tz
            )
        )
        for o in orders
    )


def _compliance(session: Session, site: str, now: datetime, sites: Sites) -> float | None:
    tz = sites.tz(site)
    first = datetime.combine(now.astimezone(tz).date().replace(day=1), time(), tz)
    report = reports.sla_report(session, site=site, since=first, until=now, now=now, sites=sites)
    met = sum(c.met for c in report.clocks)
    decided = met + sum(c.breached for c in report.clocks)
    return round(100.0 * met / decided, 1) if decided else None


def _patrol_today(session: Session, site: str, now: datetime, sites: Sites) -> float | None:
    """Checkpoints scanned in time over those expected, of the rounds of today's shifts that
    have begun (a round still open counts what is scanned so far)."""
    config = sites.config(site)
    if config is None:
        return None
    tz = sites.tz(site)
    today = now.astimezone(tz).date()
    expected = done = 0
    for shift in config.shifts:
        start, end = rounds.shift_bounds(shift, today, tz)
        begun = [r for r in rounds.rounds_of_shift(config, shift, today, tz) if r.start <= now]
        if not begun:
            continue
        facts = [
            rounds.ScanFact(s.checkpoint, s.scanned_at, s.guard)
            for s in patrol_store.scans(session, site=site, since=start, until=end)
        ]
        for result in rounds.completion(begun, facts):
            expected += len(result.expected)
            done += len(result.expected) - len(result.missed)
    return round(100.0 * done / expected, 1) if expected else None
