"""The devices of a site file: what each kind is, where it is and how it is reached."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from estatewatch.config.bacnet import Bacnet
from estatewatch.config.base import Identifier, PointName, StrictModel
from estatewatch.config.names import LocalizedName
from estatewatch.config.report import ReportOptions
from estatewatch.dlt645 import IDENTIFIERS, parse_identifier
from estatewatch.durations import Duration


class DeviceKind(StrEnum):
    WATER_PUMP_SET = "water_pump_set"
    FIRE_PUMP = "fire_pump"
    ELEVATOR = "elevator"
    POWER_ROOM = "power_room"
    GENERATOR = "generator"
    FIRE_PANEL = "fire_panel"
    SENSOR = "sensor"
    ENERGY_METER = "energy_meter"
    AIR_HANDLER = "air_handler"
    CHILLER = "chiller"


# --- where a device is reached -------------------------------------------------------------


class ModbusTcp(StrictModel):
    protocol: Literal["modbus_tcp"]
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=247)
    timeout: Duration = timedelta(seconds=1)


class ModbusRtu(StrictModel):
    protocol: Literal["modbus_rtu"]
    serial_port: str = Field(description="e.g. /dev/ttyUSB0; devices on one port share a bus")
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] = 1
    unit_id: int = Field(default=1, ge=1, le=247)
    timeout: Duration = timedelta(seconds=1)


class MqttPoint(StrictModel):
    """A value taken from a field of a sensor's JSON payload (dotted path for nesting)."""

    name: PointName
    field: str
    type: Literal["float", "int", "bool", "string"] = "float"
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0


class MqttSensor(StrictModel):
    protocol: Literal["mqtt"]
    topic: str = Field(min_length=1, description="topic on the site broker, wildcards allowed")
    points: list[MqttPoint] = Field(min_length=1)
    timestamp_field: str | None = Field(
        default=None, description="payload field with the sensor's own time (epoch s or ISO)"
    )


class Dlt645Point(ReportOptions):
    """A value read from a DL/T 645-2007 meter by its data identifier (DI3..DI0 in hex, as
    the standard prints them: ``02010100`` is phase A voltage). The format of the
    identifiers EstateWatch knows (energy, voltages, currents, powers, power factors,
    frequency) is built in; another needs `size` (bytes) and `decimals`."""

    name: PointName
    di: str = Field(pattern=r"^[0-9A-Fa-f]{2}( ?[0-9A-Fa-f]{2}){3}$")
    unit: str = ""
    size: int | None = Field(default=None, ge=1, le=8, description="BCD bytes of the value")
    decimals: int | None = Field(default=None, ge=0, le=8)
    signed: bool = False
    scale: float = 1.0

    @model_validator(mode="after")
    def _known_format(self) -> Self:
        known = parse_identifier(self.di) in IDENTIFIERS
        if not known and (self.size is None or self.decimals is None):
            raise ValueError(
                f"data identifier {self.di} has no built-in format: give size and decimals"
            )
        return self


class Dlt645(StrictModel):
    """A DL/T 645-2007 meter on an RS-485 bus, reached through a transparent serial-to-TCP
    gateway (`host`/`port`) or a serial port of the gateway box (`serial_port`). Meters on
    one bus share it and are told apart by `address`."""

    protocol: Literal["dlt645"]
    address: str = Field(
        pattern=r"^[0-9]{12}$", description="the meter's 12-digit address, as on its nameplate"
    )
    host: str | None = None
    port: int = Field(default=8899, ge=1, le=65535)
    serial_port: str | None = None
    baudrate: int = 2400
    parity: Literal["N", "E", "O"] = "E"
    timeout: Duration = timedelta(seconds=1)
    points: list[Dlt645Point] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_link(self) -> Self:
        if (self.host is None) == (self.serial_port is None):
            raise ValueError("give host (a TCP transparent gateway) or serial_port, not both")
        names = [p.name for p in self.points]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"points named twice: {', '.join(twice)}")
        return self


Connection = Annotated[
    ModbusTcp | ModbusRtu | MqttSensor | Dlt645 | Bacnet, Field(discriminator="protocol")
]


# --- devices, by kind ----------------------------------------------------------------------


class DeviceBase(StrictModel):
    id: Identifier
    name: LocalizedName
    building: Identifier
    room: Identifier
    connection: Connection
    register_map: Identifier | None = Field(
        default=None, description="name of an entry in register_maps (Modbus devices)"
    )
    poll_interval: Duration = timedelta(seconds=1)
    offline_after: int = Field(
        default=3, ge=1, description="consecutive failed polls before the device is offline"
    )
    ups: bool = Field(
        default=False,
        description="the controller is on a UPS: it keeps answering through a power outage",
    )

    @model_validator(mode="after")
    def _map_matches_protocol(self) -> Self:
        is_modbus = self.connection.protocol in ("modbus_tcp", "modbus_rtu")
        if is_modbus and self.register_map is None:
            raise ValueError("a Modbus device needs a register_map")
        if not is_modbus and self.register_map is not None:
            raise ValueError("register_map applies only to Modbus devices")
        return self


class PumpSet(DeviceBase):
    """A constant-pressure variable-frequency pump set (恒压变频供水), domestic or fire."""

    kind: Literal[DeviceKind.WATER_PUMP_SET, DeviceKind.FIRE_PUMP]
    pumps: int = Field(default=2, ge=1, le=6)
    setpoint_mpa: float = Field(default=0.45, gt=0, le=2.5)
    tank_capacity_m3: float = Field(default=50.0, gt=0)
    rated_current_a: float = Field(
        default=40.0, gt=0, description="motor nameplate current of one pump, A (dry-run test)"
    )


class Elevator(DeviceBase):
    kind: Literal[DeviceKind.ELEVATOR]
    lowest_floor: int = -2
    highest_floor: int = 20
    rated_load_kg: int = Field(default=1000, gt=0)

    @model_validator(mode="after")
    def _floors(self) -> Self:
        if self.lowest_floor >= self.highest_floor:
            raise ValueError("lowest_floor must be below highest_floor")
        return self


class RoomRef(StrictModel):
    building: Identifier
    room: Identifier


class PowerFeeds(StrictModel):
    """What a power room supplies: whole buildings, rooms, single devices. An outage there
    stops what it feeds, and explains the alarms they raise (issue #23: one root alarm)."""

    buildings: list[Identifier] = Field(default_factory=list)
    rooms: list[RoomRef] = Field(default_factory=list)
    devices: list[Identifier] = Field(default_factory=list)


class PowerRoom(DeviceBase):
    kind: Literal[DeviceKind.POWER_ROOM]
    nominal_voltage_v: float = Field(default=230.0, gt=0, description="phase-to-neutral")
    transformer_kva: float = Field(default=1250.0, gt=0)
    feeds: PowerFeeds = Field(default_factory=PowerFeeds)


class Generator(DeviceBase):
    """A standby diesel generator (柴油发电机) with its automatic mains failure controller and
    transfer switch (ATS)."""

    kind: Literal[DeviceKind.GENERATOR]
    rated_kw: float = Field(default=500.0, gt=0)
    fuel_tank_l: float = Field(default=1000.0, gt=0, description="day tank capacity, litres")
    battery_nominal_v: float = Field(default=24.0, gt=0, description="starter battery, V")
    start_time: Duration = Field(
        default=timedelta(seconds=10),
        description="mains loss to running on load (GB 50016 / JGJ 16: within 30 s)",
    )
    backs: list[Identifier] = Field(
        default_factory=list,
        description="power rooms whose loss of mains starts this generator (its AMF sensing)",
    )


class FirePanel(DeviceBase):
    """A fire alarm control panel (火灾报警控制器) read over Modbus through its user-information
    transmission device (用户信息传输装置, GB 26875): fire alarms, faults, supervisory
    signals, linkage start and feedback, isolations, each by loop and zone. The zone codes
    and their locations are the `enum` of the register map's zone points."""

    kind: Literal[DeviceKind.FIRE_PANEL]
    loops: int = Field(default=2, ge=1, le=64, description="detector loops (回路)")


class SensorType(StrEnum):
    LEAK = "leak"
    SMOKE = "smoke"
    TEMPERATURE = "temperature"
    FIRE_PANEL = "fire_panel"


class Sensor(DeviceBase):
    kind: Literal[DeviceKind.SENSOR]
    sensor_type: SensorType


class EnergyMeter(DeviceBase):
    """A DL/T 645 multifunction energy meter (多功能电能表) on an outgoing feeder of a power
    room: `supply` is the power room device whose busbar feeds it."""

    kind: Literal[DeviceKind.ENERGY_METER]
    supply: Identifier | None = Field(default=None, description="the power room feeding it")
    nominal_voltage_v: float = Field(default=230.0, gt=0, description="phase-to-neutral")
    rated_current_a: float = Field(default=250.0, gt=0, description="the feeder's rating, A")
    load_share: float = Field(
        default=0.25, gt=0, le=1, description="its share of the power room's load"
    )


class AirHandler(DeviceBase):
    """An air handling unit (空调箱/组合式空调机组) on the building automation system (BACnet):
    its supply-air temperature held in a band around the set-point, its filter watched by
    the pressure drop across it."""

    kind: Literal[DeviceKind.AIR_HANDLER]
    schedule: Literal["office_hours", "always"] = Field(
        default="office_hours", description="when its fan runs: 07:00-21:00 local, or always"
    )
    supply_air_setpoint_c: float = Field(default=14.0, ge=5, le=35)
    supply_air_band_c: float = Field(
        default=3.0, gt=0, le=15, description="the supply air is out of band beyond ± this"
    )
    filter_dp_clean_pa: float = Field(default=120.0, gt=0, description="a clean filter's drop")
    filter_dp_high_pa: float = Field(
        default=250.0, gt=0, description="change the filter above this (the maker's final drop)"
    )


class Chiller(DeviceBase):
    """A water-cooled chiller (冷水机组) on the building automation system (BACnet)."""

    kind: Literal[DeviceKind.CHILLER]
    leaving_water_setpoint_c: float = Field(default=7.0, ge=3, le=15)
    capacity_kw: float = Field(default=1400.0, gt=0)


Device = Annotated[
    PumpSet
    | Elevator
    | PowerRoom
    | Generator
    | FirePanel
    | Sensor
    | EnergyMeter
    | AirHandler
    | Chiller,
    Field(discriminator="kind"),
]
