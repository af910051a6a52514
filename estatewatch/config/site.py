"""The site configuration: one YAML file describes an estate."""

from __future__ import annotations

from datetime import date, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from estatewatch.config.bacnet import Bacnet, BacnetPort
from estatewatch.config.base import Identifier, PointName, StrictModel
from estatewatch.config.emergency import EmergencyPlan
from estatewatch.config.names import LocalizedName
from estatewatch.config.notify import NotifyConfig
from estatewatch.config.registers import RegisterMap
from estatewatch.config.report import ReportOptions
from estatewatch.dlt645 import IDENTIFIERS, parse_identifier
from estatewatch.durations import Duration

Problem = tuple[tuple[str | int, ...], str]
"""A field's path in the site file, and what is wrong there."""


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


# --- the estate ----------------------------------------------------------------------------


class Room(StrictModel):
    id: Identifier
    name: LocalizedName
    floor: int = 1


class Building(StrictModel):
    id: Identifier
    name: LocalizedName
    floors: int = Field(default=1, ge=1)
    basements: int = Field(default=0, ge=0)
    rooms: list[Room] = Field(default_factory=list)


class Checkpoint(StrictModel):
    """An NFC tag fixed at a patrol point."""

    id: Identifier
    tag_uid: Annotated[str, Field(pattern=r"^[0-9A-F]{8,20}$")] = Field(
        description="the tag's UID in upper-case hex, as a reader reports it"
    )
    name: LocalizedName
    building: Identifier
    floor: int = 1
    location: str = ""
    category: Literal[
        "public_area", "equipment_room", "fire_facility", "elevator", "power_room", "perimeter"
    ] = "public_area"
    sun_key_ref: str | None = Field(
        default=None,
        description="environment variable holding the tag's NTAG 424 DNA SDM key (32 hex "
        "digits), if it is one: its scans must then carry a SUN message that verifies",
    )

    @model_validator(mode="after")
    def _sun_tag_uid(self) -> Self:
        if self.sun_key_ref is not None and len(self.tag_uid) != 14:
            raise ValueError("an NTAG 424 DNA tag (sun_key_ref) has a 7-byte UID: 14 hex digits")
        return self


class Shift(StrictModel):
    id: Identifier
    name: LocalizedName
    start: time
    end: time = Field(description="may be earlier than start: the shift crosses midnight")


class PatrolWindow(StrictModel):
    """A round of a route: starts at `start` (site local time) and must be done within
    `duration`; checkpoint `i` is due by `start + i * spacing` when spacing is given."""

    start: time
    duration: Duration = timedelta(minutes=60)


class RouteSchedule(StrictModel):
    shift: Identifier
    windows: list[PatrolWindow] = Field(min_length=1)


class PatrolRoute(StrictModel):
    id: Identifier
    name: LocalizedName
    checkpoints: list[Identifier] = Field(min_length=1, description="in patrol order")
    schedule: list[RouteSchedule] = Field(min_length=1)
    ordered: bool = Field(default=True, description="out-of-order scans are exceptions")
    min_transit: Duration = Field(
        default=timedelta(seconds=20),
        description="faster than this between two checkpoints is impossible (cloned tag)",
    )


class RosterEntry(StrictModel):
    """`person` works `shift` on `weekdays` (0 = Monday, the shift's start day) as `role`:
    the duty roster (排班). A guard's `person` is a guard id of `guards`."""

    role: Literal["guard", "duty_engineer", "technician"]
    person: Identifier
    shift: Identifier
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(default=[0, 1, 2, 3, 4, 5, 6])


class Guard(StrictModel):
    id: Identifier
    name: LocalizedName
    handheld: Identifier | None = None


class Handheld(StrictModel):
    id: Identifier
    key_ref: str | None = Field(default=None, description="secret name of its HMAC scan key")


class CalendarYear(StrictModel):
    """One year's public holidays as the State Council publishes them (国务院办公厅关于部分
    节假日安排的通知, usually in November for the next year)."""

    holidays: list[date] = Field(
        default_factory=list, description="days off: the holidays and the days bridged to them"
    )
    workdays: list[date] = Field(
        default_factory=list, description="make-up working days (调休上班), usually a weekend"
    )


class CalendarOverride(StrictModel):
    """A site's own calendar: years the holiday library does not know yet (or corrects),
    and the site's local days off. This is also the model of the per-site calendar file."""

    years: dict[int, CalendarYear] = Field(default_factory=dict)
    days_off: list[date] = Field(
        default_factory=list, description="the site's own days off (a local holiday)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for year, schedule in self.years.items():
            for day in [*schedule.holidays, *schedule.workdays]:
                if day.year != year:
                    raise ValueError(f"years.{year}: {day.isoformat()} is not in {year}")
            both = set(schedule.holidays) & set(schedule.workdays)
            if both:
                raise ValueError(
                    f"years.{year}: {min(both).isoformat()} is both a holiday and a workday"
                )
        return self


class WorkCalendarConfig(CalendarOverride):
    """Which days are working days (docs/configuration.md#working-days)."""

    public_holidays: Literal["cn", "none"] = Field(
        default="cn",
        description="cn: mainland China's public holidays and make-up working days from the "
        "chinese-calendar library; none: the weekly working_days only",
    )
    file: str | None = Field(
        default=None,
        description="a YAML calendar file (years, days_off), relative to the site file; "
        "merged with the years and days_off given here",
    )

    def merged(self, other: CalendarOverride) -> WorkCalendarConfig:
        """This config with `other`'s years and days off added (this config's own years
        win over the file's for the same year)."""
        return self.model_copy(
            update={
                "years": {**other.years, **self.years},
                "days_off": sorted({*other.days_off, *self.days_off}),
            }
        )


class SlaPolicy(StrictModel):
    """The service standards of domain.md; every figure is the industry default and may be
    set per site."""

    urgent_response: Duration = timedelta(minutes=15)
    dispatch: Duration = timedelta(minutes=30)
    entrapment_on_site: Duration = timedelta(minutes=30)
    general_progress: Duration = timedelta(hours=24)
    callback: Duration = timedelta(hours=24)
    urgent_completion: Duration = Field(
        default=timedelta(hours=4),
        description="an urgent order's expected completion when accepted without a done_by",
    )
    general_completion: Duration = Field(
        default=timedelta(hours=72),
        description="a general order's expected completion when accepted without a done_by",
    )
    requester_answer_working_days: int = Field(
        default=2, ge=1, description="whatever happens, the requester hears back (every kind)"
    )
    complaint_feedback_working_days: int | None = Field(
        default=None, ge=1, description="None: requester_answer_working_days"
    )
    immediate_finding_fix: Duration = timedelta(hours=1)
    guard_report_interval: Duration = timedelta(hours=1)
    coordination_department: str = Field(
        default="management",
        min_length=1,
        max_length=64,
        description="the department a needs-coordination finding (需协调) is routed to",
    )
    coordination_answer: Duration = Field(
        default=timedelta(hours=24),
        description="a needs-coordination finding taken on (accepted) by its department",
    )
    emergency_review: Duration = timedelta(hours=24)
    quality_sample_percent: float = Field(default=20.0, gt=0, le=100)
    working_days: list[int] = Field(
        default=[0, 1, 2, 3, 4], description="ISO weekday numbers from 0 = Monday"
    )
    calendar: WorkCalendarConfig = WorkCalendarConfig()


class GatewayConfig(StrictModel):
    id: Identifier
    buffer_path: str = "estatewatch-gateway.db"
    buffer_max_mb: float = Field(default=512, gt=0)
    buffer_max_age: Duration = timedelta(days=7)
    health_interval: Duration = timedelta(seconds=30)
    max_gap_registers: int = Field(
        default=8, ge=0, le=124, description="largest gap a coalesced read bridges"
    )
    report_by_exception: bool = Field(
        default=False,
        description="send every polled point only on a change (beyond its deadband, if it"
        " has one) or after its max_silence; points with a deadband do so anyway",
    )
    bacnet: BacnetPort = Field(
        default_factory=BacnetPort, description="the gateway's BACnet/IP port (BACnet devices)"
    )


def _time_zone(name: str) -> str:
    """An IANA time zone this machine knows: the rules engine, the API and the simulators
    all convert to it, and would otherwise refuse it only when they start."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)"
        ) from None
    return name


class SiteInfo(StrictModel):
    id: Identifier
    name: LocalizedName
    timezone: Annotated[str, AfterValidator(_time_zone)] = "Asia/Shanghai"


class SiteConfig(StrictModel):
    """Everything EstateWatch knows about one estate."""

    site: SiteInfo
    gateway: GatewayConfig
    buildings: list[Building] = Field(min_length=1)
    register_maps: dict[Identifier, RegisterMap] = Field(default_factory=dict)
    devices: list[Device] = Field(default_factory=list)
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    shifts: list[Shift] = Field(default_factory=list)
    routes: list[PatrolRoute] = Field(default_factory=list)
    guards: list[Guard] = Field(default_factory=list)
    handhelds: list[Handheld] = Field(default_factory=list)
    roster: list[RosterEntry] = Field(
        default_factory=list,
        description="who works which shift; a rostered guard owes the hourly report from "
        "the start of the shift",
    )
    sla: SlaPolicy = SlaPolicy()
    notifications: NotifyConfig = NotifyConfig()
    emergency_plans: list[EmergencyPlan] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Self:
        # The file loader checks references itself, so it can point at their lines.
        if info.context and info.context.get("defer_references"):
            return self
        problems = self.reference_problems()
        if problems:
            raise ValueError(
                "; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems)
            )
        return self

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Cross-references that do not resolve, each with the path of the field at fault."""
        problems: list[Problem] = []

        def unique(section: str, ids: list[str], field: str = "id") -> set[str]:
            seen: set[str] = set()
            for index, item in enumerate(ids):
                if item in seen:
                    problems.append(((section, index, field), f"{item!r} is used twice"))
                seen.add(item)
            return seen

        unique("buildings", [b.id for b in self.buildings])
        unique("devices", [d.id for d in self.devices])
        cps = unique("checkpoints", [c.id for c in self.checkpoints])
        unique("checkpoints", [c.tag_uid for c in self.checkpoints], "tag_uid")
        shifts = unique("shifts", [s.id for s in self.shifts])
        unique("routes", [r.id for r in self.routes])
        handhelds = unique("handhelds", [h.id for h in self.handhelds])
        problems += self._place_problems()
        problems += self._feed_problems()
        problems += self._route_problems(cps, shifts)
        for i, entry in enumerate(self.notifications.oncall):
            if entry.shift not in shifts:
                problems.append(
                    (("notifications", "oncall", i, "shift"), f"unknown shift {entry.shift!r}")
                )
        guards = {g.id for g in self.guards}
        for i, rostered in enumerate(self.roster):
            if rostered.shift not in shifts:
                problems.append((("roster", i, "shift"), f"unknown shift {rostered.shift!r}"))
            if rostered.role == "guard" and rostered.person not in guards:
                problems.append((("roster", i, "person"), f"unknown guard {rostered.person!r}"))
        for i, guard in enumerate(self.guards):
            if guard.handheld and guard.handheld not in handhelds:
                problems.append((("guards", i, "handheld"), f"unknown handheld {guard.handheld!r}"))
        return problems

    def _place_problems(self) -> list[Problem]:
        """Devices and checkpoints in buildings and rooms the site does not have."""
        problems: list[Problem] = []
        rooms = {(b.id, r.id) for b in self.buildings for r in b.rooms}
        buildings = {b.id for b in self.buildings}
        for i, device in enumerate(self.devices):
            if device.building not in buildings:
                problems.append(
                    (("devices", i, "building"), f"unknown building {device.building!r}")
                )
            elif (device.building, device.room) not in rooms:
                problems.append(
                    (
                        ("devices", i, "room"),
                        f"building {device.building!r} has no room {device.room!r}",
                    )
                )
            if device.register_map and device.register_map not in self.register_maps:
                problems.append(
                    (
                        ("devices", i, "register_map"),
                        f"unknown register map {device.register_map!r}",
                    )
                )
        for i, cp in enumerate(self.checkpoints):
            if cp.building not in buildings:
                problems.append(
                    (("checkpoints", i, "building"), f"unknown building {cp.building!r}")
                )
        return problems

    def _feed_problems(self) -> list[Problem]:
        """Power rooms feeding, and generators backing, what the site does not have."""
        problems: list[Problem] = []
        rooms = {(b.id, r.id) for b in self.buildings for r in b.rooms}
        buildings = {b.id for b in self.buildings}
        devices = {d.id: d for d in self.devices}
        for i, device in enumerate(self.devices):
            if isinstance(device, PowerRoom):
                feeds = device.feeds
                for j, b in enumerate(feeds.buildings):
                    if b not in buildings:
                        problems.append(
                            (("devices", i, "feeds", "buildings", j), f"unknown building {b!r}")
                        )
                for j, ref in enumerate(feeds.rooms):
                    if (ref.building, ref.room) not in rooms:
                        problems.append(
                            (
                                ("devices", i, "feeds", "rooms", j),
                                f"unknown room {ref.building}/{ref.room}",
                            )
                        )
                for j, d in enumerate(feeds.devices):
                    if d not in devices:
                        problems.append(
                            (("devices", i, "feeds", "devices", j), f"unknown device {d!r}")
                        )
            if isinstance(device, Generator):
                for j, d in enumerate(device.backs):
                    if not isinstance(devices.get(d), PowerRoom):
                        problems.append((("devices", i, "backs", j), f"no power room {d!r}"))
        return problems

    def _route_problems(self, cps: set[str], shifts: set[str]) -> list[Problem]:
        """Routes through unknown checkpoints or shifts, and checkpoints on no route."""
        problems: list[Problem] = []
        on_a_route: set[str] = set()
        for i, route in enumerate(self.routes):
            for j, cp_id in enumerate(route.checkpoints):
                if cp_id not in cps:
                    problems.append(
                        (("routes", i, "checkpoints", j), f"unknown checkpoint {cp_id!r}")
                    )
                on_a_route.add(cp_id)
            for j, sched in enumerate(route.schedule):
                if sched.shift not in shifts:
                    problems.append(
                        (("routes", i, "schedule", j, "shift"), f"unknown shift {sched.shift!r}")
                    )
        # domain.md: routes must leave no blind spot.
        for i, cp in enumerate(self.checkpoints):
            if cp.id not in on_a_route:
                problems.append(
                    (("checkpoints", i, "id"), f"{cp.id!r} is on no route (a blind spot)")
                )
        return problems

    # Lookups used by every component.
    def device(
        self, device_id: str
    ) -> (
        PumpSet
        | Elevator
        | PowerRoom
        | Generator
        | FirePanel
        | Sensor
        | EnergyMeter
        | AirHandler
        | Chiller
    ):
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    def fed_by(self, device_id: str) -> list[str]:
        """The power rooms that feed a device (by building, room or name), itself excluded."""
        device = self.device(device_id)
        # A generator's controller runs off its starter battery, a sensor off its own
        # battery: they are fed only where a power room names them.
        by_place = not isinstance(device, Generator | Sensor | PowerRoom)
        found = []
        for room in self.devices:
            if not isinstance(room, PowerRoom) or room.id == device_id:
                continue
            feeds = room.feeds
            in_place = device.building in feeds.buildings or any(
                r.building == device.building and r.room == device.room for r in feeds.rooms
            )
            if device_id in feeds.devices or (by_place and in_place):
                found.append(room.id)
        return found

    def register_map_of(self, device_id: str) -> RegisterMap:
        name = self.device(device_id).register_map
        if name is None:
            raise KeyError(f"{device_id} has no register map")
        return self.register_maps[name]

    def checkpoint_by_tag(self, tag_uid: str) -> Checkpoint | None:
        tag = tag_uid.upper()
        for cp in self.checkpoints:
            if cp.tag_uid == tag:
                return cp
        return None
