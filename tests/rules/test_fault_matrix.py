"""The fault matrix: every fault of the simulators' vocabulary against the built-in pack.

Generated from both sides, so neither can drift: every fault each kind of device accepts
(`simulators.faults.accepted_faults`) has a row here saying which rules it raises; each row
raises exactly those and nothing else (simulators + SimGateway + the pure engine on estate
time: fast); and every built-in rule is raised by some row, by a combination of faults
(`COMBINATIONS`), or is listed in `ELSEWHERE` with where it is tested. A new fault without a
row, a row for a fault that no longer exists, or a rule no fault raises fails the test.

The life-safety rows (fire alarm, generator start failure, entrapment, dry run) run again
through the real pipeline: simulators → gateway → Mosquitto → rules engine → Mosquitto.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from estatewatch.config import (
    DeviceKind,
    PumpSet,
    RegisterMap,
    Sensor,
    SensorType,
    SiteConfig,
)
from estatewatch.mqtt import MqttSettings
from estatewatch.testing.services import Mosquitto
from rules.engine import RulesEngine
from rules.loader import parse_rules
from simulators.faults import Fault, accepted_faults
from simulators.harness import run_estate
from tests.gateway.conftest import fast, running_gateway
from tests.rules.mqtt_helpers import client_id, listening
from tests.rules.scenario import scenario

AFTERNOON = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai, on a fake clock

Key = tuple[DeviceKind, SensorType | None]


@dataclass(frozen=True)
class Row:
    rules: frozenset[str]
    """What the fault raises on its device (group rules are in COMBINATIONS)."""
    within: float = 200.0
    """Estate seconds it may take."""
    with_: tuple[Fault, ...] = ()
    """Faults injected first: a latent defect shows only when the device is called on."""
    why_none: str = ""
    """For a fault that raises nothing: why that is right."""
    unpredictable: bool = False
    """What it raises depends on random data (then `why_none` says why it is allowed)."""


def row(*rules: str, within: float = 200.0, with_: tuple[Fault, ...] = ()) -> Row:
    return Row(frozenset(rules), within, with_)


MAINS = (Fault.MAINS_LOSS,)
COMM = {
    Fault.OFFLINE: row("device.offline", within=90),
    Fault.MODBUS_EXCEPTION: row("device.comm_fault"),
    Fault.GARBAGE: row("device.comm_fault"),
}
# A register map of integers and bits only: random registers decode as valid data, so
# neither gateway nor rules can tell garbage from readings (a float map shows NaNs).
INTEGER_MAP_GARBAGE = Row(
    frozenset(),
    why_none="undetectable on a map without floats: random codes raise whatever they say",
    unpredictable=True,
)
PUMP = {
    Fault.DRY_RUN: row("pump.dry_run"),
    Fault.DRY_RUN_TRIP: row("pump.dry_run"),
    Fault.PIPE_BURST: row("pump.pipe_burst"),
    Fault.TANK_LOW: row("pump.tank_low"),
    Fault.TANK_OVERFLOW: row("pump.tank_overflow"),
    **COMM,
}

MATRIX: dict[Key, dict[Fault, Row]] = {
    (DeviceKind.WATER_PUMP_SET, None): {
        **PUMP,
        Fault.PUMP_TRIP: row("pump.pump_trip", "pump.supply_lost"),  # domestic: urgent
        Fault.IMPELLER_WEAR: row("pump.pressure_loss"),
    },
    (DeviceKind.FIRE_PUMP, None): {**PUMP, Fault.PUMP_TRIP: row("pump.pump_trip")},
    (DeviceKind.ELEVATOR, None): {
        Fault.ENTRAPMENT: row("elevator.entrapment"),
        Fault.DOOR_FAULT: row("elevator.door_fault"),
        Fault.DOOR_OBSTRUCTION: row("elevator.door_fault"),
        Fault.OVERSPEED: row("elevator.fault"),
        Fault.POWER_FAILURE: row("elevator.fault"),
        Fault.SAFETY_CIRCUIT: row("elevator.fault"),
        Fault.OUT_OF_SERVICE: row("elevator.out_of_service"),
        **COMM,
        Fault.GARBAGE: INTEGER_MAP_GARBAGE,
    },
    (DeviceKind.POWER_ROOM, None): {
        Fault.PHASE_LOSS: row("power.phase_loss"),
        Fault.OUTAGE: row("power.outage"),
        Fault.OVER_VOLTAGE: row("power.over_voltage"),
        Fault.UNDER_VOLTAGE: row("power.under_voltage"),
        Fault.TRANSFORMER_OVERHEAT: row("power.transformer_overheat", within=3600),
        **COMM,
    },
    (DeviceKind.GENERATOR, None): {
        Fault.MAINS_LOSS: Row(
            frozenset(),
            why_none="the generator doing its job: it starts and takes the load; the power "
            "rooms' outage alarms tell the duty room the mains are lost",
        ),
        Fault.START_FAILURE: row("generator.start_failure", with_=MAINS),
        Fault.LOW_FUEL: row("generator.low_fuel"),
        Fault.BATTERY_LOW: row("generator.battery_low"),
        Fault.OVERHEAT: row("generator.overheat", with_=MAINS),
        Fault.OVERLOAD: row("generator.overload", with_=MAINS),
        Fault.ATS_FAIL: row("generator.ats_fail", with_=MAINS),
        **COMM,
        Fault.GARBAGE: INTEGER_MAP_GARBAGE,
    },
    (DeviceKind.FIRE_PANEL, None): {
        Fault.FIRE_ALARM: row("fire.alarm", within=5),
        Fault.PANEL_FAULT: row("fire.panel_fault"),
        Fault.SUPERVISORY: row("fire.supervisory"),
        Fault.ISOLATION: row("fire.isolation"),
        Fault.LINKAGE_FAIL: row("fire.linkage_no_feedback"),
        **COMM,
        Fault.GARBAGE: INTEGER_MAP_GARBAGE,
    },
    (DeviceKind.ENERGY_METER, None): {
        Fault.OVERLOAD: row("meter.overload", within=120),
        Fault.OFFLINE: row("device.offline", within=90),
        Fault.METER_ERROR: row("device.comm_fault"),
        Fault.GARBAGE: row("device.comm_fault"),
    },
    (DeviceKind.AIR_HANDLER, None): {
        Fault.SUPPLY_AIR_HIGH: row("ahu.supply_air"),
        Fault.FILTER_CLOGGED: row("ahu.filter_clogged"),
        Fault.OFFLINE: row("device.offline", within=90),
    },
    (DeviceKind.CHILLER, None): {
        Fault.CHILLER_TRIP: row("chiller.trip", within=30),
        Fault.OFFLINE: row("device.offline", within=90),
    },
    (DeviceKind.SENSOR, SensorType.LEAK): {
        Fault.LEAK: row("sensor.leak"),
        Fault.OFFLINE: row("sensor.offline", within=1000),
    },
    (DeviceKind.SENSOR, SensorType.SMOKE): {
        Fault.SMOKE: row("sensor.smoke"),
        Fault.OFFLINE: row("sensor.offline", within=1000),
    },
    (DeviceKind.SENSOR, SensorType.TEMPERATURE): {
        Fault.HIGH_TEMPERATURE: row("sensor.high_temperature", within=400),
        Fault.OFFLINE: row("sensor.offline", within=1000),
    },
    (DeviceKind.SENSOR, SensorType.FIRE_PANEL): {
        Fault.FIRE_ALARM: row("sensor.fire_contact", within=5),
        Fault.OFFLINE: row("sensor.offline", within=1000),
    },
}

COMBINATIONS = [
    # (faults on devices, what they raise: (rule, target))
    (
        [("power-room-1", Fault.OUTAGE), ("power-room-2", Fault.OUTAGE)],
        {
            ("power.outage", "power-room-1"),
            ("power.outage", "power-room-2"),
            ("power.site_outage", "harbour-view"),
        },
    ),
    (
        [("elevator-1", Fault.OUT_OF_SERVICE), ("elevator-2", Fault.OUT_OF_SERVICE)],
        {
            ("elevator.out_of_service", "elevator-1"),
            ("elevator.out_of_service", "elevator-2"),
            ("elevator.no_service", "t1"),
        },
    ),
]

ELSEWHERE = {
    "pump.dry_run_suction": "controllers without motor currents: "
    "test_a_controller_without_currents_finds_a_dry_run_by_suction",
}


def matrix_site(example: SiteConfig) -> SiteConfig:
    """The example estate, plus what it lacks for the vocabulary: a fire panel's contact
    over MQTT, and a pump controller without motor currents (a suction sensor only)."""
    contact = Sensor.model_validate(
        {
            "id": "fire-contact-1", "name": "Fire panel output contact", "kind": "sensor",
            "sensor_type": "fire_panel", "building": "podium", "room": "fire-control",
            "connection": {
                "protocol": "mqtt", "topic": "site/harbour-view/sensors/fire-contact-1",
                "points": [{"name": "fire", "field": "fire", "type": "bool"}],
            },
        }
    )  # fmt: skip
    pumps = example.register_maps["pump-controller"]
    suction_only = RegisterMap.model_validate(
        {
            **pumps.model_dump(exclude_defaults=True),
            "points": [
                p.model_dump(exclude_defaults=True)
                for p in pumps.points
                if not p.name.endswith("_current")
            ],
        }
    )
    old = example.device("pump-domestic-high")
    assert isinstance(old, PumpSet)
    older = old.model_copy(
        update={
            "id": "pump-old-controller",
            "register_map": "pump-controller-suction",
            "connection": old.connection.model_copy(update={"port": 15029}),
        }
    )
    return example.model_copy(
        update={
            "devices": [*example.devices, contact, older],
            "register_maps": {**example.register_maps, "pump-controller-suction": suction_only},
        }
    )


# One device of each kind (the matrix's own extras for what the example lacks).
DEVICE_OF: dict[Key, str] = {
    (DeviceKind.WATER_PUMP_SET, None): "pump-domestic-low",
    (DeviceKind.FIRE_PUMP, None): "pump-fire",
    (DeviceKind.ELEVATOR, None): "elevator-3",
    (DeviceKind.POWER_ROOM, None): "power-room-1",
    (DeviceKind.GENERATOR, None): "generator-1",
    (DeviceKind.FIRE_PANEL, None): "fire-panel-1",
    (DeviceKind.ENERGY_METER, None): "meter-t1",
    (DeviceKind.AIR_HANDLER, None): "ahu-1",
    (DeviceKind.CHILLER, None): "chiller-1",
    (DeviceKind.SENSOR, SensorType.LEAK): "leak-pump-room",
    (DeviceKind.SENSOR, SensorType.SMOKE): "smoke-power-room-1",
    (DeviceKind.SENSOR, SensorType.TEMPERATURE): "temp-power-room-2",
    (DeviceKind.SENSOR, SensorType.FIRE_PANEL): "fire-contact-1",
}


def _cases() -> list[tuple[Key, Fault, Row]]:
    return [(key, fault, r) for key, faults in MATRIX.items() for fault, r in faults.items()]


def test_every_fault_of_the_vocabulary_has_a_row(example_site: SiteConfig) -> None:
    site = matrix_site(example_site)
    for key, device_id in DEVICE_OF.items():
        device = site.device(device_id)
        assert (device.kind, getattr(device, "sensor_type", None)) == key
        accepted = accepted_faults(device)
        rows = set(MATRIX.get(key, {}))
        assert rows == accepted, (
            f"{key}: faults without a row: {sorted(accepted - rows)};"
            f" rows for faults it does not accept: {sorted(rows - accepted)}"
        )
    kinds = {k for k in DeviceKind if k is not DeviceKind.SENSOR}
    kinds_covered = {kind for kind, _ in DEVICE_OF}
    assert kinds <= kinds_covered, "a device kind has no row in the matrix"
    assert {t for _, t in DEVICE_OF if t is not None} == set(SensorType)
    for _, fault, r in _cases():
        assert r.rules or r.why_none, f"{fault}: raises nothing and says not why"


def test_every_built_in_rule_is_raised_by_some_fault() -> None:
    pack = parse_rules(None, sites=[])
    builtin = {r.id for r in pack.device_rules} | {r.id for r in pack.group_rules}
    raised = {rule for _, _, r in _cases() for rule in r.rules}
    raised |= {rule for _, wanted in COMBINATIONS for rule, _ in wanted}
    assert raised <= builtin, f"rows name rules that do not exist: {sorted(raised - builtin)}"
    unexplained = builtin - raised - set(ELSEWHERE)
    assert not unexplained, f"built-in rules no fault raises: {sorted(unexplained)}"
    assert not set(ELSEWHERE) & raised, "a rule listed as tested elsewhere is in the matrix"


def _predictable() -> list[tuple[Key, Fault, Row]]:
    return [case for case in _cases() if not case[2].unpredictable]


def test_only_garbage_on_integer_maps_is_left_out_of_the_matrix() -> None:
    """Random registers on a map without floats read as valid codes and raise whatever
    they say: no rule can tell them from a real state (docs/simulators.md says so)."""
    left_out = {(k[1] or k[0], f) for k, f, row in _cases() if row.unpredictable}
    assert left_out == {("elevator", "garbage"), ("generator", "garbage"),
                        ("fire_panel", "garbage")}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "fault", "expected"),
    _predictable(),
    ids=[f"{k[1] or k[0]}-{f}" for k, f, _ in _predictable()],
)
async def test_fault_raises_its_rules_and_nothing_else(
    example_site: SiteConfig, key: Key, fault: Fault, expected: Row
) -> None:
    site = matrix_site(example_site)
    device = DEVICE_OF[key]
    wanted = {(rule, device) for rule in expected.rules}
    async with scenario(site, AFTERNOON) as s:
        s.run(30)
        assert s.raised() == [], s.summary()
        for each in (*expected.with_, fault):
            s.estate.inject(device, each)
        every = 5.0 if expected.within > 600 else 1.0
        if wanted:
            s.run_until(lambda: wanted <= s.active(), expected.within, every=every)
        else:
            s.run(expected.within, every=every)
        s.run(30)  # and nothing else follows
        assert set(s.raised()) == wanted, s.summary()


@pytest.mark.parametrize(("faults", "wanted"), COMBINATIONS, ids=["site-outage", "no-lift"])
async def test_combinations_raise_the_group_rules(
    example_site: SiteConfig, faults: list[tuple[str, Fault]], wanted: set[tuple[str, str]]
) -> None:
    async with scenario(example_site, AFTERNOON) as s:
        s.run(30)
        for device, fault in faults:
            s.estate.inject(device, fault)
        s.run_until(lambda: wanted <= s.active(), 300)
        s.run(30)
        assert set(s.raised()) == wanted, s.summary()


async def test_a_controller_without_currents_finds_a_dry_run_by_suction(
    example_site: SiteConfig,
) -> None:
    site = matrix_site(example_site)
    async with scenario(site, AFTERNOON) as s:
        s.run(30)
        s.estate.inject("pump-old-controller", Fault.DRY_RUN)
        wanted = {("pump.dry_run_suction", "pump-old-controller")}
        s.run_until(lambda: wanted <= s.active(), 60)
        s.run(30)
        assert set(s.raised()) == wanted, s.summary()


# --- the life-safety rows through the real pipeline ------------------------------------------

LIFE_SAFETY = [
    # device, faults (injected in order), the rule it must raise
    ("fire-panel-1", [Fault.FIRE_ALARM], "fire.alarm"),
    ("generator-1", [Fault.MAINS_LOSS, Fault.START_FAILURE], "generator.start_failure"),
    ("elevator-3", [Fault.ENTRAPMENT], "elevator.entrapment"),
    ("pump-domestic-low", [Fault.DRY_RUN], "pump.dry_run"),
]


@pytest.mark.integration
async def test_life_safety_faults_through_the_real_pipeline(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Real time, real Modbus, the real gateway and rules engine on a real broker: each
    life-safety fault raises its alarm within its rule's delay plus a few seconds."""
    settings = MqttSettings(url=mosquitto.url, client_id=client_id("rules-matrix"))
    async with run_estate(example_site, seed=3) as estate:
        site = fast(estate.site)
        async with (
            listening(mosquitto.url) as heard,
            RulesEngine([site], mqtt=settings, state_path=tmp_path / "rules.db"),
            running_gateway(site, mosquitto.url, tmp_path),
        ):
            await asyncio.sleep(3)  # polled and evaluated: a quiet estate
            assert [e for e in heard.events if e.event.value == "raised"] == []
            started = time.monotonic()
            for device, faults, _ in LIFE_SAFETY:
                for fault in faults:
                    estate.inject(device, fault)
            wanted = {(rule, device) for device, _, rule in LIFE_SAFETY}
            deadline = started + timedelta(seconds=60).total_seconds()
            raised: dict[tuple[str, str], float] = {}
            while not wanted <= set(raised) and time.monotonic() < deadline:
                for e in heard.events:
                    if e.event.value == "raised":
                        raised.setdefault((e.rule, e.target), time.monotonic() - started)
                await asyncio.sleep(0.2)
            assert set(raised) == wanted, raised
            assert raised[("fire.alarm", "fire-panel-1")] < 3.0  # no delay on a fire alarm
            fire = next(e for e in heard.events if e.rule == "fire.alarm")
            assert fire.severity.value == "critical"
            assert fire.category == "fire_alarm"
            assert fire.device_kind is DeviceKind.FIRE_PANEL
