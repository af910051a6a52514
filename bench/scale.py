"""Ingest of many estates through a 3-node NATS JetStream cluster, with a node and an ingest
instance killed mid-run, measured in one run on this machine.

    python bench/scale.py [--estates 100] [--devices 5] [--seconds 20]

A light synthetic gateway per estate publishes `TelemetryBatch`es of its devices' readings
back to back, each reading with its own (device, time). Two `estatewatch ingest --source
jetstream` processes share the stream's consumer into one InfluxDB. Phase 1 (the baseline,
no faults) and phase 2 (a node, one ingest instance and one rules instance SIGKILLed at its
start) each last `--seconds`; the rate of each is readings acknowledged to the gateways per
second. Then everything acknowledged must be in InfluxDB: `lost` counts what is not.

Two `estatewatch rules --source jetstream` instances, each given every estate (the example
estate under 100 ids, one rule: the low-zone pump's tank below 20 % `for: 30s`), share the
estates through KV leases. Half-way through phase 1 every gateway's tank reading goes low;
at phase 2's start one rules instance is SIGKILLed too (10 s into the rule's 30 s). It
prints `readings_per_s_per_rules_instance` (readings the instances evaluated in phase 1,
per second and instance), `rebalance_s` (the first kill to every estate leased by a live
instance again), `duplicate_alarm_ids` (an estate's alarm raised under a second id) and
`alarms_missed` (estates whose alarm was not raised within a minute of its due time) with
`alarms_late` (raised more than 3 s after due).

`estatewatch api` on a throwaway PostgreSQL (`scale_api.py`) consumes the alarm events from
node 1's MQTT listener and opens work orders; counted from its database: `alarms_stored`,
`work_orders`, `duplicate_orders` (orders of one alarm beyond the first) and
`orders_beyond_one_per_estate` (each estate's tank goes low once).

Gateways publish by JetStream, as `estatewatch gateway --central-nats` does (a batch counts
once the replicated stream stored it; `--uplink mqtt`: one MQTT 3.1.1 connection each into
node 1's listener), and the node killed is the stream's leader (`--kill replica`: a replica).
docs/scaling.md says what the MQTT listener loses when the leader dies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, cast

import nats
from nats.js.errors import KeyDeletedError, KeyNotFoundError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scale_api import BenchApi  # noqa: E402  (next to this script)

from estatewatch.contracts import streams, topics  # noqa: E402
from estatewatch.contracts.alarms import AlarmEvent, AlarmEventType  # noqa: E402
from estatewatch.contracts.payloads import TelemetryBatch  # noqa: E402
from estatewatch.jetstream import JetStreamSettings  # noqa: E402
from estatewatch.mqtt import MqttClient, MqttSettings  # noqa: E402
from estatewatch.testing.nats import NatsCluster  # noqa: E402
from estatewatch.testing.services import InfluxDB, free_port  # noqa: E402
from gateway.uplink import JetStreamUplink  # noqa: E402

DB = "scale"


class Gateway:
    """One estate's gateway: `devices` pumps, 10 points each, a batch per cycle."""

    def __init__(self, site: str, devices: int, t0: int) -> None:
        self.site, self.devices, self.t0 = site, devices, t0
        self.cycle = 0
        self.acked = 0
        self.tank = 50.0
        """The low-zone pump's tank level each batch also carries (what the rule watches)."""

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
        readings.append(
            {"device": "pump-domestic-low", "kind": "water_pump_set", "building": "podium",
             "room": "pump-room", "ts": ts, "values": {"tank_level": self.tank, "seq": float(ts)}}
        )  # fmt: skip
        self.cycle += 1
        return TelemetryBatch.model_validate(
            {"site": self.site, "gateway": "gw-1", "seq": self.cycle, "readings": readings}
        ).to_bytes()

    async def run(self, url: str, stop: asyncio.Event) -> None:
        if url.startswith("nats://"):
            await self._run_jetstream(url, stop)
            return
        settings = MqttSettings(url, client_id=f"gw-{self.site}", ack_timeout=10)
        async with MqttClient(settings) as client:
            topic = topics.telemetry(self.site, "gw-1")
            while not stop.is_set():
                await client.publish(topic, self.batch())
                self.acked += self.devices + 1

    async def _run_jetstream(self, urls: str, stop: asyncio.Event) -> None:
        """The gateway's `--central-nats` uplink: a batch counts once the stream stored it;
        a refused one is sent again, as the gateway's queue keeps its row."""
        settings = JetStreamSettings.from_url(urls)
        async with JetStreamUplink(cast(MqttClient, None), settings, name=self.site) as uplink:
            topic = topics.telemetry(self.site, "gw-1")
            while not stop.is_set():
                payload = self.batch()
                while True:
                    try:
                        await uplink.publish_nowait(topic, payload)
                        break
                    except Exception:  # kept and sent again, as the queue does
                        await asyncio.sleep(0.5)
                self.acked += self.devices + 1


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


RULES = """\
builtin: false
device_rules:
  - id: bench.tank_low
    kinds: [water_pump_set]
    category: tank_low
    severity: major
    title: "Tank low at {device}"
    when: {threshold: {point: tank_level, below: 20, deadband: 5}}
    for: 30s
"""
FOR_S = 30
LEASE = "8s"


def start_rules(
    cluster: NatsCluster, configs: list[Path], rules: Path, name: str, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    ops = free_port()
    argv = [
        sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "rules",
        "--source", "jetstream", "--nats", cluster.url, "--name", name, "--lease", LEASE,
        "--rules", str(rules), "--ops-port", str(ops), "--mqtt", cluster.mqtt_url(0),
    ]  # fmt: skip
    for config in configs:
        argv += ["--config", str(config)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=out)
    return proc, ops


def rules_readings(ops: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ops}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("ew_rules_readings_total "):
            return float(line.split()[1])
    return 0.0


class Leases:
    """Who holds each estate, read from the lease bucket."""

    def __init__(self, urls: list[str], sites: list[str]) -> None:
        self.urls, self.sites = urls, sites
        self.nc: Any = None
        self.events: list[tuple[float, AlarmEvent]] = []
        self.known: dict[str, str] = {}

    async def __aenter__(self) -> Leases:
        self.nc = await nats.connect(servers=self.urls, max_reconnect_attempts=-1)

        async def heard(msg: Any) -> None:
            self.events.append((time.monotonic(), AlarmEvent.model_validate_json(msg.data)))

        await self.nc.subscribe(streams.subject_filter(topics.alarm_filter()), cb=heard)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.nc.close()

    async def holders(self) -> dict[str, str]:
        js = self.nc.jetstream(timeout=3)
        try:
            kv = await js.key_value(streams.RULES_LEASE_BUCKET)
        except Exception:
            return dict(self.known)

        async def one(site: str) -> None:
            try:
                self.known[site] = (await kv.get(site)).value.decode()
            except (KeyNotFoundError, KeyDeletedError):
                self.known.pop(site, None)
            except Exception:  # noqa: S110  (no answer in time: the last answer stands)
                pass

        await asyncio.gather(*(one(s) for s in self.sites))
        return dict(self.known)

    async def wait(self, live: set[str], within: float, *, spread: bool) -> float:
        """Until every estate is held by one of `live` (and each holds some, if `spread`);
        the moment (monotonic) it was so."""
        start = time.monotonic()
        while time.monotonic() - start < within:
            held = await self.holders()
            owners = set(held.values())
            if len(held) == len(self.sites) and owners <= live and (not spread or owners == live):
                return time.monotonic()
            await asyncio.sleep(0.25)
        raise SystemExit(f"estates not all held by {sorted(live)} within {within}s")


async def lead_elsewhere(cluster: NatsCluster, node: int, within: float = 60) -> None:
    """Until `EW_TELEMETRY`'s leader is not `node` (the stream's step-down request)."""
    nc = await nats.connect(servers=cluster.urls)
    try:
        deadline = time.monotonic() + within
        while cluster.stream_leader(streams.TELEMETRY_STREAM) in (node, None):
            assert time.monotonic() < deadline, "the stream's leader never moved"
            subject = f"$JS.API.STREAM.LEADER.STEPDOWN.{streams.TELEMETRY_STREAM}"
            with contextlib.suppress(Exception):
                await nc.request(subject, b"", timeout=5)
            await asyncio.sleep(2)
    finally:
        await nc.close()


def count(influx: InfluxDB) -> int:
    result: dict[str, object] = influx.query('SELECT count("seq") FROM "water_pump_set"', DB)
    series = result["results"][0].get("series")  # type: ignore[index]
    return int(series[0]["values"][0][1]) if series else 0


async def phase(
    gateways: list[Gateway], url: str, seconds: float, fault: object = None, half: object = None
) -> float:
    stop = asyncio.Event()
    before = sum(g.acked for g in gateways)
    tasks = [asyncio.create_task(g.run(url, stop)) for g in gateways]
    await asyncio.sleep(1.0)  # connected and publishing
    start, at_start = time.monotonic(), sum(g.acked for g in gateways)
    if callable(fault):
        await asyncio.to_thread(fault)
    await asyncio.sleep(seconds / 2)
    if callable(half):
        half()
    await asyncio.sleep(seconds / 2)
    rate = (sum(g.acked for g in gateways) - at_start) / (time.monotonic() - start)
    stop.set()
    await asyncio.gather(*tasks)
    assert sum(g.acked for g in gateways) > before
    return rate


def site_files(work: Path, sites: list[str]) -> list[Path]:
    text = (ROOT / "examples" / "estate.yaml").read_text()
    paths = []
    for site in sites:
        path = work / f"{site}.yaml"
        path.write_text(text.replace("id: harbour-view", f"id: {site}", 1))
        paths.append(path)
    return paths


def alarm_figures(events: list[tuple[float, AlarmEvent]], sites: list[str]) -> dict[str, int]:
    ids: dict[str, set[str]] = {}
    late = 0
    for _, e in events:
        if e.event is AlarmEventType.RAISED and e.site in sites:
            if e.alarm_id not in ids.setdefault(e.site, set()):
                onset = e.onset_at or e.raised_at
                late += e.raised_at - onset > (FOR_S + 3) * 1000
            ids[e.site].add(e.alarm_id)
    return {
        "duplicate_alarm_ids": sum(len(v) - 1 for v in ids.values()),
        "alarms_missed": sum(1 for s in sites if s not in ids),
        "alarms_late": late,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--estates", type=int, default=100)
    parser.add_argument("--devices", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--uplink", choices=("jetstream", "mqtt"), default="jetstream",
        help="gateways publish by JetStream (--central-nats) or MQTT into node 1's listener",
    )  # fmt: skip
    parser.add_argument(
        "--kill", choices=("leader", "replica"), default="leader",
        help="the node killed in phase 2: the stream's leader or a replica",
    )  # fmt: skip
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ew-scale-"))
    cluster = NatsCluster(work / "nats")
    (work / "influx").mkdir()
    influx = InfluxDB(work / "influx")
    procs: list[subprocess.Popen[bytes]] = []
    sites = [f"estate-{i:04d}" for i in range(args.estates)]
    rules_file = work / "rules.yaml"
    rules_file.write_text(RULES)
    configs = site_files(work, sites)
    api = BenchApi(work, cluster.mqtt_url(0), configs)
    try:
        cluster.start()
        influx.start()
        influx.create_database(DB)
        api.start()
        log = work / "ingest.log"
        procs = [start_ingest(cluster, influx, f"ingest-{i}", log) for i in range(2)]
        rules = [start_rules(cluster, configs, rules_file, f"rules-{i}", work / "rules.log")
                 for i in range(2)]  # fmt: skip
        procs += [p for p, _ in rules]
        async with Leases(cluster.urls, sites) as leases:
            await leases.wait({"rules-0", "rules-1"}, 180, spread=True)
            await asyncio.sleep(2)  # their consumers open
            t0 = int(time.time() * 1000) - 3_600_000
            gateways = [Gateway(s, args.devices, t0 + i) for i, s in enumerate(sites)]
            url = cluster.url if args.uplink == "jetstream" else cluster.mqtt_url(0)
            evaluated = sum(rules_readings(ops) for _, ops in rules)
            started = time.monotonic()

            def low() -> None:
                for g in gateways:
                    g.tank = 10.0

            baseline = await phase(gateways, url, args.seconds, half=low)
            rules_rate = (sum(rules_readings(ops) for _, ops in rules) - evaluated) / (
                time.monotonic() - started
            )
            killed_at = 0.0

            # Node 1 (index 0) keeps the MQTT listener the rules publish alarm events into:
            # the stream's leader is moved off it first when that node is to die.
            if args.kill == "leader":
                await lead_elsewhere(cluster, 0)

            def faults() -> None:
                nonlocal killed_at
                # From the first blow: a node's death alone can cost the instance on it its
                # leases before it is killed itself (it was measured from the last, < 0).
                killed_at = time.monotonic()
                leader = cluster.stream_leader(streams.TELEMETRY_STREAM)
                if args.kill == "leader":
                    assert leader in (1, 2), f"the stream's leader is node {leader}"
                    cluster.kill(leader)
                else:
                    cluster.kill(next(i for i in (1, 2) if i != leader))
                procs[0].send_signal(signal.SIGKILL)
                rules[0][0].send_signal(signal.SIGKILL)

            rebalance = asyncio.create_task(leases.wait({"rules-1"}, 120, spread=False))
            with_faults = await phase(gateways, url, args.seconds, faults)
            rebalance_s = await rebalance - killed_at
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if not alarm_figures(leases.events, sites)["alarms_missed"]:
                    break
                await asyncio.sleep(1)
            alarms = alarm_figures(leases.events, sites)
        raised = len(sites) - alarms["alarms_missed"] + alarms["duplicate_alarm_ids"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the API's orders for the alarms heard
            if api.order_figures()["work_orders"] >= raised:
                break
            await asyncio.sleep(1)
        orders = api.order_figures()
        acked = sum(g.acked for g in gateways)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # polling a server: no event to wait on
            if count(influx) >= acked:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(6)  # past ack_wait: late redeliveries land (and overwrite)
        stored = count(influx)
        print(f"estates: {args.estates}")
        print(f"uplink: {args.uplink}")
        print(f"node_killed: {args.kill}")
        print(f"devices_per_estate: {args.devices + 1}")
        print("points_per_reading: 10")
        print("ingest_instances: 2")
        print("rules_instances: 2")
        print(f"baseline_readings_per_s: {baseline:.0f}")
        print(f"readings_per_s: {with_faults:.0f}")
        print(f"readings_per_s_per_rules_instance: {rules_rate / 2:.0f}")
        print(f"rebalance_s: {rebalance_s:.1f}")
        print(f"readings_acked: {acked}")
        print(f"lost: {max(0, acked - stored)}")
        print(f"duplicates_stored: {max(0, stored - acked)}")
        for name, value in {**alarms, **orders}.items():
            print(f"{name}: {value}")
        print(f"load_average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:  # say so, and still stop the servers below
                print(f"pid {proc.pid} did not stop within 20 s: killed", file=sys.stderr)
                proc.kill()
                proc.wait()
        api.stop()
        cluster.stop()
        influx.stop()


if __name__ == "__main__":
    asyncio.run(main())
