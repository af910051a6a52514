"""What the pages need to know about a site that the site config holds: buildings and rooms,
devices with their points (units, enum texts), checkpoints, routes, guards and the rounds of
the shift running now and of the next one. Pure: built from a `SiteConfig` and a moment.

Tag UIDs and handheld keys are left out on purpose: a guard who had the UIDs could type a
round in without walking it. A checkpoint carries a `tag_hint` instead, 16 bits of a hash of
its UID, so a phone without signal can name the checkpoint of a scan it keeps (the API's
answer on syncing is what counts); 16 bits tell too little of a UID to forge a scan.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from pydantic import BaseModel, Field, model_validator

from api.domain import patrol as rounds
from api.readings import PointType, point_type
from estatewatch.config import Device, MqttSensor, SiteConfig
from estatewatch.config.names import LocalizedName, name_in
from estatewatch.contracts.payloads import Scalar

KIND_ATTRIBUTES = (
    "pumps",
    "setpoint_mpa",
    "lowest_floor",
    "highest_floor",
    "rated_load_kg",
    "nominal_voltage_v",
    "transformer_kva",
    "rated_kw",
    "sensor_type",
)
"""Per-kind attributes of a device config that a tile shows (set-point, floors...)."""


class Named(BaseModel):
    """`name` as the site file gives it (both languages joined: "Tower 2 car A 2号楼A梯"),
    `name_en` and `name_zh` each language's: a page shows the one of its language."""

    name: str
    name_en: str = ""
    name_zh: str = ""

    @model_validator(mode="before")
    @classmethod
    def _languages(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" in data and "name_zh" not in data:
            name = data["name"]
            data = {**data, "name_en": name_in(name, "en"), "name_zh": name_in(name, "zh-CN")}
        return data


class PointInfo(BaseModel):
    name: str
    unit: str = ""
    type: PointType = "number"
    enum: dict[int, str] | None = None
    """Raw codes to their text in English (the register map's `enum`)."""
    enum_zh: dict[int, str] | None = None
    """The same texts in Chinese."""


def _enums(given: dict[int, LocalizedName] | None) -> dict[str, Any]:
    if given is None:
        return {}
    return {
        "enum": {code: text.en for code, text in given.items()},
        "enum_zh": {code: text.zh for code, text in given.items()},
    }


class DeviceInfo(Named):
    id: str
    kind: str
    building: str
    room: str
    attributes: dict[str, Scalar]
    points: list[PointInfo]


class RoomInfo(Named):
    id: str
    floor: int


class BuildingInfo(Named):
    id: str
    floors: int
    basements: int
    rooms: list[RoomInfo]


class CheckpointInfo(Named):
    id: str
    building: str
    floor: int
    location: str
    category: str
    tag_hint: str | None = Field(
        description="`tag_hint(site, tag_uid)`: names an offline scan's checkpoint on the "
        "phone; None when another checkpoint of the site has the same hint"
    )


class RouteInfo(Named):
    id: str
    checkpoints: list[str]
    ordered: bool


class GuardInfo(Named):
    id: str
    handheld: str | None


class ShiftInfo(Named):
    id: str
    date: date
    start: datetime
    end: datetime


class RoundInfo(BaseModel):
    shift: str
    route: str
    route_name: str
    route_name_en: str = ""
    route_name_zh: str = ""
    start: datetime
    end: datetime
    checkpoints: list[str]
    ordered: bool


class SiteLayout(Named):
    id: str
    timezone: str
    buildings: list[BuildingInfo]
    devices: list[DeviceInfo]
    checkpoints: list[CheckpointInfo]
    routes: list[RouteInfo]
    guards: list[GuardInfo]
    shift: ShiftInfo | None
    rounds: list[RoundInfo]
    guard_report_interval_s: float


class Layout(BaseModel):
    now: datetime
    sites: list[SiteLayout]
    notifying: bool = Field(
        description="the API runs its notifier: without one nobody is told of an alarm, no "
        "escalation or emergency plan runs, and the duty board says so"
    )


def _points(config: SiteConfig, device: Device) -> list[PointInfo]:
    if isinstance(device.connection, MqttSensor):
        return [
            PointInfo(name=p.name, unit=p.unit, type=point_type(p.name, p.type, coded=False))
            for p in device.connection.points
        ]
    register_map = config.register_maps.get(device.register_map or "")
    if register_map is None:
        return []
    return [
        PointInfo(
            name=p.name,
            unit=p.unit,
            type=point_type(p.name, p.type.value, coded=bool(p.enum)),
            **_enums(p.enum),
        )
        for p in register_map.points
    ]


def _device(config: SiteConfig, device: Device) -> DeviceInfo:
    attributes: dict[str, Scalar] = {}
    for name in KIND_ATTRIBUTES:
        value = getattr(device, name, None)
        if isinstance(value, bool | int | float | str):
            attributes[name] = value
    return DeviceInfo(
        id=device.id,
        name=device.name,
        kind=device.kind,
        building=device.building,
        room=device.room,
        attributes=attributes,
        points=_points(config, device),
    )


def _rounds(
    config: SiteConfig, now: datetime, tz: tzinfo
) -> tuple[ShiftInfo | None, list[RoundInfo]]:
    """The shift running at `now` and the rounds of it and of the shift after it, so a
    guard's phone that loses signal near the change of shift still knows what comes next."""
    current = rounds.shift_of(config, now, tz)
    if current is None:
        return None, []
    shift, day = current
    start, end = rounds.shift_bounds(shift, day, tz)
    info = ShiftInfo(id=shift.id, name=shift.name, date=day, start=start, end=end)
    shifts = [(shift, day)]
    following = rounds.shift_of(config, end, tz)
    if following is not None and following != current:
        shifts.append(following)
    found = [
        RoundInfo(
            shift=s.id,
            route=r.route,
            route_name=r.route_name,
            route_name_en=name_in(r.route_name, "en"),
            route_name_zh=name_in(r.route_name, "zh-CN"),
            start=r.start,
            end=r.end,
            checkpoints=list(r.checkpoints),
            ordered=r.ordered,
        )
        for s, d in shifts
        for r in rounds.rounds_of_shift(config, s, d, tz)
    ]
    return info, found


FNV_OFFSET, FNV_PRIME = 0x811C9DC5, 0x01000193


def tag_hint(site: str, tag_uid: str) -> str:
    """4 hex digits: the low 16 bits of FNV-1a (32-bit) over "site:TAG_UID" — the same sum
    `tagHint` in js/lib/names.js computes on the phone (no Web Crypto on a LAN's plain
    http)."""
    value = FNV_OFFSET
    for byte in f"{site}:{tag_uid}".encode():
        value = ((value ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return f"{value & 0xFFFF:04x}"


def _tag_hints(config: SiteConfig) -> dict[str, str | None]:
    """Each checkpoint's hint, None for hints two checkpoints share (a guess would be
    wrong half the time)."""
    hints = {c.id: tag_hint(config.site.id, c.tag_uid) for c in config.checkpoints}
    shared = {h for h in hints.values() if list(hints.values()).count(h) > 1}
    return {cp: (None if h in shared else h) for cp, h in hints.items()}


def site_layout(config: SiteConfig, *, now: datetime, tz: tzinfo) -> SiteLayout:
    shift, found = _rounds(config, now, tz)
    hints = _tag_hints(config)
    return SiteLayout(
        id=config.site.id,
        name=config.site.name,
        timezone=config.site.timezone,
        buildings=[
            BuildingInfo(
                id=b.id,
                name=b.name,
                floors=b.floors,
                basements=b.basements,
                rooms=[RoomInfo(id=r.id, name=r.name, floor=r.floor) for r in b.rooms],
            )
            for b in config.buildings
        ],
        devices=[_device(config, d) for d in config.devices],
        checkpoints=[
            CheckpointInfo(
                id=c.id,
                name=c.name,
                building=c.building,
                floor=c.floor,
                location=c.location,
                category=c.category,
                tag_hint=hints[c.id],
            )
            for c in config.checkpoints
        ],
        routes=[
            RouteInfo(id=r.id, name=r.name, checkpoints=list(r.checkpoints), ordered=r.ordered)
            for r in config.routes
        ],
        guards=[GuardInfo(id=g.id, name=g.name, handheld=g.handheld) for g in config.guards],
        shift=shift,
        rounds=found,
        guard_report_interval_s=config.sla.guard_report_interval / timedelta(seconds=1),
    )
