"""Table tests of every condition type under a fake clock: hysteresis edges, the duration
boundary, counts, rates, states, composites, groups, deadman, schedules, suppression and a
restart in the middle of a duration."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import AlarmEventType, DeviceState, Scalar
from rules.evaluate import Tick
from tests.rules.driver import T0, Driver

PUMP = "pump-domestic-low"  # setpoint 0.45 MPa


def rules(*bodies: str) -> str:
    return "builtin: false\ndevice_rules:\n" + "".join(bodies)


def rule(rule_id: str, when: str, extra: str = "", kinds: str = "[water_pump_set]") -> str:
    return (
        f"  - id: {rule_id}\n    kinds: {kinds}\n    category: test\n    severity: major\n"
        f"    title: 't {{device}} {{value}}'\n    when: {when}\n{extra}"
    )


def feed(
    d: Driver, device: str, seq: Sequence[tuple[float, Scalar | None]], point: str
) -> list[str]:
    """Feed (seconds from start, value) and return the rule's alarm state after each."""
    start, states = d.now, []
    for seconds, value in seq:
        d.at(start + round(seconds * 1000))
        if value is None:
            d.send(Tick())
        else:
            d.reading(device, **{point: value})
        states.append("on" if d.active_rules() else "off")
    return states


@pytest.mark.parametrize(
    ("level", "values", "expected"),
    [
        # above 10, deadband 2: on at > 10, off at <= 8
        ("above: 10, deadband: 2", [10.0, 10.01, 9.0, 8.01, 8.0, 9.9, 10.0, 10.5],
         ["off", "on", "on", "on", "off", "off", "off", "on"]),
        # below 5, deadband 1: on at < 5, off at >= 6
        ("below: 5, deadband: 1", [5.0, 4.99, 5.5, 5.99, 6.0, 5.0, 4.0],
         ["off", "on", "on", "on", "off", "off", "on"]),
        # no deadband: the same level both ways
        ("above: 10", [10.0, 10.1, 10.0, 10.1], ["off", "on", "off", "on"]),
        # relative to the device: setpoint_mpa * 0.5 = 0.225, deadband setpoint_mpa * 0.1
        ("below: setpoint_mpa * 0.5, deadband: setpoint_mpa * 0.1", [0.23, 0.224, 0.26, 0.27],
         ["off", "on", "on", "off"]),
    ],
)  # fmt: skip
def test_threshold_hysteresis_edges(
    example_site: SiteConfig, level: str, values: list[float], expected: list[str]
) -> None:
    d = Driver(
        example_site, rules(rule("t.level", f"{{threshold: {{point: tank_level, {level}}}}}"))
    )
    got = feed(d, PUMP, [(i, v) for i, v in enumerate(values)], "tank_level")
    assert got == expected


@pytest.mark.parametrize(
    ("seq", "expected"),
    [
        # true from t=0: not yet at 29.999 s, fires at exactly 30 s
        ([(0, 1), (29.999, 1), (30, 1)], ["off", "off", "on"]),
        # false at 20 s restarts the duration
        ([(0, 1), (20, 0), (21, 1), (50, 1), (51, 1)], ["off", "off", "off", "off", "on"]),
        # fires on a tick with no new reading (the condition still holds)
        ([(0, 1), (30, None)], ["off", "on"]),
        # clear deadband: false for 10 s before it clears
        ([(0, 1), (30, 1), (31, 0), (40.999, 0), (41, None)], ["off", "on", "on", "on", "off"]),
        # back true inside the clear deadband: stays on, no new alarm
        ([(0, 1), (30, 1), (31, 0), (35, 1), (44, 0), (53.999, None), (54, None)],
         ["off", "on", "on", "on", "on", "on", "off"]),
    ],
)  # fmt: skip
def test_duration_boundary_and_clear_deadband(
    example_site: SiteConfig, seq: list[tuple[float, int | None]], expected: list[str]
) -> None:
    body = rule(
        "t.fault", "{state: {point: fault_code, not_in: [0]}}", "    for: 30s\n    clear_for: 10s\n"
    )
    d = Driver(example_site, rules(body))
    assert feed(d, PUMP, seq, "fault_code") == expected
    assert d.raised() == (["t.fault"] if "on" in expected else [])


def test_restart_in_the_middle_of_a_duration(example_site: SiteConfig) -> None:
    body = rule("t.fault", "{state: {point: fault_code, not_in: [0]}}", "    for: 30s\n")
    d = Driver(example_site, rules(body))
    d.reading(PUMP, fault_code=3)
    d.at(T0 + 20_000).reading(PUMP, fault_code=3)
    d.restart()
    d.at(T0 + 29_999).reading(PUMP, fault_code=3)
    assert d.raised() == []
    d.at(T0 + 30_000).reading(PUMP, fault_code=3)
    assert d.raised() == ["t.fault"]
    raised = d.events[-1]
    assert raised.raised_at == T0 + 30_000
    # and a restart while in alarm neither re-raises nor loses it
    d.restart()
    d.at(T0 + 31_000).reading(PUMP, fault_code=3)
    assert d.raised() == ["t.fault"]
    assert d.active_rules() == {"t.fault"}
    assert d.kinds() == ["raised"]


def test_restart_keeps_hysteresis_latch(example_site: SiteConfig) -> None:
    d = Driver(
        example_site,
        rules(rule("t.level", "{threshold: {point: tank_level, above: 10, deadband: 2}}")),
    )
    d.reading(PUMP, tank_level=11)
    d.restart()
    d.at(T0 + 1000).reading(PUMP, tank_level=9)  # inside the deadband: still on
    assert d.active_rules() == {"t.level"}
    assert d.kinds() == ["raised"]


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        # 3 rising edges within 60 s: fires on the third
        ([0, 10, 20], ["off", "off", "on"]),
        # the first edge has left the window when the third comes
        ([0, 40, 61], ["off", "off", "off"]),
    ],
)
def test_count_within_window(
    example_site: SiteConfig, times: list[int], expected: list[str]
) -> None:
    body = rule(
        "t.count",
        "{state: {point: pump1_running, equals: true}}",
        "    count: {times: 3, within: 60s}\n",
    )
    d = Driver(example_site, rules(body))
    got = []
    for t in times:
        d.at(T0 + t * 1000).reading(PUMP, pump1_running=True)
        got.append("on" if d.active_rules() else "off")
        d.at(T0 + t * 1000 + 1000).reading(PUMP, pump1_running=False)
    assert got == expected


def test_count_clears_when_the_window_slides(example_site: SiteConfig) -> None:
    body = rule(
        "t.count",
        "{state: {point: pump1_running, equals: true}}",
        "    count: {times: 2, within: 60s}\n",
    )
    d = Driver(example_site, rules(body))
    for t in (0, 10):
        d.at(T0 + t * 1000).reading(PUMP, pump1_running=True)
        d.at(T0 + t * 1000 + 1000).reading(PUMP, pump1_running=False)
    assert d.active_rules() == {"t.count"}
    d.tick(48)  # t = 59 s: both edges still within the last 60 s
    assert d.active_rules() == {"t.count"}
    d.tick(2)  # the first edge (t = 0) has left the window
    assert d.active_rules() == set()
    assert d.kinds() == ["raised", "cleared"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # falls 0.2 MPa within 10 s (one reading a second)
        ([0.45, 0.45, 0.40, 0.30, 0.25], ["off", "off", "off", "off", "on"]),
        # the same fall over 20 s is too slow
        ([0.45, 0.44, 0.43, 0.42, 0.41, 0.40, 0.39, 0.38, 0.37, 0.36, 0.35, 0.34, 0.33],
         ["off"] * 13),
    ],
)  # fmt: skip
def test_rate_of_change(example_site: SiteConfig, values: list[float], expected: list[str]) -> None:
    body = rule("t.rate", "{rate: {point: outlet_pressure, within: 10s, fall: 0.2}}")
    d = Driver(example_site, rules(body))
    # fall of >= 0.2 within 10 s; 0.45 - 0.25 = 0.2
    step = 1.0 if len(values) < 10 else 1.5
    assert (
        feed(d, PUMP, [(i * step, v) for i, v in enumerate(values)], "outlet_pressure") == expected
    )


def test_state_enum_text_in_the_alarm(example_site: SiteConfig) -> None:
    body = rule(
        "t.fault",
        "{state: {point: fault_code, in: [5, 6]}}",
        "    title: 'fault {value_text}'\n".replace("title", "message"),
    )
    d = Driver(example_site, rules(body))
    d.reading(PUMP, fault_code=4)
    assert d.events == []
    d.reading(PUMP, fault_code=6)
    event = d.events[-1]
    assert event.value == 6
    assert event.details["value_text"] == "phase loss"
    assert event.message == "fault phase loss"


def test_composite_within_a_device(example_site: SiteConfig) -> None:
    when = (
        "{all: [{state: {point: pump1_running, equals: true}},"
        " {threshold: {point: motor_power, below: 1}},"
        " {not: {threshold: {point: outlet_pressure, above: setpoint_mpa * 0.5}}}]}"
    )
    d = Driver(example_site, rules(rule("t.dry", when)))
    table = [
        ({"pump1_running": True, "motor_power": 5.0, "outlet_pressure": 0.45}, "off"),
        ({"pump1_running": True, "motor_power": 0.5, "outlet_pressure": 0.45}, "off"),
        ({"pump1_running": True, "motor_power": 0.5, "outlet_pressure": 0.2}, "on"),
        ({"pump1_running": False, "motor_power": 0.5, "outlet_pressure": 0.2}, "off"),
    ]
    for i, (values, expected) in enumerate(table):
        d.at(T0 + i * 1000).reading(PUMP, **values)
        assert ("on" if d.active_rules() else "off") == expected, values


def test_composite_uses_latest_values_of_points_read_separately(example_site: SiteConfig) -> None:
    when = (
        "{all: [{state: {point: pump1_running, equals: true}},"
        " {threshold: {point: motor_power, below: 1}}]}"
    )
    d = Driver(example_site, rules(rule("t.dry", when)))
    d.reading(PUMP, pump1_running=True)
    assert d.events == []
    d.reading(PUMP, motor_power=0.2)
    assert d.raised() == ["t.dry"]


def test_group_rule_across_devices(example_site: SiteConfig) -> None:
    text = (
        "builtin: false\ngroup_rules:\n  - id: t.tower\n    kinds: [elevator]\n"
        "    category: no_lift\n    severity: major\n"
        "    title: 'no lift in {building}: {members}'\n"
        "    group_by: building\n    when: {state: {point: in_service, equals: false}}\n"
    )
    d = Driver(example_site, text)
    d.reading("elevator-1", in_service=False)
    d.reading("elevator-3", in_service=False)  # another tower
    assert d.events == []
    d.reading("elevator-2", in_service=False)
    assert d.raised() == ["t.tower"]
    event = d.events[-1]
    assert event.target == "t1"
    assert event.target_kind.value == "device_group"
    assert event.title == "no lift in t1: elevator-1, elevator-2"
    d.reading("elevator-1", in_service=True)
    assert d.kinds() == ["raised", "cleared"]


def test_deadman_and_offline_status(example_site: SiteConfig) -> None:
    when = "{any: [{stale: {after: 60s}}, {status: {in: [offline]}}]}"
    d = Driver(example_site, rules(rule("t.offline", when, kinds="[power_room]")))
    d.reading("power-room-1", voltage_l1=230.0)
    d.reading("power-room-2", voltage_l1=230.0)
    d.tick(60)
    assert d.events == []
    d.tick(1)  # 61 s without a reading from either
    assert sorted(e.target for e in d.events) == ["power-room-1", "power-room-2"]
    d.reading("power-room-1", voltage_l1=230.0)
    assert d.kinds() == ["raised", "raised", "cleared"]
    # back in alarm before anyone acknowledged: the same alarm, counted again
    d.status("power-room-1", DeviceState.OFFLINE)
    assert d.kinds()[-1] == "updated"
    assert d.events[-1].active
    assert d.events[-1].occurrences == 2


def test_deadman_counts_from_engine_start_for_a_device_never_seen(example_site: SiteConfig) -> None:
    d = Driver(example_site, rules(rule("t.offline", "{stale: {after: 30s}}", kinds="[fire_pump]")))
    d.tick(30)
    assert d.events == []
    d.tick(1)
    assert [e.target for e in d.events] == ["pump-fire"]


@pytest.mark.parametrize(
    ("local_hour", "expected"),
    [(21, True), (2, True), (6, False), (12, False), (23, True)],
)
def test_schedule_in_site_timezone(
    example_site: SiteConfig, local_hour: int, expected: bool
) -> None:
    body = rule(
        "t.night",
        "{state: {point: pump1_running, equals: true}}",
        "    schedule: [{start: '20:00', end: '06:00'}]\n",
    )
    # Shanghai is UTC+8: local 21:00 is 13:00 UTC.
    start = T0 - 8 * 3_600_000 + ((local_hour - 8) % 24) * 3_600_000
    d = Driver(example_site, rules(body), start=start)
    d.reading(PUMP, pump1_running=True)
    assert (d.raised() == ["t.night"]) is expected


def test_schedule_end_clears(example_site: SiteConfig) -> None:
    body = rule(
        "t.night", "{state: {point: pump1_running, equals: true}}",
        "    schedule: [{start: '20:00', end: '06:00'}]\n",
    )  # fmt: skip
    start = T0 - 8 * 3_600_000 + 22 * 3_600_000 - 60_000  # local 05:59
    d = Driver(example_site, rules(body), start=start)
    d.reading(PUMP, pump1_running=True)
    assert d.raised() == ["t.night"]
    d.tick(61)
    assert d.kinds() == ["raised", "cleared"]


def test_suppression_by_a_more_specific_rule(example_site: SiteConfig) -> None:
    text = rules(
        rule("t.general", "{threshold: {point: outlet_pressure, below: 0.3}}",
             "    suppressed_by: [t.specific]\n"),
        rule("t.specific", "{threshold: {point: vfd_frequency, above: 48}}"),
    )  # fmt: skip
    d = Driver(example_site, text)
    d.reading(PUMP, outlet_pressure=0.1, vfd_frequency=50.0)
    assert d.raised() == ["t.specific"]
    d.reading(PUMP, outlet_pressure=0.1, vfd_frequency=30.0)
    assert d.raised() == ["t.specific", "t.general"]


def test_overrides_change_one_device(example_site: SiteConfig) -> None:
    text = rules(
        rule("t.low", "{threshold: {point: outlet_pressure, below: setpoint_mpa * $frac}}",
             "    params: {frac: 0.5}\n", kinds="[water_pump_set, fire_pump]")
    ) + (
        "overrides:\n"
        "  - {device: pump-domestic-high, rule: t.low, params: {frac: 0.9}, severity: critical}\n"
        "  - {device: pump-fire, rule: t.low, enabled: false}\n"
    )  # fmt: skip
    d = Driver(example_site, text)
    d.reading("pump-domestic-low", outlet_pressure=0.3)  # 0.3 > 0.45 * 0.5
    d.reading("pump-domestic-high", outlet_pressure=0.7)  # 0.7 < 0.85 * 0.9
    d.reading("pump-fire", outlet_pressure=0.0)  # disabled
    assert [(e.target, e.severity.value) for e in d.events] == [("pump-domestic-high", "critical")]
    assert d.events[0].details["threshold"] == pytest.approx(0.765)


def test_stale_quality_points_do_not_count_as_fresh(example_site: SiteConfig) -> None:
    from estatewatch.contracts.payloads import DeviceReading, Quality, TelemetryBatch

    d = Driver(example_site, rules(rule("t.offline", "{stale: {after: 10s}}", kinds="[fire_pump]")))
    device = example_site.device("pump-fire")
    d.reading("pump-fire", tank_level=50.0)
    for _ in range(11):
        d.tick(1)
        d.send(
            TelemetryBatch(
                site=d.site_id, gateway="gw", seq=1,
                readings=[DeviceReading(
                    device="pump-fire", kind=device.kind, building=device.building,
                    room=device.room, ts=d.now, values={"tank_level": 50.0},
                    quality={"tank_level": Quality.STALE},
                )],
            )
        )  # fmt: skip
    assert d.raised() == ["t.offline"]
    assert d.events[0].event is AlarmEventType.RAISED
