"""The SLA clocks of open orders (`domain.sla` says when each runs out): a missed clock is
flagged once, published and escalates the order; one about to run out is warned of once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.domain import sla
from api.models import WorkOrder
from api.sites import Sites
from api.store import workorders
from api.workflows.order_events import record
from estatewatch.contracts.payloads import WorkOrderEventType


def flag_breaches(session: Session, *, order: WorkOrder, now: datetime, sites: Sites) -> list[str]:
    """Record each newly missed SLA clock once; publish it and escalate the order."""
    late = sla.breaches(
        order,
        sites.sla(order.site),
        now,
        tz=sites.tz(order.site),
        calendar=sites.calendar(order.site),
    )
    names = {clock: sla.breach_name(clock, order.progress_count) for clock in late}
    new = [clock for clock in late if names[clock] not in order.breached]
    for clock in new:
        name = names[clock]
        if not workorders.add_breach(session, order=order, clock=name, due_at=late[clock], at=now):
            continue  # another instance flagged it first
        record(
            session,
            order,
            event=WorkOrderEventType.SLA_BREACHED,
            action="sla_breached",
            from_state=order.state,
            by="sla",
            at=now,
            sites=sites,
            note=f"{name} was due at {late[clock].isoformat()}",
            data={"clock": name},
        )
        order.escalation_level += 1
        record(
            session,
            order,
            event=WorkOrderEventType.ESCALATED,
            action="escalate",
            from_state=order.state,
            by="sla",
            at=now,
            sites=sites,
            note=f"{name} breached: escalation level {order.escalation_level}",
        )
    return [names[clock] for clock in new]


def warn_approaching(
    session: Session, *, order: WorkOrder, now: datetime, sites: Sites
) -> list[str]:
    """Publish `sla_warning` once per clock about to run out (routed as
    `workorder.sla_warning`: someone can still act before the breach)."""
    soon = sla.warnings(
        order,
        sites.sla(order.site),
        now,
        tz=sites.tz(order.site),
        calendar=sites.calendar(order.site),
    )
    if not soon:
        return []
    warned = workorders.warned_clocks(session, order_id=order.id)
    names = {clock: sla.breach_name(clock, order.progress_count) for clock in soon}
    new = [clock for clock in soon if names[clock] not in warned]
    for clock in new:
        left = max(int((soon[clock] - now).total_seconds() // 60), 0)
        record(
            session,
            order,
            event=WorkOrderEventType.SLA_WARNING,
            action="sla_warning",
            from_state=order.state,
            by="sla",
            at=now,
            sites=sites,
            note=f"{names[clock]} is due at {soon[clock].isoformat()}: {left} min left",
            data={"clock": names[clock], "due_at": soon[clock].isoformat()},
        )
    return [names[clock] for clock in new]


def check_clocks(session: Session, *, now: datetime, sites: Sites, limit: int = 1000) -> int:
    """One pass over open orders (two checkers never share an order); returns how many
    breaches it flagged."""
    sites.calendar_gaps(now)  # logs each year whose holidays are unknown, once
    flagged = 0
    for order in workorders.lock_open(session, limit=limit):
        flagged += len(flag_breaches(session, order=order, now=now, sites=sites))
        warn_approaching(session, order=order, now=now, sites=sites)
    return flagged
