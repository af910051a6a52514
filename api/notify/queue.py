"""Queueing a subject for people: on-call resolution plus one outbox row per channel."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from api.notify import outbox, routing
from api.notify.routing import Subject
from api.notify.templates import Line
from estatewatch.config.notify import OnCallRole
from estatewatch.config.site import SiteConfig


def line_of(subject: Subject, escalation: int = 0) -> Line:
    return Line(
        severity=subject.severity,
        what=subject.what,
        what_zh=subject.what_zh,
        where=subject.where,
        since=subject.since,
        link=subject.link,
        escalation=escalation,
    )


def notify_people(
    session: Session,
    site: SiteConfig,
    subject: Subject,
    people: list[str],
    *,
    event_key: str,
    now: datetime,
    level: int = 0,
    into: list[dict[str, Any]] | None = None,
) -> int:
    """Queue `subject` for each person on each of their channels; returns rows added. With
    `into`, the rows are collected there instead, for one `outbox.plan_many` (and 0 is
    returned: whether they are new is known only then)."""
    config = site.notifications
    due = now + config.grouping.window
    added = 0
    for person_id in people:
        for channel in config.person(person_id).channels:
            row = outbox.row_of(
                site=subject.site,
                event_key=event_key,
                subject_kind=subject.kind,
                subject_id=subject.id,
                recipient=person_id,
                channel=channel,
                line=line_of(subject, level),
                now=now,
                due_at=due,
                level=level,
            )
            if into is not None:
                into.append(row)
            else:
                added += outbox.plan(session, row)
    return added


def people_for(
    site: SiteConfig, *, roles: list[OnCallRole], people: list[str], now: datetime, tz: tzinfo
) -> list[str]:
    return routing.resolve(
        site.notifications, site.shifts, roles=roles, people=people, now=now, tz=tz
    )
