"""Ingest of many estates through a 3-node NATS JetStream cluster, with a node and an ingest
instance killed mid-run, measured in one run on this machine.

    python bench/scale.py [--estates 100] [--devices 5] [--seconds 20]

A light synthetic gateway per estate (one MQTT 3.1.1 connection each, into node 1's MQTT
listener) publishes `TelemetryBatch`es of its devices' readings back to back, each reading
with its own (device, time). Two `estatewatch ingest --source jetstream` processes share the
stream's consumer into one InfluxDB. Phase 1 (the baseline, no faults) and phase 2 (a
replica node of the stream SIGKILLed and one ingest instance SIGKILLed at its start) each
last `--seconds`; the rate of each is readings acknowledged to the gateways per second.
Then everything acknowledged must be in InfluxDB: `lost` counts what is not.

Rules instances are not on the cluster yet (docs/scaling.md), so the rules figures of issue
#19 (`readings_per_s_per_rules_instance`, `rebalance_s`, `duplicate_orders`,
`alarms_missed`) are not printed. The node killed is a replica, not the stream's leader:
docs/scaling.md says what nats-server 2.9's MQTT listener loses when the leader dies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estatewatch.contracts import streams, topics  # noqa: E402
from estatewatch.contracts.payloads import TelemetryBatch  # noqa: E402
from estatewatch.mqtt import MqttClient, MqttSettings  # noqa: E402
from estatewatch.testing.nats import NatsCluster  # noqa: E402
from estatewatch.testing.services import InfluxDB, free_port  # noqa: E402

DB = "scale"


class Gateway:
    """One estate's gateway: `devices` pumps, 10 points each, a batch per cycle."""

    def __init__(self, site: str, devices: int, t0: int) -> None:
        self.site, self.devices, self.t0 = site, devices, t0
        self.cycle = 0
        self.acked = 0

    def batch(self) -> bytes:
        ts = self.t0 + self.cycle
        readings = [
            {
                "device": f"pump-{d}",
                "kind": "water_pump_set",
                "building": "b1",
                "room": "pump-room",
                "ts": ts,
                "values": {f"p{k}": float(k + d) for k in range(9)} | {"seq": float(ts)},
            }
            for d in range(self.devices)
        ]
        self.cycle += 1
        return TelemetryBatch.model_validate(
            {"site": self.site, "gateway": "gw-1", "seq": self.cycle, "readings": readings}
        ).to_bytes()

    async def run(self, url: str, stop: asyncio.Event) -> None:
        settings = MqttSettings(url, client_id=f"gw-{self.site}", ack_timeout=10)
        async with MqttClient(settings) as client:
            topic = topics.telemetry(self.site, "gw-1")
            while not stop.is_set():
                await client.publish(topic, self.batch())
                self.acked += self.devices


def start_ingest(
    cluster: NatsCluster, influx: InfluxDB, name: str, log: Path
) -> subprocess.Popen[bytes]:
    ops = free_port()
    argv = [
        sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "ingest",
        "--source", "jetstream", "--nats", cluster.url, "--ack-wait", "5s",
        "--client-id", name, "--influx-url", influx.url, "--influx-db", DB,
        "--ops-port", str(ops),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ops}/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{name} did not come up")


def count(influx: InfluxDB) -> int:
    result: dict[str, object] = influx.query('SELECT count("seq") FROM "water_pump_set"', DB)
    series = result["results"][0].get("series")  # type: ignore[index]
    return int(series[0]["values"][0][1]) if series else 0


async def phase(gateways: list[Gateway], url: str, seconds: float, fault: object = None) -> float:
    stop = asyncio.Event()
    before = sum(g.acked for g in gateways)
    tasks = [asyncio.create_task(g.run(url, stop)) for g in gateways]
    await asyncio.sleep(1.0)  # connected and publishing
    start, at_start = time.monotonic(), sum(g.acked for g in gateways)
    if callable(fault):
        await asyncio.to_thread(fault)
    await asyncio.sleep(seconds)
    rate = (sum(g.acked for g in gateways) - at_start) / (time.monotonic() - start)
    stop.set()
    await asyncio.gather(*tasks)
    assert sum(g.acked for g in gateways) > before
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--estates", type=int, default=100)
    parser.add_argument("--devices", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ew-scale-"))
    cluster = NatsCluster(work / "nats")
    (work / "influx").mkdir()
    influx = InfluxDB(work / "influx")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        cluster.start()
        influx.start()
        influx.create_database(DB)
        log = work / "ingest.log"
        procs = [start_ingest(cluster, influx, f"ingest-{i}", log) for i in range(2)]
        t0 = int(time.time() * 1000) - 3_600_000
        gateways = [Gateway(f"estate-{i:04d}", args.devices, t0 + i) for i in range(args.estates)]
        url = cluster.mqtt_url(0)
        baseline = await phase(gateways, url, args.seconds)

        def faults() -> None:
            leader = cluster.stream_leader(streams.TELEMETRY_STREAM)
            cluster.kill(next(i for i in (1, 2) if i != leader))
            procs[0].send_signal(signal.SIGKILL)

        with_faults = await phase(gateways, url, args.seconds, faults)
        acked = sum(g.acked for g in gateways)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # polling a server: no event to wait on
            if count(influx) >= acked:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(6)  # past ack_wait: late redeliveries land (and overwrite)
        stored = count(influx)
        print(f"estates: {args.estates}")
        print(f"devices_per_estate: {args.devices}")
        print("points_per_reading: 10")
        print("ingest_instances: 2")
        print(f"baseline_readings_per_s: {baseline:.0f}")
        print(f"readings_per_s: {with_faults:.0f}")
        print(f"readings_acked: {acked}")
        print(f"lost: {max(0, acked - stored)}")
        print(f"duplicates_stored: {max(0, stored - acked)}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(20)
        cluster.stop()
        influx.stop()


if __name__ == "__main__":
    asyncio.run(main())
