"""Rules engine throughput and alarm latency with the built-in pack on 500 devices.

    python bench/rules.py [--devices 500] [--rate 20000] [--readings 300000]

One run, on this machine, with a real Mosquitto:
0. baseline: the broker alone — a 50-reading message published and received back by the
   same process at the offered rate, no engine (p50/p99 of that round trip); and the pure
   engine in-process (decode + evaluate, no MQTT) for comparison.
1. throughput: `python -m estatewatch rules` (pinned to CPU 1) drains TelemetryBatch
   messages (50 readings each, normal values taken from the simulators) published as fast as
   the broker takes them; the rate is readings / (first publish → the alarm raised by a
   sentinel reading published last, which the engine sees after all the others).
2. latency: readings offered at `--rate` readings/s for ~25 s; ten times a second one of the
   leak/smoke sensors reports a fault. Latency = publication of that reading → arrival of its
   `raised` AlarmEvent back through the broker (an upper bound of "arrival at the broker →
   alarm event": it adds the publisher's and the listener's own hops).

The publisher, the listener and Mosquitto share CPU 0; the engine has CPU 1 to itself. The
machine is shared with other work, so figures are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estatewatch.clock import FakeClock, to_epoch_ms  # noqa: E402
from estatewatch.config import SiteConfig, load_site, parse_site  # noqa: E402
from estatewatch.contracts import topics  # noqa: E402
from estatewatch.contracts.codec import decode  # noqa: E402
from estatewatch.contracts.payloads import AlarmEvent, DeviceReading, TelemetryBatch  # noqa: E402
from estatewatch.mqtt import MqttClient, MqttSettings  # noqa: E402
from estatewatch.testing.services import Mosquitto  # noqa: E402

PER_MESSAGE = 50
MIX = {"water_pump_set": 0.14, "fire_pump": 0.06, "elevator": 0.30, "power_room": 0.10}
"""The rest are leak and smoke sensors, half each: they carry the latency probes."""


def build_site(devices: int) -> SiteConfig:
    """The example estate with `devices` devices: copies of its pumps, elevators, power rooms
    and leak/smoke sensors in the proportions of MIX."""
    base = load_site(ROOT / "examples" / "estate.yaml")
    by_kind: dict[str, list[Any]] = {}
    for device in base.devices:
        key = getattr(device, "sensor_type", None) or device.kind.value
        by_kind.setdefault(str(key), []).append(device)
    counts = {kind: round(devices * share) for kind, share in MIX.items()}
    rest = devices - sum(counts.values())
    counts["leak"], counts["smoke"] = rest // 2, rest - rest // 2
    made = []
    for kind, count in counts.items():
        templates = by_kind[kind]
        for i in range(count):
            made.append(templates[i % len(templates)].model_copy(update={"id": f"{kind}-{i:03d}"}))
    data = base.model_copy(update={"devices": made}).model_dump(mode="json")
    return parse_site(yaml.safe_dump(data, allow_unicode=True))


def normal_values(site: SiteConfig) -> dict[str, dict[str, Any]]:
    """Values of each device from the simulators after a minute of normal running."""
    from simulators.estate import SimulatedEstate

    example = load_site(ROOT / "examples" / "estate.yaml")
    estate = SimulatedEstate(example, clock=FakeClock(), seed=1, step=1.0)
    estate.step_once(60)
    template = {}
    for device in example.devices:
        key = getattr(device, "sensor_type", None) or device.kind.value
        template.setdefault(str(key), estate.values(device.id))
    return {
        d.id: template[str(getattr(d, "sensor_type", None) or d.kind.value)] for d in site.devices
    }


def readings_of(
    site: SiteConfig, values: dict[str, dict[str, Any]], ts: int
) -> list[DeviceReading]:
    return [
        DeviceReading(device=d.id, kind=d.kind, building=d.building, room=d.room, ts=ts,
                      values=values[d.id])
        for d in site.devices
    ]  # fmt: skip


def batch_bytes(site: SiteConfig, readings: list[DeviceReading], seq: int) -> bytes:
    return TelemetryBatch(
        site=site.site.id, gateway=site.gateway.id, seq=seq, readings=readings
    ).to_bytes()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def pure_rate(site: SiteConfig, payloads: list[bytes]) -> float:
    """Decode + evaluate in this process, no MQTT."""
    from rules.evaluate import evaluate
    from rules.loader import parse_rules
    from rules.plan import compile_site
    from rules.state import new_state

    now = to_epoch_ms(FakeClock().now())
    state = new_state([compile_site(site, parse_rules(None, sites=[site]))], now)
    count, t0 = 0, time.perf_counter()
    for rep in range(3):
        for data in payloads:
            batch = TelemetryBatch.model_validate_json(data)
            state, _ = evaluate(state, batch, now + rep * 1000)
            count += len(batch.readings)
    return count / (time.perf_counter() - t0)


class Listener:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.echo: list[float] = []
        self.news = asyncio.Event()

    async def until(self, check: Callable[[], bool], within: float) -> bool:
        deadline = time.monotonic() + within
        while not check():
            self.news.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.news.wait(), left)
        return True

    async def run(self, client: MqttClient) -> None:
        async for message in client.messages():
            now = time.time()
            if message.topic.endswith("/bench-echo"):
                self.echo.append(now - float(message.payload[:20].split(b" ")[0]))
                continue
            event = decode(AlarmEvent, message.topic, message.payload)
            if event.event.value == "raised":
                self.arrived.setdefault(event.target, now)
                self.news.set()


async def paced(client: MqttClient, topic: str, payloads: list[bytes], rate: float) -> None:
    """Publish `payloads` at `rate` messages/s."""
    start = time.perf_counter()
    for i, payload in enumerate(payloads):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client.publish_nowait(topic, payload)


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    site = build_site(args.devices)
    (workdir / "site.yaml").write_text(yaml.safe_dump(site.model_dump(mode="json")))
    values = normal_values(site)
    ts = to_epoch_ms(FakeClock().now())
    normal = readings_of(site, values, ts)
    chunks = [normal[i : i + PER_MESSAGE] for i in range(0, len(normal), PER_MESSAGE)]
    payloads = [batch_bytes(site, chunk, i) for i, chunk in enumerate(chunks)]
    probes = [d for d in site.devices if d.id.startswith(("leak-", "smoke-"))]
    results: dict[str, float] = {"devices": len(site.devices), "pure_readings_per_s": 0.0}
    results["pure_readings_per_s"] = round(pure_rate(site, payloads))

    broker = Mosquitto(workdir / "mqtt")
    (workdir / "mqtt").mkdir()
    broker.start()
    pin = shutil.which("taskset")
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {0})
        assert broker.proc is not None
        os.sched_setaffinity(broker.proc.pid, {0})
    engine_cmd = [sys.executable, "-m", "estatewatch", "--log-level", "WARNING", "rules",
                  "--config", str(workdir / "site.yaml"), "--mqtt", broker.url,
                  "--state", str(workdir / "rules.db")]  # fmt: skip
    if os.environ.get("BENCH_PROFILE"):  # profile the engine: a cProfile file at this path
        engine_cmd[1:1] = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
    argv = ([pin, "-c", "1"] if pin else []) + engine_cmd
    engine = await asyncio.create_subprocess_exec(*argv, cwd=ROOT)
    listener = Listener()
    telemetry = topics.telemetry(site.site.id, site.gateway.id)
    try:
        settings = MqttSettings(url=broker.url, client_id="bench-publisher", max_inflight=1000)
        listen = MqttSettings(url=broker.url, client_id="bench-listener")
        async with MqttClient(settings) as pub, MqttClient(listen) as sub:
            await sub.subscribe(topics.alarm_filter(site.site.id))
            await sub.subscribe(f"{topics.ROOT}/bench-echo")
            task = asyncio.create_task(listener.run(sub))

            pending: list[asyncio.Future[None]] = []
            # 0. the broker alone, at the offered rate
            msg_rate = args.rate / PER_MESSAGE
            echo_topic = f"{topics.ROOT}/bench-echo"
            start = time.perf_counter()
            for i in range(int(msg_rate * 5)):
                delay = start + i / msg_rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                stamped = f"{time.time():.6f} ".encode() + payloads[0]
                pending.append(pub.publish_nowait(echo_topic, stamped))
            await asyncio.sleep(1.0)
            results["baseline_broker_p50_ms"] = round(percentile(listener.echo, 50) * 1000, 2)
            results["baseline_broker_p99_ms"] = round(percentile(listener.echo, 99) * 1000, 2)

            async def probe(device_id: str, value: bool = True) -> bytes:
                d = site.device(device_id)
                point = "leak" if device_id.startswith("leak") else "smoke"
                r = DeviceReading(device=d.id, kind=d.kind, building=d.building, room=d.room,
                                  ts=ts, values={**values[d.id], point: value})  # fmt: skip
                return batch_bytes(site, [r], 0)

            # the engine is up when a sentinel's alarm comes back
            ready, done = probes[0].id, probes[1].id
            for _ in range(300):
                for payload in payloads:
                    pending.append(pub.publish_nowait(telemetry, payload))
                await pub.publish(telemetry, await probe(ready))
                await asyncio.sleep(0.2)
                if ready in listener.arrived:
                    break
            else:
                raise SystemExit("the engine did not come up")

            # 1. throughput: everything as fast as the broker takes it, then a sentinel
            count = args.readings // PER_MESSAGE
            cpu0 = cpu_seconds(engine.pid)
            t0 = time.time()
            window: list[asyncio.Future[None]] = []
            for i in range(count):
                window.append(pub.publish_nowait(telemetry, payloads[i % len(payloads)]))
                if len(window) >= 500:
                    await asyncio.gather(*window)
                    window = []
            await asyncio.gather(*window)
            await pub.publish(telemetry, await probe(done))
            if not await listener.until(lambda: done in listener.arrived, 600):
                raise SystemExit("the engine did not finish the throughput phase")
            cpu = cpu_seconds(engine.pid) - cpu0
            elapsed = listener.arrived[done] - t0
            results["engine_cpu_share"] = round(cpu / elapsed, 2)
            results["readings_per_engine_cpu_s"] = round(count * PER_MESSAGE / cpu)
            results["throughput_readings_per_s"] = round(count * PER_MESSAGE / elapsed)

            # 2. latency at the offered rate: ten probes a second among the normal load
            sent: dict[str, float] = {}
            stream: list[tuple[bytes, str | None]] = []
            per_probe = max(1, round(msg_rate / 10))
            chosen = probes[2 : 2 + args.samples]
            for i in range(len(chosen) * per_probe):
                if i % per_probe == 0:
                    device = chosen[i // per_probe].id
                    stream.append((await probe(device), device))
                else:
                    stream.append((payloads[i % len(payloads)], None))
            start, sent_start = time.perf_counter(), time.time()
            for i, (payload, device) in enumerate(stream):
                delay = start + i / msg_rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if device is not None:
                    sent[device] = time.time()
                pending.append(pub.publish_nowait(telemetry, payload))
            offered = sum(PER_MESSAGE if d is None else 1 for _, d in stream)
            results["offered_readings_per_s"] = round(offered / (time.perf_counter() - start))
            await listener.until(lambda: all(d in listener.arrived for d in sent), 10)
            latencies = [
                (listener.arrived[d] - t) * 1000 for d, t in sent.items() if d in listener.arrived
            ]
            if os.environ.get("BENCH_DEBUG"):
                worst = sorted(((listener.arrived[d] - t) * 1000, t - sent_start, d)
                               for d, t in sent.items() if d in listener.arrived)[-8:]  # fmt: skip
                print(
                    "worst latencies (ms, s into the phase):",
                    [(round(a), round(b, 2)) for a, b, _ in worst],
                )
            results["latency_samples"] = len(latencies)
            results["latency_missing"] = len(sent) - len(latencies)
            results["readings_per_s"] = results.pop("throughput_readings_per_s")
            results["p50_ms"] = round(statistics.median(latencies), 2)
            results["p99_ms"] = round(percentile(latencies, 99), 2)
            await asyncio.gather(*pending)
            task.cancel()
    finally:
        engine.terminate()
        await asyncio.wait_for(engine.wait(), 10)
        broker.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20_000, help="offered readings/s")
    parser.add_argument("--readings", type=int, default=300_000)
    parser.add_argument("--samples", type=int, default=180, help="latency probes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        results = asyncio.run(bench(args, Path(tmp)))
    for name, value in results.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
