"""Zero loss: a broker outage, and a gateway killed with SIGKILL mid-stream and restarted.

The central side subscribes with a persistent session; what it receives must have gap-free
`seq`s per message model (repeats of a seq are allowed: that is a redelivery), and every
reading the gateway produced must arrive.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import GatewayMessage, TelemetryBatch
from estatewatch.testing.services import Mosquitto
from gateway.service import GatewayOptions, GatewayService
from simulators.harness import run_estate
from tests.gateway.helpers import Central, quick, unique_gateway

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def seqs_by_model(central: Central) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = defaultdict(set)
    for _, message in central.messages:
        if isinstance(message, GatewayMessage):
            seen[type(message).__name__].add(message.seq)
    return seen


def assert_gap_free(central: Central) -> None:
    for model, seqs in seqs_by_model(central).items():
        assert seqs == set(range(max(seqs) + 1)), (
            f"{model}: missing {set(range(max(seqs) + 1)) - seqs}"
        )


def reading_keys(central: Central) -> set[tuple[str, int]]:
    return {(r.device, r.ts) for b in central.of(TelemetryBatch) for r in b.readings}


async def test_broker_outage_loses_nothing(
    example_site: SiteConfig, own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = unique_gateway(example_site)
    async with (
        Central(own_mosquitto.url, site.site.id) as central,
        run_estate(site, seed=2) as estate,
    ):
        relocated = quick(estate.site, interval=0.1)
        options = GatewayOptions(mqtt_url=own_mosquitto.url, buffer_path=str(tmp_path / "gw.db"))
        async with GatewayService(relocated, options) as gateway:
            await central.wait_for(lambda: len(central.of(TelemetryBatch)) >= 5)
            await asyncio.to_thread(own_mosquitto.stop)
            await asyncio.sleep(2.0)
            assert gateway.outbox.depth > 5  # buffered while the broker was away
            await asyncio.to_thread(own_mosquitto.start)
            await central.wait_for(lambda: gateway.outbox.depth == 0, within=30)
            await asyncio.sleep(0.5)
        produced = gateway.stats.readings
        await central.wait_for(lambda: len(reading_keys(central)) >= produced, within=30)
    assert_gap_free(central)
    assert len(reading_keys(central)) == produced


def write_site(site: SiteConfig, path: Path) -> Path:
    path.write_text(yaml.safe_dump(site.model_dump(mode="json"), allow_unicode=True))
    return path


def start_gateway(config: Path, url: str, buffer: Path, log: Path) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "-m", "estatewatch", "gateway", "--config", str(config),
        "--mqtt", url, "--buffer", str(buffer), "--http-port", "0",
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=os.environ
        )


async def test_kill_9_mid_stream_loses_nothing(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = unique_gateway(example_site)
    buffer, log = tmp_path / "gw.db", tmp_path / "gateway.log"
    async with (
        Central(mosquitto.url, site.site.id) as central,
        run_estate(site, seed=4) as estate,
    ):
        config = write_site(quick(estate.site, interval=0.1), tmp_path / "site.yaml")
        proc = start_gateway(config, mosquitto.url, buffer, log)
        try:
            await central.wait_for(lambda: len(central.of(TelemetryBatch)) >= 10, within=30)
            proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(proc.wait, 10)
            first_run = max(seqs_by_model(central)["TelemetryBatch"])
            proc = start_gateway(config, mosquitto.url, buffer, log)
            await central.wait_for(
                lambda: max(seqs_by_model(central)["TelemetryBatch"]) >= first_run + 10, within=30
            )
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        await asyncio.sleep(0.5)
    assert_gap_free(central)
    # Everything committed was delivered: the outbox is empty after the clean stop.
    with sqlite3.connect(buffer) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
