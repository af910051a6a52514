"""The site configuration: one YAML file describes an estate."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Self

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from estatewatch.config.bacnet import BacnetPort
from estatewatch.config.base import Identifier, StrictModel
from estatewatch.config.calendar import SlaPolicy
from estatewatch.config.devices import (
    AirHandler,
    Chiller,
    Device,
    Elevator,
    EnergyMeter,
    FirePanel,
    Generator,
    PowerRoom,
    PumpSet,
    Sensor,
)
from estatewatch.config.emergency import EmergencyPlan
from estatewatch.config.names import LocalizedName
from estatewatch.config.notify import NotifyConfig
from estatewatch.config.patrol import (
    Checkpoint,
    Guard,
    Handheld,
    PatrolRoute,
    RosterEntry,
    Shift,
)
from estatewatch.config.registers import RegisterMap
from estatewatch.durations import Duration

# --- the estate ----------------------------------------------------------------------------


Problem = tuple[tuple[str | int, ...], str]
"""A field's path in the site file, and what is wrong there."""


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
