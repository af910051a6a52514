"""How EstateWatch keeps readings in InfluxDB. Ingest writes by these names; the query layer,
the API and the rules engine's replay read by them; nothing else spells a measurement.

Telemetry (one point per `DeviceReading`)
    measurement  the device kind: ``water_pump_set``, ``elevator``, ``power_room``, ...
    tags         ``building``, ``device``, ``room``, ``site`` — config ids, so the number of
                 series is the number of devices (no value, sequence number or text in a tag)
    fields       one per point, named as the point; ``{point}.quality`` = ``"stale"`` or
                 ``"error"`` for a point that was not good (``.`` never occurs in a point name)
    time         the reading's own `ts` (ms), when the gateway read the device, so a replayed
                 reading writes the same series and time again and overwrites itself

Device status: measurement ``device_status``, tags ``building, device, kind, room, site``,
fields ``state``, ``since``, ``last_seen``, ``consecutive_failures``, ``error_kind``,
``error_code``, ``error_message``, ``gateway``; time = the status's `ts`.

Gateway health: measurement ``gateway_health``, tags ``gateway, site``, one field per
number of `GatewayHealth`; time = its `ts`.

Field types — one rule, so a field never changes type (InfluxDB refuses a point whose field
type differs from the shard's with a 400 partial write):
    every number is a float (JSON ``3`` and ``3.0`` are both stored as 3.0),
    booleans are booleans, text is a string; NaN and infinities are not stored.

Retention (InfluxDB 1.x): raw points in the default policy ``raw`` (30 days); a continuous
query keeps 1-minute ``mean_{point}``, ``min_{point}``, ``max_{point}`` in ``rollup_1m``
(2 years) for every device kind. Booleans roll up as min/max (any false / any true); strings
do not roll up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from estatewatch.config.devices import DeviceKind
from estatewatch.readings.quoting import duration, ident, literal

DEVICE_STATUS = "device_status"
GATEWAY_HEALTH = "gateway_health"

READING_TAGS = ("building", "device", "room", "site")
"""Tag keys of a telemetry point, in the sorted order InfluxDB stores them."""
STATUS_TAGS = ("building", "device", "kind", "room", "site")
HEALTH_TAGS = ("gateway", "site")

QUALITY_SUFFIX = ".quality"
ROLLUP_INTERVAL = timedelta(minutes=1)

RollupFn = Literal["mean", "min", "max"]
ROLLUP_FNS: tuple[RollupFn, ...] = ("mean", "min", "max")


def measurement(kind: DeviceKind | str) -> str:
    """The measurement that holds the readings of every device of `kind`."""
    return DeviceKind(kind).value


def device_measurements() -> tuple[str, ...]:
    return tuple(sorted(kind.value for kind in DeviceKind))


def quality_field(point: str) -> str:
    """The string field that says a point was ``stale`` or ``error`` (absent when good)."""
    return point + QUALITY_SUFFIX


def is_quality_field(field: str) -> bool:
    return field.endswith(QUALITY_SUFFIX)


def rollup_field(fn: RollupFn, point: str) -> str:
    """A field of the 1-minute rollup, as InfluxDB names `fn(*)` results: ``mean_{point}``."""
    return f"{fn}_{point}"


@dataclass(frozen=True)
class Retention:
    """Where raw points and rollups live and for how long.

    `raw_policy=None` writes to and reads from the database's default retention policy (an
    InfluxDB 2.x/3.x bucket mapped for the v1 API); `rollup_policy=None` means no rollups:
    the query layer then always reads raw points.
    """

    raw: timedelta = timedelta(days=30)
    rollup: timedelta = timedelta(days=730)
    raw_policy: str | None = "raw"
    rollup_policy: str | None = "rollup_1m"
    resample_for: timedelta = timedelta(minutes=10)
    """Each minute the continuous query recomputes this much of the past, so readings that
    arrive late (a gateway's store-and-forward) still reach the rollup."""

    def __post_init__(self) -> None:
        if self.rollup_policy is not None and self.rollup <= self.raw:
            raise ValueError("rollups must be kept longer than raw points")
        if self.resample_for < ROLLUP_INTERVAL:
            raise ValueError("resample_for must be at least the rollup interval (1m)")


ROLLUP_QUERY = "ew_rollup_1m"
"""Name of the continuous query that fills the rollup policy."""


def _rollup_select(database: str, retention: Retention, where: str = "") -> str:
    assert retention.rollup_policy is not None
    assert retention.raw_policy is not None
    kinds = "|".join(device_measurements())
    aggregates = ", ".join(f"{fn}(*)" for fn in ROLLUP_FNS)
    return (
        f"SELECT {aggregates} INTO {ident(database)}.{ident(retention.rollup_policy)}"
        f".:MEASUREMENT FROM {ident(database)}.{ident(retention.raw_policy)}./^({kinds})$/"
        f"{where} GROUP BY time({duration(ROLLUP_INTERVAL)}), *"
    )


def setup_statements(database: str, retention: Retention) -> list[str]:
    """InfluxQL that creates the database, its retention policies and the rollup continuous
    query (InfluxDB 1.x). Each statement is safe to run again: see `InfluxQLStore.setup`."""
    db = ident(database)
    out = [f"CREATE DATABASE {db}"]
    if retention.raw_policy is not None:
        out.append(
            f"CREATE RETENTION POLICY {ident(retention.raw_policy)} ON {db} "
            f"DURATION {duration(retention.raw)} REPLICATION 1 DEFAULT"
        )
    if retention.rollup_policy is not None and retention.raw_policy is not None:
        out.append(
            f"CREATE RETENTION POLICY {ident(retention.rollup_policy)} ON {db} "
            f"DURATION {duration(retention.rollup)} REPLICATION 1"
        )
        out.append(
            f"CREATE CONTINUOUS QUERY {ident(ROLLUP_QUERY)} ON {db} "
            f"RESAMPLE EVERY {duration(ROLLUP_INTERVAL)} FOR {duration(retention.resample_for)} "
            f"BEGIN {_rollup_select(database, retention)} END"
        )
    return out


def alter_policy_statement(database: str, policy: str, keep: timedelta, default: bool) -> str:
    """Bring an existing retention policy to the configured duration."""
    suffix = " DEFAULT" if default else ""
    return (
        f"ALTER RETENTION POLICY {ident(policy)} ON {ident(database)} "
        f"DURATION {duration(keep)}{suffix}"
    )


def backfill_statement(database: str, retention: Retention, start_ms: int, end_ms: int) -> str:
    """The rollup for `[start_ms, end_ms)`, recomputed: for readings that arrived later than
    `resample_for` (a gateway that was offline for hours) or data written before setup."""
    where = f" WHERE time >= {start_ms}ms AND time < {end_ms}ms"
    return _rollup_select(database, retention, where)


def tag_filter(**tags: str) -> str:
    """``"device" = 'pump-1' AND "site" = 'harbour-view'`` for the given tags, sorted."""
    return " AND ".join(f"{ident(k)} = {literal(v)}" for k, v in sorted(tags.items()))
