"""SLA clocks of a work order (domain.md's service standards), as pure functions.

`deadlines(order, policy)` says when each clock that applies to the order runs out;
`met_at` when it was satisfied; `warnings(order, policy, now)` which are about to run out
(the last third of their time); `breaches(order, policy, now)` which ran out. Clocks start
at `reported_at` (the alarm, the scan, the owner's call), so a late delivery to the API
never extends a deadline.

| clock | applies to | due | met when |
|---|---|---|---|
| dispatch | all but planned maintenance | reported + dispatch (30 min) | dispatched |
| response | urgent | reported + urgent_response (15 min) | accepted |
| on_site | entrapment | reported + entrapment_on_site (30 min) | on site |
| progress | general | reported + general_progress (24 h) | accepted |
| fix | immediate finding | reported + immediate_finding_fix (1 h) | completed |
| fix | by-deadline finding | the finding's due date | completed |
| callback | completed orders | completed + callback (24 h) | verified |
| requester_answer | owners' reports | reported + 2 working days (complaints 3) | answered |
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from estatewatch.config.site import SlaPolicy
from estatewatch.contracts.payloads import FindingPriority, Urgency, WorkOrderSource

ENTRAPMENT = "entrapment"


class SlaSubject(Protocol):
    """What the clocks read from an order (the ORM `WorkOrder` is one)."""

    @property
    def source(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def finding_priority(self) -> str | None: ...
    @property
    def reported_at(self) -> datetime: ...
    @property
    def fix_due_at(self) -> datetime | None: ...
    @property
    def dispatched_at(self) -> datetime | None: ...
    @property
    def responded_at(self) -> datetime | None: ...
    @property
    def on_site_at(self) -> datetime | None: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def verified_at(self) -> datetime | None: ...
    @property
    def cancelled_at(self) -> datetime | None: ...
    @property
    def requester_answered_at(self) -> datetime | None: ...


def add_working_days(start: datetime, days: int, working_days: list[int], tz: tzinfo) -> datetime:
    """The same local time of day on the `days`-th working day after `start`'s local date
    (Friday 10:00 + 2 working days = Tuesday 10:00). Public holidays are not modelled."""
    if not set(working_days) & set(range(7)):
        raise ValueError("the SLA policy has no working days")
    local = start.astimezone(tz)
    day, counted = local.date(), 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() in working_days:
            counted += 1
    return datetime.combine(day, local.time(), tzinfo=tz).astimezone(UTC)


def deadlines(order: SlaSubject, policy: SlaPolicy, *, tz: tzinfo = UTC) -> dict[str, datetime]:
    """When each SLA clock that applies to `order` runs out. `tz` is the site's zone, for
    working days."""
    start = order.reported_at
    due: dict[str, datetime] = {}
    if order.source != WorkOrderSource.MAINTENANCE:  # planned work is scheduled, not reported
        due["dispatch"] = start + policy.dispatch
    if order.urgency == Urgency.URGENT:
        due["response"] = start + policy.urgent_response
    else:
        due["progress"] = start + policy.general_progress
    if order.category == ENTRAPMENT:
        due["on_site"] = start + policy.entrapment_on_site
    if order.finding_priority == FindingPriority.IMMEDIATE:
        due["fix"] = start + policy.immediate_finding_fix
    elif order.finding_priority == FindingPriority.BY_DEADLINE and order.fix_due_at is not None:
        due["fix"] = order.fix_due_at
    if order.completed_at is not None:
        due["callback"] = order.completed_at + policy.callback
    if order.source in (WorkOrderSource.MANUAL, WorkOrderSource.COMPLAINT):
        days = (
            policy.complaint_feedback_working_days
            if order.source == WorkOrderSource.COMPLAINT
            else policy.requester_answer_working_days
        )
        due["requester_answer"] = add_working_days(start, days, policy.working_days, tz)
    return due


def _first(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


MET_AT: dict[str, Callable[[SlaSubject], datetime | None]] = {
    "dispatch": lambda o: o.dispatched_at,
    "response": lambda o: o.responded_at,
    "progress": lambda o: o.responded_at,
    "on_site": lambda o: o.on_site_at,
    "fix": lambda o: o.completed_at,
    "callback": lambda o: o.verified_at,
    "requester_answer": lambda o: _first(o.requester_answered_at, o.verified_at),
}


def breaches(
    order: SlaSubject, policy: SlaPolicy, now: datetime, *, tz: tzinfo = UTC
) -> dict[str, datetime]:
    """The clocks that ran out (met late, or still unmet at `now`), each with its due time.
    A cancelled order's unmet clocks stop at its cancellation."""
    late: dict[str, datetime] = {}
    for clock, due in deadlines(order, policy, tz=tz).items():
        met = MET_AT[clock](order)
        until = met or order.cancelled_at or now
        if until > due:
            late[clock] = due
    return late


WARN_SHARE = 1 / 3
"""A clock is about to breach in the last third of its time: 5 min before the 15-minute
response, 10 min before the 30-minute dispatch, 8 h before the 24-hour callback."""


def warnings(
    order: SlaSubject, policy: SlaPolicy, now: datetime, *, tz: tzinfo = UTC
) -> dict[str, datetime]:
    """The clocks still running that are about to run out at `now`, each with its due time.
    None for a cancelled order, or once a clock is met or late (that is a breach)."""
    if order.cancelled_at is not None:
        return {}
    soon: dict[str, datetime] = {}
    for clock, due in deadlines(order, policy, tz=tz).items():
        if MET_AT[clock](order) is not None or now >= due:
            continue
        started = order.completed_at if clock == "callback" else order.reported_at
        span = max(due - (started or due), timedelta(0))
        if now >= due - span * WARN_SHARE:
            soon[clock] = due
    return soon
