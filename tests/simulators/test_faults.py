"""Each fault changes the served values the way domain.md describes; clearing it recovers.
Pure physics under a fake clock: no servers, no sleeping."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from estatewatch.contracts.payloads import Scalar
from simulators.errors import FaultError, UnknownDevice
from simulators.estate import SimulatedEstate
from simulators.faults import Fault, accepted_faults

Values = dict[str, Scalar]


def run_until(
    estate: SimulatedEstate, device: str, holds: Callable[[Values], bool], *, within: float
) -> Values:
    """Step one second at a time until `holds(values)`; fail after `within` seconds."""
    for _ in range(int(within)):
        estate.step_once(1.0)
        values = estate.values(device)
        if holds(values):
            return values
    raise AssertionError(f"{device}: not within {within} s; last values {estate.values(device)}")


def num(values: Values, name: str) -> float:
    value = values[name]
    assert isinstance(value, int | float)
    return float(value)


@pytest.fixture
def estate(physics_estate: SimulatedEstate) -> SimulatedEstate:
    physics_estate.step_once(120.0)  # settled
    return physics_estate


# --- pump sets ---------------------------------------------------------------------------------


def test_dry_run_runs_at_low_current_and_low_pressure(estate: SimulatedEstate) -> None:
    pump, sp = "pump-domestic-low", 0.45
    normal = estate.values(pump)
    estate.inject(pump, Fault.DRY_RUN)
    estate.step_once(30.0)
    dry = estate.values(pump)
    assert dry["pump1_running"] is True
    assert num(dry, "outlet_pressure") < 0.3 * sp
    assert num(dry, "vfd_frequency") >= 49.0  # the loop pushes for pressure it cannot make
    assert num(dry, "pump1_current") < num(normal, "pump1_current")
    assert num(dry, "pump1_current") < 0.4 * 41.4  # a third of rated current: no water
    estate.clear(pump, Fault.DRY_RUN)
    recovered = run_until(
        estate, pump, lambda v: abs(num(v, "outlet_pressure") - sp) < 0.02 * sp, within=120
    )
    assert num(recovered, "pump1_current") > num(dry, "pump1_current")


def test_pipe_burst_collapses_pressure_with_every_pump_at_max(estate: SimulatedEstate) -> None:
    pump, sp = "pump-domestic-high", 0.85
    estate.inject(pump, "pipe_burst")
    burst = run_until(estate, pump, lambda v: v["pump3_running"] is True, within=60)
    estate.step_once(10.0)
    burst = estate.values(pump)
    assert num(burst, "outlet_pressure") < 0.3 * sp
    assert num(burst, "vfd_frequency") == 50.0
    assert all(burst[f"pump{i}_running"] for i in (1, 2, 3))
    tank = num(burst, "tank_level")
    estate.step_once(60.0)
    assert num(estate.values(pump), "tank_level") < tank  # the burst drains the tank
    estate.clear(pump, "pipe_burst")
    run_until(estate, pump, lambda v: abs(num(v, "outlet_pressure") - sp) < 0.03 * sp, within=60)
    calm = run_until(estate, pump, lambda v: v["pump3_running"] is False, within=300)
    assert calm["fault_code"] == 0


def test_pump_trip_stops_the_set_with_a_fault_code(estate: SimulatedEstate) -> None:
    pump, sp = "pump-domestic-low", 0.45
    estate.inject(pump, Fault.PUMP_TRIP)
    tripped = estate.values(pump)
    assert tripped["fault_code"] == 1
    assert not any(tripped[f"pump{i}_running"] for i in (1, 2, 3))
    assert tripped["vfd_frequency"] == 0
    assert tripped["pump1_current"] == 0
    estate.step_once(30.0)
    assert num(estate.values(pump), "outlet_pressure") < 0.3 * sp
    estate.clear(pump, Fault.PUMP_TRIP)
    back = run_until(
        estate, pump, lambda v: abs(num(v, "outlet_pressure") - sp) < 0.02 * sp, within=60
    )
    assert back["fault_code"] == 0
    assert back["pump1_running"] is True


def test_tank_low_closes_the_low_switch_and_refills_when_cleared(estate: SimulatedEstate) -> None:
    pump = "pump-domestic-low"
    estate.inject(pump, Fault.TANK_LOW)
    low = estate.values(pump)
    assert num(low, "tank_level") < num(low, "tank_low_limit")
    assert low["tank_low_switch"] is True
    estate.step_once(600.0)
    assert estate.values(pump)["tank_low_switch"] is True  # the supply stays cut
    estate.clear(pump, Fault.TANK_LOW)
    for _ in range(6):
        estate.step_once(300.0)
    refilled = estate.values(pump)
    assert num(refilled, "tank_level") > num(refilled, "tank_low_limit")
    assert refilled["tank_low_switch"] is False


def test_fire_pump_stands_by_and_starts_on_a_burst(estate: SimulatedEstate) -> None:
    fire, sp = "pump-fire", 0.6
    for _ in range(12):
        estate.step_once(300.0)  # an hour: the jockey cycles, the main pumps stay stopped
        standby = estate.values(fire)
        assert standby["pump1_running"] is False
        assert standby["vfd_frequency"] == 0
        assert 0.85 * sp < num(standby, "outlet_pressure") < 1.05 * sp
    estate.inject(fire, Fault.PIPE_BURST)
    running = run_until(estate, fire, lambda v: v["pump2_running"] is True, within=120)
    assert num(running, "outlet_pressure") < 0.5 * sp
    estate.clear(fire, Fault.PIPE_BURST)
    back = run_until(estate, fire, lambda v: v["pump1_running"] is False, within=600)
    assert num(back, "outlet_pressure") > 0.9 * sp
    assert back["fault_code"] == 0


def test_fire_pump_trip_lets_the_pressure_fall(estate: SimulatedEstate) -> None:
    fire, sp = "pump-fire", 0.6
    estate.inject(fire, "pump_trip")
    estate.step_once(300.0)
    tripped = estate.values(fire)
    assert tripped["fault_code"] == 1
    assert tripped["pump1_running"] is False
    assert num(tripped, "outlet_pressure") < 0.5 * sp
    estate.clear(fire, "pump_trip")
    back = run_until(
        estate,
        fire,
        lambda v: v["pump1_running"] is False and num(v, "outlet_pressure") > 0.9 * sp,
        within=600,
    )
    assert back["fault_code"] == 0


# --- elevators -----------------------------------------------------------------------------------


def test_entrapment_stops_the_car_between_floors_with_people_inside(
    estate: SimulatedEstate,
) -> None:
    lift = "elevator-2"
    run_until(estate, lift, lambda v: v["running"] is True, within=600)
    estate.inject(lift, Fault.ENTRAPMENT)
    for _ in range(3):
        stuck = estate.values(lift)
        assert stuck["fault_code"] == 31
        assert stuck["running"] is False
        assert stuck["speed"] == 0
        assert stuck["leveled"] is False
        assert stuck["door_state"] == 0  # closed
        assert num(stuck, "load") > 0
        assert stuck["in_service"] is False
        assert stuck["alarm_button"] is True
        estate.step_once(60.0)
    assert estate.values(lift)["floor"] == stuck["floor"]
    estate.clear(lift, Fault.ENTRAPMENT)
    freed = run_until(estate, lift, lambda v: v["door_state"] == 2, within=60)
    assert freed["fault_code"] == 0
    assert freed["leveled"] is True
    assert freed["load"] == 0
    assert freed["in_service"] is True


def test_door_fault_takes_the_car_out_of_service_at_a_landing(estate: SimulatedEstate) -> None:
    lift = "elevator-5"
    estate.inject(lift, "door_fault")
    fault = run_until(estate, lift, lambda v: v["door_state"] == 4, within=60)
    assert fault["fault_code"] == 11
    assert fault["in_service"] is False
    assert fault["running"] is False
    assert fault["leveled"] is True
    estate.step_once(120.0)
    assert estate.values(lift)["door_state"] == 4  # stays until repaired
    estate.clear(lift, "door_fault")
    back = run_until(estate, lift, lambda v: v["door_state"] == 0, within=30)
    assert back["fault_code"] == 0
    assert back["in_service"] is True


def test_an_elevator_answers_calls_floor_to_floor(estate: SimulatedEstate) -> None:
    lift = "elevator-7"
    floors, trips = set(), []
    for _ in range(1800):
        estate.step_once(1.0)
        values = estate.values(lift)
        floors.add(values["floor"])
        trips.append(num(values, "trips"))
        assert -2 <= num(values, "floor") <= 26
        assert values["floor"] != 0
        if values["running"]:
            assert values["door_state"] == 0
            assert values["leveled"] is False
    assert len(floors) >= 3
    assert trips[-1] > trips[0]


# --- power rooms ---------------------------------------------------------------------------------


def test_phase_loss_drops_one_phase(estate: SimulatedEstate) -> None:
    room = "power-room-1"
    estate.inject(room, Fault.PHASE_LOSS)
    estate.step_once(10.0)
    lost = estate.values(room)
    volts = sorted(num(lost, f"voltage_l{k}") for k in (1, 2, 3))
    assert volts[0] < 10
    assert volts[1] > 0.97 * 230
    dead = next(k for k in (1, 2, 3) if num(lost, f"voltage_l{k}") < 10)
    assert lost[f"current_l{dead}"] == 0
    estate.clear(room, Fault.PHASE_LOSS)
    estate.step_once(10.0)
    assert all(
        0.98 * 230 < num(estate.values(room), f"voltage_l{k}") < 1.02 * 230 for k in (1, 2, 3)
    )


def test_outage_zeroes_everything_and_opens_the_main_breaker(estate: SimulatedEstate) -> None:
    room = "power-room-2"
    energy = num(estate.values(room), "energy")
    estate.inject(room, Fault.OUTAGE)
    estate.step_once(600.0)
    out = estate.values(room)
    assert all(num(out, f"voltage_l{k}") < 5 for k in (1, 2, 3))
    assert all(out[f"current_l{k}"] == 0 for k in (1, 2, 3))
    assert out["active_power"] == 0
    assert out["frequency"] == 0
    assert out["main_breaker_closed"] is False
    assert num(out, "energy") == pytest.approx(energy, abs=0.2)  # no energy without power
    estate.clear(room, Fault.OUTAGE)
    estate.step_once(10.0)
    back = estate.values(room)
    assert back["main_breaker_closed"] is True
    assert num(back, "active_power") > 0
    assert num(back, "frequency") == pytest.approx(50.0, abs=0.1)


@pytest.mark.parametrize(
    ("fault", "low", "high"), [("over_voltage", 1.08, 1.16), ("under_voltage", 0.8, 0.9)]
)
def test_voltage_faults_move_all_three_phases(
    estate: SimulatedEstate, fault: str, low: float, high: float
) -> None:
    room = "power-room-1"
    estate.inject(room, fault)
    estate.step_once(10.0)
    assert all(
        low * 230 < num(estate.values(room), f"voltage_l{k}") < high * 230 for k in (1, 2, 3)
    )
    estate.clear(room, fault)
    estate.step_once(10.0)
    assert all(
        0.98 * 230 < num(estate.values(room), f"voltage_l{k}") < 1.02 * 230 for k in (1, 2, 3)
    )


def test_over_and_under_voltage_exclude_each_other(estate: SimulatedEstate) -> None:
    estate.inject("power-room-1", "over_voltage")
    estate.inject("power-room-1", "under_voltage")
    assert estate.faults("power-room-1") == {Fault.UNDER_VOLTAGE}


def test_transformer_overheats_with_a_thermal_lag_and_cools_back(estate: SimulatedEstate) -> None:
    room = "power-room-1"
    start = num(estate.values(room), "transformer_temperature")
    estate.inject(room, Fault.TRANSFORMER_OVERHEAT)
    estate.step_once(60.0)
    assert num(estate.values(room), "transformer_temperature") < start + 5  # no jump: a lag
    for _ in range(18):
        estate.step_once(600.0)
    hot = estate.values(room)
    assert num(hot, "transformer_temperature") > 130
    assert hot["transformer_fan_running"] is False
    estate.clear(room, Fault.TRANSFORMER_OVERHEAT)
    for _ in range(24):
        estate.step_once(600.0)
    assert num(estate.values(room), "transformer_temperature") < 90


# --- sensors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "fault", "point"),
    [("leak-pump-room", "leak", "leak"), ("smoke-power-room-2", "smoke", "smoke")],
)
def test_alarm_sensors_raise_and_clear(
    estate: SimulatedEstate, device: str, fault: str, point: str
) -> None:
    assert estate.values(device)[point] is False
    estate.inject(device, fault)
    assert estate.values(device)[point] is True
    estate.clear(device, fault)
    assert estate.values(device)[point] is False


def test_high_temperature_heats_the_room_and_it_cools_back(estate: SimulatedEstate) -> None:
    sensor = "temp-power-room-2"
    normal = num(estate.values(sensor), "temperature")
    assert 18 < normal < 32
    estate.inject(sensor, Fault.HIGH_TEMPERATURE)
    estate.step_once(600.0)
    hot = estate.values(sensor)
    assert num(hot, "temperature") > 45
    assert num(hot, "humidity") < 45
    estate.clear(sensor, Fault.HIGH_TEMPERATURE)
    for _ in range(12):
        estate.step_once(300.0)
    assert num(estate.values(sensor), "temperature") < 32


# --- the vocabulary ------------------------------------------------------------------------------


def test_invalid_pairs_are_refused_clearly(estate: SimulatedEstate) -> None:
    with pytest.raises(
        FaultError, match=r"elevator-1 \(elevator\) cannot have fault 'dry_run'.*entrapment"
    ):
        estate.inject("elevator-1", "dry_run")
    with pytest.raises(FaultError, match="no fault 'meltdown'"):
        estate.inject("power-room-1", "meltdown")
    with pytest.raises(FaultError, match="cannot have fault 'modbus_exception'"):
        estate.inject("leak-pump-room", "modbus_exception")
    with pytest.raises(UnknownDevice, match="no simulated device 'boiler-1'"):
        estate.inject("boiler-1", "offline")
    with pytest.raises(FaultError, match="not a Modbus exception code"):
        estate.inject("power-room-1", "modbus_exception", exception_code=9)
    assert not any(estate.faults(d) for d in estate.device_ids())


def test_every_fault_is_accepted_somewhere_and_clear_all_clears(estate: SimulatedEstate) -> None:
    site = estate.site
    everywhere = set().union(*(accepted_faults(d) for d in site.devices))
    assert everywhere == set(Fault)
    estate.inject("pump-domestic-low", "dry_run")
    estate.inject("pump-domestic-low", "garbage")
    estate.clear("pump-domestic-low")
    assert estate.faults("pump-domestic-low") == frozenset()
