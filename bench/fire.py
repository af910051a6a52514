"""Benchmark of the fire-alarm path GB 25506 bounds: from a fire-alarm panel raising a fire
alarm to the duty-room board showing it, within 10 s.

    python bench/fire.py [--alarms 20]

The path is the real one, every part its own process (`tests.reliability.harness.Pipeline`):
the simulated panel (`fire-panel-1`, polled each second as a user-information transmission
device is) → `estatewatch gateway` (fire readings in the priority lane) → Mosquitto →
`estatewatch rules` (`fire.alarm`, raised at once) → Mosquitto → `estatewatch api` → the live
stream a signed-in board reads (`GET /stream`, Server-Sent Events). Each round injects
`fire_alarm` into the panel through the simulators' control API, times the alarm's arrival
on the stream, clears it and waits for the clear. The baseline is one MQTT round trip
(publish → subscriber) on the same broker in the same run. The machine is shared: figures
are indicative; the bound is what matters.

Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from estatewatch.config import ModbusTcp, SiteConfig, load_site
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import InfluxDB, Mosquitto
from tests.reliability.harness import Pipeline, quick_site

ROOT = Path(__file__).resolve().parent.parent
PANEL = "fire-panel-1"
PANELS = 7
"""A large estate has several panels; each takes at most 3 of the rounds, since a fourth
alarm within 10 minutes on one panel is flapping (held active, counted) by design."""
USER, PASSWORD = "bench-duty", "bench-duty-password-1"
BOUND_MS = 10_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def mqtt_round_trips(url: str, n: int) -> list[float]:
    times: list[float] = []
    async with (
        MqttClient(MqttSettings(url, client_id="bench-fire-sub")) as sub,
        MqttClient(MqttSettings(url, client_id="bench-fire-pub")) as pub,
    ):
        await sub.subscribe("bench/fire/rtt", qos=1)
        messages = sub.messages()
        for i in range(n):
            start = time.perf_counter()
            await pub.publish("bench/fire/rtt", str(i).encode(), qos=1)
            await anext(messages)
            times.append((time.perf_counter() - start) * 1000)
    return times


class Board:
    """The duty-room board's view: the live stream, as the dashboard reads it."""

    def __init__(self, base: str, token: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(10.0, read=None),  # a stream waits as long as it must
        )
        self.events: asyncio.Queue[tuple[float, dict[str, object]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Board:
        self.task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.client.aclose()

    async def _read(self) -> None:
        async with self.client.stream("GET", "/stream", params={"kind": "alarm"}) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data = json.loads(line[5:])
                    if isinstance(data, dict) and "alarm_id" in data:
                        self.events.put_nowait((time.perf_counter(), data))

    async def until(self, panel: str, want: str, within: float) -> float:
        """When `panel`'s fire alarm next reaches `want` (active, cleared) on the stream."""
        deadline = time.perf_counter() + within
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no {want} fire alarm on the board within {within} s")
            at, data = await asyncio.wait_for(self.events.get(), left)
            if (
                data.get("rule") == "fire.alarm"
                and data.get("target") == panel
                and (want == "active") == bool(data.get("active"))
            ):
                return at


def panel_id(n: int) -> str:
    return PANEL if n == 0 else f"fire-panel-{n + 1}"


def with_panels(site: SiteConfig) -> SiteConfig:
    """The example with `PANELS` fire panels: the first, and copies as further units of its
    transmission device."""
    first = site.device(PANEL)
    assert isinstance(first.connection, ModbusTcp)
    extra = [
        first.model_copy(
            update={
                "id": panel_id(n),
                "connection": first.connection.model_copy(update={"unit_id": n + 1}),
            }
        )
        for n in range(1, PANELS)
    ]
    return site.model_copy(update={"devices": [*site.devices, *extra]})


def add_user(api_db: Path) -> None:
    env = {**os.environ, "EW_NEW_PASSWORD": PASSWORD, "EW_ENVIRONMENT": "development"}
    subprocess.run(
        [sys.executable, "-m", "estatewatch", "api", "add-user", USER, "--role",
         "duty_engineer", "--database", str(api_db)],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip


async def run(alarms: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ew-bench-fire-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "mosquitto")
        influx = InfluxDB(work / "influxdb")
        for server in (broker, influx):
            server.workdir.mkdir()
            server.start()
        site = with_panels(quick_site(load_site(ROOT / "examples" / "estate.yaml")))
        pipeline = Pipeline(work, site, broker, influx)
        try:
            add_user(pipeline.api_db)
            await pipeline.start()
            base = f"http://127.0.0.1:{pipeline.api_port}"
            async with httpx.AsyncClient(base_url=base) as http:
                login = await http.post(
                    "/auth/token", data={"username": USER, "password": PASSWORD}
                )
            token = login.json()["access_token"]
            baseline = await mqtt_round_trips(broker.url, 50)
            latencies: list[float] = []
            async with Board(base, token) as board:
                await asyncio.sleep(5)  # the estate settles; the stream is open
                for n in range(alarms):
                    panel = panel_id(n % PANELS)
                    start = time.perf_counter()
                    await pipeline.inject(panel, "fire_alarm")
                    arrived = await board.until(panel, "active", 60)
                    latencies.append((arrived - start) * 1000)
                    await pipeline.clear(panel, "fire_alarm")
                    await board.until(panel, "cleared", 60)
        finally:
            await pipeline.stop()
            for server in (influx, broker):
                server.stop()
    return {
        "fire_alarms": len(latencies),
        "fire_alarm_to_board_p50_ms": percentile(latencies, 50),
        "fire_alarm_to_board_p99_ms": percentile(latencies, 99),
        "fire_alarm_to_board_max_ms": max(latencies),
        "fire_alarms_within_10s": sum(1 for x in latencies if x <= BOUND_MS),
        "baseline_mqtt_round_trip_p99_ms": percentile(baseline, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alarms", type=int, default=20)
    args = parser.parse_args()
    figures = asyncio.run(run(args.alarms))
    for name, value in figures.items():
        print(f"{name}: {value:.1f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
