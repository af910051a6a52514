"""Two `estatewatch api` processes on one PostgreSQL and one broker (docs/scaling.md, several
API instances): both consume every alarm (each its own MQTT session), and the database's
key on the order (`work_orders.alarm_id` unique, the order's id derived from the alarm's)
leaves exactly one work order per alarm; a dispatch made through instance A reaches a live
stream of instance B, whose hub reads the change feed both write into."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from estatewatch.contracts import topics
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto, free_port
from tests.api.helpers import SITE, alarm_event
from tests.api.postgres import PostgreSQL, find_bin_dir

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ALARMS = 30
PASSWORD = "instances pass 5528"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgreSQL]:
    """A PostgreSQL server of this module's own (tests/system has no shared one)."""
    bin_dir = find_bin_dir()
    assert bin_dir is not None, "PostgreSQL is not installed (apt-get install -y postgresql)"
    server = PostgreSQL(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EW_ENVIRONMENT": "development",
        "EW_PASSWORD_COST": "10",
        "EW_PHOTO_DIR": str(tmp_path / "photos"),
        "EW_STREAM_POLL_INTERVAL": "1s",
        **extra,
    }


def _cli(args: list[str], env: dict[str, str]) -> None:
    argv = [sys.executable, "-m", "estatewatch", "api", *args]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


@asynccontextmanager
async def _instance(
    name: str, database: str, mqtt: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """`estatewatch api` as its own process with its own MQTT client id, once healthy."""
    port = free_port()
    argv = [sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "api",
            "--site", str(ROOT / "examples" / "estate.yaml"), "--database", database,
            "--mqtt", mqtt, "--port", str(port)]  # fmt: skip
    log = tmp_path / f"{name}.log"
    env = _env(tmp_path, EW_MQTT_CLIENT_ID=f"ew-api-{name}")
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)  # noqa: ASYNC220  (starts at once)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

            async def healthy() -> bool:
                assert proc.poll() is None, log.read_text()
                try:
                    health = (await http.get("/api/health")).json()
                except httpx.HTTPError:
                    return False
                return bool(health.get("mqtt") == "connected")

            await _until(healthy, 60, f"{name} healthy and connected")
            token = await http.post("/auth/token", data={"username": "liu", "password": PASSWORD})
            assert token.status_code == 200, token.text
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            yield http
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


async def _until(check: Callable[[], Any], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"not within {within}s: {what}"
        await asyncio.sleep(0.2)


def _orders_per_alarm(server: PostgreSQL, database: str) -> dict[str, int]:
    conninfo = f"host=127.0.0.1 port={server.port} user={server.user} dbname={database}"
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT alarm_id, count(*) FROM work_orders WHERE alarm_id IS NOT NULL "
            "GROUP BY alarm_id"
        ).fetchall()
    return {str(alarm): int(n) for alarm, n in rows}


async def _consumed(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith("ew_api_messages_consumed"))
    return float(line.split()[-1])


async def test_two_api_instances_share_one_postgresql(
    postgres: PostgreSQL, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    name = f"instances_{next(_names)}"
    postgres.execute(f"CREATE DATABASE {name}")
    database = postgres.url(name)
    env = _env(tmp_path, EW_NEW_PASSWORD=PASSWORD)
    _cli(["migrate", "--database", database], env)
    _cli(["add-user", "liu", "--role", "supervisor", "--database", database], env)
    _cli(["add-user", "li-ming", "--role", "technician", "--estate", SITE, "--site",
          str(ROOT / "examples" / "estate.yaml"), "--database", database], env)  # fmt: skip

    async with (
        _instance("a", database, mosquitto.url, tmp_path) as a,
        _instance("b", database, mosquitto.url, tmp_path) as b,
        MqttClient(MqttSettings(mosquitto.url, client_id=f"test-instances-{name}")) as pub,
    ):
        await asyncio.sleep(1.0)  # both subscribed: /health says connected before SUBACK
        before = await _consumed(a), await _consumed(b)
        events = [alarm_event(f"{name}-{i}") for i in range(ALARMS)]
        for event in events:
            await pub.publish(topics.alarm(SITE, event.alarm_id), event.to_bytes())

        async def all_orders() -> bool:
            return len(_orders_per_alarm(postgres, name)) == ALARMS

        await _until(all_orders, 30, "an order for every alarm")
        after = await _consumed(a), await _consumed(b)
        # Both consumed them all: the one order each is the database's doing, not luck.
        assert after[0] - before[0] >= ALARMS
        assert after[1] - before[1] >= ALARMS
        assert set(_orders_per_alarm(postgres, name).values()) == {1}

        order = next(
            o for o in (await b.get("/workorders")).json() if o["alarm_id"] == events[0].alarm_id
        )
        seen = await _dispatched_on_stream(a, b, order["id"])
    assert seen["assignee"] == "li-ming"


async def _dispatched_on_stream(
    a: httpx.AsyncClient, b: httpx.AsyncClient, order_id: str
) -> dict[str, Any]:
    """Follow B's `/stream` from its `ready`, dispatch the order through A, and return the
    order change B's stream sends for it."""
    async with b.stream("GET", "/stream", timeout=30) as stream:
        lines = stream.aiter_lines()
        event = ""
        async for line in lines:  # up to the stream's ready
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            if event == "ready" and line.startswith("data:"):
                break
        eta = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1800))
        done = await a.post(
            f"/workorders/{order_id}/dispatch",
            json={"assignee": "li-ming", "contact": "+86 138 0000 0000", "eta": eta},
        )
        assert done.status_code == 200, done.text

        async def order_change() -> dict[str, Any]:
            async for line in lines:
                if not line.startswith("data:"):
                    continue
                data = json.loads(line.split(":", 1)[1])
                text = json.dumps(data)
                if order_id in text and "li-ming" in text:
                    found: dict[str, Any] = data.get("payload", data)
                    return found
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(order_change(), 15)
