"""The API in `bench/scale.py`: `estatewatch api` on a throwaway PostgreSQL, consuming the
rules' alarm events from a node's MQTT listener and opening work orders; `order_figures`
counts from the database what the bench prints (`duplicate_orders`: orders of one alarm
beyond the first)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from estatewatch.testing.services import free_port
from tests.api.postgres import PostgreSQL, find_bin_dir

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "scale"


@dataclass
class BenchApi:
    """PostgreSQL and one `estatewatch api` process; `start()`, then `stop()`."""

    workdir: Path
    mqtt_url: str
    sites: list[Path]
    port: int = field(default_factory=free_port)
    server: PostgreSQL | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url(DATABASE)

    def start(self, within: float = 120) -> None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise SystemExit("PostgreSQL is not installed (apt-get install -y postgresql)")
        self.server = PostgreSQL(bin_dir)
        self.server.start()
        self.server.execute(f"CREATE DATABASE {DATABASE}")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "EW_ENVIRONMENT": "development",
            "EW_MQTT_CLIENT_ID": "ew-api-bench",
            "EW_PHOTO_DIR": str(self.workdir / "photos"),
        }
        cli = [sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "api"]
        subprocess.run([*cli, "migrate", "--database", self.url], cwd=ROOT, env=env, check=True)
        argv = [*cli, "--database", self.url, "--mqtt", self.mqtt_url, "--port", str(self.port)]
        for site in self.sites:
            argv += ["--site", str(site)]
        log = self.workdir / "api.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the API exited: {log.read_text()[-2000:]}")
            try:
                url = f"http://127.0.0.1:{self.port}/api/health"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if b'"mqtt":"connected"' in r.read().replace(b" ", b""):
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit("the API did not come up")

    def order_figures(self) -> dict[str, int]:
        """Alarms stored, work orders, and orders per alarm beyond the first."""
        assert self.server is not None
        conninfo = (
            f"host=127.0.0.1 port={self.server.port} user={self.server.user} dbname={DATABASE}"
        )
        with psycopg.connect(conninfo) as conn:
            alarms = conn.execute("SELECT count(*) FROM alarms").fetchone()
            per_alarm = conn.execute(
                "SELECT count(*) FROM work_orders WHERE alarm_id IS NOT NULL GROUP BY alarm_id"
            ).fetchall()
            per_estate = conn.execute(
                "SELECT count(*) FROM work_orders WHERE alarm_id IS NOT NULL GROUP BY site"
            ).fetchall()
        return {
            "alarms_stored": int(alarms[0]) if alarms else 0,
            "work_orders": sum(int(n) for (n,) in per_alarm),
            "duplicate_orders": sum(int(n) - 1 for (n,) in per_alarm),
            # Each estate's tank goes low once: a second order there would be its alarm
            # raised again under a new id (a hand-over that forgot it).
            "orders_beyond_one_per_estate": sum(int(n) - 1 for (n,) in per_estate),
        }

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        if self.server is not None:
            self.server.stop()
