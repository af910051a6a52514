"""Ingest throughput against InfluxDB's own ceiling, measured in one run on this machine.

    python bench/ingest.py [--lines 300000] [--gzip-level 0] [--runs 1]

1. raw: batched line protocol POSTed straight to InfluxDB (one keep-alive client, 5000-line
   batches, 20 float fields, the schema's tags) — the ceiling.
2. pipeline: the same number of readings as `TelemetryBatch` messages (50 readings of 20
   floats each) queued in Mosquitto for ingest's persistent session, then drained by one
   `python -m estatewatch ingest` process into a fresh database of the same server. The
   rate is taken from ingest's own /metrics between its first and its last written line
   (its start-up is not counted); the count in InfluxDB is checked afterwards. CPU is the
   ingest process's user+system time over the same interval.

Messages are queued before ingest starts so that the synthetic publisher does not compete
for this 2-core machine with the pipeline it measures (gateways run elsewhere). Figures on a
shared machine are indicative; the ratio carries across machines better than the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estatewatch.contracts import topics  # noqa: E402
from estatewatch.contracts.payloads import TelemetryBatch  # noqa: E402
from estatewatch.mqtt import MqttClient, MqttSettings  # noqa: E402
from estatewatch.testing.services import InfluxDB, Mosquitto, free_port  # noqa: E402
from ingest.settings import IngestSettings, mqtt_for  # noqa: E402

SITE, GATEWAY = "bench-site", "gw-bench"
FIELDS = 20
DEVICES = 100
PER_MESSAGE = 50
BATCH = 5000
T0 = int(time.time() * 1000) - 6 * 3600 * 1000  # inside the raw retention


def reading(i: int, rng: random.Random) -> dict[str, object]:
    return {
        "device": f"pump-{i % DEVICES:03d}",
        "kind": "water_pump_set",
        "building": f"b{i % DEVICES // 20}",
        "room": "pump-room",
        "ts": T0 + i // DEVICES * 100,
        "values": {f"p{j:02d}_value": round(rng.uniform(0, 500), 3) for j in range(FIELDS)},
    }


def raw_lines(n: int, rng: random.Random) -> list[bytes]:
    out = []
    for i in range(n):
        r = reading(i, rng)
        values = r["values"]
        assert isinstance(values, dict)
        fields = ",".join(f"{k}={v}" for k, v in values.items())
        out.append(
            f"water_pump_set,building={r['building']},device={r['device']},room=pump-room,"
            f"site={SITE} {fields} {r['ts']}".encode()
        )
    return out


def count(server: InfluxDB, db: str) -> int:
    result = server.query('SELECT count("p00_value") FROM "water_pump_set"', db)
    try:
        series = result["results"][0]["series"]  # type: ignore[index]
        return int(series[0]["values"][0][1])
    except (KeyError, IndexError):
        return 0


def bench_raw(server: InfluxDB, n: int, rng: random.Random, run: int) -> float:
    db = f"bench_raw_{run}"
    server.create_database(db)
    lines = raw_lines(n, rng)
    bodies = [b"\n".join(lines[i : i + BATCH]) for i in range(0, n, BATCH)]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        start = time.perf_counter()
        for body in bodies:
            response = client.post(f"/write?db={db}&precision=ms", content=body)
            response.raise_for_status()
        elapsed = time.perf_counter() - start
    assert count(server, db) == n, "raw: not every line was stored"
    return n / elapsed


async def publish(url: str, n: int, rng: random.Random) -> None:
    """Queue `n` readings as contract `TelemetryBatch` messages (the first is validated by
    the model; the rest are built the same way with orjson, to keep the bench short)."""
    topic = topics.telemetry(SITE, GATEWAY)
    async with MqttClient(MqttSettings(url, client_id="bench-publisher")) as pub:
        window: list[asyncio.Future[None]] = []
        for seq, first in enumerate(range(0, n, PER_MESSAGE)):
            readings = [reading(i, rng) for i in range(first, min(first + PER_MESSAGE, n))]
            doc = {"site": SITE, "gateway": GATEWAY, "seq": seq, "readings": readings}
            payload = orjson.dumps(doc)
            if seq == 0:
                TelemetryBatch.model_validate_json(payload)
            window.append(pub.publish_nowait(topic, payload))
            if len(window) >= 500:
                await asyncio.gather(*window)
                window.clear()
        await asyncio.gather(*window)


async def create_session(url: str) -> None:
    """Ingest's persistent session and shared subscription, so messages queue for it."""
    settings = mqtt_for(url, "bench-ingest")
    async with MqttClient(settings) as client:
        for topic_filter in IngestSettings(mqtt=settings).subscriptions():
            await client.subscribe(topic_filter)


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_ingest(
    broker: Mosquitto, server: InfluxDB, db: str, ops: int, gzip: int
) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "ingest",
        "--mqtt", broker.url, "--client-id", "bench-ingest", "--influx-url", server.url,
        "--influx-db", db, "--ops-port", str(ops), "--gzip-level", str(gzip),
    ]  # fmt: skip
    return subprocess.Popen(argv, cwd=ROOT)


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ingest exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("ingest did not start")


def bench_pipeline(
    broker: Mosquitto, server: InfluxDB, n: int, rng: random.Random, gzip: int, run: int
) -> tuple[float, float]:
    db = f"bench_pipeline_{gzip}_{run}"
    ops = free_port()
    asyncio.run(create_session(broker.url))
    asyncio.run(publish(broker.url, n, rng))
    proc = start_ingest(broker, server, db, ops, gzip)
    try:
        wait_ready(ops, proc)
        first_at = first_cpu = last_at = last_cpu = 0.0
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            written = metric(ops, "ew_ingest_lines_written_total")
            now, cpu = time.perf_counter(), cpu_seconds(proc.pid)
            if written > 0 and not first_at:
                first_at, first_cpu, first_lines = now, cpu, written
            if written >= n:
                last_at, last_cpu = now, cpu
                break
            time.sleep(0.1)  # each scrape costs ingest CPU: not too often
        else:
            raise SystemExit("pipeline: ingest did not write every line in time")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert count(server, db) == n, "pipeline: InfluxDB does not hold every reading"
    lines = n - first_lines
    rate = lines / (last_at - first_at)
    cpu_per_100k = (last_cpu - first_cpu) / lines * 100_000
    return rate, cpu_per_100k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=150_000)
    parser.add_argument("--gzip-level", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto")
        server = InfluxDB(Path(tmp) / "influxdb")
        broker.workdir.mkdir()
        server.workdir.mkdir()
        broker.start()
        server.start()
        try:
            raws, pipes, cpus = [], [], []
            for run in range(args.runs):
                raws.append(bench_raw(server, args.lines, rng, run))
                rate, cpu = bench_pipeline(broker, server, args.lines, rng, args.gzip_level, run)
                pipes.append(rate)
                cpus.append(cpu)
                print(f"run {run + 1}: raw {raws[-1]:,.0f} lines/s, pipeline {rate:,.0f} lines/s,"
                      f" ingest CPU {cpu:.2f} s per 100k points", flush=True)  # fmt: skip
        finally:
            broker.stop()
            server.stop()
    ratios = [p / r for p, r in zip(pipes, raws, strict=True)]
    raw, pipe, cpu, ratio = (sorted(x)[len(x) // 2] for x in (raws, pipes, cpus, ratios))
    print(f"fields_per_line: {FIELDS}")
    print(f"readings_per_message: {PER_MESSAGE}")
    print(f"gzip_level: {args.gzip_level}")
    print(f"ingest_cpu_s_per_100k_points: {cpu:.2f}")
    print(f"raw_lines_per_s: {raw:.0f}")
    print(f"pipeline_lines_per_s: {pipe:.0f}")
    print(f"ratio_to_raw: {ratio:.2f}")  # the median of the runs' own ratios


if __name__ == "__main__":
    main()
