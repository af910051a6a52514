"""Fixtures of the reading-store tests: the same data written through ingest's sinks into
each store — InfluxDB (the session's real influxd) and the embedded SQLite file — so one
test checks that both answer alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from estatewatch.readings import InfluxConnection, InfluxQLStore, ReadingStore
from estatewatch.readings.sqlite import SqliteReadingStore
from estatewatch.testing.services import InfluxDB, free_port
from ingest.sinks import SinkSettings, make_sink
from tests.ingest.helpers import now_ms

SITE = "hv"
MINUTE = 60_000
T0 = (now_ms() // (10 * MINUTE) - 6) * 10 * MINUTE
"""About an hour ago (inside InfluxDB's raw retention), on a 10-minute boundary."""


def telemetry_lines() -> bytes:
    """pump-1: x = 0..17 every 10 s (the last one stale), `running` alternating, and a
    quality mark alone for `y`; pump-2: one reading."""
    lines = []
    for k in range(18):
        quality = ',x.quality="stale"' if k == 17 else ""
        running = "true" if k % 2 else "false"
        lines.append(
            f"water_pump_set,building=b,device=pump-1,room=r,site={SITE} "
            f"x={k}.0,running={running}{quality} {T0 + k * 10_000}"
        )
    lines.append(f"water_pump_set,building=b,device=pump-2,room=r,site={SITE} x=500.0 {T0}")
    lines.append(
        f"water_pump_set,building=b,device=pump-1,room=r,site={SITE} "
        f'y.quality="error" {T0 + 170_000}'
    )
    lines.append(
        f'water_pump_set,building=b,device=pump-1,room=r,site={SITE} mode="auto" {T0 + 20_000}'
    )
    return "\n".join(lines).encode()


@dataclass
class Case:
    """A store, and how to write into it through ingest's sink."""

    store: SqliteReadingStore | InfluxQLStore
    flavour: str
    settings: SinkSettings

    async def write(self, lines: bytes) -> None:
        sink = make_sink(self.flavour, self.settings)
        try:
            await sink.write(lines)
        finally:
            await sink.aclose()


@pytest.fixture(params=["sqlite", "influxql"])
async def case(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Case]:
    """A store of each kind holding `telemetry_lines()`, written through ingest's sink."""
    opened: SqliteReadingStore | InfluxQLStore
    if request.param == "sqlite":
        path = tmp_path / "readings.db"
        opened = SqliteReadingStore(path)
        settings = SinkSettings(sqlite_path=str(path))
    else:
        influxdb: InfluxDB = request.getfixturevalue("influxdb")
        db = f"contract_{free_port()}"
        opened = InfluxQLStore(InfluxConnection(influxdb.url, db))
        settings = SinkSettings(url=influxdb.url, database=db, retention_policy="raw")
    async with opened:
        if isinstance(opened, InfluxQLStore):
            await opened.setup()
        found = Case(opened, "sqlite" if request.param == "sqlite" else "v1", settings)
        await found.write(telemetry_lines())
        yield found


@pytest.fixture
def store(case: Case) -> ReadingStore:
    return case.store
