"""Incidents: opened from alarms that map to an emergency plan, or by hand; every alarm,
notification, checklist step, work order and note goes on its timeline with who and when;
closing sets a review due `sla.emergency_review` (24 h) later, which a supervisor completes.
Each change is also an IncidentEvent on the MQTT outbox."""

from __future__ import annotations

import uuid
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.errors import Conflict, NotFound
from api.models import Incident, IncidentEntry
from api.notify.queue import notify_people, people_for
from api.notify.routing import Subject
from api.sites import Sites
from api.store import feed
from estatewatch.clock import to_epoch_ms
from estatewatch.config.emergency import EmergencyPlan
from estatewatch.config.names import split_legacy
from estatewatch.config.notify import EventKind
from estatewatch.config.site import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import IncidentEvent

SYSTEM = "system"
OPEN, CLOSED, REVIEWED = "open", "closed", "reviewed"


def plan_for(site: SiteConfig, category: str, severity: str) -> EmergencyPlan | None:
    for plan in site.emergency_plans:
        for trigger in plan.triggers:
            if any(category.startswith(c) for c in trigger.categories) and (
                not trigger.severities or severity in trigger.severities
            ):
                return plan
    return None


def owners_notice(
    plan: EmergencyPlan,
    *,
    site: SiteConfig,
    building: str | None,
    start: datetime,
    end: str | None,
    tz: tzinfo,
) -> dict[str, str]:
    """The owners' notice in each language the plan has a template for."""
    names = {b.id: b.name for b in site.buildings}
    out: dict[str, str] = {}
    for lang, template in plan.owners_notice.items():
        pending = "另行通知" if lang == "zh-CN" else "to be announced"
        where = names.get(building or "")
        out[lang] = template.format(
            building=where.pick(lang) if where else building or site.site.name.pick(lang),
            start=start.astimezone(tz).strftime("%H:%M"),
            end=end or pending,
            site=site.site.name.pick(lang),
            what=plan.name.pick(lang),
        )
    return out


def add_entry(
    session: Session,
    incident: Incident,
    *,
    kind: str,
    by: str,
    at: datetime,
    text: str = "",
    data: dict[str, Any] | None = None,
    event: str | None = None,
) -> IncidentEntry:
    """Put a line on the timeline; with `event`, also publish it as an IncidentEvent."""
    entry = IncidentEntry(
        incident_id=incident.id, at=at, by=by, kind=kind, text=text, data=data or {}
    )
    session.add(entry)
    if event is not None:
        incident.revision += 1 if event != "opened" else 0
        payload = IncidentEvent(
            incident_id=incident.id,
            revision=incident.revision,
            site=incident.site,
            event=event,
            plan=incident.type,
            at=to_epoch_ms(at),
            by=by,
            text=text[:4000],
            alarm_ids=list(incident.alarm_ids),
        )
        feed.enqueue(
            session, topic=topics.incident(incident.site, incident.id), payload=payload, at=at
        )
    session.flush()
    return entry


def open_incident(
    session: Session,
    site: SiteConfig,
    plan: EmergencyPlan,
    *,
    by: str,
    now: datetime,
    building: str | None,
    sites: Sites,
    alarm_ids: list[str] | None = None,
    title: str = "",
) -> Incident:
    """Open an incident under `plan`, notify the plan's chain and write the owners' notice."""
    tz = sites.tz(site.site.id)
    incident = Incident(
        id="inc_" + uuid.uuid4().hex[:12],
        site=site.site.id,
        plan=plan.id,
        type=plan.type,
        title=title or plan.name,
        building=building,
        state=OPEN,
        revision=1,
        alarm_ids=list(alarm_ids or []),
        steps_done=[],
        owners_notice=owners_notice(plan, site=site, building=building, start=now, end=None, tz=tz),
        opened_at=now,
        opened_by=by,
    )
    session.add(incident)
    session.flush()
    add_entry(session, incident, kind="opened", by=by, at=now, text=incident.title, event="opened")
    people = people_for(
        site,
        roles=list(plan.notify_roles),
        people=list(plan.notify_people),
        now=now,
        tz=tz,
        session=session,
    )
    subject = Subject(
        kind="incident",
        event=EventKind.ALARM,
        id=incident.id,
        site=incident.site,
        severity="critical",
        category=plan.type,
        device_kind=None,
        device=None,
        building=building,
        where=building or site.site.name,
        what=split_legacy(incident.title)[0],
        what_zh=split_legacy(incident.title)[1],
        since=now,
        link=f"{site.notifications.dashboard_url.rstrip('/')}/incidents/{incident.id}",
    )
    notify_people(session, site, subject, people, event_key=f"incident:{incident.id}", now=now)
    add_entry(
        session,
        incident,
        kind="notification",
        by=SYSTEM,
        at=now,
        text=", ".join(people),
        data={"people": people},
        event="notified",
    )
    for lang, text in incident.owners_notice.items():
        add_entry(
            session,
            incident,
            kind="owners_notice",
            by=SYSTEM,
            at=now,
            text=text,
            data={"language": lang},
        )
    return incident


def open_for(session: Session, *, site: str, plan: str) -> Incident | None:
    query = select(Incident).where(
        Incident.site == site, Incident.plan == plan, Incident.state == OPEN
    )
    return session.scalars(query.order_by(Incident.opened_at.desc()).limit(1)).first()


def get(session: Session, incident_id: str, *, for_update: bool = False) -> Incident:
    incident = session.get(Incident, incident_id, with_for_update=for_update)
    if incident is None:
        raise NotFound(f"no incident {incident_id!r}", field="incident_id")
    return incident


def step_done(
    session: Session,
    incident: Incident,
    plan: EmergencyPlan,
    *,
    step: str,
    by: str,
    now: datetime,
    note: str = "",
) -> IncidentEntry:
    if incident.state != OPEN:
        raise Conflict(f"incident {incident.id} is {incident.state}")
    steps = {s.id: s for s in plan.steps}
    if step not in steps:
        raise NotFound(f"plan {plan.id} has no step {step!r}", field="step")
    if step in incident.steps_done:
        raise Conflict(f"step {step!r} was already done")
    incident.steps_done = [*incident.steps_done, step]
    text = steps[step].text + (f" — {note}" if note else "")
    return add_entry(
        session,
        incident,
        kind="step",
        by=by,
        at=now,
        text=text,
        data={"step": step},
        event="step_done",
    )


def note(
    session: Session,
    incident: Incident,
    *,
    by: str,
    now: datetime,
    text: str,
    kind: str = "note",
    data: dict[str, Any] | None = None,
) -> IncidentEntry:
    return add_entry(
        session, incident, kind=kind, by=by, at=now, text=text, data=data, event="note"
    )


def close(session: Session, incident: Incident, *, by: str, now: datetime, sites: Sites) -> None:
    if incident.state != OPEN:
        raise Conflict(f"incident {incident.id} is {incident.state}")
    incident.state = CLOSED
    incident.closed_at, incident.closed_by = now, by
    incident.review_due_at = now + sites.sla(incident.site).emergency_review
    add_entry(
        session,
        incident,
        kind="closed",
        by=by,
        at=now,
        event="closed",
        text=f"review due {incident.review_due_at.isoformat()}",
    )


def review(
    session: Session, incident: Incident, *, by: str, now: datetime, content: dict[str, Any]
) -> None:
    """The supervisor's review: response times, resources, what to improve."""
    if incident.state != CLOSED:
        raise Conflict(f"incident {incident.id} is {incident.state}; close it first")
    incident.state = REVIEWED
    incident.review, incident.reviewed_by, incident.reviewed_at = content, by, now
    add_entry(
        session,
        incident,
        kind="review",
        by=by,
        at=now,
        event="reviewed",
        text=str(content.get("improvements", "")),
    )


def overdue_reviews(session: Session, *, now: datetime) -> list[Incident]:
    query = select(Incident).where(Incident.state == CLOSED, Incident.review_due_at <= now)
    return list(session.scalars(query))


def timeline(session: Session, incident_id: str) -> list[IncidentEntry]:
    query = select(IncidentEntry).where(IncidentEntry.incident_id == incident_id)
    return list(session.scalars(query.order_by(IncidentEntry.at, IncidentEntry.id)))
