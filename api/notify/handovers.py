"""Shifts that ended without a signed handover, told to the supervisors on call once per
shift: a notification outbox row per supervisor and channel, like an alarm's, once the
site keeps handovers (one has been filed there: switching the feature on must not page
the supervisors about every shift before it). The
notifier's escalation pass runs it (`EW_NOTIFY=true`); `POST /handovers/check` at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.models import HandoverNotice
from api.notify.queue import notify_people, people_for
from api.notify.routing import Subject
from api.sites import Sites
from api.store import handovers as store
from api.workflows.handovers import shift_states
from estatewatch.config.notify import EventKind, OnCallRole


def notify_unsigned(session: Session, *, now: datetime, sites: Sites) -> int:
    """Tell the supervisors on call, once per shift, of each shift that ended unsigned.
    Returns the shifts noticed now."""
    noticed = 0
    for site in sites.ids:
        config = sites.config(site)
        if config is None:
            continue
        if not store.keeps_handovers(session, site=site):
            continue  # a site that files no handovers is not paged for every shift
        for status in shift_states(session, site=site, now=now, sites=sites):
            if status.state == "signed" or status.notified is not None:
                continue
            people = people_for(
                config,
                roles=[OnCallRole.SUPERVISOR],
                people=[],
                now=now,
                tz=sites.tz(site),
                session=session,
            )
            notice = HandoverNotice(
                site=site, shift=status.shift, date=status.date, noticed_at=now, people=people
            )
            if not store.add_notice(session, notice):
                continue
            noticed += 1
            subject = Subject(
                kind="handover",
                event=EventKind.ALARM,
                id=status.handover_id or f"{site}:{status.date}:{status.shift}",
                site=site,
                severity="major",
                category="handover_unsigned",
                device_kind=None,
                device=None,
                building=None,
                where=config.site.name,
                what=f"交接班未签 Handover not signed: {status.date} {status.shift}",
                since=status.end,
                link=f"{config.notifications.dashboard_url.rstrip('/')}/records#handovers",
            )
            key = f"handover:{site}:{status.date}:{status.shift}"
            notify_people(session, config, subject, people, event_key=key, now=now)
    return noticed
