"""`estatewatch rules`: raise alarms on the live stream.

estatewatch rules --config SITE.yaml [--config SITE2.yaml ...] [--rules FILE]
                  [--mqtt URL] [--state PATH] [--ops-port PORT]
estatewatch rules check --config SITE.yaml [--rules FILE]
estatewatch rules replay --config SITE.yaml [--rules FILE] --from T --to T
                  (--influx URL [--database NAME] | --input READINGS.jsonl)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from estatewatch.clock import to_epoch_ms
from estatewatch.config import SiteConfig, load_site
from estatewatch.contracts.payloads import stable_id
from estatewatch.errors import ConfigError, EstateWatchError

if TYPE_CHECKING:
    from rules.settings import RulesSettings

log = logging.getLogger(__name__)


def _common(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    # On a subcommand these must not overwrite what was given before its name.
    default = argparse.SUPPRESS if sub else None
    parser.add_argument(
        "--config", action="append", metavar="SITE.yaml", default=default,
        help="a site configuration (repeat for several sites in one instance)",
    )  # fmt: skip
    parser.add_argument(
        "--rules", metavar="FILE", default=default,
        help="a rule file; it extends the built-in pack (default: the built-in pack alone)",
    )  # fmt: skip


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from estatewatch.settings import add_flags
    from rules.settings import RulesSettings

    parser = sub.add_parser("rules", help="raise alarms on the live stream")
    add_flags(parser, RulesSettings)
    parser.set_defaults(run=_run)
    actions = parser.add_subparsers(dest="rules_command", metavar="ACTION")

    check = actions.add_parser("check", help="validate a rule file against the sites")
    _common(check, sub=True)
    check.set_defaults(run=_check)

    replay = actions.add_parser("replay", help="run rules over stored readings")
    _common(replay, sub=True)
    replay.add_argument(
        "--from", dest="start", required=True, metavar="TIME",
        help="ISO time; without an offset it is the first site's local time",
    )  # fmt: skip
    replay.add_argument("--to", dest="end", required=True, metavar="TIME")
    source = replay.add_mutually_exclusive_group(required=True)
    source.add_argument("--influx", metavar="URL", help="InfluxDB, e.g. http://127.0.0.1:8086")
    source.add_argument("--input", metavar="FILE", help="readings as JSON lines")
    replay.add_argument("--database", default="estatewatch", help="the InfluxDB database")
    replay.set_defaults(run=_replay)


def _sites(args: argparse.Namespace) -> list[SiteConfig]:
    paths: list[str] | None = getattr(args, "config", None)
    if not paths:
        raise SystemExit("estatewatch rules: give at least one --config SITE.yaml")
    sites = [load_site(path) for path in paths]
    ids = [s.site.id for s in sites]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"estatewatch rules: a site is given twice: {ids}")
    return sites


def _check(args: argparse.Namespace) -> int:
    from rules.loader import load_rules
    from rules.plan import compile_site

    sites = _sites(args)
    rules = load_rules(getattr(args, "rules", None), sites=sites)
    for site in sites:
        plan = compile_site(site, rules)
        count = sum(len(p.rules) for p in plan.devices.values()) + len(plan.groups)
        print(f"{site.site.id}: {count} rules on {len(plan.devices)} devices from {rules.source}")
        for device, rule, reason in plan.skipped:
            print(f"  {rule} skipped on {device}: {reason}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from estatewatch.mqtt import MqttSettings
    from estatewatch.ops import OpsServer
    from estatewatch.settings import from_args
    from rules.engine import RulesEngine
    from rules.metrics import registry_for
    from rules.settings import RulesSettings

    options = from_args(RulesSettings, args)
    sites = _sites(argparse.Namespace(config=[str(p) for p in options.config]))
    if options.source == "jetstream":
        return _run_cluster(options, sites)
    ids = sorted(s.site.id for s in sites)
    settings = MqttSettings(
        url=options.mqtt_url,
        client_id=f"estatewatch-rules-{stable_id(*ids)[:10]}",
        clean_start=False,
        session_expiry=300,  # a restart within 5 minutes misses no reading
        urgent_first=True,  # a fire panel's readings before a backlog of telemetry
    )

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with RulesEngine(
            sites, mqtt=settings, rules_path=options.rules, state_path=options.state
        ) as engine:
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(engine.reload()))
            async with contextlib.AsyncExitStack() as ops:
                if options.ops_port is not None:
                    server = OpsServer(
                        registry_for(engine),
                        engine.health,
                        host=options.ops_host,
                        port=options.ops_port,
                    )
                    await ops.enter_async_context(server)
                await stop.wait()

    try:
        asyncio.run(serve())
    except ConfigError:
        raise  # the top-level command prints each issue
    except EstateWatchError as exc:  # the broker or the state file: say which, briefly
        print(f"estatewatch rules: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_cluster(options: RulesSettings, sites: list[SiteConfig]) -> int:
    import os
    import socket

    from estatewatch.jetstream import JetStreamSettings
    from estatewatch.mqtt import MqttSettings
    from estatewatch.ops import OpsServer
    from rules.cluster import ClusterRules
    from rules.metrics import registry_for

    name = options.name or f"{socket.gethostname()}-{os.getpid()}".replace(".", "-")
    settings = JetStreamSettings.from_url(options.nats, replicas=options.replicas)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        lease = options.lease.total_seconds()
        # Alarm events at QoS 1 into the cluster's MQTT listener (--mqtt), which the API
        # reads as it reads Mosquitto; published as plain subjects they would reach an MQTT
        # subscriber at QoS 0 only (not kept for its session).
        mqtt = MqttSettings(url=options.mqtt_url, client_id=f"ew-rules-{name}", ack_timeout=10)
        async with (
            ClusterRules(
                sites, settings, name=name, rules_path=options.rules, lease_s=lease, mqtt=mqtt
            ) as rules,
            contextlib.AsyncExitStack() as ops,
        ):
            if options.ops_port is not None:
                server = OpsServer(
                    registry_for(rules),
                    rules.health,
                    host=options.ops_host,
                    port=options.ops_port,
                )
                await ops.enter_async_context(server)
            await stop.wait()

    try:
        asyncio.run(serve())
    except EstateWatchError as exc:
        print(f"estatewatch rules: {exc}", file=sys.stderr)
        return 1
    return 0


def _when(text: str, timezone: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"estatewatch rules replay: {text!r} is not an ISO time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return to_epoch_ms(moment)


def _replay(args: argparse.Namespace) -> int:
    from rules.loader import load_rules
    from rules.replay import JsonLinesHistory, ReadingHistory, format_event, replay

    sites = _sites(args)
    rules = load_rules(getattr(args, "rules", None), sites=sites)
    tz = sites[0].site.timezone
    start, end = _when(args.start, tz), _when(args.end, tz)
    if end <= start:
        raise SystemExit("estatewatch rules replay: --to must be after --from")

    async def go() -> int:
        if args.input:
            result = await replay(sites, rules, JsonLinesHistory(args.input), start, end)
        else:
            from estatewatch.readings import InfluxConnection, InfluxQLStore

            connection = InfluxConnection(args.influx, args.database)
            async with InfluxQLStore(connection) as store:
                history: ReadingHistory = store
                result = await replay(sites, rules, history, start, end)
        zones = {s.site.id: s.site.timezone for s in sites}
        for event in result.events:
            print(format_event(event, zones[event.site]))
        raised = sum(1 for e in result.events if e.event.value == "raised")
        print(f"{result.readings} readings replayed; {raised} alarms raised", file=sys.stderr)
        return 0

    return asyncio.run(go())
