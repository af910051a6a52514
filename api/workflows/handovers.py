"""The signed shift handover (交接班): file it as of the shift's end, sign it, freeze it;
list the shifts that ended unsigned (`api.notify.handovers` tells the supervisors)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain import handover as rules
from api.domain import patrol as shifts
from api.domain.errors import InvalidInput, NotFound
from api.models import Handover, Incident, User
from api.schemas.device import DevicePublic
from api.schemas.records import (
    HandoverPublic,
    HandoverReport,
    IncidentLine,
    OfflineSpan,
    OrderClocks,
    ShiftHandoverStatus,
    Signature,
    UnusualReadings,
)
from api.sites import Sites
from api.store import handovers as store
from api.store import workorders
from api.workflows import reports
from estatewatch.contracts.payloads import stable_id


def shift_at(
    sites: Sites, *, site: str, shift: str | None, day: date | None, now: datetime
) -> tuple[str, date, datetime, datetime]:
    """The shift named, or the one running now: (shift, date, start, end)."""
    config = sites.config(site)
    if config is None:
        raise NotFound(f"no site config for {site!r}", field="site")
    tz = sites.tz(site)
    if shift is None or day is None:
        current = shifts.shift_of(config, now, tz)
        if current is None:
            raise InvalidInput("no shift is running now; give shift and date", field="shift")
        shift, day = shift or current[0].id, day or current[1]
    found = next((s for s in config.shifts if s.id == shift), None)
    if found is None:
        raise InvalidInput(f"{site} has no shift {shift!r}", field="shift")
    start, end = shifts.shift_bounds(found, day, tz)
    rules.check_shift_ended_or_running(start, now)
    return shift, day, start, end


def _incidents(session: Session, site: str, start: datetime, end: datetime) -> list[IncidentLine]:
    rows = session.scalars(
        select(Incident)
        .where(Incident.site == site, Incident.opened_at < end)
        .where((Incident.closed_at.is_(None)) | (Incident.closed_at >= start))
        .order_by(Incident.opened_at)
    )
    return [
        IncidentLine(
            id=i.id,
            type=i.type,
            title=i.title,
            state=i.state,
            building=i.building,
            opened_at=i.opened_at,
            closed_at=i.closed_at,
        )
        for i in rows
    ]


def build_report(
    session: Session,
    *,
    site: str,
    shift: str,
    day: date,
    now: datetime,
    sites: Sites,
    unusual: UnusualReadings,
) -> HandoverReport:
    """The handover as of the shift's end (or now, when filed before it)."""
    base = reports.handover(session, site=site, shift=shift, day=day, now=now, sites=sites)
    as_of = min(now, base.end)
    orders = workorders.list_orders(session, site=site, open_only=True, limit=1000)[0]
    clocks = [
        OrderClocks(
            id=o.id,
            title=o.title,
            title_zh=o.title_zh,
            state=o.state,
            urgency=o.urgency,
            trade=o.trade,
            device=o.device,
            assignee=o.assignee,
            reported_at=o.reported_at,
            clocks=reports.clock_rows(
                o,
                order_id=o.id,
                site=o.site,
                trade=o.trade,
                policy=sites.sla(o.site),
                now=as_of,
                tz=sites.tz(o.site),
            ),
        )
        for o in orders
    ]
    return HandoverReport(
        site=site,
        shift=shift,
        date=day.isoformat(),
        start=base.start,
        end=base.end,
        as_of=as_of,
        open_alarms=base.open_alarms,
        open_orders=clocks,
        breaches=base.breaches,
        patrol=base.patrol,
        incidents=_incidents(session, site, base.start, as_of),
        unusual=_with_status(unusual, base.devices_not_online, sites, site, as_of),
    )


def _with_status(
    unusual: UnusualReadings, devices: list[DevicePublic], sites: Sites, site: str, as_of: datetime
) -> UnusualReadings:
    """Add the devices the gateways report offline or degraded now, unless the readings
    already showed them offline."""
    config = sites.config(site)
    names = {d.id: d.name for d in config.devices} if config else {}
    seen = {s.device for s in unusual.offline}
    extra = [
        OfflineSpan(
            device=d.device,
            device_name=names.get(d.device, d.device),
            kind=d.kind,
            start=d.since,
            end=max(as_of, d.since),
            minutes=int(max(as_of - d.since, timedelta(0)).total_seconds() // 60),
            source="status",
        )
        for d in devices
        if d.device not in seen
    ]
    return unusual.model_copy(update={"offline": [*unusual.offline, *extra]})


def _name(session: Session, username: str | None) -> str:
    if username is None:
        return ""
    user = session.get(User, username)
    return (user.full_name if user else "") or username


def to_public(session: Session, handover: Handover) -> HandoverPublic:
    signatures = [
        Signature(
            role="outgoing",
            by=handover.filed_by,
            name=_name(session, handover.filed_by),
            at=handover.filed_at,
            note=handover.filed_note,
            digest=handover.digest,
        )
    ]
    if handover.signed_by is not None and handover.signed_at is not None:
        signatures.append(
            Signature(
                role="incoming",
                by=handover.signed_by,
                name=_name(session, handover.signed_by),
                at=handover.signed_at,
                note=handover.signed_note or "",
                digest=handover.digest,
            )
        )
    return HandoverPublic(
        id=handover.id,
        site=handover.site,
        shift=handover.shift,
        date=handover.date,
        start=handover.start,
        end=handover.end,
        revision=handover.revision,
        state="signed" if handover.frozen else "filed",
        frozen=handover.frozen,
        digest=handover.digest,
        signatures=signatures,
        report=HandoverReport.model_validate(handover.report),
    )


def file(
    session: Session, *, report: HandoverReport, by: str, note: str, now: datetime
) -> tuple[HandoverPublic, bool]:
    """Store the outgoing engineer's report (their signature); filing again replaces it
    until the incoming engineer has signed. Returns the handover and whether it is new."""
    existing = store.of_shift(session, site=report.site, shift=report.shift, day=report.date)
    rules.check_file(
        frozen=existing is not None and existing.frozen,
        filed_by=existing.filed_by if existing else None,
        by=by,
    )
    body = report.model_dump(mode="json")
    if existing is not None:
        existing.report, existing.digest = body, rules.digest(body)
        existing.filed_at, existing.filed_note = now, note
        existing.revision += 1
        session.flush()
        return to_public(session, existing), False
    handover = Handover(
        id=stable_id("handover", report.site, report.date, report.shift),
        site=report.site,
        shift=report.shift,
        date=report.date,
        start=report.start,
        end=report.end,
        revision=1,
        report=body,
        digest=rules.digest(body),
        filed_by=by,
        filed_at=now,
        filed_note=note,
    )
    store.add(session, handover)
    return to_public(session, handover), True


def sign(
    session: Session,
    *,
    handover_id: str,
    by: str,
    note: str,
    digest: str | None,
    now: datetime,
) -> HandoverPublic:
    """The incoming engineer's signature: the handover is frozen from now on."""
    handover = store.get(session, handover_id=handover_id, lock=True)
    rules.check_sign(
        frozen=handover.frozen,
        filed_by=handover.filed_by,
        by=by,
        digest_seen=digest,
        digest_now=handover.digest,
    )
    handover.signed_by, handover.signed_at, handover.signed_note = by, now, note
    handover.revision += 1
    session.flush()
    return to_public(session, handover)


def shift_states(
    session: Session, *, site: str, now: datetime, sites: Sites
) -> list[ShiftHandoverStatus]:
    """Every shift that ended (more than 30 minutes ago) in the last two days, with its
    handover's state, oldest first."""
    config = sites.config(site)
    if config is None:
        raise NotFound(f"no site config for {site!r}", field="site")
    ended = rules.ended_shifts(config, now=now, tz=sites.tz(site))
    if not ended:
        return []
    filed = {
        (h.shift, h.date): h
        for h in store.ended_between(session, site=site, since=ended[0][3], until=ended[-1][3])
    }
    told = {
        (n.shift, n.date): n.people
        for n in store.notices(session, site=site, days={d.isoformat() for _, d, _, _ in ended})
    }
    out = []
    for shift, day, start, end in ended:
        key = (shift, day.isoformat())
        h = filed.get(key)
        out.append(
            ShiftHandoverStatus(
                site=site,
                shift=shift,
                date=key[1],
                start=start,
                end=end,
                state="unfiled" if h is None else "signed" if h.frozen else "filed",
                handover_id=h.id if h else None,
                filed_by=h.filed_by if h else None,
                signed_by=h.signed_by if h else None,
                notified=told.get(key),
            )
        )
    return out
