"""The fault vocabulary: every fault a simulated device can be given, and which kinds of
device accept which. The one place that knows it; the control API and the CLI list it."""

from __future__ import annotations

from enum import StrEnum

from estatewatch.config import (
    Device,
    DeviceKind,
    Dlt645,
    ModbusRtu,
    ModbusTcp,
    Sensor,
    SensorType,
)
from simulators.errors import FaultError


class Fault(StrEnum):
    """A fault injected at run time. Each changes values the way domain.md describes."""

    # pump sets (domestic and fire)
    DRY_RUN = "dry_run"  # running, low current, low pressure
    PIPE_BURST = "pipe_burst"  # pressure collapses, every pump at maximum frequency
    PUMP_TRIP = "pump_trip"  # fault code, pumps stop, pressure falls
    TANK_LOW = "tank_low"  # supply cut: tank level below its low limit, low switch closed
    TANK_OVERFLOW = "tank_overflow"  # float valve stuck open: tank at the brim, overflow switch
    DRY_RUN_TRIP = "dry_run_trip"  # the controller's dry-run protection stopped the pumps (5)
    IMPELLER_WEAR = "impeller_wear"  # worn pumps: at full speed ~60 % of the set-point
    # elevators
    ENTRAPMENT = "entrapment"  # stopped between floors, not leveled, doors closed, load, 31
    DOOR_FAULT = "door_fault"  # door lock fault (11) at a landing, out of service
    DOOR_OBSTRUCTION = "door_obstruction"  # doors held open at a landing (12), out of service
    OVERSPEED = "overspeed"  # emergency stop (21), re-levels to the nearest landing, parks open
    POWER_FAILURE = "power_failure"  # car supply lost (41): the rescue device levels and opens
    SAFETY_CIRCUIT = "safety_circuit"  # safety chain open (51): stops, levels, parks open
    OUT_OF_SERVICE = "out_of_service"  # taken out of service (inspection, independent use)
    # power rooms
    PHASE_LOSS = "phase_loss"  # one phase ~0 V
    OUTAGE = "outage"  # everything ~0, main breaker open
    OVER_VOLTAGE = "over_voltage"  # about +12 % of nominal
    UNDER_VOLTAGE = "under_voltage"  # about -15 % of nominal
    TRANSFORMER_OVERHEAT = "transformer_overheat"  # fan failed: heads for ~150 °C
    # generators: start_failure, overheat, overload and ats_fail are defects that show when
    # the set is called on (inject them with mains_loss)
    MAINS_LOSS = "mains_loss"  # the controller sees mains fail: start, transfer, run on load
    START_FAILURE = "start_failure"  # cranks and does not start; locks out after 3 attempts
    LOW_FUEL = "low_fuel"  # day tank at ~12 % (not refilled, or a leak)
    BATTERY_LOW = "battery_low"  # charger failed: starter battery ~21.5 V
    OVERHEAT = "overheat"  # cooling failed: coolant towards 108 °C while it runs
    OVERLOAD = "overload"  # the load grows to ~115 % of rated while it runs
    ATS_FAIL = "ats_fail"  # the transfer switch does not move to the generator
    # fire alarm panels (Modbus, through the user-information transmission device)
    FIRE_ALARM = "fire_alarm"  # a detector or call point in a zone: 火警
    PANEL_FAULT = "fault"  # a detector, loop or power fault: 故障
    SUPERVISORY = "supervisory"  # a supervised valve or pressure switch: 监管
    ISOLATION = "isolation"  # a zone isolated (屏蔽): a blind spot until restored
    LINKAGE_FAIL = "linkage_fail"  # a linkage started without feedback: 联动无反馈
    # air handlers and chillers (BACnet)
    FILTER_CLOGGED = "filter_clogged"  # the filter's pressure drop past its change level
    SUPPLY_AIR_HIGH = "supply_air_high"  # chilled-water valve stuck shut: supply air ~10 °C warm
    CHILLER_TRIP = "chiller_trip"  # a safety trips the chiller: stopped, alarm on, loop warms
    # MQTT sensors
    LEAK = "leak"
    SMOKE = "smoke"
    HIGH_TEMPERATURE = "high_temperature"
    # the protocol, for any Modbus device (offline also silences an MQTT sensor)
    OFFLINE = "offline"  # stops answering: the client times out
    MODBUS_EXCEPTION = "modbus_exception"  # every request answered by an exception response
    GARBAGE = "garbage"  # random register contents, NaN floats among them (DL/T 645: bad frames)
    METER_ERROR = "meter_error"  # a DL/T 645 meter answers every read with an error byte


PROTOCOL_FAULTS = frozenset(
    {Fault.OFFLINE, Fault.MODBUS_EXCEPTION, Fault.GARBAGE, Fault.METER_ERROR}
)
"""Faults of the device's communication rather than of its physics."""

ELEVATOR_FAULTS = frozenset(
    {
        Fault.ENTRAPMENT,
        Fault.DOOR_FAULT,
        Fault.DOOR_OBSTRUCTION,
        Fault.OVERSPEED,
        Fault.POWER_FAILURE,
        Fault.SAFETY_CIRCUIT,
        Fault.OUT_OF_SERVICE,
    }
)
PUMP_FAULTS = frozenset(
    {
        Fault.DRY_RUN,
        Fault.DRY_RUN_TRIP,
        Fault.PIPE_BURST,
        Fault.PUMP_TRIP,
        Fault.TANK_LOW,
        Fault.TANK_OVERFLOW,
    }
)
GENERATOR_FAULTS = frozenset(
    {
        Fault.MAINS_LOSS,
        Fault.START_FAILURE,
        Fault.LOW_FUEL,
        Fault.BATTERY_LOW,
        Fault.OVERHEAT,
        Fault.OVERLOAD,
        Fault.ATS_FAIL,
    }
)
FIRE_PANEL_FAULTS = frozenset(
    {Fault.FIRE_ALARM, Fault.PANEL_FAULT, Fault.SUPERVISORY, Fault.ISOLATION, Fault.LINKAGE_FAIL}
)

KIND_FAULTS: dict[DeviceKind, frozenset[Fault]] = {
    # A fire set stands by: a worn impeller would show only in a test run, so domestic only.
    DeviceKind.WATER_PUMP_SET: PUMP_FAULTS | {Fault.IMPELLER_WEAR},
    DeviceKind.FIRE_PUMP: PUMP_FAULTS,
    DeviceKind.ELEVATOR: ELEVATOR_FAULTS,
    DeviceKind.POWER_ROOM: frozenset(
        {
            Fault.PHASE_LOSS,
            Fault.OUTAGE,
            Fault.OVER_VOLTAGE,
            Fault.UNDER_VOLTAGE,
            Fault.TRANSFORMER_OVERHEAT,
        }
    ),
    DeviceKind.GENERATOR: GENERATOR_FAULTS,
    DeviceKind.FIRE_PANEL: FIRE_PANEL_FAULTS,
    DeviceKind.SENSOR: frozenset(),
    DeviceKind.ENERGY_METER: frozenset({Fault.OVERLOAD}),
    DeviceKind.AIR_HANDLER: frozenset({Fault.FILTER_CLOGGED, Fault.SUPPLY_AIR_HIGH}),
    DeviceKind.CHILLER: frozenset({Fault.CHILLER_TRIP}),
}

SENSOR_FAULTS: dict[SensorType, frozenset[Fault]] = {
    SensorType.LEAK: frozenset({Fault.LEAK}),
    SensorType.SMOKE: frozenset({Fault.SMOKE}),
    SensorType.TEMPERATURE: frozenset({Fault.HIGH_TEMPERATURE}),
    SensorType.FIRE_PANEL: frozenset({Fault.FIRE_ALARM}),  # a panel's dry contact over MQTT
}

EXCLUSIVE: tuple[frozenset[Fault], ...] = (frozenset({Fault.OVER_VOLTAGE, Fault.UNDER_VOLTAGE}),)
"""Faults that cannot hold together: injecting one clears the others of its group."""

MODBUS_EXCEPTION_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 10, 11})
DEFAULT_EXCEPTION_CODE = 4  # slave device failure


def is_modbus(device: Device) -> bool:
    return isinstance(device.connection, ModbusTcp | ModbusRtu)


def accepted_faults(device: Device) -> frozenset[Fault]:
    """Every fault this device can be given."""
    faults = KIND_FAULTS[device.kind]
    if isinstance(device, Sensor):
        faults = faults | SENSOR_FAULTS[device.sensor_type]
    if is_modbus(device):
        return faults | PROTOCOL_FAULTS - {Fault.METER_ERROR}
    if isinstance(device.connection, Dlt645):
        return faults | {Fault.OFFLINE, Fault.GARBAGE, Fault.METER_ERROR}
    return faults | {Fault.OFFLINE}


def check_fault(device: Device, fault: Fault | str) -> Fault:
    """The fault, if this device accepts it; a `FaultError` saying what it accepts if not."""
    try:
        parsed = Fault(fault)
    except ValueError:
        names = ", ".join(f.value for f in Fault)
        raise FaultError(f"no fault {fault!r}; faults are: {names}") from None
    accepted = accepted_faults(device)
    if parsed not in accepted:
        names = ", ".join(sorted(f.value for f in accepted)) or "none"
        raise FaultError(
            f"{device.id} ({device.kind.value}) cannot have fault {parsed.value!r};"
            f" it accepts: {names}"
        )
    return parsed


def check_exception_code(code: int) -> int:
    if code not in MODBUS_EXCEPTION_CODES:
        raise FaultError(
            f"{code} is not a Modbus exception code (one of {sorted(MODBUS_EXCEPTION_CODES)})"
        )
    return code
