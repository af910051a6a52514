"""The records a property company keeps, assembled from the stores: fault analysis, a
device's record (alarms, repairs, maintenance, operation-log days; the statutory record of
elevators and fire systems), the monthly report and the maintenance calendar."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session

from api.domain import faults as analysis
from api.domain import patrol as rounds
from api.domain.errors import InvalidInput, NotFound
from api.models import Alarm, MaintenancePlan, WorkOrder
from api.schemas.pm import ChecklistItem, PmSignature
from api.schemas.records import (
    CalendarEntry,
    DeviceRecord,
    FaultGroup,
    FaultReport,
    GuardPatrol,
    MaintenanceCalendar,
    MaintenanceMonth,
    MonthlyReport,
    QualityMonth,
    RecordAlarm,
    RecordDay,
    RecordOrder,
    RecordStep,
    RoutePatrol,
    StatutoryRecord,
)
from api.sites import Sites
from api.store import maintenance as plan_store
from api.store import patrol as patrol_store
from api.store import quality as quality_store
from api.store import records as store
from api.workflows import patrol, reports
from estatewatch.config import SiteConfig
from estatewatch.config.devices import Device, DeviceKind
from estatewatch.config.names import Lang, in_language
from estatewatch.contracts.payloads import WorkOrderSource

STATUTORY: dict[str, tuple[str, int]] = {
    # kind: (basis, maintenance interval in days)
    DeviceKind.ELEVATOR: (
        "特种设备安全法 / TSG T5002: elevator maintenance at least every 15 days", 15),
    DeviceKind.FIRE_PANEL: (
        "消防法 / GB 25201: fire-protection facilities maintained monthly", 31),
    DeviceKind.FIRE_PUMP: (
        "消防法 / GB 25201: fire pumps run and maintained monthly", 31),
}  # fmt: skip


def _config(sites: Sites, site: str) -> SiteConfig:
    config = sites.config(site)
    if config is None:
        raise NotFound(f"no site config for {site!r}", field="site")
    return config


def device_of(sites: Sites, site: str, device: str) -> Device:
    try:
        return _config(sites, site).device(device)
    except KeyError:
        raise NotFound(f"{site!r} has no device {device!r}", field="device") from None


# --- fault analysis -----------------------------------------------------------------------


def _faults(
    session: Session, config: SiteConfig, since: datetime, until: datetime
) -> list[analysis.Fault]:
    out = []
    for alarm, completed in store.device_faults(
        session, site=config.site.id, since=since, until=until
    ):
        out.append(
            analysis.Fault(
                id=alarm.alarm_id,
                device=alarm.target,
                kind=alarm.device_kind or "",
                location=alarm.building or "",
                rule=alarm.rule,
                category=alarm.category,
                at=alarm.raised_at,
                repaired_at=completed or alarm.cleared_at,
            )
        )
    return out


def fault_report(
    session: Session,
    *,
    site: str,
    by: analysis.GroupBy,
    since: datetime,
    until: datetime,
    now: datetime,
    sites: Sites,
) -> FaultReport:
    config = _config(sites, site)
    found = _faults(session, config, since, until)
    history = _faults(session, config, since - analysis.REPEAT_WITHIN, since)
    groups = analysis.analyse(found, by, history)
    overall = analysis.analyse(found, "rule", history)
    intervals = [i for g in analysis.analyse(found, "device") for i in g.intervals]
    repairs = [r for g in overall for r in g.repairs]
    return FaultReport(
        site=site,
        by=by,
        since=since,
        until=until,
        generated_at=now,
        faults=len(found),
        repeats=sum(g.repeats for g in groups),
        mtbf_hours=analysis.Group("", intervals=intervals).mtbf_hours,
        mttr_hours=analysis.Group("", repairs=repairs).mttr_hours,
        groups=[
            FaultGroup(
                key=g.key,
                faults=g.faults,
                repeats=g.repeats,
                devices=len(g.devices),
                mtbf_hours=g.mtbf_hours,
                mttr_hours=g.mttr_hours,
            )
            for g in groups
        ],
    )


# --- a device's record --------------------------------------------------------------------


def _alarm(alarm: Alarm, order_ids: dict[str, str]) -> RecordAlarm:
    return RecordAlarm(
        alarm_id=alarm.alarm_id,
        rule=alarm.rule,
        category=alarm.category,
        severity=alarm.severity,
        title=alarm.title,
        title_zh=alarm.title_zh,
        state=alarm.state,
        raised_at=alarm.raised_at,
        cleared_at=alarm.cleared_at,
        acknowledged_by=alarm.acknowledged_by,
        work_order_id=order_ids.get(alarm.alarm_id),
    )


def _order(order: WorkOrder, steps: list[RecordStep]) -> RecordOrder:
    return RecordOrder(
        id=order.id,
        source=order.source,
        category=order.category,
        title=order.title,
        title_zh=order.title_zh,
        state=order.state,
        urgency=order.urgency,
        reported_at=order.reported_at,
        assignee=order.assignee,
        completed_at=order.completed_at,
        closed_at=order.closed_at,
        result=order.result,
        parts=list(order.parts or []),
        photo_refs=list(order.photo_refs or []),
        callback_note=order.callback_note,
        due_by=order.due_by,
        checklist=[ChecklistItem.model_validate(c) for c in order.checklist or []] or None,
        signature=PmSignature.model_validate(order.signature) if order.signature else None,
        parent_order_id=order.parent_order_id,
        steps=steps,
    )


def device_record(
    session: Session,
    *,
    site: str,
    device: str,
    since: datetime,
    until: datetime,
    now: datetime,
    sites: Sites,
    log_days: list[str] | None,
) -> DeviceRecord:
    """Everything kept about one device in [since, until): `log_days` are the days the
    readings store has readings for (None: no store answered)."""
    found = device_of(sites, site, device)
    alarms = store.device_alarms(session, site=site, device=device, since=since, until=until)
    orders = store.device_orders(session, site=site, device=device, since=since, until=until)
    steps: dict[str, list[RecordStep]] = {}
    for entry in store.logs(session, order_ids=[o.id for o in orders]):
        steps.setdefault(entry.order_id, []).append(
            RecordStep(
                action=entry.action,
                to_state=entry.to_state,
                by=entry.by,
                at=entry.at,
                note=entry.note,
            )
        )
    order_ids = {o.alarm_id: o.id for o in orders if o.alarm_id}
    repairs = [_order(o, steps.get(o.id, [])) for o in orders if o.source != "maintenance"]
    done = [
        _order(o, steps.get(o.id, []))
        for o in orders
        if o.source == "maintenance" and o.completed_at is not None
    ]
    statutory = None
    if found.kind in STATUTORY:
        basis, interval = STATUTORY[found.kind]
        last = max((o.completed_at for o in done if o.completed_at), default=None)
        statutory = StatutoryRecord(
            basis=basis,
            maintenance_interval_days=interval,
            last_maintenance_at=last,
            maintenance_overdue=last is None or now - last > timedelta(days=interval),
            entrapments=sum(a.category == "entrapment" for a in alarms),
            faults=len(alarms),
            repairs=sum(o.completed_at is not None for o in repairs),
        )
    return DeviceRecord(
        site=site,
        device=device,
        name=found.name,
        kind=found.kind,
        building=found.building,
        room=found.room,
        since=since,
        until=until,
        generated_at=now,
        alarms=[_alarm(a, order_ids) for a in alarms],
        repairs=[o for o in repairs if o.source != "maintenance"],
        maintenance=done,
        operation_log_days=(
            None
            if log_days is None
            else [
                RecordDay(date=d, link=f"/devices/{device}/operation-log?site={site}&date={d}")
                for d in log_days
            ]
        ),
        statutory=statutory,
    )


def record_csv(record: DeviceRecord, lang: Lang = "zh-CN") -> str:
    rows: list[list[object]] = []
    rows += [
        ["alarm", a.alarm_id, a.raised_at, a.category, in_language(a.title, a.title_zh, lang),
         a.state, a.work_order_id, ""]
        for a in record.alarms
    ]  # fmt: skip
    for section, orders in (("repair", record.repairs), ("maintenance", record.maintenance)):
        rows += [
            [section, o.id, o.reported_at, o.category, in_language(o.title, o.title_zh, lang),
             o.state, o.result,
             ";".join(o.parts + o.photo_refs)]
            for o in orders
        ]  # fmt: skip
    rows += [
        ["operation_log", d.date, d.date, "", "", "", "", d.link]
        for d in record.operation_log_days or []
    ]
    header = ["section", "id", "time", "category", "title", "state", "result", "detail"]
    return reports.to_csv(header, rows)


# --- the month ----------------------------------------------------------------------------


def month_bounds(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """Local midnight of the month's first day to that of the next month's."""
    try:
        first = datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise InvalidInput("month is YYYY-MM", field="month") from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (
        datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),
        datetime.combine(following, time(0), tzinfo=tz).astimezone(UTC),
    )


def _patrol(
    session: Session, config: SiteConfig, since: datetime, until: datetime, sites: Sites
) -> tuple[list[RoutePatrol], list[GuardPatrol]]:
    tz = sites.tz(config.site.id)
    by_route: dict[str, RoutePatrol] = {}
    by_guard: dict[str, GuardPatrol] = {}
    day = since.astimezone(tz).date()
    while datetime.combine(day, time(0), tzinfo=tz) < until:
        for shift in config.shifts:
            start, end = rounds.shift_bounds(shift, day, tz)
            if end > until or start < since:
                continue
            done = patrol.shift_completion(
                session, site=config.site.id, shift_id=shift.id, day=day, sites=sites
            )
            for r in done.rounds:
                row = by_route.setdefault(r.route, RoutePatrol(
                    route=r.route, route_name=r.route_name, rounds=0, complete_rounds=0,
                    percent=0.0))  # fmt: skip
                row.rounds += 1
                row.complete_rounds += r.complete
                for guard in r.guards:
                    g = by_guard.setdefault(guard, GuardPatrol(
                        guard=guard, scans=0, rounds=0, complete_rounds=0))  # fmt: skip
                    g.rounds += 1
                    g.complete_rounds += r.complete
        day += timedelta(days=1)
    scans = Counter(
        s.guard for s in patrol_store.scans(session, site=config.site.id, since=since, until=until)
    )
    for guard, count in scans.items():
        by_guard.setdefault(
            guard, GuardPatrol(guard=guard, scans=0, rounds=0, complete_rounds=0)
        ).scans = count
    for row in by_route.values():
        row.percent = round(100.0 * row.complete_rounds / row.rounds, 1) if row.rounds else 0.0
    return sorted(by_route.values(), key=lambda r: r.route), sorted(
        by_guard.values(), key=lambda g: g.guard
    )


def monthly(
    session: Session, *, site: str, month: str, now: datetime, sites: Sites
) -> MonthlyReport:
    config = _config(sites, site)
    since, until = month_bounds(month, sites.tz(site))
    sla = reports.sla_report(session, site=site, since=since, until=until, now=now, sites=sites)
    by_route, by_guard = _patrol(session, config, since, until, sites)
    pm = store.orders_between(
        session, site=site, source=WorkOrderSource.MAINTENANCE, since=since, until=until
    )
    done = sum(o.completed_at is not None for o in pm)
    quality = quality_store.report(session, site=site, since=since, until=until)
    sampled = sum(int(str(q["sampled"])) for q in quality)
    pending = sum(int(str(q["pending"])) for q in quality)
    return MonthlyReport(
        site=site,
        month=month,
        since=since,
        until=until,
        generated_at=now,
        orders=sla.orders,
        sla=sla.clocks,
        faults=fault_report(
            session, site=site, by="device", since=since, until=until, now=now, sites=sites
        ),
        patrol_by_route=by_route,
        patrol_by_guard=by_guard,
        maintenance=MaintenanceMonth(
            planned=len(pm),
            done=done,
            open=len(pm) - done,
            percent=round(100.0 * done / len(pm), 1) if pm else None,
        ),
        quality=QualityMonth(
            samples=sampled,
            callbacks=sampled - pending,
            satisfied=sum(int(str(q["satisfied"])) for q in quality),
            reopened=sum(int(str(q["not_fixed"])) for q in quality),
        ),
    )


# --- the maintenance calendar -------------------------------------------------------------


def _occurrences(plan: MaintenancePlan, year: int, tz: tzinfo) -> list[date]:
    if plan.next_due_at is None or plan.interval_days is None:
        return []
    step = timedelta(days=plan.interval_days)
    at = plan.next_due_at
    start = datetime(year, 1, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz)
    if at > start:  # back to the year's first occurrence of the rhythm
        at -= ((at - start) // step) * step
    else:
        at += -((start - at) // -step) * step
    out = []
    while at < end:
        out.append(at.astimezone(tz).date())
        at += step
    return out


def calendar(session: Session, *, site: str, year: int, sites: Sites) -> MaintenanceCalendar:
    """Every calendar plan's occurrences in the year, per plan and per month (usage plans
    have no dates: they come due by their counter)."""
    _config(sites, site)
    tz = sites.tz(site)
    entries = [
        CalendarEntry(
            plan_id=p.id,
            title=p.title,
            device=p.device,
            trade=p.trade,
            due=_occurrences(p, year, tz),
        )
        for p in plan_store.list_plans(session, site=site)
        if p.active
    ]
    months: list[list[CalendarEntry]] = [
        [
            e.model_copy(update={"due": [d for d in e.due if d.month == m]})
            for e in entries
            if any(d.month == m for d in e.due)
        ]
        for m in range(1, 13)
    ]
    return MaintenanceCalendar(site=site, year=year, months=months, plans=entries)
