"""Benchmark of notification latency: from an alarm event published on the broker to the
webhook receiver's request, for a burst of alarms.

    python bench/notify.py [--alarms 1000] [--without-notifier]

The system as it runs: `estatewatch api` in its own process (`EW_NOTIFY=true`, SQLite, the
example estate with one signed webhook recipient), Mosquitto, and this process as the rules
engine publishing the burst and as the webhook's receiver (an HTTP server on 127.0.0.1 that
checks the signature). The path: Mosquitto → the API's MQTT consumer (batches) → the change
feed → the notifier → the outbox → a signed webhook POST. Grouping is on with a 0 s window,
so the alarms that are waiting when the notifier plans go as one message (up to 200 lines);
each line's link names its alarm, which is how the receiver times every alarm: from its
publication to the request that carries it. Baselines in the same run: a bare signed POST to
the same receiver, and one MQTT round trip on the same broker. `--without-notifier` times
the API storing the burst alone. The machine is shared: figures are indicative, and the load
average is printed with them. `EW_BENCH_PROFILE=FILE` samples the API's process through the
burst with py-spy (`pip install py-spy`; `EW_BENCH_PROFILE_WAITS=1` for the waits too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from api.notify import signing
from estatewatch.clock import SystemClock, to_epoch_ms
from estatewatch.config import SiteConfig, load_site
from estatewatch.config.notify import NotifyConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import AlarmEvent
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto, free_port
from tests.notify.receivers import VendorReceiver
from tests.reliability.harness import Part, write_site

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
SECRET_ENV = "EW_BENCH_WEBHOOK_SECRET"
LINK = re.compile(r"/alarms/([A-Za-z0-9_.:-]+)\)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def site_config(receiver: VendorReceiver) -> SiteConfig:
    base = load_site(ROOT / "examples" / "estate.yaml")
    notify = NotifyConfig.model_validate(
        {
            "dashboard_url": "https://ew.bench",
            "channels": [
                {
                    "type": "webhook",
                    "id": "hook",
                    "url": f"{receiver.base}/webhook",
                    "secret_ref": SECRET_ENV,
                }
            ],
            "people": [
                {"id": "duty", "name": "Duty", "role": "duty_engineer", "channels": ["hook"]}
            ],
            "routes": [{"id": "all", "people": ["duty"]}],
            "grouping": {"window": "0s", "max_lines": 200, "max_messages_per_hour": 1000000},
        }
    )
    return base.model_copy(update={"notifications": notify, "emergency_plans": []})


def alarm(n: int, site: str) -> AlarmEvent:
    now = to_epoch_ms(SystemClock().now())
    alarm_id = f"bench-{n:05d}"
    return AlarmEvent(
        event_id=f"{alarm_id}:1",
        alarm_id=alarm_id,
        revision=1,
        event="raised",
        site=site,
        rule="bench.outage",
        category="outage",
        severity="critical",
        target_kind="device",
        target="power-room-1",
        building="podium",
        room="power-room-1",
        title=f"Bench outage {n}",
        raised_at=now,
        ts=now,
        active=True,
    )


async def baseline_posts(receiver: VendorReceiver, count: int) -> list[float]:
    """A bare signed POST of a one-line message, sequentially: the floor of a delivery."""
    out = []
    async with httpx.AsyncClient() as client:
        for n in range(count):
            body = f'{{"text":"baseline {n}"}}'.encode()
            headers = {
                signing.WEBHOOK_SIGNATURE: signing.webhook_signature(SECRET, body),
                "Content-Type": "application/json",
            }
            start = time.monotonic()
            await client.post(f"{receiver.base}/webhook", content=body, headers=headers)
            out.append((time.monotonic() - start) * 1000)
    return out


async def mqtt_round_trips(url: str, count: int) -> list[float]:
    """Publish → subscriber on the same broker, QoS 1: the floor under the consumer."""
    times: list[float] = []
    async with (
        MqttClient(MqttSettings(url, client_id="bench-notify-sub")) as sub,
        MqttClient(MqttSettings(url, client_id="bench-notify-pub")) as pub,
    ):
        await sub.subscribe("bench/notify/rtt", qos=1)
        messages = sub.messages()
        for n in range(count):
            start = time.perf_counter()
            await pub.publish("bench/notify/rtt", str(n).encode(), qos=1)
            await anext(messages)
            times.append((time.perf_counter() - start) * 1000)
    return times


def stored(api_db: Path) -> int:
    """Alarms in the API's database now (read-only, beside the API's writers)."""
    with sqlite3.connect(f"file:{api_db}?mode=ro", uri=True, timeout=10) as conn:
        return int(conn.execute("SELECT count(*) FROM alarms").fetchone()[0])


def api_part(workdir: Path, site_file: Path, mqtt: str, port: int, notifier: bool) -> Part:
    """`estatewatch api` in its own process, as it runs (and as bench/storm.py starts it)."""
    return Part(
        "api",
        ["api", "--site", str(site_file), "--mqtt", mqtt, "--database",
         str(workdir / "api.db"), "--port", str(port)],
        workdir / "api.log",
        env={
            "EW_ENVIRONMENT": "development",
            "EW_PHOTO_DIR": str(workdir / "photos"),
            "EW_PASSWORD_COST": "12",
            "EW_NOTIFY": "true" if notifier else "false",
            SECRET_ENV: SECRET,
        },
        log_level="WARNING",
    )  # fmt: skip


async def wait_healthy(part: Part, url: str, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not part.alive:
                raise SystemExit(f"the API exited:\n{part.tail()}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"the API did not start:\n{part.tail()}")


def profiler(api: Part) -> subprocess.Popen[bytes] | None:
    """With EW_BENCH_PROFILE=FILE, py-spy samples the API's process through the burst into
    FILE (collapsed stacks, by thread; only while a thread holds the GIL)."""
    out = os.environ.get("EW_BENCH_PROFILE")
    if not out or api.proc is None:
        return None
    argv = ["py-spy", "record", "--pid", str(api.proc.pid), "--format", "raw", "--threads"]
    # EW_BENCH_PROFILE_WAITS=1: every thread's waits too (where the consumer stands idle).
    argv.append("--idle" if os.environ.get("EW_BENCH_PROFILE_WAITS") else "--gil")
    spy = subprocess.Popen([*argv, "--rate", "250", "--output", out])
    time.sleep(1.0)  # py-spy attaches
    return spy


async def run(alarms: int, workdir: Path, notifier: bool = True) -> dict[str, float]:
    receiver = VendorReceiver(
        now_ms=lambda: to_epoch_ms(SystemClock().now()), secrets={"webhook": SECRET}
    ).start()
    broker = Mosquitto(workdir / "mqtt")
    broker.workdir.mkdir()
    broker.start()
    site = site_config(receiver)
    port = free_port()
    api = api_part(workdir, write_site(site, workdir / "site.yaml"), broker.url, port, notifier)
    api_db = workdir / "api.db"
    try:
        api.start()
        await wait_healthy(api, f"http://127.0.0.1:{port}/api/health")
        posts = await baseline_posts(receiver, 200)
        round_trips = await mqtt_round_trips(broker.url, 200)
        receiver.received.clear()
        spy = profiler(api)
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        stored_at: float | None = None
        async with MqttClient(MqttSettings(url=broker.url, client_id="bench-rules")) as publisher:
            events = [alarm(n, site.site.id) for n in range(alarms)]
            acks = []
            for event in events:
                sent[event.alarm_id] = time.monotonic()
                acks.append(
                    publisher.publish_nowait(
                        topics.alarm(site.site.id, event.alarm_id), event.to_bytes(), qos=1
                    )
                )
            await asyncio.gather(*acks)
        deadline = time.monotonic() + 120
        read = 0
        while (len(seen) < alarms or stored_at is None) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if stored_at is None and await asyncio.to_thread(stored, api_db) >= alarms:
                stored_at = time.monotonic()
                if not notifier:
                    break
            for got in receiver.received[read:]:
                for alarm_id in LINK.findall(got.json()["text"]):
                    seen.setdefault(alarm_id, got.arrived)
            read = len(receiver.received)
        if not api.alive:
            raise SystemExit(f"the API exited during the burst:\n{api.tail()}")
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
    finally:
        api.stop()
        broker.stop()
        receiver.stop()
    if receiver.refused:
        raise SystemExit(f"receiver refused {len(receiver.refused)} request(s)")
    latencies = [(seen[a] - sent[a]) * 1000 for a in sent if a in seen]
    first = min(seen.values(), default=float("nan"))
    return {
        "baseline_post_p50_ms": statistics.median(posts),
        "baseline_post_p99_ms": percentile(posts, 99),
        "baseline_mqtt_round_trip_p50_ms": statistics.median(round_trips),
        "baseline_mqtt_round_trip_p99_ms": percentile(round_trips, 99),
        "publish_burst_ms": (max(sent.values()) - min(sent.values())) * 1000,
        "notify_delivered": float(len(latencies)),
        "notify_messages": float(len(receiver.received)),
        # When the API's consumer had stored the last alarm: the ingestion floor.
        "all_alarms_stored_ms": ((stored_at or deadline) - min(sent.values())) * 1000,
        "first_message_ms": (first - min(sent.values())) * 1000,
        "notify_p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "notify_p99_ms": percentile(latencies, 99) if latencies else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=1000)
    parser.add_argument(
        "--without-notifier",
        action="store_true",
        help="only time the API storing the burst (the ingestion floor without the notifier)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ew-bench-notify-") as tmp:
        figures = asyncio.run(run(args.alarms, Path(tmp), not args.without_notifier))
    load = os.getloadavg()
    print(f"{args.alarms} alarms in a burst, `estatewatch api` in its own process, SQLite, one")
    print(f"webhook recipient (shared machine, load average {load[0]:.1f} {load[1]:.1f})")
    for name, value in figures.items():
        print(f"{name}: {value:.1f}" if not name.endswith(("_delivered", "_messages"))
              else f"{name}: {value:.0f}")  # fmt: skip
    return 0 if args.without_notifier or figures["notify_delivered"] == args.alarms else 1


if __name__ == "__main__":
    sys.exit(main())
