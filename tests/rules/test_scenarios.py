"""The built-in pack against the simulators: each fault raises the right alarm and nothing
else, and clears when the fault is removed; normal operation raises nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from estatewatch.clock import FakeClock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.mqtt import MqttSettings
from estatewatch.testing.services import Mosquitto
from rules.engine import RulesEngine
from simulators.harness import run_estate
from tests.dates import utc
from tests.rules.mqtt_helpers import client_id, listening, publishing, wait_for
from tests.rules.scenario import scenario
from tests.rules.sim_gateway import SimGateway

# Local 16:00 in Shanghai (afternoon demand) and 07:00 (the morning peak).
AFTERNOON = utc(0, 8)
MORNING_PEAK = utc(0, 23)

FAULTS = [
    # device, fault, rule(s), seconds to raise (at most), seconds to clear (at most)
    ("pump-domestic-low", "dry_run", "pump.dry_run", 60, 120),
    ("pump-fire", "dry_run", "pump.dry_run", 60, 120),
    ("pump-domestic-high", "pipe_burst", "pump.pipe_burst", 60, 120),
    ("pump-fire", "pipe_burst", "pump.pipe_burst", 60, 120),
    ("pump-domestic-low", "pump_trip", "pump.pump_trip pump.supply_lost", 30, 120),
    ("pump-fire", "pump_trip", "pump.pump_trip", 30, 120),
    ("pump-domestic-high", "tank_low", "pump.tank_low", 60, 1800),
    ("pump-domestic-low", "dry_run_trip", "pump.dry_run", 30, 120),
    ("pump-fire", "dry_run_trip", "pump.dry_run", 30, 120),
    ("pump-domestic-high", "tank_overflow", "pump.tank_overflow", 30, 1800),
    ("pump-domestic-low", "impeller_wear", "pump.pressure_loss", 90, 120),
    ("elevator-3", "entrapment", "elevator.entrapment", 60, 120),
    ("elevator-1", "door_fault", "elevator.door_fault", 120, 120),
    ("elevator-2", "door_obstruction", "elevator.door_fault", 120, 120),
    ("elevator-4", "overspeed", "elevator.fault", 60, 120),
    ("elevator-6", "power_failure", "elevator.fault", 60, 120),
    ("elevator-8", "safety_circuit", "elevator.fault", 60, 120),
    ("elevator-7", "out_of_service", "elevator.out_of_service", 180, 120),
    ("power-room-1", "phase_loss", "power.phase_loss", 30, 60),
    ("power-room-2", "outage", "power.outage", 30, 60),
    ("power-room-1", "over_voltage", "power.over_voltage", 30, 60),
    ("power-room-2", "under_voltage", "power.under_voltage", 30, 60),
    ("power-room-1", "transformer_overheat", "power.transformer_overheat", 3600, 3600),
    ("leak-pump-room", "leak", "sensor.leak", 30, 60),
    ("smoke-power-room-1", "smoke", "sensor.smoke", 30, 60),
    ("temp-power-room-2", "high_temperature", "sensor.high_temperature", 300, 600),
    ("fire-panel-1", "fire_alarm", "fire.alarm", 5, 60),
    ("fire-panel-1", "fault", "fire.panel_fault", 30, 60),
    ("fire-panel-1", "supervisory", "fire.supervisory", 30, 60),
    ("fire-panel-1", "isolation", "fire.isolation", 30, 60),
    ("fire-panel-1", "linkage_fail", "fire.linkage_no_feedback", 60, 60),
    ("fire-panel-1", "offline", "device.offline", 90, 30),
    ("generator-1", "low_fuel", "generator.low_fuel", 30, 60),
    ("generator-1", "battery_low", "generator.battery_low", 180, 120),
    ("generator-1", "modbus_exception", "device.comm_fault", 60, 60),
    ("elevator-5", "offline", "device.offline", 90, 30),
    ("pump-fire", "offline", "device.offline", 90, 30),
    ("leak-power-room-1", "offline", "sensor.offline", 1000, 30),
    ("elevator-7", "modbus_exception", "device.comm_fault", 60, 60),
    ("power-room-2", "garbage", "device.comm_fault", 60, 120),
    ("pump-domestic-low", "garbage", "device.comm_fault", 60, 120),
]


@pytest.mark.parametrize(
    ("device", "fault", "rule", "raise_s", "clear_s"),
    FAULTS,
    ids=[f"{d}-{f}" for d, f, *_ in FAULTS],
)
async def test_fault_raises_its_alarm_and_nothing_else(
    example_site: SiteConfig, device: str, fault: str, rule: str, raise_s: int, clear_s: int
) -> None:
    wanted = {(each, device) for each in rule.split()}
    async with scenario(example_site, AFTERNOON) as s:
        s.run(60)
        assert s.raised() == [], s.summary()
        s.estate.inject(device, fault)
        every = 5.0 if raise_s > 600 else 1.0
        s.run_until(lambda: wanted <= s.active(), raise_s, every=every)
        s.run(30)  # and nothing else follows
        assert sorted(s.raised()) == sorted(wanted), s.summary()
        s.estate.clear(device, fault)
        s.run_until(lambda: not s.active(), clear_s, every=every)
        assert sorted(s.raised()) == sorted(wanted), s.summary()


async def test_an_hour_of_normal_operation_raises_nothing(example_site: SiteConfig) -> None:
    async with scenario(example_site, MORNING_PEAK) as s:  # 07:00-08:00, the busiest hour
        s.run(3600, every=2.0)  # every device read every 2 s of estate time
        assert s.events == [], s.summary()


ROUND = {
    # device: (fault, the alarm it must raise)
    "pump-domestic-low": ("dry_run", "pump.dry_run"),
    "pump-fire": ("pump_trip", "pump.pump_trip"),
    "elevator-3": ("entrapment", "elevator.entrapment"),
    "power-room-1": ("phase_loss", "power.phase_loss"),
    "power-room-2": ("garbage", "device.comm_fault"),
    "smoke-power-room-2": ("smoke", "sensor.smoke"),
    "elevator-5": ("offline", "device.offline"),
}


@pytest.mark.integration
async def test_faults_through_the_real_broker(
    mosquitto: Mosquitto, example_site: SiteConfig, tmp_path: Path
) -> None:
    """The service end to end: simulators → (stand-in gateway) → Mosquitto → engine →
    Mosquitto → listener, all on one fake clock."""
    clock = FakeClock(AFTERNOON)
    settings = MqttSettings(url=mosquitto.url, client_id=client_id("rules-scenario"))
    async with (
        run_estate(example_site, seed=5, clock=clock, step=1.0) as estate,
        listening(mosquitto.url) as heard,
        publishing(mosquitto.url, estate.site) as gw,
        RulesEngine(
            [estate.site], mqtt=settings, state_path=tmp_path / "r.db", clock=clock
        ) as engine,
    ):
        gateway = SimGateway(estate, estate.site)
        sent = 0

        async def run(seconds: int) -> None:
            nonlocal sent
            for _ in range(seconds):
                await clock.advance(1.0)  # the physics and the engine's ticker step
                for topic, payload in gateway.poll(to_epoch_ms(clock.now())):
                    await gw.send(topic, payload)
                    sent += 1
                await wait_for(lambda n=sent: engine.stats.messages == n)  # type: ignore[misc]

        def raised() -> set[tuple[str, str]]:
            return {(e.rule, e.target) for e in heard.events if e.event.value == "raised"}

        await run(30)
        assert heard.events == []
        for device, (fault, _) in ROUND.items():
            estate.inject(device, fault)
        wanted = {(rule, device) for device, (_, rule) in ROUND.items()}
        for _ in range(120):
            if wanted <= raised():
                break
            await run(1)
        await run(30)
        assert raised() == wanted
        for device, (fault, _) in ROUND.items():
            estate.clear(device, fault)
        for _ in range(200):
            if {e.alarm_id for e in heard.events if e.event.value == "cleared"} >= {
                e.alarm_id for e in heard.events
            }:
                break
            await run(1)
        assert raised() == wanted
        cleared = {(e.rule, e.target) for e in heard.events if e.event.value == "cleared"}
        assert cleared == wanted


async def test_low_fuel_says_the_hours_left_at_the_present_load(example_site: SiteConfig) -> None:
    async with scenario(example_site, AFTERNOON) as s:
        s.estate.inject("generator-1", "mains_loss")
        s.run(60)  # started and on load
        values = s.estate.values("generator-1")
        assert values["running"] is True
        assert values["ats_position"] == 1
        s.estate.inject("generator-1", "low_fuel")
        s.run_until(lambda: ("generator.low_fuel", "generator-1") in s.active(), 30)
        (event,) = [e for e in s.events if e.rule == "generator.low_fuel"]
        rate = float(event.details["fuel_rate"] or 0)
        hours = float(event.details["hours_left"] or 0)
        assert rate > 20  # litres an hour at ~45 % of 500 kW
        assert hours == pytest.approx(0.12 * 1000 / rate, abs=0.2)
        assert f"{hours:.1f} h left at the present load" in event.message
        assert s.raised() == [("generator.low_fuel", "generator-1")], s.summary()
