"""Stored readings for the API: the store `EW_READINGS_URL` names, and a device's points.

The API depends only on `estatewatch.readings.ReadingStore`; `create_app(..., readings=...)`
passes one in (tests, embedding), or `store_for(settings)` opens the one the settings name:

    sqlite:PATH                   the embedded SQLite file ingest writes (`ingest --sqlite`)
    http(s)://HOST:PORT           InfluxDB's InfluxQL endpoint (1.x; 2.x/3.x v1 API), with
                                  EW_READINGS_DATABASE, _USERNAME/_PASSWORD or _TOKEN
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from api.domain import oplog
from api.domain.errors import InvalidInput, NotFound, Unavailable
from api.settings import Settings
from estatewatch.clock import Clock
from estatewatch.config import SiteConfig
from estatewatch.config.devices import Device, DeviceKind
from estatewatch.config.registers import DataType
from estatewatch.readings import (
    Aggregate,
    InfluxConnection,
    InfluxQLStore,
    ReadingStore,
    Retention,
    Series,
)
from estatewatch.readings.sqlite import SqliteReadingStore

if TYPE_CHECKING:
    from api.runtime import Runtime

SQLITE_PREFIX = "sqlite:"

PointType = Literal["number", "bool", "text", "state"]
"""`state`: numbers that are codes or states (`api.domain.oplog.is_state`), never averaged."""


def store_for(settings: Settings, clock: Clock) -> SqliteReadingStore | InfluxQLStore | None:
    """The store the settings name (not yet opened), or None without `readings_url`."""
    url = settings.readings_url
    if url is None:
        return None
    if url.startswith(SQLITE_PREFIX):
        path = url.removeprefix(SQLITE_PREFIX).removeprefix("//")
        return SqliteReadingStore(path, clock=clock)
    secret = settings.readings_password or None
    token = settings.readings_token or None
    connection = InfluxConnection(
        url=url,
        database=settings.readings_database,
        username=settings.readings_username,
        password=secret.get_secret_value() if secret else None,
        token=token.get_secret_value() if token else None,
    )
    raw, rollup = settings.readings_raw_policy, settings.readings_rollup_policy
    retention = Retention(raw_policy=raw, rollup_policy=rollup if raw else None)
    return InfluxQLStore(connection, retention=retention, clock=clock)


@dataclass(frozen=True)
class PointInfo:
    """A point as the site config describes it."""

    name: str
    unit: str = ""
    description: str = ""
    type: PointType = "number"


_TYPES: dict[str, PointType] = {
    DataType.BOOL: "bool",
    DataType.STRING: "text",
    "bool": "bool",
    "string": "text",
}


def device_points(config: SiteConfig, device: str) -> list[PointInfo]:
    """The device's points in config order: its register map's (Modbus) or its MQTT
    sensor's; empty when the config does not say (the store's points are used then)."""
    found = config.device(device)
    if found.register_map is not None:
        return [
            PointInfo(p.name, p.unit, p.description, point_type(p.name, p.type, coded=bool(p.enum)))
            for p in config.register_maps[found.register_map].points
        ]
    connection = found.connection
    if connection.protocol == "mqtt":
        return [
            PointInfo(p.name, p.unit, "", point_type(p.name, p.type, coded=False))
            for p in connection.points
        ]
    return []


def point_type(name: str, declared: str, *, coded: bool) -> PointType:
    """bool, text, state (a number that is a code or a state) or number."""
    found = _TYPES.get(declared)
    if found is not None:
        return found
    return "state" if oplog.is_state(name, coded=coded) else "number"


@dataclass(frozen=True)
class Target:
    """The device a readings request is about, found in its site's config."""

    site: str
    config: SiteConfig
    device: Device
    store: ReadingStore

    @property
    def kind(self) -> DeviceKind:
        return DeviceKind(self.device.kind)

    def points(self) -> list[PointInfo]:
        return device_points(self.config, self.device.id)

    async def range(self, point: str, start: int, end: int, limit: int = 10_000) -> Series:
        return await self.store.range(
            site=self.site, kind=self.kind, device=self.device.id, point=point,
            start=start, end=end, limit=limit,
        )  # fmt: skip

    async def aggregate(
        self, point: str, start: int, end: int, window: timedelta, fn: Aggregate
    ) -> Series:
        return await self.store.aggregate(
            site=self.site, kind=self.kind, device=self.device.id, point=point,
            start=start, end=end, window=window, fn=fn,
        )  # fmt: skip


def find_device(runtime: Runtime, site: str | None, device: str) -> Target:
    """The site (the only one served when not given) and its device; 404 for a device the
    site's config does not have, 503 without a readings store."""
    if site is None:
        if len(runtime.sites.ids) != 1:
            raise InvalidInput("give site: this API serves several sites", field="site")
        site = runtime.sites.ids[0]
    config = runtime.sites.config(site)
    try:
        found = config.device(device) if config else None
    except KeyError:
        found = None
    if config is None or found is None:
        raise NotFound(f"{site!r} has no device {device!r}", field="device")
    if runtime.readings is None:
        raise Unavailable("no readings store is wired into this API", field="device")
    return Target(site, config, found, runtime.readings)
