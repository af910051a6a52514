"""Patrol scans and patrol exceptions in the database, each kept once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.models import PatrolExceptionRecord, PatrolScanRecord, WorkOrder
from estatewatch.clock import from_epoch_ms
from estatewatch.contracts.payloads import (
    FindingPriority,
    PatrolException,
    PatrolScan,
    WorkOrderState,
    stable_id,
)

HTTP_GATEWAY = "http"
"""The gateway id of scans the API took over HTTP (the guard's phone, a handheld's sync):
published on `patrol/scan/http` and `patrol/exception/http` like a gateway's."""


def add_scan(session: Session, scan: PatrolScan) -> PatrolScanRecord | None:
    """Keep a scan once (by `scan_id`); None if it was kept before."""
    if session.get(PatrolScanRecord, scan.scan_id) is not None:
        return None
    record = PatrolScanRecord(
        scan_id=scan.scan_id,
        site=scan.site,
        handheld=scan.handheld,
        guard=scan.guard,
        tag_uid=scan.tag_uid,
        checkpoint=scan.checkpoint,
        building=scan.building,
        scanned_at=from_epoch_ms(scan.scanned_at),
        received_at=from_epoch_ms(scan.received_at),
        source=scan.source,
        synced_late=scan.synced_late,
        verified=scan.verified,
        finding=scan.finding.model_dump(mode="json") if scan.finding else None,
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return None
    return record


def apply_exception(session: Session, exc: PatrolException, *, now: datetime) -> str:
    """Keep a scan the gateway refused, once (by gateway and seq); one the API took over
    HTTP (gateway `http`, seq 0), once by the scan it was (handheld, tag, time)."""
    if exc.gateway == HTTP_GATEWAY:
        scan_id = stable_id(exc.handheld, exc.tag_uid, exc.scanned_at)
        exception_id = stable_id(exc.site, "http", scan_id)
    else:
        exception_id = stable_id(exc.site, exc.gateway, "patrol_exception", exc.seq)
    return add_exception(
        session,
        exception_id,
        site=exc.site,
        kind=exc.kind,
        reason=exc.reason,
        received_at=from_epoch_ms(exc.received_at),
        source=exc.source,
        handheld=exc.handheld,
        guard=exc.guard,
        tag_uid=exc.tag_uid,
        scanned_at=from_epoch_ms(exc.scanned_at) if exc.scanned_at else None,
        raw=exc.raw,
    )


def add_exception(session: Session, exception_id: str, **fields: object) -> str:
    if session.get(PatrolExceptionRecord, exception_id) is not None:
        return "duplicate"
    try:
        with session.begin_nested():
            session.add(PatrolExceptionRecord(id=exception_id, **fields))
    except IntegrityError:
        return "duplicate"
    return "applied"


def scans(
    session: Session, *, site: str, since: datetime, until: datetime, guard: str | None = None
) -> list[PatrolScanRecord]:
    query = select(PatrolScanRecord).where(
        PatrolScanRecord.site == site,
        PatrolScanRecord.scanned_at >= since,
        PatrolScanRecord.scanned_at <= until,
    )
    if guard is not None:
        query = query.where(PatrolScanRecord.guard == guard)
    return list(session.scalars(query.order_by(PatrolScanRecord.scanned_at)))


def exceptions(
    session: Session, *, site: str, since: datetime, until: datetime
) -> list[PatrolExceptionRecord]:
    query = select(PatrolExceptionRecord).where(
        PatrolExceptionRecord.site == site,
        PatrolExceptionRecord.received_at >= since,
        PatrolExceptionRecord.received_at <= until,
    )
    return list(session.scalars(query.order_by(PatrolExceptionRecord.received_at)))


def reinspected(session: Session, *, scan_id: str, since: datetime) -> bool:
    """Whether the checkpoint of scan `scan_id` was scanned again at or after `since` (a
    by-deadline finding's re-inspection)."""
    found = session.get(PatrolScanRecord, scan_id)
    if found is None:
        return False
    again = select(PatrolScanRecord.scan_id).where(
        PatrolScanRecord.site == found.site,
        PatrolScanRecord.checkpoint == found.checkpoint,
        PatrolScanRecord.scanned_at >= since,
        PatrolScanRecord.scan_id != scan_id,
    )
    return session.scalars(again.limit(1)).first() is not None


def by_deadline_findings_due(
    session: Session, *, site: str, at: datetime, states: list[WorkOrderState]
) -> list[tuple[WorkOrder, PatrolScanRecord]]:
    """By-deadline finding orders of `site` in `states` due by `at`, each with its scan,
    the earliest due first."""
    query = (
        select(WorkOrder, PatrolScanRecord)
        .join(PatrolScanRecord, PatrolScanRecord.scan_id == WorkOrder.scan_id)
        .where(
            WorkOrder.site == site,
            WorkOrder.finding_priority == FindingPriority.BY_DEADLINE,
            WorkOrder.state.in_([str(s) for s in states]),
            WorkOrder.fix_due_at <= at,
        )
        .order_by(WorkOrder.fix_due_at, WorkOrder.id)
    )
    return [(order, scan) for order, scan in session.execute(query).all()]
