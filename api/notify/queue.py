"""Queueing a subject for people: on-call resolution plus one outbox row per channel."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from api.domain.roster import on_duty
from api.notify import outbox, routing
from api.notify.routing import Subject
from api.notify.templates import Line
from api.store import roster as roster_store
from api.store import users as user_store
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


TRADE_ROLE = {"elevator": OnCallRole.ELEVATOR_MAINTAINER, "water_electric": OnCallRole.ELECTRICIAN}
"""The on-call role a rostered technician of a trade holds."""


def people_for(
    site: SiteConfig,
    *,
    roles: list[OnCallRole],
    people: list[str],
    now: datetime,
    tz: tzinfo,
    session: Session | None = None,
) -> list[str]:
    """Named people plus whoever is on call for `roles`: the on-call entries of the site's
    notifications, and (given a `session`) the duty roster in force — a duty engineer on a
    shift now is the duty engineer on call, a technician the maintainer of their trade."""
    rostered = _rostered(session, site, now, tz) if session is not None else {}
    return routing.resolve(
        site.notifications, site.shifts, roles=roles, people=people, now=now, tz=tz,
        rostered=rostered,
    )  # fmt: skip


def _rostered(
    session: Session, site: SiteConfig, now: datetime, tz: tzinfo
) -> dict[OnCallRole, list[str]]:
    # Once per site and moment in a unit of work: a storm asks for every alarm.
    cache: dict[tuple[str, datetime], dict[OnCallRole, list[str]]]
    cache = session.info.setdefault("ew_rostered", {})
    key = (site.site.id, now)
    if key not in cache:
        edited = roster_store.get(session, site=site.site.id)
        entries = edited if edited is not None else list(site.roster)
        duty = on_duty(entries, site.shifts, now, tz)
        found: dict[OnCallRole, list[str]] = {OnCallRole.DUTY_ENGINEER: duty["duty_engineer"]}
        for person in duty["technician"]:
            user = user_store.get(session, username=person)
            role = TRADE_ROLE.get(user.trade or "") if user is not None else None
            if role is not None and user is not None and user.active:
                found.setdefault(role, []).append(person)
        cache[key] = found
    return cache[key]
