"""The fire alarm record (消防报警记录): every alarm of a fire-alarm panel or a fire sensor,
with the work order it opened. Persistence only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.models import Alarm, WorkOrder

FIRE_KINDS = ("fire_panel",)
FIRE_CATEGORIES = ("fire_alarm", "fire_panel_fault", "fire_supervisory", "fire_isolation",
                   "fire_linkage", "smoke", "fire")  # fmt: skip


def records(
    session: Session,
    *,
    site: str,
    since: datetime,
    until: datetime,
    limit: int | None = None,
) -> list[tuple[Alarm, str | None, str | None, str | None]]:
    """The site's fire alarms raised in [since, until), oldest first, each with its order's
    id, state and result (None without one)."""
    query = (
        select(Alarm, WorkOrder.id, WorkOrder.state, WorkOrder.result)
        .outerjoin(WorkOrder, WorkOrder.alarm_id == Alarm.alarm_id)
        .where(
            Alarm.site == site,
            Alarm.raised_at >= since,
            Alarm.raised_at < until,
            or_(Alarm.device_kind.in_(FIRE_KINDS), Alarm.category.in_(FIRE_CATEGORIES)),
        )
        .order_by(Alarm.raised_at, Alarm.alarm_id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [(a, order_id, state, result) for a, order_id, state, result in session.execute(query)]
