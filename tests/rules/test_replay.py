"""Replay: a rule file over stored history prints what would have fired, from a JSON-lines
file and from a real InfluxDB (through `estatewatch.readings.InfluxQLStore`)."""

from __future__ import annotations

import asyncio
import urllib.request
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from estatewatch.cli import main
from estatewatch.clock import FakeClock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import DeviceReading, TelemetryBatch
from estatewatch.readings import InfluxConnection, InfluxQLStore
from estatewatch.testing.services import InfluxDB
from rules.loader import parse_rules
from rules.replay import replay
from simulators.harness import run_estate
from tests.dates import iso, utc
from tests.rules.sim_gateway import SimGateway

START = utc(0, 8)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "estate.yaml"


async def history(site: SiteConfig) -> list[DeviceReading]:
    """Six minutes of the estate every 2 s, with an outage in power room 2 (it feeds
    nothing in the example estate, so it is one alarm) from 2:00 to 4:00."""
    readings: list[DeviceReading] = []
    async with run_estate(site, seed=3, clock=FakeClock(START)) as estate:
        gateway = SimGateway(estate, estate.site)
        for step in range(180):
            if step == 60:
                estate.inject("power-room-2", "outage")
            if step == 120:
                estate.clear("power-room-2", "outage")
            estate.step_once(2.0)
            for _, payload in gateway.poll(to_epoch_ms(estate.now)):
                if isinstance(payload, TelemetryBatch):
                    readings += payload.readings
    return readings


def line(reading: DeviceReading, site: str) -> str:
    """InfluxDB line protocol as estatewatch/readings/schema.py describes it."""

    def esc(text: str) -> str:
        return text.replace(",", r"\,").replace(" ", r"\ ").replace("=", r"\=")

    fields = []
    for name, value in sorted(reading.values.items()):
        if isinstance(value, bool):
            fields.append(f"{name}={'true' if value else 'false'}")
        elif isinstance(value, int | float):
            fields.append(f"{name}={float(value)!r}")
        else:
            fields.append(f'{name}="{value}"')
    tags = f"building={esc(reading.building)},device={esc(reading.device)}"
    tags += f",room={esc(reading.room)},site={esc(site)}"
    return f"{reading.kind.value},{tags} {','.join(fields)} {reading.ts}"


EXPECTED = [("raised", "power.outage", "power-room-2"), ("cleared", "power.outage", "power-room-2")]


@pytest.mark.integration
async def test_replay_from_a_file_and_from_influxdb(
    example_site: SiteConfig,
    influxdb: InfluxDB,
    influx_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    readings = await history(example_site)
    start, end = to_epoch_ms(START), to_epoch_ms(START + timedelta(minutes=6, seconds=1))

    # From a file, through the command line; times in the site's local time.
    path = tmp_path / "history.jsonl"
    text = "\n".join(r.model_dump_json() for r in readings)
    await asyncio.to_thread(path.write_text, text)
    local = START.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    until = local + timedelta(minutes=6, seconds=30)
    args = ["rules", "replay", "--config", str(EXAMPLE), "--input", str(path),
            "--from", local.isoformat(), "--to", until.isoformat()]  # fmt: skip
    assert await asyncio.to_thread(main, args) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert [tuple(x.split()[2:5:2]) for x in lines] == [("raised", "power.outage"),
                                                          ("cleared", "power.outage")]  # fmt: skip
    assert lines[0].startswith(f"{iso(0)} 16:02:05")  # local; the outage is read at 02:02
    assert f"{len(readings)} readings replayed; 1 alarms raised" in out.err

    # From InfluxDB, written in the schema ingest uses.
    connection = InfluxConnection(influxdb.url, influx_db)
    async with InfluxQLStore(connection) as store:
        await store.setup()
        body = "\n".join(line(r, "harbour-view") for r in readings).encode()
        url = f"{influxdb.url}/write?db={influx_db}&precision=ms"
        request = urllib.request.Request(url, data=body, method="POST")
        with await asyncio.to_thread(urllib.request.urlopen, request) as response:
            assert response.status == 204
        result = await replay([example_site], parse_rules(None), store, start, end)
    assert result.readings == len(readings)
    assert [(e.event.value, e.rule, e.target) for e in result.events] == EXPECTED
    assert result.events[0].raised_at == start + 125_000  # read at 122 s, then 3 s ("for")
