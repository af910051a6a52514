"""What happens to incidents without anyone asking: an alarm that maps to a plan opens or
joins its incident, its work orders go on the timeline, and a review past due reminds the
supervisor on call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.incidents.store import (
    OPEN,
    SYSTEM,
    add_entry,
    open_for,
    open_incident,
    overdue_reviews,
    plan_for,
)
from api.models import Incident, IncidentEntry
from api.notify.queue import notify_people, people_for
from api.notify.routing import Subject
from api.sites import Sites
from estatewatch.config.notify import EventKind, OnCallRole
from estatewatch.config.site import SiteConfig


def on_alarm(
    session: Session,
    site: SiteConfig,
    subject: Subject,
    payload: dict[str, Any],
    *,
    now: datetime,
    sites: Sites,
) -> Incident | None:
    """An alarm raised: if it maps to a plan, join the plan's open incident or open one."""
    plan = plan_for(site, subject.category, subject.severity)
    if plan is None:
        return None
    incident = open_for(session, site=site.site.id, plan=plan.id)
    if incident is None:
        incident = open_incident(
            session,
            site,
            plan,
            by=SYSTEM,
            now=now,
            sites=sites,
            building=subject.building,
            alarm_ids=[subject.id],
        )
    elif subject.id not in incident.alarm_ids:
        incident.alarm_ids = [*incident.alarm_ids, subject.id]
    add_entry(
        session,
        incident,
        kind="alarm",
        by=SYSTEM,
        at=now,
        text=f"{subject.what} @ {subject.where}",
        data={"alarm_id": subject.id, "severity": subject.severity},
        event="alarm_linked",
    )
    return incident


def on_workorder(session: Session, payload: dict[str, Any], *, now: datetime) -> None:
    """A work order of an alarm in an open incident goes on that incident's timeline."""
    alarm_id = payload.get("alarm_id")
    if not alarm_id:
        return
    query = select(Incident).where(Incident.site == payload["site"], Incident.state == OPEN)
    for incident in session.scalars(query):
        if alarm_id in incident.alarm_ids:
            text = f"{payload['order_id']} {payload['title']}: {payload['event']}"
            add_entry(
                session,
                incident,
                kind="workorder",
                by=payload.get("by") or SYSTEM,
                at=now,
                text=text,
                event="note",
                data={
                    "order_id": payload["order_id"],
                    "event": payload["event"],
                    "assignee": payload.get("assignee"),
                },
            )


def remind_reviews(session: Session, *, sites: Sites, now: datetime) -> int:
    """Reviews past due: tell the supervisors on call, once per incident."""
    reminded = 0
    for incident in overdue_reviews(session, now=now):
        done = session.scalar(
            select(IncidentEntry.id).where(
                IncidentEntry.incident_id == incident.id, IncidentEntry.kind == "review_due"
            )
        )
        site = sites.config(incident.site)
        if done is not None or site is None:
            continue
        tz = sites.tz(incident.site)
        people = people_for(
            site, session=session, roles=[OnCallRole.SUPERVISOR], people=[], now=now, tz=tz
        )
        subject = Subject(
            kind="incident",
            event=EventKind.ALARM,
            id=incident.id,
            site=incident.site,
            severity="major",
            category=incident.type,
            device_kind=None,
            device=None,
            building=incident.building,
            where=incident.building or site.site.name,
            what=f"{incident.title}: review due / 复盘到期",
            since=incident.review_due_at or now,
            link=f"{site.notifications.dashboard_url.rstrip('/')}/incidents/{incident.id}",
        )
        key = f"incident:{incident.id}:review_due"
        notify_people(session, site, subject, people, event_key=key, now=now)
        add_entry(
            session,
            incident,
            kind="review_due",
            by=SYSTEM,
            at=now,
            text=", ".join(people),
            event="review_due",
        )
        reminded += 1
    return reminded


OPEN_INCIDENT_SITES = select(Incident.site).where(Incident.state == OPEN).distinct()


class IncidentReactions:
    """The emergency plans as the notifier's `FeedReactions` (api/notify/reactions.py):
    the API's lifespan hands it to the notifier."""

    def active_sites(self, session: Session) -> set[str]:
        return set(session.scalars(OPEN_INCIDENT_SITES))

    def on_alarm(
        self,
        session: Session,
        site: SiteConfig,
        subject: Subject,
        payload: dict[str, Any],
        *,
        now: datetime,
        sites: Sites,
    ) -> bool:
        return on_alarm(session, site, subject, payload, now=now, sites=sites) is not None

    def on_workorder(self, session: Session, payload: dict[str, Any], *, now: datetime) -> None:
        on_workorder(session, payload, now=now)

    def periodic(self, session: Session, *, sites: Sites, now: datetime) -> None:
        remind_reviews(session, sites=sites, now=now)
