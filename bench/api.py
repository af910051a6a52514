"""The API under a year of an estate's data: the alarm board and the work-order list with
100 000 alarms and 20 000 orders stored, and the live stream fanned out to 200 clients.

    .venv/bin/python bench/api.py [--alarms N] [--orders N] [--clients N] [--requests N]

A real uvicorn server on 127.0.0.1 (SQLite, as `estatewatch up` runs it) in this process,
httpx clients in another thread. Baselines in the same run: GET /health over the same HTTP
path, and the board's SQL timed directly on the database. Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import ingest
from api.app import create_app
from api.models import Alarm, WorkOrder
from api.schemas.alarm import OPEN_ALARM_STATES
from api.schemas.user import UserCreate
from api.services.permissions import Role
from api.settings import Settings
from api.sites import Sites
from api.store import users
from estatewatch.clock import to_epoch_ms
from estatewatch.config import load_site
from estatewatch.contracts.payloads import AlarmEvent
from estatewatch.testing.services import free_port

ROOT = Path(__file__).resolve().parents[1]
SITE = "harbour-view"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SEVERITIES = (("critical", 0), ("major", 1), ("minor", 2), ("warning", 3))
ORDER_STATES = ("new", "dispatched", "accepted", "on_site", "completed", "verified", "closed")
PASSWORD = "bench-password-1"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def seed(settings: Settings, alarms: int, orders: int) -> None:
    """Bulk rows as the API would have written them over a year: almost every alarm closed,
    a few hundred open; orders across the lifecycle, most closed."""
    app = create_app(settings, sites=Sites.load([ROOT / "examples" / "estate.yaml"]))
    runtime = app.state.runtime
    runtime.db.migrate()
    rng = random.Random(7)
    devices = [f"elevator-{i}" for i in range(1, 9)] + ["pump-domestic-low", "pump-fire"]
    alarm_rows: list[dict[str, Any]] = []
    for i in range(alarms):
        severity, rank = SEVERITIES[rng.randrange(4)]
        raised = NOW - timedelta(minutes=rng.randrange(525_600))
        state = "closed" if i >= 300 else rng.choice(["active", "acknowledged", "cleared"])
        alarm_rows.append(
            {
                "alarm_id": f"a{i:07d}", "site": SITE, "rule": "bench.rule",
                "category": "door_fault", "severity": severity, "severity_rank": rank,
                "target_kind": "device", "target": rng.choice(devices),
                "device_kind": "elevator", "building": rng.choice(["t1", "t2", "podium"]),
                "room": "machine-room", "title": "Door fault", "message": "", "state": state,
                "last_event": "raised", "revision": 1, "raised_at": raised,
                "last_event_at": raised, "active": state == "active",
                "acknowledged": state == "acknowledged", "occurrences": 1, "details": {},
                "updated_at": raised,
            }
        )  # fmt: skip
    order_rows: list[dict[str, Any]] = []
    for i in range(orders):
        state = "closed" if i >= 500 else rng.choice(ORDER_STATES[:6])
        reported = NOW - timedelta(minutes=rng.randrange(525_600))
        order_rows.append(
            {
                "id": f"wo{i:07d}", "site": SITE, "source": "alarm",
                "alarm_id": f"a{i * 5:07d}", "category": "door_fault", "title": "Door fault",
                "description": "", "trade": "elevator", "department": "engineering",
                "urgency": rng.choice(["urgent", "general"]), "location": "", "state": state,
                "revision": 1, "escalation_level": 0, "parts": [], "photo_refs": [],
                "assignee": rng.choice(["liu", "chen", None]), "reported_at": reported,
                "created_at": reported, "created_by": "rules", "updated_at": reported,
            }
        )  # fmt: skip
    with runtime.db.write() as session:
        for start in range(0, len(alarm_rows), 5000):
            session.execute(insert(Alarm), alarm_rows[start : start + 5000])
        for start in range(0, len(order_rows), 5000):
            session.execute(insert(WorkOrder), order_rows[start : start + 5000])
        for name, role in (("duty", Role.DUTY_ENGINEER), ("admin", Role.ADMIN)):
            users.create(
                session,
                data=UserCreate(username=name, password=PASSWORD, role=role),
                cost=settings.password_cost,
                now=NOW,
            )
    runtime.db.dispose()


def bare_board_query(settings: Settings, rounds: int) -> list[float]:
    """The board's SQL (open alarms, most severe first, with their orders) on the database."""
    app = create_app(settings, sites=Sites.load([ROOT / "examples" / "estate.yaml"]))
    db = app.state.runtime.db
    query = (
        select(Alarm, WorkOrder.id)
        .outerjoin(WorkOrder, WorkOrder.alarm_id == Alarm.alarm_id)
        .where(Alarm.state.in_([str(s) for s in OPEN_ALARM_STATES]))
        .order_by(Alarm.severity_rank, Alarm.raised_at, Alarm.alarm_id)
        .limit(500)
    )
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        with db.read() as session:
            session.execute(query).all()
        out.append((time.perf_counter() - started) * 1000)
    db.dispose()
    return out


class Server:
    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings, sites=Sites.load([ROOT / "examples" / "estate.yaml"]))
        self.port = settings.port
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", timeout_keep_alive=60
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def timed_gets(client: httpx.Client, path: str, rounds: int) -> list[float]:
    client.get(path).raise_for_status()  # warm
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return out


async def fanout(server: Server, token: str, clients: int, changes: int) -> list[float]:
    """200 SSE clients; `changes` alarms raised one by one in the server's database; the
    time from each commit to each client's receipt of it."""
    received: dict[str, list[float]] = {}
    ready = asyncio.Event()
    connected = 0
    limits = httpx.Limits(max_connections=clients + 10)

    async def listen(http: httpx.AsyncClient) -> None:
        nonlocal connected
        headers = {"Authorization": f"Bearer {token}"}
        async with http.stream("GET", f"{server.url}/stream", headers=headers) as response:
            kind = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                if line.startswith("event: ready"):
                    connected += 1
                    if connected == clients:
                        ready.set()
                elif line.startswith("data:") and kind == "alarm" and '"fanout-' in line:
                    alarm = json.loads(line[5:]).get("alarm_id", "")
                    received.setdefault(alarm, []).append(time.perf_counter())

    runtime = server.app.state.runtime
    committed: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        listeners = [asyncio.create_task(listen(http)) for _ in range(clients)]
        await asyncio.wait_for(ready.wait(), 60)
        for n in range(changes):
            event = AlarmEvent(
                event_id=f"fanout-{n}:1", alarm_id=f"fanout-{n}", revision=1, event="raised",
                site=SITE, rule="bench.fanout", category="leak", severity="major",
                target_kind="device", target="pump-fire", device_kind="fire_pump",
                building="podium", room="pump-room", title="Leak", raised_at=to_epoch_ms(NOW),
                ts=to_epoch_ms(NOW), active=True, acknowledged=False,
            )  # fmt: skip

            def store(e: AlarmEvent = event) -> None:
                with runtime.db.write() as session:
                    ingest.apply(session, e, now=NOW, sites=runtime.sites)

            await asyncio.to_thread(store)
            committed[event.alarm_id] = time.perf_counter()
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(  # noqa: ASYNC110 (bounded poll)
            len(received.get(a, [])) < clients for a in committed
        ):
            await asyncio.sleep(0.1)
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    delays = []
    for alarm, at in committed.items():
        got = received.get(alarm, [])
        delays += [(t - at) * 1000 for t in got]
        missing = clients - len(got)
        if missing:
            print(f"  {alarm}: {missing} client(s) did not receive it", file=sys.stderr)
    return delays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    load_site(ROOT / "examples" / "estate.yaml")
    with tempfile.TemporaryDirectory(prefix="ew-bench-api-") as tmp:
        settings = Settings(
            environment="development",
            database_url=str(Path(tmp) / "api.db"),
            photo_dir=Path(tmp) / "photos",
            password_cost=12,
            port=free_port(),
            stream_poll_interval=timedelta(seconds=5),
            access_token_ttl=timedelta(hours=2),
        )
        started = time.perf_counter()
        seed(settings, args.alarms, args.orders)
        print(f"seeded {args.alarms} alarms, {args.orders} orders in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        bare = bare_board_query(settings, args.requests)
        with Server(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            token = client.post(
                "/auth/token", data={"username": "duty", "password": PASSWORD}
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            health = timed_gets(client, "/health", args.requests)
            board = timed_gets(client, "/alarms", args.requests)
            orders = timed_gets(client, "/workorders", args.requests)
            delays = asyncio.run(fanout(server, token, args.clients, args.changes))
    figures = {
        "alarms_stored": args.alarms,
        "orders_stored": args.orders,
        "baseline_board_sql_p50_ms": statistics.median(bare),
        "baseline_board_sql_p99_ms": _percentile(bare, 0.99),
        "baseline_health_p50_ms": statistics.median(health),
        "baseline_health_p99_ms": _percentile(health, 0.99),
        "board_p50_ms": statistics.median(board),
        "board_p99_ms": _percentile(board, 0.99),
        "workorders_p50_ms": statistics.median(orders),
        "workorders_p99_ms": _percentile(orders, 0.99),
        "stream_clients": args.clients,
        "stream_deliveries": len(delays),
        "stream_fanout_p50_ms": statistics.median(delays) if delays else float("nan"),
        "stream_fanout_p99_ms": _percentile(delays, 0.99) if delays else float("nan"),
    }
    for name, value in figures.items():
        print(f"{name}: {value:.1f}" if isinstance(value, float) else f"{name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
