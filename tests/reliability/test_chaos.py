"""Chaos on the whole pipeline, counted: each scenario breaks one thing under load while a
fault in the estate raises an alarm, heals it, drains, and prints what was produced,
stored, lost, redelivered and dropped, and the alarms and work orders expected and found.

One pipeline (its own Mosquitto and InfluxDB) serves the module; each scenario leaves it
whole. `EW_RELIABILITY=full` stretches the outages (InfluxDB down two minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from estatewatch.config import SiteConfig
from estatewatch.testing.services import InfluxDB, Mosquitto, free_port
from tests.gateway.conftest import KEYS
from tests.gateway.helpers import Listener, listening
from tests.reliability.harness import (
    PROFILE,
    Counts,
    Pipeline,
    produced_keys,
    quick_site,
    record,
    redeliveries,
    seconds,
    seq_gaps,
    telemetry_seqs,
    write_site,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.reliability,
    pytest.mark.asyncio(loop_scope="module"),
]

GATEWAY_HOST = "127.0.0.2"
"""The gateway alone reaches the broker on this address, so a partition can cut it alone."""


class Chaos:
    def __init__(self, pipeline: Pipeline, listener: Listener, gateway_port: int) -> None:
        self.p = pipeline
        self.listener = listener
        self.gateway_port = gateway_port
        self.elevators = iter(f"elevator-{n}" for n in range(1, 9))

    def high_seq(self) -> int:
        seqs = telemetry_seqs(self.listener)
        return max(seqs, default=-1)

    async def settle(self) -> None:
        """Until the gateway's queue is empty and its newest batch has reached the listener."""
        await self.p.until(self._drained, "the gateway's queue to drain", within=120, every=0.5)

    async def _drained(self) -> bool:
        try:
            health = await self.p.gateway_health()
        except Exception:  # restarting
            return False
        return bool(health["queue_depth"] == 0 and self.listener.batches())

    async def run(
        self, name: str, chaos: Callable[[str], Awaitable[str | None]], *, orders: int = 1
    ) -> Counts:
        """Load → `chaos(device)` (a fault is injected on `device` as it starts) → heal → drain →
        count. Returns the counts (already recorded)."""
        device = next(self.elevators)
        await self.settle()
        low = self.high_seq()
        since_ms = int(time.time() * 1000) - 60_000
        dropped_before = (await self.p.gateway_health())["dropped_total"]
        started = time.monotonic()
        t0 = int(time.time() * 1000)
        await self.p.inject(device, "door_fault")
        note = await chaos(device) or ""
        await self.settle()
        high = self.high_seq()
        rule = "elevator.door_fault"
        await self.p.until(lambda: self.p.alarms(rule, device), f"the {rule} alarm on {device}")
        await self.p.clear(device, "door_fault")
        await self.p.until(lambda: self.p.orders_for(self.p.alarms(rule, device)) >= orders,
                           "its work order")  # fmt: skip
        batches = telemetry_seqs(self.listener)
        produced = produced_keys(batches, low, high)
        stored: set[tuple[str, int]] = set()
        for _ in range(60):  # ingest flushes within a second; InfluxDB answers at once after
            stored = self.p.stored_keys(since_ms) & produced
            if stored == produced:
                break
            await asyncio.sleep(0.5)
        missing = sorted(produced - stored, key=lambda k: k[1])
        if missing:  # when and what: enough to tell a window from a scatter
            print(f"\nnot stored: {len(missing)} from t0={t0}: {missing[:5]} … {missing[-3:]}")
        dropped = (await self.p.gateway_health())["dropped_total"] - dropped_before
        alarm_ids = self.p.alarms(rule, device)
        counts = Counts(
            scenario=name,
            profile=PROFILE,
            seconds=round(time.monotonic() - started, 1),
            produced=len(produced),
            stored=len(stored),
            lost=len(produced - stored),
            redelivered=redeliveries(self.listener),
            seq_gaps=seq_gaps(batches, low, high),
            dropped_by_policy=dropped,
            alarms_expected=1,
            alarms_found=len(alarm_ids),
            orders_expected=orders,
            orders_found=self.p.orders_for(alarm_ids),
            note=note,
        )
        record(counts)
        return counts


def assert_whole(counts: Counts) -> None:
    assert counts.produced > 0
    assert counts.lost == 0, counts.line()
    assert counts.seq_gaps == 0, counts.line()
    assert counts.dropped_by_policy == 0, counts.line()
    assert counts.alarms_found == counts.alarms_expected, counts.line()
    assert counts.orders_found == counts.orders_expected, counts.line()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chaos(
    example_site: SiteConfig, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Chaos]:
    work = tmp_path_factory.mktemp("chaos")
    gateway_port = free_port()
    broker = Mosquitto(work / "mosquitto")
    broker.workdir.mkdir()
    broker.extra_config = f"listener {gateway_port} {GATEWAY_HOST}\n"
    broker.start()
    influx = InfluxDB(work / "influxdb")
    influx.workdir.mkdir()
    influx.start()
    site = quick_site(example_site)
    pipeline = Pipeline(
        work, site, broker, influx, gateway_mqtt=f"mqtt://{GATEWAY_HOST}:{gateway_port}"
    )
    pipeline.gateway.env.update(KEYS)
    try:
        async with listening(broker.url, site.site.id) as listener:
            await pipeline.start()
            chaos = Chaos(pipeline, listener, gateway_port)
            await chaos.settle()
            yield chaos
    finally:
        await pipeline.stop()
        influx.stop()
        broker.stop()


async def test_broker_restarted_under_load(chaos: Chaos) -> None:
    async def restart_broker(_: str) -> None:
        await asyncio.sleep(2)
        chaos.p.mosquitto.stop()
        await asyncio.sleep(seconds(3, 30))
        chaos.p.mosquitto.start()

    assert_whole(await chaos.run("broker restarted", restart_broker))


async def test_influxdb_down_and_back(chaos: Chaos) -> None:
    async def stop_influx(_: str) -> None:
        chaos.p.influx.stop()
        await asyncio.sleep(seconds(10, 120))
        chaos.p.influx.start()

    assert_whole(await chaos.run("InfluxDB stopped", stop_influx))


async def test_gateway_killed_and_restarted(chaos: Chaos) -> None:
    async def kill_gateway(_: str) -> None:
        await asyncio.sleep(2)
        await chaos.p.restart(chaos.p.gateway, kill=True, down_for=seconds(2, 10))

    assert_whole(await chaos.run("gateway kill -9", kill_gateway))


async def test_ingest_and_rules_killed_mid_batch(chaos: Chaos) -> None:
    async def kill_ingest_and_rules(_: str) -> None:
        # the fault is raised while the rules engine is away: it must still alarm once
        chaos.p.rules.stop(kill=True)
        await asyncio.sleep(1)
        chaos.p.ingest.stop(kill=True)
        await asyncio.sleep(seconds(6, 30))
        chaos.p.ingest.start()
        chaos.p.rules.start()

    assert_whole(await chaos.run("ingest and rules kill -9", kill_ingest_and_rules))


async def test_api_restarted_while_alarms_arrive(chaos: Chaos) -> None:
    async def kill_api(_: str) -> None:
        await asyncio.sleep(4)  # the door fault's 5 s hold ends about now: the alarm is in flight
        chaos.p.api.stop(kill=True)
        await asyncio.sleep(seconds(4, 20))
        chaos.p.api.start()

    assert_whole(await chaos.run("API kill -9 while alarms arrive", kill_api))


def _iptables(*args: str) -> bool:
    binary = shutil.which("iptables")
    if binary is None:
        return False
    return subprocess.run([binary, *args], capture_output=True).returncode == 0


async def test_network_partition_between_gateway_and_broker(chaos: Chaos) -> None:
    port = str(chaos.gateway_port)
    # Packets to and from the gateway's broker address vanish (no RST, no FIN): the gateway
    # must notice by itself (MQTT keepalive) and buffer, as on a dead 4G uplink.
    rules = [
        ["INPUT", "-p", "tcp", "-d", GATEWAY_HOST, "--dport", port, "-j", "DROP"],
        ["INPUT", "-p", "tcp", "-s", GATEWAY_HOST, "--sport", port, "-j", "DROP"],
    ]
    partitioned = _iptables("-I", *rules[0]) and _iptables("-I", *rules[1])

    async def partition(_: str) -> str:
        try:
            if partitioned:
                await asyncio.sleep(seconds(12, 90))
                return "iptables DROP on the gateway's broker address"
            chaos.p.mosquitto.stop()  # no netfilter here: the nearest thing
            await asyncio.sleep(seconds(12, 90))
            chaos.p.mosquitto.start()
            return "no iptables: broker stopped instead"
        finally:
            for rule in rules:
                with contextlib.suppress(Exception):
                    _iptables("-D", *rule)

    try:
        assert_whole(await chaos.run("gateway-broker partition", partition))
    finally:
        for rule in rules:
            _iptables("-D", *rule)


async def test_buffer_limit_in_a_long_outage_drops_the_oldest(chaos: Chaos) -> None:
    p = chaos.p
    small = write_site(quick_site(p.site, buffer_max_mb=0.05), p.workdir / "small.yaml")
    p.gateway.argv[p.gateway.argv.index("--config") + 1] = str(small)
    await p.restart(p.gateway)
    await p.until(lambda: p._ok(p.gateway_url + "/health"), "gateway")

    async def long_outage(_: str) -> str:
        p.mosquitto.stop()
        # 50 KB of queue holds a few seconds of this estate's readings: outlast it
        await p.until(_dropping, "the queue to start dropping", within=120, every=1)
        await asyncio.sleep(seconds(3, 30))
        p.mosquitto.start()
        return "queue bound 50 KB"

    async def _dropping() -> bool:
        return bool((await p.gateway_health())["dropped_total"] > 0)

    counts = await chaos.run("disk-buffer limit in a long outage", long_outage)
    assert counts.dropped_by_policy > 0
    # every reading delivered is stored; the only gap is what the queue dropped, the oldest
    assert counts.lost == 0, counts.line()
    assert counts.seq_gaps <= counts.dropped_by_policy, counts.line()
    assert counts.alarms_found == counts.alarms_expected
    assert counts.orders_found == counts.orders_expected
    # the newest were kept: every telemetry message after the last one dropped arrived
    seqs = set(telemetry_seqs(chaos.listener))
    missing = sorted(set(range(min(seqs), max(seqs) + 1)) - seqs)
    if missing:
        assert set(range(missing[-1] + 1, max(seqs) + 1)) <= seqs
    # back to the normal bound for whatever runs next
    p.gateway.argv[p.gateway.argv.index("--config") + 1] = str(p.site_file)
    await p.restart(p.gateway)
