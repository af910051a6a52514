"""What the API and the rules engine ask of stored readings, independent of the database.

Times are integer milliseconds since the Unix epoch, UTC, as everywhere in the contract.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import DeviceReading, Quality, Scalar
from estatewatch.errors import EstateWatchError


class ReadingsError(EstateWatchError):
    """The reading store could not answer."""


class StoreUnavailable(ReadingsError):
    """The database is unreachable or overloaded (network error, 5xx, 429): try again later."""


class QueryError(ReadingsError):
    """The database refused the query (a bad name, a missing database, no permission)."""


class Aggregate(StrEnum):
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    LAST = "last"


Source = Literal["raw", "rollup_1m"]
"""Where samples came from: raw points, or 1-minute rollups for ranges beyond the raw
retention (or long enough that rollups answer faster)."""


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointValue(_Result):
    """The latest stored value of one point of one device."""

    point: str
    ts: int
    value: Scalar
    quality: Quality = Quality.GOOD


class Sample(_Result):
    ts: int
    """The point's time; for an aggregate, the start of its window."""
    value: Scalar | None
    quality: Quality = Quality.GOOD


class Series(_Result):
    site: str
    device: str
    point: str
    source: Source
    aggregate: Aggregate | None = None
    window_ms: int | None = None
    samples: list[Sample]


class ReadingStore(Protocol):
    """Stored readings of devices. `InfluxQLStore` implements it for InfluxDB 1.x/2.x/3.x,
    `SqliteReadingStore` over one SQLite file."""

    async def latest(
        self, *, site: str, kind: DeviceKind, device: str, points: list[str] | None = None
    ) -> dict[str, PointValue]:
        """The last value of each point (all stored points of the device when None); a point
        with nothing stored is absent from the result."""
        ...

    async def range(
        self,
        *,
        site: str,
        kind: DeviceKind,
        device: str,
        point: str,
        start: int,
        end: int,
        limit: int = 10_000,
    ) -> Series:
        """Values in `[start, end)`, oldest first, at most `limit`. Raw points while the raw
        retention holds the range; 1-minute means beyond it."""
        ...

    async def aggregate(
        self,
        *,
        site: str,
        kind: DeviceKind,
        device: str,
        point: str,
        start: int,
        end: int,
        window: timedelta,
        fn: Aggregate,
    ) -> Series:
        """`fn` of the point per `window` in `[start, end)`; windows with no data are left
        out. Read from the 1-minute rollups when the window is whole minutes and the range
        is long or older than the raw retention."""
        ...

    async def readings(
        self,
        *,
        site: str,
        kind: DeviceKind,
        start: int,
        end: int,
        device: str | None = None,
        limit: int = 10_000,
    ) -> list[DeviceReading]:
        """Raw readings as the gateway sent them (for replaying rules), oldest first, at
        most `limit`; page on by asking again from the last `ts` + 1."""
        ...
