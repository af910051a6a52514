"""How the embedded store keeps readings in one SQLite file: the tables, and points (as
ingest writes them to InfluxDB, see `estatewatch.readings.schema`) turned into their rows.
Pure: no I/O, table-tested.

    series          one row per (site, kind, device, point): an integer id, with the device's
                    building and room (the InfluxDB tags that are not part of the key here)
    readings        (series, ts) -> value, quality; the primary key is the only index, and it
                    serves `latest` (backwards from the newest ts) and `range` (one slice)
    device_status   (site, device, ts) -> the status fields of `DeviceStatus`
    gateway_health  (site, gateway, ts) -> the numbers of `GatewayHealth`, as JSON

The key of a reading is InfluxDB's (series, time): a replayed reading writes the same rows
again and overwrites itself, so at-least-once delivery is exactly-once in effect. Like an
InfluxDB point, a row merges: a write that carries only a value (or only a quality mark)
leaves the other as it was.

Values keep their type (a STRICT table with an ANY column): numbers are REAL, booleans
INTEGER 0/1 (the only integers stored), text TEXT. A point's quality is NULL when good.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import Quality, Scalar
from estatewatch.readings.schema import (
    DEVICE_STATUS,
    GATEWAY_HEALTH,
    HEALTH_TAGS,
    QUALITY_SUFFIX,
    READING_TAGS,
    STATUS_TAGS,
)
from estatewatch.readings.store import ReadingsError

SCHEMA_VERSION = 1

DDL = (
    """CREATE TABLE IF NOT EXISTS series (
        id INTEGER PRIMARY KEY,
        site TEXT NOT NULL,
        kind TEXT NOT NULL,
        device TEXT NOT NULL,
        point TEXT NOT NULL,
        building TEXT NOT NULL,
        room TEXT NOT NULL,
        UNIQUE (site, kind, device, point)
    ) STRICT""",
    """CREATE TABLE IF NOT EXISTS readings (
        series INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        value ANY,
        quality TEXT,
        PRIMARY KEY (series, ts)
    ) STRICT, WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS device_status (
        site TEXT NOT NULL,
        device TEXT NOT NULL,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        building TEXT NOT NULL,
        room TEXT NOT NULL,
        state TEXT NOT NULL,
        since INTEGER,
        last_seen INTEGER,
        consecutive_failures INTEGER,
        error_kind TEXT,
        error_code INTEGER,
        error_message TEXT,
        gateway TEXT,
        PRIMARY KEY (site, device, ts)
    ) STRICT, WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS gateway_health (
        site TEXT NOT NULL,
        gateway TEXT NOT NULL,
        ts INTEGER NOT NULL,
        fields TEXT NOT NULL,
        PRIMARY KEY (site, gateway, ts)
    ) STRICT, WITHOUT ROWID""",
)

UPSERT_SERIES = """
    INSERT INTO series (site, kind, device, point, building, room) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (site, kind, device, point)
    DO UPDATE SET building = excluded.building, room = excluded.room
    RETURNING id"""

UPSERT_READING = """
    INSERT INTO readings (series, ts, value, quality) VALUES (?, ?, ?, ?)
    ON CONFLICT (series, ts) DO UPDATE SET
        value = coalesce(excluded.value, value),
        quality = coalesce(excluded.quality, quality)"""

STATUS_COLUMNS = (
    "state",
    "since",
    "last_seen",
    "consecutive_failures",
    "error_kind",
    "error_code",
    "error_message",
    "gateway",
)
_STATUS_INTS = frozenset({"since", "last_seen", "consecutive_failures", "error_code"})
_STATUS_KEY = ("site", "device", "ts", "kind", "building", "room")
UPSERT_STATUS = (
    f"INSERT INTO device_status ({', '.join(_STATUS_KEY + STATUS_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(_STATUS_KEY) + len(STATUS_COLUMNS)))}) "
    "ON CONFLICT (site, device, ts) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ("kind", "building", "room", *STATUS_COLUMNS))
)

UPSERT_HEALTH = """
    INSERT INTO gateway_health (site, gateway, ts, fields) VALUES (?, ?, ?, ?)
    ON CONFLICT (site, gateway, ts) DO UPDATE SET fields = excluded.fields"""

_KINDS = frozenset(k.value for k in DeviceKind)
_MARKS = frozenset(q.value for q in Quality)


class Point(NamedTuple):
    """One point as line protocol carries it (what `ingest.lineparse` reads)."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, Scalar]
    ts: int


class PointRejected(ReadingsError):
    """A point that does not fit the schema (an unknown measurement, a missing tag, a field
    of the wrong type): writing it again cannot help."""


SeriesKey = tuple[str, str, str, str]
"""(site, kind, device, point)."""


@dataclass
class Rows:
    """What a batch of points writes, table by table, in the order of the points."""

    series: dict[SeriesKey, tuple[str, str]] = field(default_factory=dict)
    """Every series the readings use -> its (building, room)."""
    readings: list[tuple[SeriesKey, int, Scalar | None, str | None]] = field(default_factory=list)
    statuses: list[tuple[Any, ...]] = field(default_factory=list)
    health: list[tuple[str, str, int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.readings) + len(self.statuses) + len(self.health)


def _tags(point: Point, names: tuple[str, ...]) -> list[str]:
    if set(point.tags) != set(names):
        raise PointRejected(
            f"{point.measurement} needs exactly the tags {', '.join(names)}, "
            f"not {', '.join(sorted(point.tags)) or 'none'}"
        )
    return [point.tags[n] for n in names]


def _reading_rows(point: Point, rows: Rows) -> None:
    building, device, room, site = _tags(point, READING_TAGS)
    values: dict[str, Scalar | None] = {}
    marks: dict[str, str] = {}
    for name, value in point.fields.items():
        if name.endswith(QUALITY_SUFFIX):
            if not isinstance(value, str) or value not in _MARKS:
                raise PointRejected(f"{name} must be one of {sorted(_MARKS)}, not {value!r}")
            marks[name[: -len(QUALITY_SUFFIX)]] = value
        elif type(value) is int:
            # Numbers are REAL here (an INTEGER reads back as a boolean); line protocol's
            # integers (`12i`) are numbers like the rest.
            values[name] = float(value)
        else:
            values[name] = value
    for name in marks.keys() - values.keys():
        values[name] = None
    for name, stored in values.items():
        key = (site, point.measurement, device, name)
        rows.series[key] = (building, room)
        mark = marks.get(name)
        rows.readings.append((key, point.ts, stored, None if mark == Quality.GOOD else mark))


def _status_row(point: Point) -> tuple[Any, ...]:
    building, device, kind, room, site = _tags(point, STATUS_TAGS)
    unknown = point.fields.keys() - set(STATUS_COLUMNS)
    if unknown:
        raise PointRejected(f"{DEVICE_STATUS} has no field {', '.join(sorted(unknown))}")
    if not isinstance(point.fields.get("state"), str):
        raise PointRejected(f"{DEVICE_STATUS} needs a text field state")
    values: list[Any] = []
    for column in STATUS_COLUMNS:
        value = point.fields.get(column)
        if column in _STATUS_INTS and value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PointRejected(f"{DEVICE_STATUS}.{column} must be a number, not {value!r}")
            value = int(value)
        elif value is not None and not isinstance(value, str):
            raise PointRejected(f"{DEVICE_STATUS}.{column} must be text, not {value!r}")
        values.append(value)
    return (site, device, point.ts, kind, building, room, *values)


def rows_of(points: Iterable[Point]) -> Rows:
    """The rows of `points`, or `PointRejected` naming the first one that does not fit."""
    rows = Rows()
    for point in points:
        if point.measurement in _KINDS:
            _reading_rows(point, rows)
        elif point.measurement == DEVICE_STATUS:
            rows.statuses.append(_status_row(point))
        elif point.measurement == GATEWAY_HEALTH:
            gateway, site = _tags(point, HEALTH_TAGS)
            fields = orjson.dumps(dict(sorted(point.fields.items()))).decode()
            rows.health.append((site, gateway, point.ts, fields))
        else:
            raise PointRejected(f"unknown measurement {point.measurement!r}")
    return rows
