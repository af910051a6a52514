"""Patrol rules on the example estate's equipment round (local 08:30-09:30, seven
checkpoints, min_transit 30 s), with a fake clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from estatewatch.clock import to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.config.patrol import RosterEntry
from estatewatch.contracts.payloads import PatrolExceptionKind
from rules.schedule import LocalTime, route_windows, shift_at
from tests.dates import iso, utc
from tests.rules.driver import Driver

LOCAL_0800 = to_epoch_ms(utc(0))  # 08:00 in Shanghai
MIN = 60_000
ROUND = ["pump-room", "fire-pump-room", "generator-room", "power-room-1", "power-room-2",
         "fire-control", "t1-lift-machine"]  # fmt: skip


def at(minutes: float) -> int:
    """Local 08:00 + minutes."""
    return LOCAL_0800 + round(minutes * MIN)


def walk(d: Driver, order: list[int], *, start_min: float = 35, step_min: float = 2) -> None:
    for n, index in enumerate(order):
        d.at(at(start_min + n * step_min)).scan(ROUND[index])
        d.tick(1)


@pytest.fixture
def d(example_site: SiteConfig) -> Driver:
    return Driver(example_site, "builtin: false\n", start=LOCAL_0800)  # patrol rules only


def until(d: Driver, minutes: float) -> None:
    d.tick((at(minutes) - d.now) / 1000, every=10)


def test_windows_are_in_the_site_timezone(example_site: SiteConfig) -> None:
    route = next(r for r in example_site.routes if r.id == "equipment-round")
    local = LocalTime("Asia/Shanghai")
    found = route_windows(route, local, at(0), at(24 * 60))
    starts = [datetime.fromtimestamp(o.start / 1000, tz=local.tz).strftime("%H:%M") for o in found]
    assert starts == ["08:30", "16:30", "23:00"]
    assert found[0].start == to_epoch_ms(utc(0, 0, 30))
    night = next(s for s in example_site.shifts if s.id == "night")
    occ = shift_at(night, local, at(20 * 60))  # 04:00 next morning, local
    assert occ is not None
    assert occ.end == at(24 * 60)


def test_clean_round_raises_nothing(d: Driver) -> None:
    walk(d, list(range(7)))
    until(d, 95)  # past the window's end (09:30)
    assert d.events == []


def test_skipped_checkpoint_is_missed_at_the_end_of_its_window(d: Driver) -> None:
    walk(d, [0, 1, 2, 4, 5, 6])
    until(d, 89.9)
    assert d.events == []
    until(d, 90.5)
    assert [(e.rule, e.target) for e in d.events] == [
        ("patrol.missed_checkpoint", "equipment-round")
    ]
    assert d.events[0].details["route"] == "equipment-round"
    assert d.events[0].details["window"] == f"{iso(0)} 08:30"
    assert d.events[0].details["checkpoints"] == "power-room-1"
    assert "Power room 1 door" in d.events[0].title


def test_a_round_not_walked_is_one_alarm_naming_every_checkpoint(d: Driver) -> None:
    until(d, 91)
    [missed] = d.events
    assert (missed.rule, missed.target_kind.value, missed.target) == (
        "patrol.missed_checkpoint",
        "route",
        "equipment-round",
    )
    assert missed.details["checkpoints"] == ", ".join(ROUND)
    assert (missed.details["missed"], missed.details["expected"]) == (7, 7)
    assert "7 of 7" in missed.title
    assert "Domestic pump room door" in missed.title
    for n, cp in enumerate(ROUND):  # walked late: the alarm clears with the last of them
        d.at(at(95 + n)).scan(cp)
    assert [e.event.value for e in d.events if e.rule == "patrol.missed_checkpoint"] == [
        "raised",
        "cleared",
    ]


def test_an_early_scan_is_not_late_for_the_round_before(d: Driver) -> None:
    walk(d, list(range(7)))
    until(d, 95)
    d.at(at(8 * 60 + 15)).scan("pump-room")  # 16:15, the next round opens at 16:30
    assert "patrol.late_scan" not in d.raised()


def test_late_scan_clears_missed_and_is_itself_an_alarm(d: Driver) -> None:
    walk(d, [0, 1, 2, 4, 5, 6])
    until(d, 91)
    d.at(at(100)).scan("power-room-1")
    assert [(e.rule, e.event.value) for e in d.events] == [
        ("patrol.missed_checkpoint", "raised"),
        ("patrol.missed_checkpoint", "cleared"),
        ("patrol.late_scan", "raised"),
    ]
    assert d.events[-1].details["minutes"] == 10.0


def test_scan_synced_late_with_its_original_time_is_on_time(d: Driver) -> None:
    walk(d, [0, 1, 2, 4, 5, 6])
    until(d, 91)
    d.at(at(92)).scan("power-room-1", at=at(40))  # kept on the handheld in the basement
    assert [(e.rule, e.event.value) for e in d.events] == [
        ("patrol.missed_checkpoint", "raised"),
        ("patrol.missed_checkpoint", "cleared"),
    ]


def test_out_of_order(d: Driver) -> None:
    walk(d, [0, 1, 3, 2, 4, 5, 6])
    until(d, 95)
    assert [(e.rule, e.target, e.event.value) for e in d.events] == [
        ("patrol.out_of_order", "equipment-round", "raised"),
        ("patrol.out_of_order", "equipment-round", "cleared"),  # 15 min hold passed
    ]
    assert d.events[0].details["checkpoint"] == "generator-room"
    assert d.events[0].details["expected_before"] == "power-room-1"


def test_silent_guard(d: Driver) -> None:
    d.at(at(35)).scan("pump-room")
    until(d, 95)
    assert "patrol.silent_guard" not in d.raised()
    until(d, 96)
    silent = [e for e in d.events if e.rule == "patrol.silent_guard"]
    assert [(e.target, e.event.value) for e in silent] == [("guard-zhang", "raised")]
    d.at(at(97)).scan("pump-room")
    assert d.events[-1].rule == "patrol.silent_guard"
    assert d.events[-1].event.value == "cleared"


def test_guard_off_shift_is_not_silent(d: Driver) -> None:
    d.at(at(11 * 60 + 30)).scan("pump-room")  # 19:30, day shift ends 20:00
    d.tick(2 * 3600, every=30)
    assert "patrol.silent_guard" not in d.raised()


def test_impossible_transit(d: Driver) -> None:
    d.at(at(35)).scan("pump-room")
    d.at(at(35) + 5_000).scan("fire-pump-room")  # 5 s; the route's min_transit is 30 s
    events = [e for e in d.events if e.rule == "patrol.impossible_transit"]
    assert [(e.target, e.details["from"], e.details["seconds"]) for e in events] == [
        ("fire-pump-room", "pump-room", 5.0)
    ]


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        (PatrolExceptionKind.UNKNOWN_TAG, "patrol.unknown_tag"),
        (PatrolExceptionKind.BAD_SIGNATURE, "patrol.bad_signature"),
        (PatrolExceptionKind.REPLAY, "patrol.replay"),
        (PatrolExceptionKind.CLONED_TAG, "patrol.cloned_tag"),
        (PatrolExceptionKind.MALFORMED, "patrol.bad_scan"),
    ],
)
def test_gateway_exceptions_raise_and_clear_after_their_hold(
    d: Driver, kind: PatrolExceptionKind, rule: str
) -> None:
    d.exception(kind)
    d.tick(60)
    d.exception(kind)  # again: counted on the same alarm
    assert [(e.rule, e.target, e.event.value) for e in d.events] == [
        (rule, "hh-01", "raised"),
        (rule, "hh-01", "updated"),
    ]
    assert d.events[-1].occurrences == 2
    d.tick(15 * 60, every=30)
    assert d.events[-1].event.value == "cleared"


def test_redelivered_scan_is_counted_once(d: Driver) -> None:
    d.at(at(35)).scan("pump-room")
    d.at(at(36)).scan("pump-room", at=at(35))  # the same scan again
    assert d.state.sites["harbour-view"].patrol.windows  # recorded
    assert d.events == []


def test_patrol_state_survives_a_restart(d: Driver) -> None:
    walk(d, [0, 1, 2])
    d.restart()
    walk(d, [4, 5, 6], start_min=45)
    until(d, 91)
    assert [(e.rule, e.target) for e in d.events] == [
        ("patrol.missed_checkpoint", "equipment-round")
    ]
    assert d.events[0].details["checkpoints"] == "power-room-1"


def test_one_tag_read_by_two_handhelds_too_close_in_time_is_a_cloned_tag(d: Driver) -> None:
    d.at(at(35)).scan("pump-room", guard="guard-zhang", handheld="hh-01")
    d.at(at(35) + 3_000).scan("pump-room", guard="guard-li", handheld="hh-02")  # 3 s < 30 s
    events = [e for e in d.events if e.rule == "patrol.cloned_tag"]
    assert [(e.target, e.details["other"], e.details["seconds"]) for e in events] == [
        ("hh-02", "hh-01", 3.0)
    ]
    assert "hh-01" in events[0].title
    assert "Domestic pump room door" in events[0].title  # the checkpoint, by its name


def test_two_handhelds_at_one_tag_a_walk_apart_raise_nothing(d: Driver) -> None:
    d.at(at(35)).scan("pump-room", handheld="hh-01")
    d.at(at(36)).scan("pump-room", guard="guard-li", handheld="hh-02")  # 60 s >= 30 s
    assert "patrol.cloned_tag" not in d.raised()


def _rostered(example_site: SiteConfig, weekdays: list[int]) -> Driver:
    entry = RosterEntry(role="guard", person="guard-li", shift="day", weekdays=weekdays)
    site = example_site.model_copy(update={"roster": [entry]})
    return Driver(site, "builtin: false\n", start=LOCAL_0800)


def test_a_rostered_guard_silent_from_the_start_of_the_shift_raises(
    example_site: SiteConfig,
) -> None:
    d = _rostered(example_site, [0])  # the test week's Monday, day shift from 08:00
    until(d, 60)
    assert "patrol.silent_guard" not in d.raised()
    until(d, 61)
    silent = [e for e in d.events if e.rule == "patrol.silent_guard"]
    assert [(e.target, e.event.value) for e in silent] == [("guard-li", "raised")]
    assert silent[0].details["last_scan"] is None
    d.at(at(62)).scan("pump-room", guard="guard-li", handheld="hh-02")
    assert d.events[-1].event.value == "cleared"


def test_a_guard_rostered_on_other_days_owes_nothing_today(example_site: SiteConfig) -> None:
    d = _rostered(example_site, [2, 3])
    until(d, 120)
    assert "patrol.silent_guard" not in d.raised()
