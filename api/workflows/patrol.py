"""Patrol: a guard's scan arrives (over MQTT from the gateway, or synced over HTTP) and
its finding becomes a work order; how complete a shift's rounds were."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from api.domain import patrol as rounds
from api.domain.errors import InvalidInput, NotFound
from api.domain.policy import classify_finding
from api.schemas.patrol import RoundPublic, ScanIn, ScanResult, ScanStatus, ShiftCompletion
from api.sites import Sites
from api.store import feed
from api.store import patrol as patrol_store
from api.store.patrol import HTTP_GATEWAY
from api.store.workorders import order_id_for_scan
from api.workflows import workorders
from estatewatch import patrol
from estatewatch.clock import from_epoch_ms, to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    ScanSource,
    stable_id,
)

LATE_AFTER = timedelta(minutes=5)
"""A scan received later than this after it was made counts as synced late."""


def on_scan(session: Session, scan: PatrolScan, *, now: datetime, sites: Sites) -> str:
    """Keep a scan once (by `scan_id`); its finding becomes one work order, of the trade
    of the checkpoint where it was found."""
    record = patrol_store.add_scan(session, scan)
    if record is None:
        return "duplicate"
    if scan.finding is not None:
        config = sites.config(scan.site)
        checkpoint = (
            next((c for c in config.checkpoints if c.id == scan.checkpoint), None)
            if config
            else None
        )
        finding = scan.finding
        workorders.open_for_finding(
            session,
            scan_id=scan.scan_id,
            site=scan.site,
            kind=classify_finding(
                checkpoint.category if checkpoint else "",
                finding.priority,
                coordination=sites.sla(scan.site).coordination_department,
            ),
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


EARLY_GRACE = timedelta(minutes=60)
"""A scan this close before a round opens is early (refused); as far after one closed, late."""


def _early(sites: Sites, site: str, checkpoint: str, scanned_at: datetime) -> patrol.Round | None:
    """The round a scan of `checkpoint` at `scanned_at` is too early for, if every route of
    the checkpoint places it early (a scan that counts for one route is taken)."""
    config = sites.config(site)
    routes = [r for r in config.routes if checkpoint in r.checkpoints] if config else []
    if not routes:
        return None
    tz = sites.tz(site)
    places = [patrol.place(r, tz, scanned_at, grace=EARLY_GRACE) for r in routes]
    if all(p.placement is patrol.Placement.EARLY for p in places):
        return min((p.round for p in places if p.round), key=lambda r: r.start)
    return None


def submit(
    session: Session, *, site: str, guard: str, scan: ScanIn, now: datetime, sites: Sites
) -> ScanResult:
    """A scan a guard's handheld or phone synced over HTTP: resolved against the site's
    checkpoints, kept once, and published (through the outbox, in the same transaction) on
    the same MQTT topics as a gateway's scans, so the rules engine sees it exactly as it
    sees a handheld's. An unknown tag is kept and published as a patrol exception; a scan
    made before its round opened is refused, saying when the round opens."""
    scanned_ms = to_epoch_ms(scan.scanned_at)
    scan_id = stable_id(scan.handheld, scan.tag_uid, scanned_ms)  # = HandheldScan.scan_id
    config = sites.config(site)
    checkpoint = config.checkpoint_by_tag(scan.tag_uid) if config else None
    if checkpoint is None:
        exc = PatrolException(
            site=site,
            gateway=HTTP_GATEWAY,
            seq=0,
            kind=PatrolExceptionKind.UNKNOWN_TAG,
            reason=f"tag {scan.tag_uid} is no checkpoint of {site}",
            received_at=to_epoch_ms(now),
            source=ScanSource.HTTP,
            handheld=scan.handheld,
            guard=guard,
            tag_uid=scan.tag_uid,
            scanned_at=scanned_ms,
        )
        if patrol_store.apply_exception(session, exc, now=now) == "applied":
            topic = topics.patrol_exception(site, HTTP_GATEWAY)
            feed.enqueue(session, topic=topic, payload=exc, at=now)
        return ScanResult(scan_id=scan_id, status=ScanStatus.EXCEPTION, reason="unknown tag")
    early = _early(sites, site, checkpoint.id, scan.scanned_at)
    if early is not None:
        return ScanResult(
            scan_id=scan_id,
            status=ScanStatus.EARLY,
            checkpoint=checkpoint.id,
            reason=f"{early.route.name} opens at {early.start.strftime('%H:%M')}: scan again then",
            opens_at=early.start.astimezone(UTC),
        )
    payload = PatrolScan(
        site=site,
        gateway=HTTP_GATEWAY,
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
    outcome = on_scan(session, payload, now=now, sites=sites)
    if outcome == "applied":
        feed.enqueue(session, topic=topics.patrol_scan(site, HTTP_GATEWAY), payload=payload, at=now)
    order_id = order_id_for_scan(scan_id) if scan.finding else None
    status = ScanStatus.ACCEPTED if outcome == "applied" else ScanStatus.DUPLICATE
    return ScanResult(
        scan_id=scan_id, status=status, checkpoint=checkpoint.id, work_order_id=order_id
    )


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
        for s in patrol_store.scans(session, site=site, since=start, until=end)
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
