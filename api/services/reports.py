"""Report arithmetic: SLA compliance per clock, and CSV rendering. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo

from api.schemas.report import ClockRow, ClockSummary
from api.services import sla
from estatewatch.config import SlaPolicy


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
