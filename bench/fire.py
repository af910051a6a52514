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

from estatewatch.config import load_site
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import InfluxDB, Mosquitto
from tests.reliability.harness import Pipeline, quick_site

ROOT = Path(__file__).resolve().parent.parent
PANEL = "fire-panel-1"
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

    async def until(self, want: str, within: float) -> float:
        """When the panel's fire alarm next reaches `want` (active, cleared) on the stream."""
        deadline = time.perf_counter() + within
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no {want} fire alarm on the board within {within} s")
            at, data = await asyncio.wait_for(self.events.get(), left)
            if (
                data.get("rule") == "fire.alarm"
                and data.get("target") == PANEL
                and (want == "active") == bool(data.get("active"))
            ):
                return at


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
        site = quick_site(load_site(ROOT / "examples" / "estate.yaml"))
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
                for _ in range(alarms):
                    start = time.perf_counter()
                    await pipeline.inject(PANEL, "fire_alarm")
                    arrived = await board.until("active", 60)
                    latencies.append((arrived - start) * 1000)
                    await pipeline.clear(PANEL, "fire_alarm")
                    await board.until("cleared", 60)
                    await asyncio.sleep(1)
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
