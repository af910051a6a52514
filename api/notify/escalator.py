"""Walking escalation chains: each pass sends the levels that fell due for alarms still
unacknowledged, and stops a chain once its alarm is acknowledged or closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Alarm, Escalation
from api.notify import escalation as chains
from api.notify.planner import alarm_subject
from api.notify.queue import notify_people, people_for
from api.schemas.alarm import AlarmPublic
from api.sites import Sites


def _stop(escalation: Escalation, alarm: Alarm | None, now: datetime) -> bool:
    if alarm is None:
        reason = "alarm gone"
    elif alarm.acknowledged or alarm.ack_requested_by is not None:
        reason = "acknowledged"
    elif alarm.state == "closed":
        reason = "closed"
    else:
        return False
    escalation.stopped_at = now
    escalation.stopped_reason = reason
    return True


def escalate_pass(session: Session, *, sites: Sites, now: datetime) -> int:
    """Queue every level now due; returns the levels started."""
    running = session.scalars(
        select(Escalation).where(Escalation.stopped_at.is_(None)).with_for_update()
    ).all()
    started = 0
    for escalation in running:
        alarm = session.get(Alarm, escalation.alarm_id)
        if _stop(escalation, alarm, now):
            continue
        assert alarm is not None
        site = sites.config(escalation.site)
        if site is None:
            continue
        chain = site.notifications.chain(escalation.chain)
        urgent = sites.sla(escalation.site).urgent_response
        subject = alarm_subject(
            AlarmPublic.model_validate(alarm).model_dump(mode="json"), site.notifications
        )
        tz = sites.tz(escalation.site)
        for level in chains.due_levels(chain, urgent, now - escalation.started_at):
            if level.number <= escalation.last_level:
                continue
            people = people_for(
                site,
                roles=list(level.step.roles),
                people=list(level.step.people),
                now=now,
                tz=tz,
                session=session,
            )
            notify_people(
                session,
                site,
                subject,
                people,
                event_key=f"alarm:{subject.id}:{level.number}",
                now=now,
                level=level.number,
            )
            escalation.last_level = level.number
            started += 1
        if chains.next_due(chain, urgent, now - escalation.started_at) is None:
            escalation.stopped_at = now
            escalation.stopped_reason = "chain exhausted"
    return started
