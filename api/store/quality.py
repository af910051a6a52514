"""Quality samples and their callbacks in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import QualityCallback, QualitySample, WorkOrder
from estatewatch.contracts.payloads import WorkOrderState

SAMPLED_STATES = (WorkOrderState.COMPLETED, WorkOrderState.VERIFIED, WorkOrderState.CLOSED)


def completed_between(session: Session, *, site: str, start: datetime, end: datetime) -> list[str]:
    """Orders whose work was completed in [start, end) (closed, or awaiting the callback)."""
    query = select(WorkOrder.id).where(
        WorkOrder.site == site,
        WorkOrder.state.in_([str(s) for s in SAMPLED_STATES]),
        WorkOrder.completed_at >= start,
        WorkOrder.completed_at < end,
    )
    return list(session.scalars(query))


def sample_of_week(session: Session, *, site: str, week_start: datetime) -> QualitySample | None:
    query = select(QualitySample).where(
        QualitySample.site == site, QualitySample.week_start == week_start
    )
    return session.scalars(query).first()


def add_sample(session: Session, sample: QualitySample) -> QualitySample:
    """Keep a drawn sample, with an empty callback for each of its orders."""
    session.add(sample)
    session.flush()
    for order_id in sample.order_ids:
        session.add(QualityCallback(sample_id=sample.id, order_id=order_id, note=""))
    session.flush()
    return sample


def lock_callback(session: Session, *, sample_id: str, order_id: str) -> QualityCallback | None:
    return session.get(QualityCallback, (sample_id, order_id), with_for_update=True)


def report(
    session: Session, *, site: str, since: datetime, until: datetime
) -> list[dict[str, object]]:
    """Callback results per technician and trade for samples of weeks in [since, until)."""
    rows = session.execute(
        select(WorkOrder.assignee, WorkOrder.trade, QualityCallback.result)
        .join(QualitySample, QualitySample.id == QualityCallback.sample_id)
        .join(WorkOrder, WorkOrder.id == QualityCallback.order_id)
        .where(
            QualitySample.site == site,
            QualitySample.week_start >= since,
            QualitySample.week_start < until,
        )
    ).all()
    table: dict[tuple[str, str], dict[str, int]] = {}
    for assignee, trade, result in rows:
        cell = table.setdefault(
            (assignee or "-", trade), {"sampled": 0, "satisfied": 0, "not_fixed": 0, "pending": 0}
        )
        cell["sampled"] += 1
        cell[result or "pending"] += 1
    return [{"technician": k[0], "trade": k[1], **v} for k, v in sorted(table.items())]
