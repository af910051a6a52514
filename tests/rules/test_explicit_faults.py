"""A device's own fault code raises at once; inferred conditions wait for `for`; every alarm
carries the fault's onset, from which the clocks run (issue #24)."""

from __future__ import annotations

from estatewatch.config import SiteConfig
from tests.rules.driver import T0, Driver

LIFT = "elevator-3"
MOVING = {"running": True, "leveled": True, "door_state": 0, "load": 300.0, "direction": 1}


def _at(d: Driver, seconds: float, **values: object) -> None:
    d.at(T0 + round(seconds * 1000)).reading(LIFT, **{**MOVING, **values})  # type: ignore[arg-type]


def _entrapments(d: Driver) -> list[tuple[str, int, int | None]]:
    return [
        (e.event.value, e.raised_at, e.onset_at)
        for e in d.events
        if e.rule == "elevator.entrapment"
    ]


def test_the_controllers_entrapment_code_raises_at_once(example_site: SiteConfig) -> None:
    d = Driver(example_site)
    _at(d, 0, fault_code=0)
    _at(d, 1, fault_code=31, running=False, leveled=False)
    assert _entrapments(d) == [("raised", T0 + 1000, T0 + 1000)]


def test_an_inferred_entrapment_waits_and_carries_its_onset(example_site: SiteConfig) -> None:
    d = Driver(example_site)
    _at(d, 0, fault_code=0)
    for second in range(1, 40):  # stopped between floors, no code from the controller
        _at(d, second, fault_code=0, running=False, leveled=False)
    [raised] = _entrapments(d)
    assert raised[1] == T0 + 31_000  # held 30 s
    assert raised[2] == T0 + 1000  # but the fault began here: durations and SLA run from it


def test_a_code_the_register_map_does_not_know_waits(example_site: SiteConfig) -> None:
    """Garbage read from a device is no report of its own: it is held like an inference."""
    d = Driver(example_site)
    _at(d, 0, fault_code=0)
    _at(d, 1, fault_code=9999)
    assert [e.rule for e in d.events] == []
