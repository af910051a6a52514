"""Patrol scans (from the gateway over MQTT or synced over HTTP), patrol exceptions, and
the work orders that findings become."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain import patrol as rounds
from api.domain.errors import InvalidInput, NotFound
from api.domain.policy import classify_finding
from api.models import PatrolExceptionRecord, PatrolScanRecord
from api.schemas.patrol import RoundPublic, ScanIn, ScanResult, ScanStatus, ShiftCompletion
from api.sites import Sites
from api.store import workorders
from estatewatch.clock import from_epoch_ms, to_epoch_ms
from estatewatch.contracts.payloads import (
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    ScanSource,
    stable_id,
)

LATE_AFTER = timedelta(minutes=5)
"""A scan received later than this after it was made counts as synced late."""


def apply_scan(session: Session, scan: PatrolScan, *, now: datetime, sites: Sites) -> str:
    """Store a scan once (by `scan_id`); its finding becomes one work order."""
    if session.get(PatrolScanRecord, scan.scan_id) is not None:
        return "duplicate"
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
        return "duplicate"
    if scan.finding is not None:
        config = sites.config(scan.site)
        checkpoint = (
            next((c for c in config.checkpoints if c.id == scan.checkpoint), None)
            if config
            else None
        )
        finding = scan.finding
        workorders.create_from_finding(
            session,
            scan_id=scan.scan_id,
            site=scan.site,
            kind=classify_finding(checkpoint.category if checkpoint else "", finding.priority),
            description=finding.description,
            priority=finding.priority,
            location=finding.location or (checkpoint.name if checkpoint else scan.checkpoint),
            building=scan.building,
            reported_at=record.scanned_at,
            due_at=from_epoch_ms(finding.due_at) if finding.due_at else None,
            photo_refs=list(finding.photo_refs),
            by=scan.guard,
            now=now,
            sites=sites,
        )
    return "applied"


def apply_exception(session: Session, exc: PatrolException, *, now: datetime) -> str:
    """Keep a scan the gateway refused, once (by gateway and seq)."""
    exception_id = stable_id(exc.site, exc.gateway, "patrol_exception", exc.seq)
    return _add_exception(
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


def _add_exception(session: Session, exception_id: str, **fields: object) -> str:
    if session.get(PatrolExceptionRecord, exception_id) is not None:
        return "duplicate"
    try:
        with session.begin_nested():
            session.add(PatrolExceptionRecord(id=exception_id, **fields))
    except IntegrityError:
        return "duplicate"
    return "applied"


def submit(
    session: Session, *, site: str, guard: str, scan: ScanIn, now: datetime, sites: Sites
) -> ScanResult:
    """A scan a guard's handheld synced over HTTP: resolved against the site's checkpoints;
    an unknown tag is kept as a patrol exception for the duty room."""
    scanned_ms = to_epoch_ms(scan.scanned_at)
    scan_id = stable_id(scan.handheld, scan.tag_uid, scanned_ms)  # = HandheldScan.scan_id
    config = sites.config(site)
    checkpoint = config.checkpoint_by_tag(scan.tag_uid) if config else None
    if checkpoint is None:
        _add_exception(
            session,
            stable_id(site, "http", scan_id),
            site=site,
            kind=PatrolExceptionKind.UNKNOWN_TAG,
            reason=f"tag {scan.tag_uid} is no checkpoint of {site}",
            received_at=now,
            source=ScanSource.HTTP,
            handheld=scan.handheld,
            guard=guard,
            tag_uid=scan.tag_uid,
            scanned_at=scan.scanned_at,
            raw="",
        )
        return ScanResult(scan_id=scan_id, status=ScanStatus.EXCEPTION, reason="unknown tag")
    payload = PatrolScan(
        site=site,
        gateway="http",
        seq=0,
        scan_id=scan_id,
        handheld=scan.handheld,
        guard=guard,
        tag_uid=scan.tag_uid,
        checkpoint=checkpoint.id,
        building=checkpoint.building,
        scanned_at=scanned_ms,
        received_at=to_epoch_ms(now),
        source=ScanSource.HTTP,
        synced_late=scan.offline or now - scan.scanned_at > LATE_AFTER,
        finding=scan.finding,
    )
    outcome = apply_scan(session, payload, now=now, sites=sites)
    order_id = workorders.order_id_for_scan(scan_id) if scan.finding else None
    status = ScanStatus.ACCEPTED if outcome == "applied" else ScanStatus.DUPLICATE
    return ScanResult(
        scan_id=scan_id, status=status, checkpoint=checkpoint.id, work_order_id=order_id
    )


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


def shift_completion(
    session: Session, *, site: str, shift_id: str, day: date, sites: Sites
) -> ShiftCompletion:
    config = sites.config(site)
    if config is None:
        raise NotFound(f"no site config for {site!r}", field="site")
    shift = next((s for s in config.shifts if s.id == shift_id), None)
    if shift is None:
        raise InvalidInput(f"{site} has no shift {shift_id!r}", field="shift")
    tz = sites.tz(site)
    start, end = rounds.shift_bounds(shift, day, tz)
    facts = [
        rounds.ScanFact(s.checkpoint, s.scanned_at, s.guard)
        for s in scans(session, site=site, since=start, until=end)
    ]
    results = rounds.completion(rounds.rounds_of_shift(config, shift, day, tz), facts)
    expected = sum(len(r.expected) for r in results)
    done = sum(len(r.expected) - len(r.missed) for r in results)
    return ShiftCompletion(
        site=site,
        shift=shift_id,
        date=day.isoformat(),
        start=start,
        end=end,
        rounds=[
            RoundPublic(
                route=r.route,
                route_name=r.route_name,
                start=r.start,
                end=r.end,
                expected=r.expected,
                scanned=r.scanned,
                missed=r.missed,
                out_of_order=r.out_of_order,
                guards=r.guards,
                percent=r.percent,
                complete=r.complete,
            )
            for r in results
        ],
        percent=round(100.0 * done / expected, 1) if expected else 100.0,
    )
