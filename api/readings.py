"""Latest equipment values, from whatever keeps readings. The API depends only on this small
protocol; `create_app(..., readings=...)` wires an implementation in. Its shape is a subset of
`estatewatch.readings.ReadingStore`, so `InfluxQLStore` fits as it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from estatewatch.config.site import DeviceKind
from estatewatch.contracts.payloads import Scalar


class LatestPoint(Protocol):
    """The newest stored value of one point."""

    @property
    def ts(self) -> int:
        """Epoch milliseconds, UTC."""
        ...

    @property
    def value(self) -> Scalar: ...

    @property
    def quality(self) -> str:
        """good, stale or error, as in the telemetry contract."""
        ...


class LatestReadings(Protocol):
    async def latest(
        self, *, site: str, kind: DeviceKind, device: str, points: list[str] | None = None
    ) -> Mapping[str, LatestPoint]:
        """The last value of each point (all stored points when None); a point with nothing
        stored is absent. Raises an `EstateWatchError` when the store cannot answer."""
        ...
