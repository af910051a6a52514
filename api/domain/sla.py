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
| progress | general, until done | last progress answer (or reported) + 24 h | completed |
| completion | accepted orders | the expected completion set on accept | completed |
| fix | immediate finding | reported + immediate_finding_fix (1 h) | completed |
| fix | by-deadline finding | the finding's due date | completed |
| coordination | needs-coordination finding | reported + coordination_answer (24 h) | accepted |
| callback | completed orders | completed + callback (24 h) | verified |
| requester_answer | owners' reports | reported + 2 working days (`domain.calendar`) | answered |
| due_by | preventive maintenance | the PM order's due-by date | completed |
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from api.domain.calendar import WorkCalendar
from estatewatch.config.calendar import SlaPolicy
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
    @property
    def expected_done_at(self) -> datetime | None: ...
    @property
    def progress_at(self) -> datetime | None: ...
    @property
    def due_by(self) -> datetime | None: ...


def deadlines(
    order: SlaSubject,
    policy: SlaPolicy,
    *,
    tz: tzinfo = UTC,
    calendar: WorkCalendar | None = None,
) -> dict[str, datetime]:
    """When each SLA clock that applies to `order` runs out. `tz` is the site's zone and
    `calendar` its working days (None: built from `policy`)."""
    start = order.reported_at
    due: dict[str, datetime] = {}
    if order.source != WorkOrderSource.MAINTENANCE:  # planned work is scheduled, not reported
        due["dispatch"] = start + policy.dispatch
    if order.urgency == Urgency.URGENT:
        due["response"] = start + policy.urgent_response
    else:
        # Every 24 h while the order is open, the requester hears why and by when.
        due["progress"] = (order.progress_at or start) + policy.general_progress
    if order.category == ENTRAPMENT:
        due["on_site"] = start + policy.entrapment_on_site
    if order.finding_priority == FindingPriority.IMMEDIATE:
        due["fix"] = start + policy.immediate_finding_fix
    elif order.finding_priority == FindingPriority.BY_DEADLINE and order.fix_due_at is not None:
        due["fix"] = order.fix_due_at
    elif order.finding_priority == FindingPriority.NEEDS_COORDINATION:
        due["coordination"] = start + policy.coordination_answer
    if order.expected_done_at is not None:
        due["completion"] = order.expected_done_at
    if order.due_by is not None:
        due["due_by"] = order.due_by
    if order.completed_at is not None:
        due["callback"] = order.completed_at + policy.callback
    if order.source in (WorkOrderSource.MANUAL, WorkOrderSource.COMPLAINT):
        days = policy.requester_answer_working_days
        if order.source == WorkOrderSource.COMPLAINT and policy.complaint_feedback_working_days:
            days = policy.complaint_feedback_working_days
        work = calendar or WorkCalendar.of(policy)
        due["requester_answer"] = work.add_working_days(start, days, tz)
    return due


def _first(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


MET_AT: dict[str, Callable[[SlaSubject], datetime | None]] = {
    "dispatch": lambda o: o.dispatched_at,
    "response": lambda o: o.responded_at,
    "progress": lambda o: o.completed_at,
    "completion": lambda o: o.completed_at,
    "coordination": lambda o: o.responded_at,
    "on_site": lambda o: o.on_site_at,
    "fix": lambda o: o.completed_at,
    "due_by": lambda o: o.completed_at,
    "callback": lambda o: o.verified_at,
    "requester_answer": lambda o: _first(o.requester_answered_at, o.verified_at),
}


def pending(
    order: SlaSubject, due: dict[str, datetime], *, open: bool
) -> list[tuple[str, datetime]]:
    """The clocks of `due` (the order's `deadlines`) not met yet, nearest first; none once
    the order is no longer `open` (closed or cancelled owes nothing more). The pages render
    this list and keep no copy of `MET_AT`."""
    if not open:
        return []
    unmet = [(clock, at) for clock, at in due.items() if MET_AT[clock](order) is None]
    return sorted(unmet, key=lambda item: item[1])


def breaches(
    order: SlaSubject,
    policy: SlaPolicy,
    now: datetime,
    *,
    tz: tzinfo = UTC,
    calendar: WorkCalendar | None = None,
) -> dict[str, datetime]:
    """The clocks that ran out (met late, or still unmet at `now`), each with its due time.
    A cancelled order's unmet clocks stop at its cancellation."""
    late: dict[str, datetime] = {}
    for clock, due in deadlines(order, policy, tz=tz, calendar=calendar).items():
        met = MET_AT[clock](order)
        until = met or order.cancelled_at or now
        if until > due:
            late[clock] = due
    return late


STARTED: dict[str, Callable[[SlaSubject], datetime | None]] = {
    "callback": lambda o: o.completed_at,
    "progress": lambda o: o.progress_at or o.reported_at,
    "completion": lambda o: o.responded_at,
}
"""When a clock that does not run from the report started (for its warning share)."""


def breach_name(clock: str, periods: int) -> str:
    """The name a breach is flagged under: a progress clock misses once per 24-hour period
    (`progress`, then `progress_2` after the first answer ...); every other clock once."""
    return clock if clock != "progress" or periods == 0 else f"progress_{periods + 1}"


WARN_SHARE = 1 / 3
"""A clock is about to breach in the last third of its time: 5 min before the 15-minute
response, 10 min before the 30-minute dispatch, 8 h before the 24-hour callback."""


def warnings(
    order: SlaSubject,
    policy: SlaPolicy,
    now: datetime,
    *,
    tz: tzinfo = UTC,
    calendar: WorkCalendar | None = None,
) -> dict[str, datetime]:
    """The clocks still running that are about to run out at `now`, each with its due time.
    None for a cancelled order, or once a clock is met or late (that is a breach)."""
    if order.cancelled_at is not None:
        return {}
    soon: dict[str, datetime] = {}
    for clock, due in deadlines(order, policy, tz=tz, calendar=calendar).items():
        if MET_AT[clock](order) is not None or now >= due:
            continue
        start_of = STARTED.get(clock)
        started = start_of(order) if start_of is not None else order.reported_at
        span = max(due - (started or due), timedelta(0))
        if now >= due - span * WARN_SHARE:
            soon[clock] = due
    return soon
