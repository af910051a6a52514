"""Alarms as the API keeps them, and the one decision that turns an alarm into a work order.

An alarm opens a work order when the API first sees it raised or active, it has no order
yet, and the site's dispatch policy (`api.domain.policy`) says it makes one: entrapment →
elevator, urgent; fire and smoke → fire, urgent; burst pipes and outages urgent; other
critical alarms urgent; warnings none. At most one order per alarm (the order's id is a
stable id of the alarm, and the database enforces it).
"""

from __future__ import annotations

from enum import StrEnum

from api.domain.policy import Classification, DispatchPolicy, classify_alarm
from estatewatch.contracts.payloads import AlarmEvent, AlarmEventType, Severity


class AlarmState(StrEnum):
    ACTIVE = "active"  # the condition holds, nobody acknowledged
    ACKNOWLEDGED = "acknowledged"  # the condition holds, someone is on it
    CLEARED = "cleared"  # the condition is gone, nobody acknowledged
    CLOSED = "closed"  # nothing more to do


OPEN_ALARM_STATES = [AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED, AlarmState.CLEARED]
SEVERITY_RANK = {s: rank for rank, s in enumerate(Severity)}  # critical first


def state_of(event: AlarmEvent) -> AlarmState:
    if event.event is AlarmEventType.CLOSED:
        return AlarmState.CLOSED
    if event.active:
        return AlarmState.ACKNOWLEDGED if event.acknowledged else AlarmState.ACTIVE
    return AlarmState.CLOSED if event.acknowledged else AlarmState.CLEARED


def work_order_for(
    event: AlarmEvent, *, has_order: bool, policy: DispatchPolicy
) -> Classification | None:
    """The work order the alarm `event` (its newest revision) should open now, or None:
    none once it has one, none for an alarm only seen cleared or closed, none when the
    site's dispatch policy says so, none while a root alarm explains it (`parent_alarm_id`:
    the root's order covers it; released, it gets its own)."""
    if has_order or event.parent_alarm_id is not None:
        return None
    if event.event is not AlarmEventType.RAISED and not event.active:
        return None
    return classify_alarm(policy, event)
