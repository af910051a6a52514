"""From the change feed to the notification outbox.

The planner reads the API's feed (every alarm and work-order change, in commit order) from
its own cursor (counter `notify`) and, in one transaction with advancing the cursor,
queues the notifications the site's routing rules ask for, starts escalations, and opens
incidents from alarms that map to an emergency plan. Alarm and work-order handling never
waits for any of this: they only appended to the feed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, Text, cast, select
from sqlalchemy.orm import Session

from api.models import Counter, Escalation, FeedEvent
from api.notify import outbox, routing
from api.notify.queue import notify_people, people_for
from api.notify.reactions import FeedReactions, NoReactions
from api.notify.routing import Subject
from api.sites import Sites
from estatewatch.clock import from_epoch_ms
from estatewatch.config.notify import EventKind, NotifyConfig, OnCallRole
from estatewatch.config.site import SiteConfig

log = logging.getLogger(__name__)

CURSOR = "notify"
STALE_AFTER = timedelta(hours=1)
"""Changes older than this when the planner reads them are not notified (the feed keeps
days of history: switching the notifier on must not page everyone about last week)."""
FEED_KINDS = ["alarm", "workorder"]
FEED: Table = FeedEvent.__table__  # type: ignore[assignment]
URGENCY_SEVERITY = {"urgent": "critical", "general": "major"}
TO_DUTY_ROOM = frozenset(
    {EventKind.WORKORDER_NOTE, EventKind.WORKORDER_REJECTED, EventKind.WORKORDER_HANDED_BACK}
)
"""A technician's word for the duty room — a note, an order declined or handed back with
its reason — reaches the duty engineers on duty whatever the site's routes say."""
DUTY_ROOM_EVENTS = frozenset(kind.removeprefix("workorder.") for kind in TO_DUTY_ROOM)


def alarm_subject(payload: dict[str, Any], config: NotifyConfig) -> Subject:
    where = " ".join(p for p in (payload.get("building"), payload.get("room")) if p)
    target = payload.get("target") or ""
    return Subject(
        kind="alarm",
        event=EventKind.ALARM,
        id=payload["alarm_id"],
        site=payload["site"],
        severity=payload["severity"],
        category=payload["category"],
        device_kind=payload.get("device_kind"),
        device=target if payload.get("target_kind") == "device" else None,
        building=payload.get("building"),
        where=f"{where} {target}".strip(),
        what=payload["title"],
        what_zh=payload.get("title_zh"),
        since=datetime.fromisoformat(payload["raised_at"]),
        link=f"{config.dashboard_url.rstrip('/')}/alarms/{payload['alarm_id']}",
    )


def workorder_subject(payload: dict[str, Any], config: NotifyConfig) -> Subject | None:
    try:
        event = EventKind(f"workorder.{payload['event']}")
    except ValueError:
        return None
    where = " ".join(p for p in (payload.get("building"), payload.get("device")) if p)
    return Subject(
        kind="workorder",
        event=event,
        id=payload["order_id"],
        site=payload["site"],
        severity=URGENCY_SEVERITY.get(payload.get("urgency", ""), "major"),
        category=payload.get("trade", ""),
        device_kind=None,
        device=payload.get("device"),
        building=payload.get("building"),
        where=where,
        what=f"{payload['order_id']} {payload['title']} ({payload['event']})",
        what_zh=f"{payload['order_id']} {payload['title_zh']} ({payload['event']})"
        if payload.get("title_zh")
        else None,
        since=from_epoch_ms(payload["at"]),
        link=f"{config.dashboard_url.rstrip('/')}/workorders/{payload['order_id']}",
    )


@dataclass
class _Pass:
    """What one pass shares across the feed events it reads."""

    now: datetime
    reactions: FeedReactions
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Outbox rows planned, inserted together at the end (`outbox.plan_many`)."""
    incident_sites: set[str] = field(default_factory=set)
    """Sites with an open incident: only their orders can go on an incident's timeline."""


def _on_alarm(
    session: Session, site: SiteConfig, payload: dict[str, Any], sites: Sites, run: _Pass
) -> None:
    now = run.now
    config = site.notifications
    subject = alarm_subject(payload, config)
    acked = payload.get("acknowledged") or payload.get("ack_requested_by")
    if acked or payload.get("state") == "closed":
        escalation = session.get(Escalation, subject.id, with_for_update=True)
        if escalation is not None and escalation.stopped_at is None:
            escalation.stopped_at = now
            escalation.stopped_reason = "acknowledged" if acked else "closed"
        return
    if payload.get("parent_alarm_id"):
        return  # a root alarm explains it: the root's message covers it (issue #23)
    released = bool((payload.get("details") or {}).get("released_from"))
    if payload.get("last_event") != "raised" and not released:
        return
    if run.reactions.on_alarm(session, site, subject, payload, now=now, sites=sites):
        run.incident_sites.add(subject.site)
    if routing.silenced(config, subject, now):
        return
    tz = sites.tz(subject.site)
    for rule in routing.rules_for(config, subject):
        people = people_for(
            site, session=session, roles=rule.roles, people=rule.people, now=now, tz=tz
        )
        key = f"alarm:{subject.id}:0"
        notify_people(session, site, subject, people, event_key=key, now=now, into=run.rows)
        if rule.escalation and session.get(Escalation, subject.id) is None:
            session.add(
                Escalation(
                    alarm_id=subject.id,
                    site=subject.site,
                    chain=rule.escalation,
                    started_at=subject.since,
                    last_level=-1,
                )
            )
            session.flush()


def _on_workorder(
    session: Session, site: SiteConfig, payload: dict[str, Any], sites: Sites, run: _Pass
) -> None:
    now = run.now
    if payload["site"] in run.incident_sites:
        run.reactions.on_workorder(session, payload, now=now)
    subject = workorder_subject(payload, site.notifications)
    if subject is None or routing.silenced(site.notifications, subject, now):
        return
    tz = sites.tz(subject.site)
    key = f"workorder:{subject.id}:{payload['revision']}"
    if subject.event in TO_DUTY_ROOM:  # a technician's word: to the duty room
        subject = replace(subject, what=f"{subject.what}: {payload.get('note', '')}"[:500])
        people = people_for(
            site, session=session, roles=[OnCallRole.DUTY_ENGINEER], people=[], now=now, tz=tz
        )
        notify_people(session, site, subject, people, event_key=key, now=now, into=run.rows)
        return
    for rule in routing.rules_for(site.notifications, subject):
        people = people_for(
            site, session=session, roles=rule.roles, people=rule.people, now=now, tz=tz
        )
        notify_people(session, site, subject, people, event_key=key, now=now, into=run.rows)


def _routes_orders(config: NotifyConfig) -> bool:
    """Whether any route of the site tells someone about a work-order event."""
    return any(event != EventKind.ALARM for rule in config.routes for event in rule.match.events)


def plan_pass(
    session: Session,
    *,
    sites: Sites,
    now: datetime,
    limit: int = 2000,
    reactions: FeedReactions | None = None,
) -> int:
    """Read the feed from the cursor and queue what it asks for, and what `reactions` (the
    emergency plans) make of it; returns events read."""
    reactions = reactions or NoReactions()
    cursor = session.get(Counter, CURSOR, with_for_update=True)
    if cursor is None:
        raise RuntimeError("counter 'notify' is missing: run the migrations")
    # The payload as its JSON text, decoded only for the events a pass acts on: a storm's
    # work-order events (half the feed, the larger payloads) mostly concern no route.
    events = session.execute(
        select(
            FEED.c.seq,
            FEED.c.kind,
            FEED.c.site,
            FEED.c.at,
            cast(FEED.c.payload, Text).label("payload"),
        )
        .where(FEED.c.seq > cursor.value, FEED.c.kind.in_(FEED_KINDS))
        .order_by(FEED.c.seq)
        .limit(limit)
    ).all()
    run = _Pass(now, reactions, incident_sites=reactions.active_sites(session))
    stale = 0
    for event in events:
        site = sites.config(event.site)
        if site is None or (not site.notifications.people and not site.emergency_plans):
            continue
        if event.at < now - STALE_AFTER:  # e.g. the notifier switched on after months
            stale += 1
            continue
        if event.kind == "alarm":
            _on_alarm(session, site, json.loads(event.payload), sites, run)
        elif event.site in run.incident_sites or _routes_orders(site.notifications):
            _on_workorder(session, site, json.loads(event.payload), sites, run)
        elif (payload := json.loads(event.payload))["event"] in DUTY_ROOM_EVENTS:
            _on_workorder(session, site, payload, sites, run)  # to the duty room, routes or not
    outbox.plan_many(session, run.rows)
    if events:
        cursor.value = events[-1].seq
    if stale:
        log.warning("skipped %d change(s) older than %s: too old to notify", stale, STALE_AFTER)
    return len(events)
