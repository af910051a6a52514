"""Benchmark of notification latency: from an alarm event published on the broker to the
webhook receiver's request, for a burst of alarms.

    python bench/notify.py [--alarms 1000]

The path is the real one: Mosquitto → the API's MQTT consumer (one transaction per event)
→ the change feed → the notifier (woken by the commit) → the outbox → a signed webhook POST
to a receiver on 127.0.0.1 that checks the signature. Grouping is on with a 0 s window, so
the alarms that are waiting when the notifier wakes go as one message (up to 200 lines);
each line's link names its alarm, which is how the receiver times every alarm. The baseline
is a bare signed POST to the same receiver in the same run. The machine is shared: figures
are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from api.app import create_app
from api.models import Alarm
from api.notify import signing
from api.settings import Settings
from api.sites import Sites
from estatewatch.clock import SystemClock, to_epoch_ms
from estatewatch.config import load_site
from estatewatch.config.notify import NotifyConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import AlarmEvent
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto
from tests.notify.receivers import VendorReceiver

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
LINK = re.compile(r"/alarms/([A-Za-z0-9_.:-]+)\)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def site_config(receiver: VendorReceiver) -> Sites:
    base = load_site(ROOT / "examples" / "estate.yaml")
    notify = NotifyConfig.model_validate(
        {
            "dashboard_url": "https://ew.bench",
            "channels": [
                {
                    "type": "webhook",
                    "id": "hook",
                    "url": f"{receiver.base}/webhook",
                    "secret_ref": "EW_BENCH_WEBHOOK_SECRET",
                }
            ],
            "people": [
                {"id": "duty", "name": "Duty", "role": "duty_engineer", "channels": ["hook"]}
            ],
            "routes": [{"id": "all", "people": ["duty"]}],
            "grouping": {"window": "0s", "max_lines": 200, "max_messages_per_hour": 1000000},
        }
    )
    return Sites([base.model_copy(update={"notifications": notify, "emergency_plans": []})])


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


async def baseline(receiver: VendorReceiver, count: int) -> list[float]:
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


def stored(app: FastAPI) -> int:
    with app.state.runtime.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Alarm)) or 0)


async def run(alarms: int, workdir: Path, notifier: bool = True) -> dict[str, float]:
    os.environ["EW_BENCH_WEBHOOK_SECRET"] = SECRET
    receiver = VendorReceiver(
        now_ms=lambda: to_epoch_ms(SystemClock().now()), secrets={"webhook": SECRET}
    ).start()
    broker = Mosquitto(workdir / "mqtt")
    broker.workdir.mkdir()
    broker.start()
    try:
        base = await baseline(receiver, 200)
        receiver.received.clear()
        sites = site_config(receiver)
        settings = Settings(
            environment="development",
            database_url=str(workdir / "api.db"),
            mqtt_url=broker.url,
            notify=True,
            password_cost=12,
        )
        app = create_app(settings, sites=sites)
        sent: dict[str, float] = {}
        async with app.router.lifespan_context(app):
            publisher = MqttClient(MqttSettings(url=broker.url, client_id="bench-rules"))
            async with publisher:
                site = sites.ids[0]
                events = [alarm(n, site) for n in range(alarms)]
                acks = []
                for event in events:
                    sent[event.alarm_id] = time.monotonic()
                    acks.append(
                        publisher.publish_nowait(
                            topics.alarm(site, event.alarm_id), event.to_bytes(), qos=1
                        )
                    )
                await asyncio.gather(*acks)
                deadline = time.monotonic() + 120
                seen: dict[str, float] = {}
                stored_at: float | None = None
                while (len(seen) < alarms or stored_at is None) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    if stored_at is None and await asyncio.to_thread(stored, app) >= alarms:
                        stored_at = time.monotonic()
                        if not notifier:
                            break
                    for got in list(receiver.received):
                        for alarm_id in LINK.findall(got.json()["text"]):
                            seen.setdefault(alarm_id, got.arrived)
        if receiver.refused:
            raise SystemExit(f"receiver refused {len(receiver.refused)} request(s)")
        latencies = [(seen[a] - sent[a]) * 1000 for a in sent if a in seen]
        return {
            "baseline_post_p50_ms": statistics.median(base),
            "baseline_post_p99_ms": percentile(base, 99),
            "notify_delivered": float(len(latencies)),
            "notify_messages": float(len(receiver.received)),
            # When the API's consumer had stored the last alarm: the ingestion floor.
            "all_alarms_stored_ms": ((stored_at or deadline) - min(sent.values())) * 1000,
            "notify_p50_ms": statistics.median(latencies) if latencies else float("nan"),
            "notify_p99_ms": percentile(latencies, 99) if latencies else float("nan"),
        }
    finally:
        broker.stop()
        receiver.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=1000)
    parser.add_argument(
        "--without-notifier",
        action="store_true",
        help="only time the API storing the burst (the ingestion floor without the notifier)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(run(args.alarms, Path(tmp), not args.without_notifier))
    print(f"{args.alarms} alarms in a burst, SQLite, one webhook recipient (shared machine)")
    for name, value in figures.items():
        print(f"{name}: {value:.1f}" if not name.endswith("_delivered") else f"{name}: {value:.0f}")
    return 0 if args.without_notifier or figures["notify_delivered"] == args.alarms else 1


if __name__ == "__main__":
    sys.exit(main())
