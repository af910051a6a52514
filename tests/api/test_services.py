"""The pure logic: the transition table, SLA clocks for every standard in domain.md, the
dispatch policy and the role table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.domain import sla
from api.domain.calendar import WorkCalendar
from api.domain.errors import IllegalTransition
from api.domain.permissions import Permission, Role, has, may_take
from api.domain.policy import DispatchPolicy, classify_alarm, classify_finding
from api.domain.transitions import TRANSITIONS, Action, allowed_actions, next_state
from estatewatch.config import SlaPolicy, WorkCalendarConfig
from estatewatch.contracts.payloads import FindingPriority, WorkOrderState
from tests.api.helpers import alarm_event
from tests.dates import utc

S = WorkOrderState
T0 = utc(0, 8)  # Monday 16:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Clock arithmetic on dates derived from today: the weekly pattern only, so a test week that
# holds a public holiday still counts Monday to Friday (holidays: tests/api/test_calendar.py).
POLICY = SlaPolicy(calendar=WorkCalendarConfig(public_holidays="none"))
WEEKDAYS = WorkCalendar(weekdays=frozenset({0, 1, 2, 3, 4}))


# --- transitions -----------------------------------------------------------------------------

HAPPY_PATH = [
    (Action.DISPATCH, S.DISPATCHED),
    (Action.ACCEPT, S.ACCEPTED),
    (Action.ARRIVE, S.ON_SITE),
    (Action.COMPLETE, S.COMPLETED),
    (Action.VERIFY, S.VERIFIED),
    (Action.CLOSE, S.CLOSED),
]


def test_the_happy_path() -> None:
    state = S.NEW
    for action, expected in HAPPY_PATH:
        state = next_state(state, action)
        assert state is expected


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("action", list(Action))
def test_every_pair_outside_the_table_is_refused(state: S, action: Action) -> None:
    if (state, action) in TRANSITIONS:
        assert next_state(state, action) is TRANSITIONS[(state, action)]
        return
    with pytest.raises(IllegalTransition) as caught:
        next_state(state, action)
    assert caught.value.field == "action"
    assert caught.value.extensions["allowed"] == [str(a) for a in allowed_actions(state)]


def test_final_states_allow_nothing() -> None:
    assert allowed_actions(S.CLOSED) == []
    assert allowed_actions(S.CANCELLED) == []


# --- SLA clocks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    source: str = "alarm"
    urgency: str = "general"
    category: str = ""
    finding_priority: str | None = None
    reported_at: datetime = T0
    fix_due_at: datetime | None = None
    dispatched_at: datetime | None = None
    responded_at: datetime | None = None
    on_site_at: datetime | None = None
    completed_at: datetime | None = None
    verified_at: datetime | None = None
    cancelled_at: datetime | None = None
    requester_answered_at: datetime | None = None
    expected_done_at: datetime | None = None
    progress_at: datetime | None = None
    due_by: datetime | None = None


M = timedelta(minutes=1)
H = timedelta(hours=1)

# (standard of domain.md, order, clock, due, the field that meets it)
ROWS = [
    ("dispatch within 30 min", Order(), "dispatch", T0 + 30 * M, "dispatched_at"),
    (
        "urgent: response within 15 min",
        Order(urgency="urgent"),
        "response",
        T0 + 15 * M,
        "responded_at",
    ),
    (
        "entrapment: maintainer on site within 30 min",
        Order(urgency="urgent", category="entrapment"),
        "on_site",
        T0 + 30 * M,
        "on_site_at",
    ),
    ("general: progress within 24 h", Order(), "progress", T0 + 24 * H, "completed_at"),
    (
        "general: the next progress 24 h after the last answer",
        Order(progress_at=T0 + 20 * H),
        "progress",
        T0 + 44 * H,
        "completed_at",
    ),
    (
        "done by the expected completion set on accept",
        Order(responded_at=T0 + H, expected_done_at=T0 + 5 * H),
        "completion",
        T0 + 5 * H,
        "completed_at",
    ),
    (
        "callback within 24 h of completion",
        Order(completed_at=T0 + 2 * H),
        "callback",
        T0 + 26 * H,
        "verified_at",
    ),
    (
        "requester answered within 2 working days",
        Order(source="manual"),
        "requester_answer",
        utc(2, 8),  # Monday -> Wednesday, same hour
        "requester_answered_at",
    ),
    (
        "a complaint too is answered within 2 working days",
        Order(source="complaint"),
        "requester_answer",
        utc(2, 8),
        "requester_answered_at",
    ),
    (
        "immediate finding fixed within 1 h",
        Order(finding_priority="immediate"),
        "fix",
        T0 + H,
        "completed_at",
    ),
    (
        "by-deadline finding fixed by its due date",
        Order(finding_priority="by_deadline", fix_due_at=T0 + 72 * H),
        "fix",
        T0 + 72 * H,
        "completed_at",
    ),
]


@pytest.mark.parametrize(
    ("standard", "order", "clock", "due", "met_by"), ROWS, ids=[r[0] for r in ROWS]
)
def test_each_standard_has_its_deadline_and_breaches_only_when_missed(
    standard: str, order: Order, clock: str, due: datetime, met_by: str
) -> None:
    assert sla.deadlines(order, POLICY, tz=SHANGHAI)[clock] == due
    # Still open: not breached up to the deadline, breached a moment after.
    assert clock not in sla.breaches(order, POLICY, due, tz=SHANGHAI)
    assert sla.breaches(order, POLICY, due + timedelta(seconds=1), tz=SHANGHAI)[clock] == due
    # Met in time: never breached, however late it is now.
    on_time = replace(order, **{met_by: due})
    assert clock not in sla.breaches(on_time, POLICY, due + 100 * H, tz=SHANGHAI)
    # Met late: breached for good.
    late = replace(order, **{met_by: due + M})
    assert clock in sla.breaches(late, POLICY, due + M, tz=SHANGHAI)

    # Pending (what the pages count down) until the field that meets it is set, whatever
    # the time; nothing pending once the order is final.
    assert clock in dict(sla.pending(order, sla.deadlines(order, POLICY, tz=SHANGHAI), open=True))
    met = sla.deadlines(on_time, POLICY, tz=SHANGHAI)
    assert clock not in dict(sla.pending(on_time, met, open=True))
    assert sla.pending(order, sla.deadlines(order, POLICY, tz=SHANGHAI), open=False) == []


def test_pending_clocks_come_nearest_first() -> None:
    urgent = Order(urgency="urgent", category="entrapment", dispatched_at=T0 + 2 * M)
    due = sla.deadlines(urgent, POLICY, tz=SHANGHAI)
    assert [c for c, _ in sla.pending(urgent, due, open=True)] == ["response", "on_site"]


def test_clocks_apply_only_where_the_standard_does() -> None:
    assert set(sla.deadlines(Order(), POLICY)) == {"dispatch", "progress"}
    urgent = Order(urgency="urgent", category="entrapment")
    assert set(sla.deadlines(urgent, POLICY)) == {"dispatch", "response", "on_site"}


def test_every_figure_comes_from_the_site_policy() -> None:
    policy = POLICY.model_copy(
        update={"urgent_response": timedelta(minutes=5), "dispatch": timedelta(minutes=10)}
    )
    due = sla.deadlines(Order(urgency="urgent"), policy)
    assert (due["response"], due["dispatch"]) == (T0 + 5 * M, T0 + 10 * M)


def test_working_days_skip_the_weekend_in_site_time() -> None:
    friday_evening_shanghai = utc(4, 12)  # Fri 20:00 local
    due = WEEKDAYS.add_working_days(friday_evening_shanghai, 2, SHANGHAI)
    assert due == utc(8, 12)  # Tuesday 20:00 local
    # The same instant in UTC is still Friday 12:00, but the site's week is what counts.
    saturday_local = utc(4, 16, 30)  # Sat 00:30 local
    assert (
        WEEKDAYS.add_working_days(saturday_local, 1, SHANGHAI).astimezone(SHANGHAI).weekday() == 0
    )


def test_a_policy_without_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="no working days"):
        WorkCalendar(weekdays=frozenset()).add_working_days(T0, 2, UTC)


def test_a_clock_warns_in_the_last_third_of_its_time() -> None:
    urgent = Order(urgency="urgent")
    assert sla.warnings(urgent, POLICY, T0 + 9 * M) == {}
    # response (15 min) warns from minute 10, dispatch (30 min) from minute 20
    assert sla.warnings(urgent, POLICY, T0 + 10 * M) == {"response": T0 + 15 * M}
    assert set(sla.warnings(urgent, POLICY, T0 + 20 * M)) == {"dispatch"}  # response is late
    met = Order(urgency="urgent", responded_at=T0 + 5 * M, dispatched_at=T0 + 4 * M)
    assert sla.warnings(met, POLICY, T0 + 12 * M) == {}
    # the callback clock runs from completion: 24 h, warned 8 h before
    done = Order(dispatched_at=T0, responded_at=T0, completed_at=T0 + 2 * H)
    assert sla.warnings(done, POLICY, T0 + 17 * H) == {}
    assert set(sla.warnings(done, POLICY, T0 + 18 * H)) == {"callback"}
    assert sla.warnings(Order(cancelled_at=T0), POLICY, T0 + 25 * M) == {}


def test_cancelling_stops_the_clocks() -> None:
    cancelled = Order(cancelled_at=T0 + 10 * M)
    assert sla.breaches(cancelled, POLICY, T0 + 48 * H) == {}


# --- dispatch policy and roles ---------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "severity", "device_kind", "expected"),
    [
        ("entrapment", "critical", "elevator", ("elevator", "engineering", "urgent")),
        ("pipe_burst", "major", "water_pump_set", ("water_electric", "engineering", "urgent")),
        ("outage", "major", "power_room", ("water_electric", "engineering", "urgent")),
        ("smoke", "major", "sensor", ("fire", "engineering", "urgent")),
        ("fire_alarm", "critical", "fire_panel", ("fire", "engineering", "urgent")),
        ("fire_panel_fault", "major", "fire_panel", ("fire", "engineering", "general")),
        ("water_outage", "critical", "water_pump_set", ("water_electric", "engineering", "urgent")),
        (
            "pressure_loss",
            "critical",
            "water_pump_set",
            ("water_electric", "engineering", "urgent"),
        ),
        ("pressure_loss", "major", "water_pump_set", ("water_electric", "engineering", "general")),
        ("battery_low", "warning", "sensor", None),
    ],
)
def test_default_dispatch_policy(
    category: str, severity: str, device_kind: str, expected: tuple[str, str, str] | None
) -> None:
    event = alarm_event(category=category, severity=severity, device_kind=device_kind)
    kind = classify_alarm(DispatchPolicy(), event)
    assert (None if kind is None else (kind.trade, kind.department, kind.urgency)) == expected


def test_patrol_alarms_go_to_security() -> None:
    event = alarm_event(
        category="missed_checkpoint", severity="major", target_kind="checkpoint", device_kind=None
    )
    kind = classify_alarm(DispatchPolicy(), event)
    assert kind is not None
    assert (kind.trade, kind.department) == ("security", "security")


def test_findings_follow_where_they_were_found() -> None:
    kind = classify_finding("fire_facility", FindingPriority.IMMEDIATE)
    assert (kind.trade, kind.urgency) == ("fire", "urgent")
    assert classify_finding("perimeter", FindingPriority.BY_DEADLINE).department == "security"


def test_roles() -> None:
    assert has(Role.GUARD, Permission.PATROL_SUBMIT)
    assert not has(Role.GUARD, Permission.ALARM_READ)
    assert may_take(Role.TECHNICIAN, Action.COMPLETE)
    assert not may_take(Role.TECHNICIAN, Action.DISPATCH)
    assert all(has(Role.ADMIN, p) for p in Permission)
