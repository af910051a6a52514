"""Every Modbus device of the example estate over real Modbus TCP, as a gateway reads it."""

from __future__ import annotations

import math
import socket

import pytest
from pymodbus.exceptions import ModbusIOException

from estatewatch.clock import FakeClock
from estatewatch.codec import DecodeError, decode, encode
from estatewatch.config import (
    DataType,
    DeviceKind,
    Elevator,
    FirePanel,
    Generator,
    ModbusTcp,
    PowerRoom,
    PumpSet,
    RegisterMap,
    RegisterType,
    SiteConfig,
)
from simulators.errors import SimulatorError
from simulators.estate import SimulatedEstate
from simulators.harness import relocate, run_estate
from tests.simulators.helpers import connection, modbus_client, read_point, read_raw

pytestmark = pytest.mark.integration


def plausible(device: object, name: str, value: object) -> bool:
    """Physical ranges of a normally running device (a gateway's sanity limits)."""
    if isinstance(value, bool):
        return True
    assert isinstance(value, int | float | str)
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(device, PumpSet):
        sp = device.setpoint_mpa
        ranges = {
            "outlet_pressure": (0.85 * sp, 1.1 * sp),
            "inlet_pressure": (0.0, 0.06),
            "tank_level": (20.0, 100.0),
            "vfd_frequency": (0.0 if device.kind is DeviceKind.FIRE_PUMP else 25.0, 50.0),
            "motor_power": (0.0, 250.0),
            "run_hours": (0, 200_000),
            "starts": (0, 1_000_000),
            "fault_code": (0, 0),
            "water_temperature": (5.0, 35.0),
            "setpoint_pressure": (sp - 1e-6, sp + 1e-6),
            "tank_low_limit": (5.0, 50.0),
        }
        low, high = ranges.get(name, (0.0, 200.0))  # pump currents, A
    elif isinstance(device, Elevator):
        ranges = {
            "floor": (device.lowest_floor, device.highest_floor),
            "direction": (0, 2),
            "door_state": (0, 3),
            "load": (0, device.rated_load_kg * 1.1),
            "speed": (0.0, 2.5),
            "fault_code": (0, 0),
            "trips": (0, 10_000_000),
            "run_hours": (0, 200_000),
            "car_temperature": (10.0, 40.0),
        }
        low, high = ranges[name]
    elif isinstance(device, Generator):
        ranges = {  # on standby: warm, charged, fuelled, the mains on
            "fuel_level": (50.0, 100.0),
            "battery_voltage": (26.0, 28.0),
            "coolant_temperature": (30.0, 50.0),
            "run_hours": (0, 100_000),
            "starts": (0, 100_000),
        }
        low, high = ranges.get(name, (0, 0))
    elif isinstance(device, FirePanel):
        # a quiet panel: no zone in any state, its backup battery on float charge
        low, high = (24.0, 28.0) if name == "backup_battery" else (0, 0)
    else:
        assert isinstance(device, PowerRoom)
        v, kva = device.nominal_voltage_v, device.transformer_kva
        amps = kva * 1000 / 3 / v * 1.1
        ranges = {
            "voltage_l1": (0.98 * v, 1.02 * v),
            "voltage_l2": (0.98 * v, 1.02 * v),
            "voltage_l3": (0.98 * v, 1.02 * v),
            "current_l1": (0.02 * amps, amps),
            "current_l2": (0.02 * amps, amps),
            "current_l3": (0.02 * amps, amps),
            "power_factor": (0.85, 1.0),
            "active_power": (0.02 * kva, kva),
            "reactive_power": (0.0, 0.6 * kva),
            "energy": (1.0, 1e9),
            "frequency": (49.8, 50.2),
            "transformer_temperature": (20.0, 110.0),
            "room_temperature": (15.0, 40.0),
        }
        low, high = ranges[name]
    return low <= value <= high


async def test_every_point_of_every_device_reads_plausibly_and_exactly(
    estate: SimulatedEstate,
) -> None:
    estate.step_once(30.0)  # the physics a little way in
    estate.freeze()
    site = estate.site
    checked = 0
    for device in site.devices:
        if not isinstance(device.connection, ModbusTcp):
            continue
        conn = device.connection
        expected = estate.values(device.id)
        async with modbus_client(conn.port) as client:
            for point in site.register_map_of(device.id).points:
                value = await read_point(client, point, conn.unit_id)
                assert value == expected[point.name], (device.id, point.name)
                assert plausible(device, point.name, value), (device.id, point.name, value)
                checked += 1
    # pumps, elevators, power rooms, the generator, the fire panel
    assert checked == 3 * 21 + 8 * 15 + 2 * 16 + 15 + 16


async def test_served_values_hang_together(estate: SimulatedEstate) -> None:
    estate.step_once(60.0)
    power = estate.values("power-room-1")
    volt_amps = sum(
        float(power[f"voltage_l{k}"]) * float(power[f"current_l{k}"]) for k in (1, 2, 3)
    )
    assert float(power["active_power"]) == pytest.approx(
        volt_amps * float(power["power_factor"]) / 1000, rel=0.01
    )
    pump = estate.values("pump-domestic-low")
    assert pump["pump1_running"] is True
    assert float(pump["pump1_current"]) > 5
    assert float(pump["vfd_frequency"]) > 25
    fire = estate.values("pump-fire")  # fire pumps stand by: stopped, pressure held
    assert fire["pump1_running"] is False
    assert fire["vfd_frequency"] == 0
    assert float(fire["outlet_pressure"]) > 0.85 * 0.6


def test_relocation_keeps_shared_addresses_shared(example_site: SiteConfig) -> None:
    moved = relocate(example_site)
    conns = {d.id: d.connection for d in moved.devices if isinstance(d.connection, ModbusTcp)}
    assert {c.host for c in conns.values()} == {"127.0.0.1"}
    elevator_ports = {conns[f"elevator-{i}"].port for i in range(1, 9)}
    assert len(elevator_ports) == 1
    assert sorted(conns[f"elevator-{i}"].unit_id for i in range(1, 9)) == list(range(1, 9))
    others = [c.port for d, c in conns.items() if not d.startswith("elevator")]
    assert len(set(others)) == len(others) == 7  # pumps 3, power rooms 2, generator, fire panel
    assert not elevator_ports & set(others)
    assert all(c.port not in (15021, 15022, 15023, 15031, 15041, 15042) for c in conns.values())


async def test_unknown_unit_id_and_unmapped_addresses_are_refused(
    estate: SimulatedEstate,
) -> None:
    lift = connection(estate.site, "elevator-1")
    pump = connection(estate.site, "pump-domestic-low")
    async with modbus_client(lift.port) as client:
        unknown_unit = await read_raw(client, RegisterType.INPUT, 0, 2, unit=99)
        no_coils = await read_raw(client, RegisterType.COIL, 0, 1, unit=1)
        past_the_end = await read_raw(client, RegisterType.INPUT, 12, 1, unit=1)
        still_fine = await read_raw(client, RegisterType.INPUT, 0, 12, unit=1)
    async with modbus_client(pump.port) as client:
        gap = await read_raw(client, RegisterType.HOLDING, 2, 2, unit=1)  # 3 is unmapped
        unmapped_bit = await read_raw(client, RegisterType.DISCRETE_INPUT, 5, 1, unit=1)
        write = await client.write_register(2, 123, device_id=1)  # not writable
    for response in (unknown_unit, no_coils, past_the_end, gap, unmapped_bit, write):
        assert response.isError(), response
        assert response.exception_code == 2, response
    assert not still_fine.isError()
    assert len(still_fine.registers) == 12


async def test_offline_device_stops_answering_and_comes_back(estate: SimulatedEstate) -> None:
    conn = connection(estate.site, "elevator-3")
    floor = estate.site.register_map_of("elevator-3").point("floor")
    estate.inject("elevator-3", "offline")
    async with modbus_client(conn.port, wait=0.3) as client:
        with pytest.raises(ModbusIOException):
            await read_point(client, floor, conn.unit_id)
    async with modbus_client(conn.port) as client:
        # the serial gateway's other units still answer
        assert await read_point(client, floor, 4) == estate.values("elevator-4")["floor"]
        estate.clear("elevator-3", "offline")
        assert await read_point(client, floor, 3) == estate.values("elevator-3")["floor"]


@pytest.mark.parametrize(("code", "expected"), [(None, 4), (6, 6)])
async def test_modbus_exception_answers_every_read(
    estate: SimulatedEstate, code: int | None, expected: int
) -> None:
    conn = connection(estate.site, "power-room-2")
    estate.inject("power-room-2", "modbus_exception", exception_code=code)
    async with modbus_client(conn.port) as client:
        for table, address in ((RegisterType.INPUT, 0), (RegisterType.DISCRETE_INPUT, 0)):
            response = await read_raw(client, table, address, 1, conn.unit_id)
            assert response.isError()
            assert response.exception_code == expected
        estate.clear("power-room-2")
        assert not (await read_raw(client, RegisterType.INPUT, 0, 2, conn.unit_id)).isError()


async def test_garbage_serves_random_registers_with_nan_floats(estate: SimulatedEstate) -> None:
    conn = connection(estate.site, "power-room-1")
    points = estate.site.register_map_of("power-room-1").points
    floats = [p for p in points if p.type in (DataType.FLOAT32, DataType.FLOAT64)]
    estate.inject("power-room-1", "garbage")
    estate.freeze()
    nans = 0
    async with modbus_client(conn.port) as client:
        for point in floats:
            response = await read_raw(client, point.table, point.address, point.count, 1)
            try:
                decode(list(response.registers), point)
            except DecodeError:
                nans += 1
                assert math.isnan(float(estate.values("power-room-1")[point.name]))
    assert nans >= 1
    first = estate.values("power-room-1")
    estate.step_once()
    assert estate.values("power-room-1") != first  # new garbage every step
    estate.clear("power-room-1", "garbage")
    voltage = float(estate.values("power-room-1")["voltage_l1"])
    assert 0.98 * 230 <= voltage <= 1.02 * 230


async def test_writable_points_take_writes_and_the_physics_follows(
    example_site: SiteConfig, fake_clock: FakeClock
) -> None:
    pump_map = example_site.register_maps["pump-controller"]
    writable = {"setpoint_pressure", "remote_enable"}
    points = [p.model_copy(update={"writable": p.name in writable}) for p in pump_map.points]
    maps = {**example_site.register_maps, "pump-controller": RegisterMap(points=points)}
    site = example_site.model_copy(update={"register_maps": maps})
    async with run_estate(site, seed=2, clock=fake_clock) as estate:
        conn = connection(estate.site, "pump-domestic-low")
        setpoint = RegisterMap(points=points).point("setpoint_pressure")
        async with modbus_client(conn.port) as client:
            written = await client.write_registers(0, encode(0.5, setpoint), device_id=1)
            assert not written.isError()
            assert await read_point(client, setpoint, 1) == pytest.approx(0.5)
            partial = await client.write_register(0, 0, device_id=1)  # half a float32
            assert partial.isError()
            coil = await client.write_coil(0, False, device_id=1)
            assert not coil.isError()
            remote = RegisterMap(points=points).point("remote_enable")
            assert await read_point(client, remote, 1) is False
        for _ in range(60):
            estate.step_once(1.0)
        assert float(estate.values("pump-domestic-low")["outlet_pressure"]) == pytest.approx(
            0.5, rel=0.03
        )


async def test_a_port_in_use_is_a_clear_error(example_site: SiteConfig) -> None:
    site = relocate(example_site)
    taken = connection(site, "power-room-2").port
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", taken))
        blocker.listen()
        estate = SimulatedEstate(site, clock=FakeClock())
        with pytest.raises(SimulatorError, match=f"cannot listen on 127.0.0.1:{taken}"):
            async with estate.running():
                pass
