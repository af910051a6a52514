"""Benchmark of an alarm storm on the real pipeline: a power room loses its supply, and what
it feeds stops — one root alarm, its children, one work order, one message per recipient.

    python bench/storm.py [--observe 60] [--room power-room-1]

Every part is its own process (`tests.reliability.harness.Pipeline`): the simulated estate
(`examples/estate.yaml`, every device polled each second) → `estatewatch gateway` →
Mosquitto → `estatewatch rules` → Mosquitto → `estatewatch api` with its notifier on. The
site's notification settings are the example's (routes, on-call rota, escalation, the
power-outage emergency plan, a 30 s grouping window) with every channel replaced by one
signed webhook to a receiver on 127.0.0.1, so each message can be counted. After the estate
settles, `outage` is injected into the power room through the simulators' control API:
pumps stop and pressure falls, cars halt between floors with passengers, controllers without
a UPS stop answering. For `--observe` seconds the bench watches the API's database and the
receiver, then counts the alarms raised since the outage on the room and on what it feeds
(`root_alarms`: without a parent; `child_alarms`: kept under a root), the work orders of
those alarms, the messages the receiver got and when the first arrived. Alarms raised
elsewhere meanwhile are counted apart (`other_alarms`). The baseline is one MQTT round trip
on the same broker in the same run. The machine is shared: figures are indicative.

Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from estatewatch.clock import SystemClock, to_epoch_ms
from estatewatch.config import PowerRoom, SiteConfig, load_site
from estatewatch.config.notify import NotifyConfig
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import InfluxDB, Mosquitto
from tests.notify.receivers import VendorReceiver
from tests.reliability.harness import Pipeline, quick_site

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-storm-webhook-secret"
SECRET_ENV = "EW_BENCH_STORM_SECRET"
SETTLE_S = 15.0
"""The estate's start: devices come online, start-up alarms (if any) are raised."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def mqtt_round_trips(url: str, n: int) -> list[float]:
    """Publish → subscriber on the same broker, QoS 1: the floor under every hop."""
    times: list[float] = []
    async with (
        MqttClient(MqttSettings(url, client_id="bench-storm-sub")) as sub,
        MqttClient(MqttSettings(url, client_id="bench-storm-pub")) as pub,
    ):
        await sub.subscribe("bench/storm/rtt", qos=1)
        messages = sub.messages()
        for i in range(n):
            start = time.perf_counter()
            await pub.publish("bench/storm/rtt", str(i).encode(), qos=1)
            await anext(messages)
            times.append((time.perf_counter() - start) * 1000)
    return times


def with_webhook(site: SiteConfig, receiver: VendorReceiver) -> SiteConfig:
    """The example's notification settings, every channel one signed webhook."""
    data = site.notifications.model_dump(mode="json", exclude_none=True)
    data["channels"] = [
        {
            "type": "webhook",
            "id": "hook",
            "url": f"{receiver.base}/webhook",
            "secret_ref": SECRET_ENV,
        }
    ]
    for person in data["people"]:
        person["channels"] = ["hook"]
    data["maintenance"] = []  # a window of the example's own dates silences nothing here
    notify = NotifyConfig.model_validate(data)
    return site.model_copy(update={"notifications": notify})


def explained(site: SiteConfig, room: str) -> set[str]:
    """The room and every device it feeds: the targets whose alarms the outage explains."""
    fed = {d.id for d in site.devices if room in site.fed_by(d.id)}
    return fed | {room}


def snapshot(api_db: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(alarms, work orders) in the API's database now."""
    with sqlite3.connect(f"file:{api_db}?mode=ro", uri=True, timeout=10) as conn:
        conn.row_factory = sqlite3.Row
        alarms = conn.execute(
            "SELECT alarm_id, rule, target, parent_alarm_id FROM alarms"
        ).fetchall()
        orders = conn.execute("SELECT id, alarm_id FROM work_orders").fetchall()
    return [dict(r) for r in alarms], [dict(r) for r in orders]


async def run(room: str, observe: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ew-bench-storm-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "mosquitto")
        influx = InfluxDB(work / "influxdb")
        for server in (broker, influx):
            server.workdir.mkdir()
            server.start()
        receiver = VendorReceiver(
            now_ms=lambda: to_epoch_ms(SystemClock().now()), secrets={"webhook": SECRET}
        ).start()
        site = quick_site(load_site(ROOT / "examples" / "estate.yaml"))
        if not isinstance(site.device(room), PowerRoom):
            raise SystemExit(f"{room} is not a power room")
        site = with_webhook(site, receiver)
        pipeline = Pipeline(work, site, broker, influx)
        pipeline.api.env |= {"EW_NOTIFY": "true", SECRET_ENV: SECRET}
        try:
            await pipeline.start()
            baseline = await mqtt_round_trips(broker.url, 50)
            await asyncio.sleep(SETTLE_S)
            before_alarms, before_orders = await asyncio.to_thread(snapshot, pipeline.api_db)
            known_alarms = {a["alarm_id"] for a in before_alarms}
            known_orders = {o["id"] for o in before_orders}
            heard_before = len(receiver.received)
            start = time.perf_counter()
            await pipeline.inject(room, "outage")
            await asyncio.sleep(observe)
            alarms, orders = await asyncio.to_thread(snapshot, pipeline.api_db)
        finally:
            await pipeline.stop()
            for server in (influx, broker):
                server.stop()
            receiver.stop()
    if receiver.refused:
        raise SystemExit(f"the receiver refused {len(receiver.refused)} request(s)")
    targets = explained(site, room)
    new = [a for a in alarms if a["alarm_id"] not in known_alarms]
    ours = [a for a in new if a["target"] in targets or a["parent_alarm_id"]]
    roots = [a for a in ours if not a["parent_alarm_id"]]
    children = [a for a in ours if a["parent_alarm_id"]]
    ours_ids = {a["alarm_id"] for a in ours}
    new_orders = [o for o in orders if o["id"] not in known_orders]
    messages = receiver.received[heard_before:]
    first_ms = (messages[0].arrived - start) * 1000 if messages else float("nan")
    if len(roots) != 1:  # say which, so a regression names its rules
        for alarm in roots:
            print(f"root: {alarm['rule']} on {alarm['target']}", file=sys.stderr)
    return {
        "root_alarms": len(roots),
        "child_alarms": len(children),
        "child_rules": len({a["rule"] for a in children}),
        "other_alarms": len(new) - len(ours),
        "work_orders": sum(1 for o in new_orders if o["alarm_id"] in ours_ids),
        "other_work_orders": sum(1 for o in new_orders if o["alarm_id"] not in ours_ids),
        "messages_sent": len(messages),
        "grouping_window_ms": site.notifications.grouping.window.total_seconds() * 1000,
        "first_message_ms": first_ms,
        "baseline_mqtt_round_trip_p50_ms": statistics.median(baseline),
        "baseline_mqtt_round_trip_p99_ms": percentile(baseline, 99),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--room", default="power-room-1", help="the power room that fails")
    parser.add_argument("--observe", type=float, default=60.0, help="seconds after the outage")
    args = parser.parse_args()
    figures = asyncio.run(run(args.room, args.observe))
    print(f"{args.room} loses supply; {args.observe:.0f} s observed (shared machine)")
    for name, value in figures.items():
        print(f"{name}: {value:.1f}" if name.endswith("_ms") else f"{name}: {value:.0f}")
    return 0 if figures["root_alarms"] == 1 and figures["work_orders"] == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
