"""Reads for the records: a device's alarms and orders, the site's faults, an order's log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Alarm, WorkOrder, WorkOrderLog


def device_alarms(
    session: Session, *, site: str, device: str, since: datetime, until: datetime
) -> list[Alarm]:
    return list(
        session.scalars(
            select(Alarm)
            .where(Alarm.site == site, Alarm.target_kind == "device", Alarm.target == device)
            .where(Alarm.raised_at >= since, Alarm.raised_at < until)
            .order_by(Alarm.raised_at, Alarm.alarm_id)
        )
    )


def device_orders(
    session: Session, *, site: str, device: str, since: datetime, until: datetime
) -> list[WorkOrder]:
    return list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.site == site, WorkOrder.device == device)
            .where(WorkOrder.reported_at >= since, WorkOrder.reported_at < until)
            .order_by(WorkOrder.reported_at, WorkOrder.id)
        )
    )


def logs(session: Session, *, order_ids: Iterable[str]) -> list[WorkOrderLog]:
    return list(
        session.scalars(
            select(WorkOrderLog)
            .where(WorkOrderLog.order_id.in_(list(order_ids)))
            .order_by(WorkOrderLog.at, WorkOrderLog.id)
        )
    )


def device_faults(
    session: Session, *, site: str, since: datetime, until: datetime
) -> list[tuple[Alarm, datetime | None]]:
    """Alarms raised on devices in [since, until), with their order's completion time."""
    return [
        (alarm, completed)
        for alarm, completed in session.execute(
            select(Alarm, WorkOrder.completed_at)
            .outerjoin(WorkOrder, WorkOrder.alarm_id == Alarm.alarm_id)
            .where(Alarm.site == site, Alarm.target_kind == "device")
            .where(Alarm.raised_at >= since, Alarm.raised_at < until)
            .order_by(Alarm.raised_at)
        ).all()
    ]


def orders_between(
    session: Session, *, site: str, source: str, since: datetime, until: datetime
) -> list[WorkOrder]:
    return list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.site == site, WorkOrder.source == source)
            .where(WorkOrder.reported_at >= since, WorkOrder.reported_at < until)
            .order_by(WorkOrder.reported_at)
        )
    )
