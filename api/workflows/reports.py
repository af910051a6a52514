"""Reports: the shift handover and SLA compliance, assembled from the stores, and their
CSV forms."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain import sla
from api.domain.scope import EVERY_ESTATE, EstateScope
from api.models import SlaBreach, WorkOrder
from api.schemas.report import BreachPublic, ClockRow, ClockSummary, Handover, SlaReport
from api.sites import Sites
from api.store import workorders
from api.workflows import alarms, devices, patrol
from api.workflows.order_events import to_public
from estatewatch.config import SlaPolicy
from estatewatch.config.names import Lang, in_language, name_in
from estatewatch.contracts.payloads import DeviceState


def handover(
    session: Session, *, site: str, shift: str, day: date, now: datetime, sites: Sites
) -> Handover:
    completion = patrol.shift_completion(session, site=site, shift_id=shift, day=day, sites=sites)
    breaches = session.execute(
        select(SlaBreach, WorkOrder.site)
        .join(WorkOrder, WorkOrder.id == SlaBreach.order_id)
        .where(
            WorkOrder.site == site,
            SlaBreach.detected_at >= completion.start,
            SlaBreach.detected_at < completion.end,
        )
        .order_by(SlaBreach.detected_at)
    ).all()
    return Handover(
        site=site,
        shift=shift,
        date=day.isoformat(),
        start=completion.start,
        end=completion.end,
        generated_at=now,
        open_alarms=alarms.board(session, sites=[site], limit=1000)[0],
        open_orders=[
            to_public(o, sites)
            for o in workorders.list_orders(session, site=site, open_only=True, limit=1000)[0]
        ],
        breaches=[
            BreachPublic(
                order_id=b.order_id, clock=b.clock, due_at=b.due_at, detected_at=b.detected_at
            )
            for b, _ in breaches
        ],
        patrol=completion,
        devices_not_online=devices.list_devices(
            session, sites=[site], states=[DeviceState.OFFLINE, DeviceState.DEGRADED]
        ),
    )


def handover_csv(report: Handover, lang: Lang = "zh-CN") -> str:
    rows: list[list[object]] = []
    rows += [
        ["alarm", a.alarm_id, in_language(a.title, a.title_zh, lang), a.state, a.severity,
         a.raised_at]
        for a in report.open_alarms
    ]  # fmt: skip
    rows += [
        ["work_order", o.id, in_language(o.title, o.title_zh, lang), o.state, o.urgency,
         o.reported_at]
        for o in report.open_orders
    ]  # fmt: skip
    rows += [["sla_breach", b.order_id, b.clock, "breached", "", b.due_at] for b in report.breaches]
    rows += [
        [
            "patrol_round",
            r.route,
            name_in(r.route_name, lang),
            "complete" if r.complete else f"{r.percent}%",
            ",".join(r.missed),
            r.start,
        ]
        for r in report.patrol.rounds
    ]
    rows += [
        ["device", d.device, d.kind, d.state, d.building, d.since]
        for d in report.devices_not_online
    ]
    return to_csv(["section", "id", "title", "state", "detail", "time"], rows)


def sla_report(
    session: Session,
    *,
    site: str | None,
    since: datetime,
    until: datetime,
    now: datetime,
    sites: Sites,
    scope: EstateScope = EVERY_ESTATE,
) -> SlaReport:
    """Every SLA clock of the orders reported in [since, until), with compliance per clock,
    of the scope's estates."""
    query = select(WorkOrder).where(WorkOrder.reported_at >= since, WorkOrder.reported_at < until)
    if site is not None:
        query = query.where(WorkOrder.site == site)
    if scope.sites is not None:
        query = query.where(WorkOrder.site.in_(scope.sites))
    orders = list(session.scalars(query.order_by(WorkOrder.reported_at)))
    rows = [
        row
        for o in orders
        for row in clock_rows(
            o,
            order_id=o.id,
            site=o.site,
            trade=o.trade,
            policy=sites.sla(o.site),
            now=now,
            tz=sites.tz(o.site),
        )
    ]
    return SlaReport(
        site=site,
        since=since,
        until=until,
        generated_at=now,
        orders=len(orders),
        clocks=summarise(rows),
        rows=rows,
    )


def sla_csv(report: SlaReport) -> str:
    header = [
        "order_id",
        "site",
        "source",
        "urgency",
        "trade",
        "clock",
        "due_at",
        "met_at",
        "status",
    ]
    return to_csv(
        header,
        (
            [
                r.order_id,
                r.site,
                r.source,
                r.urgency,
                r.trade,
                r.clock,
                r.due_at,
                r.met_at,
                r.status,
            ]
            for r in report.rows
        ),
    )


def clock_rows(
    order: sla.SlaSubject,
    *,
    order_id: str,
    site: str,
    trade: str,
    policy: SlaPolicy,
    now: datetime,
    tz: tzinfo,
) -> list[ClockRow]:
    """One row per SLA clock of the order: met in time, breached (late or overdue), pending."""
    rows = []
    for clock, due in sla.deadlines(order, policy, tz=tz).items():
        met = sla.MET_AT[clock](order)
        if met is not None:
            status = "met" if met <= due else "breached"
        elif order.cancelled_at is not None:
            status = "breached" if order.cancelled_at > due else "met"
        else:
            status = "breached" if now > due else "pending"
        rows.append(
            ClockRow(
                order_id=order_id,
                site=site,
                source=order.source,
                urgency=order.urgency,
                trade=trade,
                clock=clock,
                due_at=due,
                met_at=met,
                status=status,
            )
        )
    return rows


def summarise(rows: Iterable[ClockRow]) -> list[ClockSummary]:
    by_clock: dict[str, list[ClockRow]] = {}
    for row in rows:
        by_clock.setdefault(row.clock, []).append(row)
    summaries = []
    for clock, group in sorted(by_clock.items()):
        met = sum(r.status == "met" for r in group)
        breached = sum(r.status == "breached" for r in group)
        decided = met + breached
        summaries.append(
            ClockSummary(
                clock=clock,
                total=len(group),
                met=met,
                breached=breached,
                pending=len(group) - decided,
                compliance_percent=round(100.0 * met / decided, 1) if decided else None,
            )
        )
    return summaries


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            ["" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in row]
        )
    return out.getvalue()
