"""Benchmark of the API's hot paths over real HTTP, with a realistic amount of history stored.

    python bench/api.py [--alarms 100000] [--orders 20000] [--clients 200] [--requests 300]

1. Seeds a SQLite database (bulk inserts) with `--alarms` alarms (a tenth still open) and
   `--orders` work orders (a fifth still open), then starts `estatewatch api` on it in its
   own process, on 127.0.0.1.
2. Latency, p50/p99 of `--requests` sequential requests each: the alarm board (`GET /alarms`,
   a default page of 100), its fifth page through the keyset cursor, a 500-row page, and the
   work-order queue (`GET /workorders`, a default page of 200). Baselines in the same run:
   `GET /health` (the HTTP stack's floor) and the board's bare SQL run in this process.
3. Live-stream fan-out: `--clients` SSE clients on `/stream`; work orders are created one
   after the other and the time from the POST to each client's receipt is measured. The
   baseline is the same with one client.
4. Alarm ingestion in batches of 100 per transaction (as the MQTT consumer stores them; also
   one transaction per event, as a single redelivery is) against a bare
   INSERT + COMMIT per event.

The machine is shared: figures are indicative; compare each with its baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import insert, text

from api.bus import CONSUME_BATCH
from api.db import Database
from api.domain.permissions import Role
from api.models import Alarm, WorkOrder
from api.schemas.user import UserCreate
from api.sites import Sites
from api.workflows import users
from api.workflows.alarms import on_alarm_event, on_alarm_events
from estatewatch.config import load_site
from estatewatch.contracts.payloads import AlarmEvent
from estatewatch.testing.services import free_port
from tests.api.helpers import T0, alarm_event

ROOT = Path(__file__).resolve().parent.parent
SITE_FILE = ROOT / "examples" / "estate.yaml"
PASSWORD = "bench password 123"
SEVERITIES = ("critical", "major", "minor", "warning")
OPEN_ORDER_STATES = ("new", "dispatched", "accepted", "on_site", "completed")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- seeding -------------------------------------------------------------------------------


def _alarm_row(n: int, site: str) -> dict[str, Any]:
    at = T0 - timedelta(minutes=n)
    state = ("active", "acknowledged", "cleared")[n % 3] if n % 10 == 0 else "closed"
    severity = SEVERITIES[n % 4]
    return {
        "alarm_id": f"alarm-{n:06d}",
        "site": site,
        "rule": "bench.pressure",
        "category": "pressure_loss",
        "severity": severity,
        "severity_rank": SEVERITIES.index(severity),
        "target_kind": "device",
        "target": f"pump-{n % 40}",
        "device_kind": "pump",
        "building": f"b{n % 8}",
        "room": "pump-room",
        "title": f"pressure loss at pump-{n % 40}",
        "message": "outlet pressure below set-point",
        "state": state,
        "last_event": "raised" if state == "active" else "cleared",
        "revision": 1 + n % 3,
        "raised_at": at,
        "last_event_at": at,
        "active": state == "active",
        "acknowledged": state == "acknowledged",
        "acknowledged_by": None,
        "cleared_at": None if state == "active" else at,
        "occurrences": 1,
        "value": 0.12,
        "details": {},
        "ack_requested_by": None,
        "ack_requested_at": None,
        "updated_at": at,
    }


def _order_row(n: int, site: str, alarms: int) -> dict[str, Any]:
    at = T0 - timedelta(minutes=5 * n)
    state = OPEN_ORDER_STATES[n % 5] if n % 5 == 0 else "closed"
    from_alarm = n < alarms * 3 // 4
    return {
        "id": f"WO-{n:08d}",
        "site": site,
        "source": "alarm" if from_alarm else "manual",
        "alarm_id": f"alarm-{n:06d}" if from_alarm else None,
        "scan_id": None,
        "category": "pressure_loss",
        "finding_priority": None,
        "title": f"pressure loss at pump-{n % 40}",
        "description": "",
        "trade": "water_electric",
        "department": "engineering",
        "urgency": "urgent" if n % 7 == 0 else "general",
        "building": f"b{n % 8}",
        "device": f"pump-{n % 40}",
        "location": "",
        "requester_name": None,
        "requester_contact": None,
        "state": state,
        "revision": 1,
        "escalation_level": 0,
        "assignee": f"tech-{n % 12}",
        "parts": [],
        "photo_refs": [],
        "reported_at": at,
        "created_at": at,
        "created_by": "system",
        "updated_at": at,
    }


def seed(db: Database, site: str, *, alarms: int, orders: int) -> None:
    chunk = 5000
    with db.write() as session:
        for start in range(0, alarms, chunk):
            rows = [_alarm_row(n, site) for n in range(start, min(alarms, start + chunk))]
            session.execute(insert(Alarm), rows)
        for start in range(0, orders, chunk):
            rows = [_order_row(n, site, alarms) for n in range(start, min(orders, start + chunk))]
            session.execute(insert(WorkOrder), rows)
        for name, role in (("dina", Role.DUTY_ENGINEER), ("cara", Role.CUSTOMER_SERVICE)):
            data = UserCreate(username=name, password=PASSWORD, role=role)
            users.create(session, data=data, cost=12, now=datetime.now(UTC))
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


# --- the server ----------------------------------------------------------------------------


class Server:
    """`estatewatch api` on the seeded database, in its own process."""

    def __init__(self, database: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The seeded open orders are weeks overdue: an SLA pass flagging thousands of them at
        # once is not what this measures, so the checker waits out the run.
        env = os.environ | {"EW_PASSWORD_COST": "12", "EW_SLA_CHECK_INTERVAL": "1h"}
        command = [sys.executable, "-c", "from estatewatch.cli import main; main()"]
        command += ["--log-level", "WARNING", "api", "--dev", "--site", str(SITE_FILE)]
        command += ["--database", str(database), "--port", str(self.port)]
        self._log = log.open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the API did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def sign_in(url: str, username: str) -> dict[str, str]:
    form = {"username": username, "password": PASSWORD}
    response = httpx.post(f"{url}/auth/token", data=form, timeout=10)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --- latency -------------------------------------------------------------------------------


def latencies(
    client: httpx.Client, path: str, count: int, check: Callable[[Any], None]
) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        check(response)
    return out


def _ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text[:300]


def latency_figures(server: Server, db: Database, requests: int) -> dict[str, float]:
    headers = sign_in(server.url, "dina")
    figures: dict[str, float] = {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        board = client.get("/alarms")
        _ok(board)
        rows = len(board.json())
        cursor = None
        for _ in range(4):  # walk to the fifth page
            params = {"cursor": cursor} if cursor else {}
            page = client.get("/alarms", params=params)
            cursor = page.headers.get("x-next-cursor")
        runs = {
            "health": "/health",
            "board": "/alarms",
            "board_500": "/alarms?limit=500",
            "board_page5": f"/alarms?cursor={cursor}" if cursor else "/alarms?offset=2000",
            "workorders": "/workorders",
            "workorders_open": "/workorders?open=true",
        }
        for name, path in runs.items():
            latencies(client, path, 10, _ok)  # warm up
            values = latencies(client, path, requests, _ok)
            figures[f"{name}_p50_ms"] = statistics.median(values)
            figures[f"{name}_p99_ms"] = percentile(values, 0.99)
    figures["board_rows"] = rows
    figures |= bare_board_sql(db, requests, rows)
    return figures


def bare_board_sql(db: Database, requests: int, rows: int) -> dict[str, float]:
    """The board's query alone, straight from the database: the floor under the endpoint."""
    query = text(
        "SELECT a.*, w.id FROM alarms a LEFT JOIN work_orders w ON w.alarm_id = a.alarm_id "
        "WHERE a.state != 'closed' ORDER BY a.severity_rank, a.raised_at, a.alarm_id LIMIT :n"
    )
    values = []
    with db.engine.connect() as conn:
        for _ in range(requests):
            start = time.perf_counter()
            fetched = conn.execute(query, {"n": rows}).all()
            values.append((time.perf_counter() - start) * 1000)
    assert len(fetched) == rows
    return {
        "baseline_board_sql_p50_ms": statistics.median(values),
        "baseline_board_sql_p99_ms": percentile(values, 0.99),
    }


# --- live-stream fan-out -------------------------------------------------------------------


async def _listen(
    url: str, token: str, ready: asyncio.Event, titles: list[str], seen: dict[str, float]
) -> None:
    """A minimal SSE client on a raw socket: httpx's per-line cost for 200 streams in one
    process would be measured instead of the server's fan-out."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = (
        f"GET /stream?kind=workorder HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    writer.write(request.encode())
    buffer = b""
    wanted = [(t, f'"title": "{t}"'.encode()) for t in titles]
    try:
        while len(seen) < len(titles):
            chunk = await reader.read(65536)
            if not chunk:
                raise RuntimeError("the stream ended")
            now = time.perf_counter()
            buffer = buffer[-200:] + chunk
            if not ready.is_set() and b"event: ready" in buffer:
                ready.set()
            for title, marker in wanted:
                if title not in seen and marker in buffer:
                    seen[title] = now
    finally:
        writer.close()


async def fan_out(url: str, clients: int, events: int) -> list[float]:
    """Delivery latencies (ms) of `events` new orders to each of `clients` streams."""
    reader = sign_in(url, "dina")["Authorization"]
    writer = sign_in(url, "cara")
    titles = [f"fan-out {k}" for k in range(events)]
    async with httpx.AsyncClient(base_url=url, headers=writer, timeout=60) as wc:
        readies = [asyncio.Event() for _ in range(clients)]
        seen: list[dict[str, float]] = [{} for _ in range(clients)]
        tasks = [
            asyncio.create_task(_listen(url, reader, readies[i], titles, seen[i]))
            for i in range(clients)
        ]
        async with asyncio.timeout(60):
            await asyncio.gather(*(r.wait() for r in readies))
        sent: dict[str, float] = {}
        for title in titles:
            body = {
                "site": "harbour-view",
                "title": title,
                "trade": "civil",
                "requester_name": "Owner",
                "requester_contact": "13800000000",
            }
            sent[title] = time.perf_counter()
            response = await wc.post("/workorders", json=body)
            assert response.status_code == 201, response.text
            await asyncio.sleep(0.25)
        async with asyncio.timeout(60):
            await asyncio.gather(*tasks)
    return [(got[t] - sent[t]) * 1000 for got in seen for t in sent]


def fan_out_figures(url: str, clients: int, events: int) -> dict[str, float]:
    one = asyncio.run(fan_out(url, 1, events))
    many = asyncio.run(fan_out(url, clients, events))
    return {
        "baseline_stream_1_client_p50_ms": statistics.median(one),
        f"stream_{clients}_clients_p50_ms": statistics.median(many),
        f"stream_{clients}_clients_p99_ms": percentile(many, 0.99),
        f"stream_{clients}_clients_deliveries": len(many),
    }


# --- ingestion -----------------------------------------------------------------------------


def ingest_figures(db: Database, count: int) -> dict[str, float]:
    sites = Sites([load_site(SITE_FILE)])
    alarms = max(1, count // 4)
    batch: list[AlarmEvent] = [
        alarm_event(f"ingest-{n}", category="pressure_loss", severity="major")
        for n in range(alarms)
    ]
    for revision in range(2, 5):
        batch += [alarm_event(f"ingest-{n}", revision, "updated") for n in range(alarms)]
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_floor (id VARCHAR(64) PRIMARY KEY, payload TEXT)"))
    payloads = [(e.event_id, e.model_dump_json()) for e in batch]

    def floor() -> None:
        for event_id, payload in payloads:
            with db.write() as session:
                session.execute(
                    text("INSERT INTO bench_floor VALUES (:i, :p)"), {"i": event_id, "p": payload}
                )

    def apply_all() -> None:
        # As the bus consumes them: up to CONSUME_BATCH messages per transaction.
        for start in range(0, len(batch), CONSUME_BATCH):
            with db.write() as session:
                on_alarm_events(session, batch[start : start + CONSUME_BATCH], now=T0, sites=sites)

    def one_by_one() -> None:
        for event in batch[: len(batch) // 4]:
            with db.write() as session:
                on_alarm_event(session, event, now=T0, sites=sites)

    def rate(body: Callable[[], None]) -> float:
        start = time.perf_counter()
        body()
        return len(batch) / (time.perf_counter() - start)

    baseline, applied = rate(floor), rate(apply_all)
    redelivered = rate(apply_all)
    batch = [e.model_copy(update={"alarm_id": "1" + e.alarm_id, "event_id": "1" + e.event_id})
             for e in batch]  # fmt: skip
    start = time.perf_counter()
    one_by_one()
    single = len(batch) // 4 / (time.perf_counter() - start)
    return {
        "baseline_insert_commit_per_s": baseline,
        "alarm_events_per_s": applied,
        "ratio_to_insert_commit": applied / baseline,
        "redelivered_events_per_s": redelivered,
        "one_transaction_each_events_per_s": single,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alarms", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--clients", type=int, default=200, help="live-stream clients")
    parser.add_argument("--stream-events", type=int, default=10)
    parser.add_argument("--events", type=int, default=1000, help="alarm events to ingest")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        db = Database(str(path))
        db.migrate()
        start = time.perf_counter()
        seed(db, "harbour-view", alarms=args.alarms, orders=args.orders)
        figures["seed_s"] = time.perf_counter() - start
        server = Server(path, Path(tmp) / "api.log")
        try:
            server.wait_ready()
            figures |= latency_figures(server, db, args.requests)
            figures |= fan_out_figures(server.url, args.clients, args.stream_events)
        except BaseException:
            print((Path(tmp) / "api.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.stop()
        figures |= ingest_figures(db, args.events)
        db.dispose()
    for name, value in figures.items():
        print(f"{name}: {value:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
