"""A soak: 200 simulated Modbus devices polled by a real `estatewatch gateway` into a real
Mosquitto for ten minutes (`EW_RELIABILITY=full`: two hours), while devices flap offline
and talk garbage, the uplink is cut 3 min in every 10 (scaled down with the duration) and
the gateway is killed once and started again on the same queue file.

What peers complain of most is what it asserts:

- **polling never stops**: every device that is not faulted keeps producing readings after
  each uplink cut, after the restart and to the end (its readings' own times, so a reading
  that waited in the queue still shows when it was taken), and every flapped device comes
  back after its fault is cleared;
- **nothing is lost**: every telemetry seq the gateway accepted (its own count, read from its
  queue file at the end) reached a persistent-session listener, save what its queue dropped
  by policy (counted);
- **no leak**: the gateway's RSS and open file descriptors, sampled from /proc every few
  seconds after a warm-up, grow less than 10 % from the first cycle to the last.

    EW_SOAK_SECONDS=60 .venv/bin/python -m pytest tests/reliability/test_soak.py -s
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import time
from array import array
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from estatewatch.config import ModbusTcp, SiteConfig, parse_site
from estatewatch.contracts import decode_any, topics
from estatewatch.contracts.payloads import TelemetryBatch
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto, free_port
from simulators.harness import relocate
from tests.gateway.conftest import KEYS
from tests.reliability.harness import FULL, PROFILE, Part, record_row, write_site

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.reliability,
]

SECONDS = float(os.environ.get("EW_SOAK_SECONDS") or (7200 if FULL else 600))
DEVICES = int(os.environ.get("EW_SOAK_DEVICES") or 200)
UNITS_PER_SERVER = 8
"""Devices behind one simulated serial-to-TCP converter, one unit id each."""
CYCLE = max(30.0, 600.0 * SECONDS / 7200)
"""The uplink is cut for 30 % of every cycle: 3 min in 10 in the full profile's 2 h."""
CUT = 0.3 * CYCLE
FLAPPING = DEVICES // 10
"""Devices that flap (offline or garbage, then cleared), each at most once at a time."""
GATEWAY_HOST = "127.0.0.2"
"""The gateway alone reaches the broker on this address: the cut is its uplink's alone."""
SAMPLE_EVERY = 3.0
WARM_UP = min(60.0, 0.15 * SECONDS)

RECOVERY_BOUND = 20.0
"""Seconds within which a healthy device has a reading after an uplink cut or the restart."""
FAULT_RECOVERY_BOUND = 90.0
"""…and a flapped device after its fault is cleared (an offline device is probed at a
backoff doubling up to a minute)."""
GAP_BOUND = 15.0
"""Longest silence of a healthy device outside the restart (polls every 1–2 s)."""
GROWTH_BOUND = 10.0


# --- the site -------------------------------------------------------------------------------


def soak_site(example: SiteConfig, count: int = DEVICES) -> SiteConfig:
    """`count` Modbus devices made from the example's (pump sets, elevators, power rooms, a
    generator, a fire panel, with their register maps and poll intervals of 1–2 s),
    `UNITS_PER_SERVER` to a simulated server, on free loopback ports; no MQTT sensors."""
    templates = [d for d in example.devices if isinstance(d.connection, ModbusTcp)]
    devices = []
    for n in range(count):
        template = templates[n % len(templates)]
        server, unit = divmod(n, UNITS_PER_SERVER)
        host = f"10.77.{server // 250}.{server % 250 + 1}"
        conn = template.connection.model_copy(
            update={"host": host, "port": 502, "unit_id": unit + 1}
        )
        # The copies stand alone: what a power room feeds or a generator backs names the
        # example's devices, which the soak's site does not have.
        wiring: dict[str, object] = {}
        if hasattr(template, "feeds"):
            wiring["feeds"] = type(template.feeds)()
        if hasattr(template, "backs"):
            wiring["backs"] = []
        devices.append(
            template.model_copy(
                update={
                    "id": f"{template.id}-{n:03d}",
                    "name": f"{template.name} #{n}",
                    "connection": conn,
                    **wiring,
                }
            )
        )
    site = example.model_copy(update={"devices": devices})
    data = site.model_dump(mode="json", exclude_none=True)
    return relocate(parse_site(yaml.safe_dump(data, allow_unicode=True, sort_keys=False)))


# --- the listener ---------------------------------------------------------------------------


@dataclass
class Counter:
    """Every telemetry message the central broker delivered, kept small: seqs and, per
    device, the times of its readings (two hours of 200 devices are ~1M numbers)."""

    seqs: set[int] = field(default_factory=set)
    deliveries: int = 0
    readings: int = 0
    times: dict[str, array[int]] = field(default_factory=dict)

    def take(self, batch: TelemetryBatch) -> None:
        self.deliveries += 1
        if batch.seq in self.seqs:
            return
        self.seqs.add(batch.seq)
        for r in batch.readings:
            self.readings += 1
            self.times.setdefault(r.device, array("q")).append(r.ts)

    def sorted_times(self, device: str) -> list[float]:
        return sorted(ts / 1000 for ts in self.times.get(device, array("q")))


@contextlib.asynccontextmanager
async def counting(url: str, site: str) -> AsyncIterator[Counter]:
    counter = Counter()
    settings = MqttSettings(
        url=url,
        client_id="ew-soak-listener",
        clean_start=False,
        session_expiry=7200,
        reconnect_max_delay=1,
        connect_timeout=10,
    )
    async with MqttClient(settings) as client:
        await client.subscribe(topics.telemetry_filter(site))

        async def collect() -> None:
            async for message in client.messages():
                payload = decode_any(message.topic, message.payload)
                if isinstance(payload, TelemetryBatch):
                    counter.take(payload)

        task = asyncio.create_task(collect())
        try:
            yield counter
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# --- the uplink -----------------------------------------------------------------------------


class Uplink:
    """Cuts the gateway's uplink, one way and then the other: iptables DROP on the gateway's
    broker address (no RST, no FIN: a dead 4G link, which the client notices only by its
    keepalive, if the cut lasts that long) and the broker stopped (the connection refused:
    the gateway reconnects as soon as it is back). Where netfilter is unavailable every cut
    stops the broker."""

    def __init__(self, broker: Mosquitto, port: int) -> None:
        self.broker = broker
        self.rules = [
            ["INPUT", "-p", "tcp", "-d", GATEWAY_HOST, "--dport", str(port), "-j", "DROP"],
            ["INPUT", "-p", "tcp", "-s", GATEWAY_HOST, "--sport", str(port), "-j", "DROP"],
        ]
        self.iptables = shutil.which("iptables")
        if not self._probe():
            self.iptables = None
        self.current: str | None = None
        self.kinds: list[str] = []

    def _run(self, *args: str) -> bool:
        if self.iptables is None:
            return False
        return subprocess.run([self.iptables, *args], capture_output=True).returncode == 0

    def _probe(self) -> bool:
        rule = self.rules[0]
        if self._run("-I", *rule):
            self._run("-D", *rule)
            return True
        return False

    def cut(self) -> None:
        drop = self.iptables is not None and len(self.kinds) % 2 == 0
        self.current = "iptables DROP" if drop else "broker stopped"
        self.kinds.append(self.current)
        if drop:
            for rule in self.rules:
                self._run("-I", *rule)
        else:
            self.broker.stop()

    def restore(self) -> None:
        if self.current is None:
            return
        if self.current == "iptables DROP":
            for rule in self.rules:
                while self._run("-D", *rule):
                    pass
        else:
            self.broker.start()
        self.current = None

    def how(self) -> str:
        counts = {kind: self.kinds.count(kind) for kind in dict.fromkeys(self.kinds)}
        return ", ".join(f"{n} {kind}" for kind, n in counts.items())


# --- the soak -------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    pid: int
    rss_kb: int
    fds: int


def sample(pid: int) -> Sample | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return Sample(time.time(), pid, rss, fds)


@dataclass
class Window:
    """A device's fault from `start` to `end` (epoch seconds; `end` inf while it holds)."""

    device: str
    fault: str
    start: float
    end: float = math.inf


@dataclass
class Soak:
    site: SiteConfig
    gateway: Part
    simulators: Part
    uplink: Uplink
    control: str
    health_url: str
    queue: Path
    http: httpx.AsyncClient
    rng: random.Random = field(default_factory=lambda: random.Random(18))
    faults: list[Window] = field(default_factory=list)
    cuts: list[tuple[float, float]] = field(default_factory=list)
    restarts: list[tuple[float, float]] = field(default_factory=list)
    """(killed, started again) of each gateway restart."""
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    # --- the schedule ---------------------------------------------------------------------

    async def run(self, seconds: float) -> float:
        """Cuts, flaps, the restart and the sampling, for `seconds`; returns when it began."""
        begin = time.time()
        end = begin + seconds
        cycles = max(1, int(seconds // CYCLE))
        restart_cycle = min(cycles - 1, max(1, round(cycles * 0.25)))
        restart_at = begin + restart_cycle * CYCLE + 0.1 * CYCLE
        tasks = [
            asyncio.create_task(self._sampler(end)),
            asyncio.create_task(self._flapper(end)),
        ]
        try:
            for k in range(cycles):
                cycle = begin + k * CYCLE
                if k == restart_cycle:
                    await _sleep_until(restart_at)
                    await self._restart()
                await _sleep_until(cycle + 0.35 * CYCLE)
                self.uplink.cut()
                cut_at = time.time()
                await _sleep_until(cut_at + CUT)
                self.uplink.restore()
                self.cuts.append((cut_at, time.time()))
            await _sleep_until(end)
        finally:
            self.uplink.restore()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return begin

    async def _restart(self) -> None:
        killed = time.time()
        self.gateway.stop(kill=True)
        await asyncio.sleep(2)
        self.gateway.start()
        self.restarts.append((killed, time.time()))

    async def _sampler(self, end: float) -> None:
        while time.time() < end:
            proc = self.gateway.proc
            if proc is not None and proc.poll() is None:
                got = sample(proc.pid)
                if got is not None:
                    self.samples.append(got)
            await asyncio.sleep(SAMPLE_EVERY)

    async def _flapper(self, end: float) -> None:
        """Every few seconds one device of the flapping pool goes offline or talks garbage
        for 5–40 s; a cleared device rests `FAULT_RECOVERY_BOUND` before it flaps again."""
        pool = self.rng.sample([d.id for d in self.site.devices], FLAPPING)
        resting: dict[str, float] = {}
        active: list[Window] = []
        every = max(2.0, min(10.0, SECONDS / 60))
        next_at = time.time() + 5
        try:
            while time.time() < end - FAULT_RECOVERY_BOUND / 2:
                now = time.time()
                for window in [w for w in active if w.end <= now]:
                    await self._fault(window.device, window.fault, clear=True)
                    window.end = time.time()
                    active.remove(window)
                    resting[window.device] = window.end + FAULT_RECOVERY_BOUND
                if now >= next_at:
                    next_at = now + every
                    busy = {w.device for w in active}
                    ready = [d for d in pool if d not in busy and resting.get(d, 0) <= now]
                    if ready:
                        device = self.rng.choice(ready)
                        fault = self.rng.choice(["offline", "offline", "garbage"])
                        await self._fault(device, fault)
                        window = Window(device, fault, time.time())
                        self.faults.append(window)
                        active.append(window)
                        window.end = window.start + self.rng.uniform(5, 40)  # planned
                await asyncio.sleep(0.5)
        finally:
            for window in active:  # cleared now, whatever was planned
                with contextlib.suppress(Exception):
                    await self._fault(window.device, window.fault, clear=True)
                window.end = time.time()

    async def _fault(self, device: str, fault: str, *, clear: bool = False) -> None:
        try:
            if clear:
                response = await self.http.delete(f"{self.control}/faults/{device}/{fault}")
            else:
                body = {"device": device, "fault": fault}
                response = await self.http.post(f"{self.control}/faults", json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.errors.append(f"{'clear' if clear else 'inject'} {fault} on {device}: {exc}")

    # --- the end --------------------------------------------------------------------------

    async def health(self) -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = (await self.http.get(self.health_url)).json()
        except (httpx.HTTPError, ValueError):
            return None
        return body

    async def drained(self, counter: Counter, within: float) -> None:
        """Until the gateway's queue is empty and the listener has every seq below the
        gateway's own count (read from its queue file, which WAL lets us read live)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            health = await self.health()
            if health is not None and health["queue_depth"] == 0:
                accepted = accepted_seqs(self.queue)
                if all(s in counter.seqs for s in range(accepted)):
                    return
            await asyncio.sleep(1)


async def _sleep_until(t: float) -> None:
    await asyncio.sleep(max(0.0, t - time.time()))


def accepted_seqs(queue: Path) -> int:
    """How many telemetry messages the gateway ever accepted: its next telemetry seq."""
    with contextlib.closing(sqlite3.connect(f"file:{queue}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT next FROM seqs WHERE stream = 'telemetry'").fetchone()
    return int(row[0]) if row else 0


def queued_seqs(queue: Path) -> set[int]:
    with contextlib.closing(sqlite3.connect(f"file:{queue}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT seq FROM outbox WHERE stream = 'telemetry'").fetchall()
    return {int(r[0]) for r in rows}


def dropped_total(queue: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{queue}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
    return int(row[0]) if row else 0


# --- what the readings say ------------------------------------------------------------------


@dataclass
class Silence:
    worst: float = 0.0
    where: str = ""

    def see(self, seconds: float, where: str) -> None:
        if seconds > self.worst:
            self.worst, self.where = seconds, where


def first_after(times: list[float], t: float) -> float | None:
    from bisect import bisect_left

    i = bisect_left(times, t)
    return times[i] if i < len(times) else None


def faulted(windows: list[Window], t0: float, t1: float, slack: float) -> bool:
    """Whether a fault window (stretched by `slack` after its clearing) meets [t0, t1]."""
    return any(w.start <= t1 and w.end + slack >= t0 for w in windows)


def examine(
    soak: Soak, counter: Counter, end: float
) -> tuple[Silence, Silence, Silence, list[str]]:
    """Silences after recovery (uplink, restart), after a fault's clearing, and the longest
    gap of a healthy device; and the devices that stopped."""
    by_device: dict[str, list[Window]] = {}
    for w in soak.faults:
        by_device.setdefault(w.device, []).append(w)
    recoveries = [("uplink restored", back) for _, back in soak.cuts] + [
        ("restart", started) for _, started in soak.restarts
    ]
    after_recovery, after_fault, gap = Silence(), Silence(), Silence()
    stopped: list[str] = []
    for device in (d.id for d in soak.site.devices):
        times = counter.sorted_times(device)
        windows = by_device.get(device, [])
        if not times:
            stopped.append(f"{device}: no reading at all")
            continue
        for what, t in recoveries:
            horizon = min(end, t + RECOVERY_BOUND)
            if faulted(windows, t - FAULT_RECOVERY_BOUND, horizon, FAULT_RECOVERY_BOUND):
                continue
            first = first_after(times, t)
            silence = (first if first is not None else end) - t
            after_recovery.see(silence, f"{device} after {what} at {t:.0f}")
            if first is None or silence > RECOVERY_BOUND:
                stopped.append(f"{device}: no reading for {silence:.0f} s after {what}")
        for w in windows:
            first = first_after(times, w.end)
            silence = (first if first is not None else end) - w.end
            after_fault.see(silence, f"{device} after {w.fault} cleared at {w.end:.0f}")
            if (first is None and end - w.end > FAULT_RECOVERY_BOUND) or (
                silence > FAULT_RECOVERY_BOUND
            ):
                stopped.append(f"{device}: no reading for {silence:.0f} s after {w.fault} cleared")
        # the longest gap anywhere a healthy device was polled (the restart excepted)
        marks = [*times, end]
        for a, b in itertools.pairwise(marks):
            if b - a <= gap.worst:
                continue  # cannot be the longest: spare the checks
            if faulted(windows, a, b, FAULT_RECOVERY_BOUND):
                continue
            if any(
                killed <= b and started + RECOVERY_BOUND >= a for killed, started in soak.restarts
            ):
                continue
            gap.see(b - a, f"{device} from {a:.0f}")
            if b - a > GAP_BOUND:
                stopped.append(f"{device}: silent {b - a:.0f} s from {a:.0f} while healthy")
    return after_recovery, after_fault, gap, stopped


def leak(
    samples: list[Sample], pid: int, warm_from: float
) -> tuple[Sample, Sample, dict[str, float]]:
    """Median RSS and fds over the first cycle after the warm-up and over the last one."""
    life = [s for s in samples if s.pid == pid and s.t >= warm_from]
    assert len(life) >= 4, f"too few samples of the gateway ({len(life)})"
    span = min(CYCLE, (life[-1].t - life[0].t) / 3)
    first = [s for s in life if s.t <= life[0].t + span]
    last = [s for s in life if s.t >= life[-1].t - span]

    def median(of: list[Sample], key: str) -> int:
        return round(statistics.median(int(getattr(s, key)) for s in of))

    start = Sample(first[0].t, pid, median(first, "rss_kb"), median(first, "fds"))
    stop = Sample(last[-1].t, pid, median(last, "rss_kb"), median(last, "fds"))
    growth = {
        "rss": 100.0 * (stop.rss_kb - start.rss_kb) / start.rss_kb,
        "fds": 100.0 * (stop.fds - start.fds) / start.fds,
        "rss_max_kb": max(s.rss_kb for s in life),
        "fds_max": max(s.fds for s in life),
    }
    return start, stop, growth


# --- the test -------------------------------------------------------------------------------


@pytest.mark.timeout(int(SECONDS) + 600)
async def test_soak(example_site: SiteConfig, tmp_path: Path) -> None:
    site = soak_site(example_site)
    gateway_port = free_port()
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.workdir.mkdir()
    broker.extra_config = f"listener {gateway_port} {GATEWAY_HOST}\n"
    broker.start()
    logs = tmp_path / "logs"
    logs.mkdir()
    site_file = write_site(site, tmp_path / "site.yaml")
    control, http_port = free_port(), free_port()
    queue = tmp_path / "gateway-queue.db"
    simulators = Part(
        "simulators",
        ["simulate", "--config", str(site_file), "--seed", "18", "--control-port", str(control),
         "--step", "1"],
        logs / "simulators.log",
        log_level="WARNING",
    )  # fmt: skip
    gateway = Part(
        "gateway",
        ["gateway", "--config", str(site_file), "--mqtt", f"mqtt://{GATEWAY_HOST}:{gateway_port}",
         "--site-mqtt", broker.url, "--http-port", str(http_port), "--buffer", str(queue)],
        logs / "gateway.log",
        env=KEYS,
    )  # fmt: skip
    http = httpx.AsyncClient(timeout=10)
    soak = Soak(
        site=site,
        gateway=gateway,
        simulators=simulators,
        uplink=Uplink(broker, gateway_port),
        control=f"http://127.0.0.1:{control}",
        health_url=f"http://127.0.0.1:{http_port}/health",
        queue=queue,
        http=http,
    )
    try:
        async with counting(broker.url, site.site.id) as counter:
            simulators.start()
            await _until(lambda: _ok(http, f"{soak.control}/devices"), "the simulators", 120)
            gateway.start()
            await _until(lambda: _ok(http, soak.health_url), "the gateway", 60)
            await _until(lambda: counter.readings > 0, "the first readings", 60)
            begin = await soak.run(SECONDS)
            end = time.time()
            assert gateway.alive, gateway.tail()
            pid = gateway.proc.pid if gateway.proc else 0
            await soak.drained(counter, within=max(120.0, 4 * CUT))
            accepted = accepted_seqs(queue)
            gateway.stop()  # SIGTERM: what it commits while stopping stays queued or goes out
            await asyncio.sleep(2)
        accepted = accepted_seqs(queue)
        queued = queued_seqs(queue)
        dropped = dropped_total(queue)
        delivered = sum(1 for s in range(accepted) if s in counter.seqs)
        missing = [s for s in range(accepted) if s not in counter.seqs and s not in queued]
        lost = max(0, len(missing) - dropped)
        after_recovery, after_fault, gap, stopped = examine(soak, counter, end)
        warm_from = (soak.restarts[-1][1] if soak.restarts else begin) + WARM_UP
        start, stop, growth = leak(soak.samples, pid, warm_from)
        first_life = [s for s in soak.samples if s.pid != pid]
        row = {
            "profile": PROFILE,
            "seconds": round(end - begin),
            "devices": len(site.devices),
            "produced": accepted,
            "delivered": delivered,
            "readings": counter.readings,
            "lost": lost,
            "dropped_by_policy": dropped,
            "restarts": len(soak.restarts),
            "uplink_cuts": len(soak.cuts),
            "cut_seconds": round(CUT),
            "faults": len(soak.faults),
            "max_silence_after_recovery": round(after_recovery.worst, 1),
            "max_silence_after_fault": round(after_fault.worst, 1),
            "longest_healthy_gap": round(gap.worst, 1),
            "rss_start_mb": round(start.rss_kb / 1024, 1),
            "rss_end_mb": round(stop.rss_kb / 1024, 1),
            "rss_growth_pct": round(growth["rss"], 1),
            "fds_start": start.fds,
            "fds_end": stop.fds,
            "note": soak.uplink.how(),
        }
        record_row("soak", row)
        print(
            f"\nsoak: {counter.readings} readings in {len(counter.seqs)} messages"
            f" ({counter.deliveries - len(counter.seqs)} redelivered), {len(soak.faults)} faults"
            f" on {len({w.device for w in soak.faults})} devices, cuts: {soak.uplink.how()};"
            f" worst after recovery: {after_recovery.where}; after a fault: {after_fault.where};"
            f" longest healthy gap {gap.worst:.1f} s ({gap.where}); rss max"
            f" {growth['rss_max_kb'] / 1024:.1f} MB, fds max {growth['fds_max']:.0f};"
            f" first life: {len(first_life)} samples, rss"
            f" {first_life[0].rss_kb / 1024 if first_life else 0:.1f}→"
            f"{first_life[-1].rss_kb / 1024 if first_life else 0:.1f} MB; control errors"
            f" {soak.errors[:3]}"
        )
        assert not soak.errors, soak.errors
        assert accepted > 0
        assert not stopped, f"polling stopped: {stopped[:10]} ({len(stopped)} in all)"
        assert not missing or len(missing) <= dropped, (
            f"{len(missing)} accepted seqs never arrived (dropped by policy {dropped}):"
            f" {missing[:10]}"
        )
        assert growth["rss"] < GROWTH_BOUND, row
        assert growth["fds"] < GROWTH_BOUND, row
        assert len(soak.restarts) == 1
    except BaseException:
        print(f"--- gateway\n{gateway.tail(60)}\n--- simulators\n{simulators.tail(20)}")
        raise
    finally:
        soak.uplink.restore()
        gateway.stop()
        simulators.stop()
        await http.aclose()
        broker.stop()


async def _ok(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(url)).status_code < 500
    except httpx.HTTPError:
        return False


async def _until(check: Any, what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within} s in vain for {what}")
        await asyncio.sleep(0.5)
