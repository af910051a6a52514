"""`estatewatch up` itself: the broker and the notification receiver in this process, then
the table's children in order, the state file, the banner; then wait for Ctrl-C (or a child
that dies) and stop everything in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from estatewatch.clock import SystemClock
from estatewatch.config import SiteConfig
from estatewatch.up import banner
from estatewatch.up.demo import (
    DEMO_USERS,
    channel_secrets,
    demo_users,
    handheld_keys,
    local_notifications,
    per_run_secrets,
    write_demo_site,
)
from estatewatch.up.receiver import Inbox, Receiver
from estatewatch.up.runner import Runner, UpError
from estatewatch.up.table import TABLE, Plan, api_settings, as_env, child_of

STATE_FILE = "up.json"
NOTIFICATIONS_LOG = "notifications.jsonl"


@dataclass(frozen=True)
class Choices:
    """What the user asked for on the command line."""

    config: Path
    port: int
    mqtt: str | None
    influx_url: str | None
    simulate: bool
    seed: int


async def up(choices: Choices, site: SiteConfig, data_dir: Path) -> int:
    from estatewatch.broker import EmbeddedBroker
    from estatewatch.logs import redact

    runner = Runner(data_dir, sys.stdout)
    runner.say(banner.header(site))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    status = 1
    async with contextlib.AsyncExitStack() as stack:
        try:
            if choices.mqtt:
                mqtt_url = choices.mqtt
                runner.say(banner.part_up("MQTT broker", redact(mqtt_url)))
            else:
                broker = await stack.enter_async_context(EmbeddedBroker(port=0))
                mqtt_url = broker.url
                runner.say(
                    banner.part_up("MQTT broker", f"embedded amqtt on {broker.host}:{broker.port}")
                )
            plan = await _plan(choices, site, data_dir, mqtt_url, stack, runner)
            # The logins are made while the first parts start: only the API needs them.
            users = asyncio.ensure_future(_demo_users(plan, runner))
            stack.callback(users.cancel)
            for row in TABLE:
                if row.name == "api":
                    await users
                if row.wanted(plan):
                    child = await runner.start(child_of(row, plan))
                    plan.started[row.name] = child
                    runner.say(banner.part_up(row.name, row.detail(plan)))
            (data_dir / STATE_FILE).write_text(json.dumps(_state(plan, mqtt_url, runner)))
            for line in banner.is_up(
                plan.api_url,
                guards="guards" in plan.started,
                receiver_url=plan.receiver_url,
                notifications_log=str(data_dir / NOTIFICATIONS_LOG),
            ):
                runner.say(line)
            status = await _until_stopped(runner, stop)
        except UpError as exc:
            runner.say(f"  ✗ {exc}")
        finally:
            runner.say("Stopping…")
            await runner.stop_all()
            (data_dir / STATE_FILE).unlink(missing_ok=True)
    runner.say("Stopped.")
    return status


async def _plan(
    choices: Choices,
    site: SiteConfig,
    data_dir: Path,
    mqtt_url: str,
    stack: contextlib.AsyncExitStack,
    runner: Runner,
) -> Plan:
    """The receiver started, the API's site file written."""
    notify = bool(site.notifications.channels)
    api_site = data_dir / "site-for-api.yaml"
    channel_env: dict[str, str] = {}
    receiver_url: str | None = None
    if notify:
        inbox = Inbox(data_dir / NOTIFICATIONS_LOG, SystemClock())
        receiver = await stack.enter_async_context(Receiver(inbox))
        receiver_url = receiver.url
        dashboard = f"http://127.0.0.1:{choices.port}" if choices.port else "http://127.0.0.1"
        local = local_notifications(site, receiver.url, dashboard)
        channel_env = per_run_secrets(channel_secrets(local), os.environ)
        write_demo_site(site, local, api_site)
        runner.say(banner.part_up("notification receiver", f"{receiver.url}/"))
    else:
        write_demo_site(site, site.notifications.model_dump(mode="json"), api_site)
    plan = Plan(
        site=site,
        site_file=choices.config,
        api_site_file=api_site,
        data_dir=data_dir,
        mqtt_url=mqtt_url,
        api_port=choices.port,
        seed=choices.seed,
        influx_url=choices.influx_url,
        simulate=choices.simulate,
        receiver_url=receiver_url,
        handheld_env=handheld_keys(site, os.environ),
        channel_env=channel_env,
    )
    return plan


async def _demo_users(plan: Plan, runner: Runner) -> None:
    guard = plan.site.guards[0].id if plan.site.guards else "guard"
    if await demo_users(plan.data_dir / "api.db", as_env(api_settings(plan)), guard):
        runner.say(banner.part_up("demo users", ", ".join(user for user, _, _ in DEMO_USERS)))


def _state(plan: Plan, mqtt_url: str, runner: Runner) -> dict[str, object]:
    """up.json: where everything listens, for `demo-fault`, tests and the curious."""
    state: dict[str, object] = {"mqtt": mqtt_url, "pid": os.getpid(), "api": plan.api_url}
    started = plan.started
    if "simulators" in started:
        state["simulator_control"] = plan.url("simulators", "control")
    state["gateway"] = plan.url("gateway", "http")
    if plan.receiver_url is not None:
        state["notify_receiver"] = plan.receiver_url
        state["notifications_log"] = str(plan.data_dir / NOTIFICATIONS_LOG)
    state["metrics"] = {
        "ingest": plan.url("ingest", "ops") + "/metrics",
        "gateway": plan.url("gateway", "http") + "/metrics",
        "rules": plan.url("rules", "ops") + "/metrics",
        "api": f"{plan.api_url}/metrics",
    }
    state["ports"] = {c.name: c.ports for c in runner.children}
    state["parts"] = {c.name: c.process.pid for c in runner.children if c.process}
    return state


async def _until_stopped(runner: Runner, stop: asyncio.Event) -> int:
    watcher = asyncio.ensure_future(runner.watch())
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({watcher, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if watcher in done:
        name = watcher.result()
        runner.say(f"{name} exited unexpectedly; see {runner.logs / name}.log")
        return 1
    watcher.cancel()
    stopper.cancel()
    return 0
