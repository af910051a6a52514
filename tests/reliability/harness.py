"""The whole pipeline as separate processes, for chaos: simulators → gateway → Mosquitto →
ingest → InfluxDB, and rules → API, each started, stopped, killed and restarted like a
service manager would; and the counting that tells what a fault cost.

Counting. The gateway numbers every telemetry message it accepts (`seq`, gap-free, assigned
when the reading is committed to its queue). A persistent-session listener on the central
broker, started before the gateway, collects every message; after a scenario the pipeline is
drained and every reading accepted in the scenario's seq range is looked up in InfluxDB by
its series and time. Produced = readings accepted; stored = those found; lost = the rest;
redelivered = messages the listener got more than once (absorbed: a replayed reading writes
the same series and time again); seq gaps = telemetry messages accepted but never delivered;
dropped = what the gateway's queue dropped by its documented policy (oldest telemetry first,
when full) — the only gaps allowed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import TelemetryBatch
from estatewatch.readings.schema import measurement
from estatewatch.testing.services import InfluxDB, Mosquitto, free_port
from simulators.harness import relocate
from tests.gateway.conftest import fast
from tests.gateway.helpers import Listener

ROOT = Path(__file__).resolve().parents[2]
DB = "estatewatch"
FULL = os.environ.get("EW_RELIABILITY") == "full"
PROFILE = "full" if FULL else "ci"


def seconds(ci: float, full: float) -> float:
    """A duration of the CI profile, or of the full one (`EW_RELIABILITY=full`)."""
    return full if FULL else ci


@dataclass
class Part:
    """One component as its own process, logging to a file."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log_level: str = "INFO"

    def start(self) -> None:
        argv = [sys.executable, "-m", "estatewatch", "--log-level", self.log_level, *self.argv]
        with self.log.open("ab") as out:
            out.write(f"\n=== start {self.starts} ===\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env={**os.environ, **self.env}, stdout=out, stderr=out
            )
        self.starts += 1

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def quick_site(site: SiteConfig, *, buffer_max_mb: float | None = None) -> SiteConfig:
    """Every Modbus device polled each second with a short timeout: load enough to count,
    faults that show within seconds."""
    site = fast(site, interval=1.0, timeout=0.5)
    gateway = site.gateway.model_copy(update={"health_interval": timedelta(seconds=2)})
    if buffer_max_mb is not None:
        gateway = gateway.model_copy(update={"buffer_max_mb": buffer_max_mb})
    return site.model_copy(update={"gateway": gateway})


def write_site(site: SiteConfig, path: Path) -> Path:
    data = site.model_dump(mode="json", exclude_none=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


@dataclass
class Counts:
    scenario: str
    profile: str
    seconds: float
    produced: int
    stored: int
    lost: int
    redelivered: int
    seq_gaps: int
    dropped_by_policy: int
    alarms_expected: int
    alarms_found: int
    orders_expected: int
    orders_found: int
    note: str = ""

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in asdict(self).items())


def record(counts: Counts) -> None:
    """Print a chaos scenario's counts and keep them for the report."""
    record_row("chaos", asdict(counts))


def record_row(table: str, row: dict[str, Any]) -> None:
    """Print a row of figures (`pytest -s` shows it) and append it to the results file the
    report command names in EW_RELIABILITY_RESULTS."""
    print(f"\nRELIABILITY {table} " + " ".join(f"{k}={v}" for k, v in row.items()))
    target = os.environ.get("EW_RELIABILITY_RESULTS")
    if target:
        with open(target, "a") as out:
            out.write(json.dumps({"table": table, **row}) + "\n")


class Pipeline:
    """Every part of EstateWatch on its own broker and InfluxDB, in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        site: SiteConfig,
        mosquitto: Mosquitto,
        influx: InfluxDB,
        *,
        gateway_mqtt: str | None = None,
    ) -> None:
        self.workdir = workdir
        # Every simulated device on a free port of its own: a developer's `estatewatch up`
        # holds the example's ports (15021...) while the suite runs beside it.
        self.site = site = relocate(site)
        self.mosquitto = mosquitto
        self.influx = influx
        self.site_file = write_site(site, workdir / "site.yaml")
        self.control = free_port()
        self.gateway_http = free_port()
        self.api_port = free_port()
        self.api_db = workdir / "api.db"
        mqtt = mosquitto.url
        logs = workdir / "logs"
        logs.mkdir(exist_ok=True)
        cfg = str(self.site_file)
        self.simulators = Part(
            "simulators",
            ["simulate", "--config", cfg, "--seed", "3", "--control-port", str(self.control),
             "--mqtt", mqtt],
            logs / "simulators.log",
        )  # fmt: skip
        self.ingest = Part(
            "ingest",
            ["ingest", "--mqtt", mqtt, "--client-id", "ew-ingest-chaos", "--influx-url",
             influx.url, "--influx-db", DB, "--flush-interval", "200ms"],
            logs / "ingest.log",
        )  # fmt: skip
        self.gateway = Part(
            "gateway",
            ["gateway", "--config", cfg, "--mqtt", gateway_mqtt or mqtt, "--http-port",
             str(self.gateway_http), "--buffer", str(workdir / "gateway-queue.db")],
            logs / "gateway.log",
        )  # fmt: skip
        self.rules = Part(
            "rules",
            ["rules", "--config", cfg, "--mqtt", mqtt, "--state", str(workdir / "rules.db")],
            logs / "rules.log",
        )
        self.api = Part(
            "api",
            ["api", "--site", cfg, "--mqtt", mqtt, "--database", str(self.api_db), "--port",
             str(self.api_port)],
            logs / "api.log",
            env={"EW_ENVIRONMENT": "development", "EW_PHOTO_DIR": str(workdir / "photos")},
        )  # fmt: skip
        self.parts = [self.simulators, self.ingest, self.gateway, self.rules, self.api]
        self.http = httpx.AsyncClient(timeout=5)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.simulators.start()
        await self.until(lambda: self._ok(f"http://127.0.0.1:{self.control}/devices"), "sims")
        for part in (self.ingest, self.rules, self.api):
            part.start()
        await self.until(lambda: self._ok(f"http://127.0.0.1:{self.api_port}/api/health"), "api")
        self.gateway.start()
        await self.until(lambda: self._ok(self.gateway_url + "/health"), "gateway")

    async def stop(self) -> None:
        for part in reversed(self.parts):
            part.stop()
        await self.http.aclose()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.parts)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_http}"

    async def _ok(self, url: str) -> bool:
        try:
            return (await self.http.get(url)).status_code < 500
        except httpx.HTTPError:
            return False

    async def until(
        self, check: Callable[[], Any], what: str, within: float = 60.0, every: float = 0.2
    ) -> None:
        deadline = time.monotonic() + within
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {within} s in vain for {what}\n{self.logs()}")
            await asyncio.sleep(every)

    async def restart(self, part: Part, *, kill: bool = False, down_for: float = 0.0) -> None:
        part.stop(kill=kill)
        await asyncio.sleep(down_for)
        part.start()

    # --- faults in the estate --------------------------------------------------------------

    async def inject(self, device: str, fault: str) -> None:
        url = f"http://127.0.0.1:{self.control}/faults"
        response = await self.http.post(url, json={"device": device, "fault": fault})
        response.raise_for_status()

    async def clear(self, device: str, fault: str) -> None:
        url = f"http://127.0.0.1:{self.control}/faults/{device}/{fault}"
        (await self.http.delete(url)).raise_for_status()

    async def gateway_health(self) -> dict[str, Any]:
        body: dict[str, Any] = (await self.http.get(self.gateway_url + "/health")).json()
        return body

    # --- what reached the end --------------------------------------------------------------

    def stored_keys(self, since_ms: int) -> set[tuple[str, int]]:
        """(device, time) of every telemetry point in InfluxDB from `since_ms` on."""
        keys: set[tuple[str, int]] = set()
        kinds = {measurement(d.kind) for d in self.site.devices}
        for kind in sorted(kinds):
            q = f'SELECT * FROM "{kind}" WHERE time >= {since_ms}ms GROUP BY "device"'
            result = self.influx.query(q, DB)
            for statement in result.get("results", []):  # type: ignore[union-attr]
                for series in statement.get("series", []):
                    device = series["tags"]["device"]
                    keys.update((device, int(row[0])) for row in series["values"])
        return keys

    def alarms(self, rule: str, target: str) -> list[str]:
        """The alarms the API holds for `rule` on `target` (each scenario uses a device of its
        own, so all of them are the scenario's)."""
        with sqlite3.connect(self.api_db) as db:
            rows = db.execute(
                "SELECT alarm_id FROM alarms WHERE rule = ? AND target = ?", (rule, target)
            ).fetchall()
        return [r[0] for r in rows]

    def orders_for(self, alarm_ids: list[str]) -> int:
        if not alarm_ids:
            return 0
        marks = ",".join("?" * len(alarm_ids))
        with sqlite3.connect(self.api_db) as db:
            (n,) = db.execute(
                f"SELECT count(*) FROM work_orders WHERE alarm_id IN ({marks})", alarm_ids
            ).fetchone()
        return int(n)


def telemetry_seqs(listener: Listener) -> dict[int, TelemetryBatch]:
    out: dict[int, TelemetryBatch] = {}
    for batch in listener.batches():
        out.setdefault(batch.seq, batch)
    return out


def redeliveries(listener: Listener) -> int:
    seqs = [b.seq for b in listener.batches()]
    return len(seqs) - len(set(seqs))


def seq_gaps(batches: dict[int, TelemetryBatch], low: int, high: int) -> int:
    return sum(1 for seq in range(low + 1, high + 1) if seq not in batches)


def produced_keys(batches: dict[int, TelemetryBatch], low: int, high: int) -> set[tuple[str, int]]:
    """(device, ts) of the readings accepted in seqs (low, high] that make a stored point (a
    reading with neither a value nor a quality mark writes nothing)."""
    keys: set[tuple[str, int]] = set()
    for seq in range(low + 1, high + 1):
        batch = batches.get(seq)
        if batch is None:
            continue
        keys.update((r.device, r.ts) for r in batch.readings if r.values or r.quality)
    return keys
