"""`estatewatch ingest`: write telemetry, device status and gateway health from MQTT into
InfluxDB (or an embedded SQLite file), at least once; run more instances (same `--group`)
to split the load.

    estatewatch ingest [--mqtt URL] [--client-id ID] [--group NAME]
                       [--influx-url URL] [--influx-db DB [--influx-rp RP] [--influx-user U]
                        | --influx-org ORG --influx-bucket BUCKET
                        | --sqlite PATH [--raw-retention DUR]]

Secrets come from the environment: `EW_INFLUX_TOKEN` (v2, or v1 endpoints of 2.x/3.x) and
`EW_INFLUX_PASSWORD` (v1 with `--influx-user`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from estatewatch.durations import parse_duration

if TYPE_CHECKING:
    from ingest.settings import IngestSettings


def _duration(text: str) -> timedelta:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not isinstance(value, timedelta):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration")
    return value


def _settings(args: argparse.Namespace) -> IngestSettings:
    from estatewatch.readings.schema import Retention
    from ingest.settings import IngestSettings, limits_for, mqtt_for
    from ingest.sinks import SinkSettings

    v2 = args.influx_org is not None or args.influx_bucket is not None
    if args.sqlite is not None and v2:
        raise SystemExit("estatewatch ingest: --sqlite or --influx-org/--influx-bucket, not both")
    if v2 and not (args.influx_org and args.influx_bucket):
        raise SystemExit("estatewatch ingest: --influx-org and --influx-bucket go together")
    token = os.environ.get("EW_INFLUX_TOKEN") or None
    if v2 and token is None:
        raise SystemExit("estatewatch ingest: the v2 API needs a token in EW_INFLUX_TOKEN")
    mqtt = mqtt_for(
        args.mqtt,
        args.client_id or f"ew-ingest-{socket.gethostname()}",
        session_expiry=int(args.session_expiry.total_seconds()),
        max_inflight=args.max_inflight,
    )
    rollups = not v2 and args.sqlite is None and not args.no_rollups
    retention = Retention(
        raw=args.raw_retention,
        rollup=args.rollup_retention,
        raw_policy=(args.influx_rp or "raw") if not v2 else None,
        rollup_policy="rollup_1m" if rollups else None,
    )
    influx = SinkSettings(
        url=args.influx_url,
        database=args.influx_db,
        retention_policy=retention.raw_policy,
        username=args.influx_user,
        password=os.environ.get("EW_INFLUX_PASSWORD"),
        org=args.influx_org,
        bucket=args.influx_bucket,
        token=token,
        gzip_level=args.gzip_level,
        sqlite_path=args.sqlite,
        sqlite_retention=args.raw_retention,
    )
    sink = "sqlite" if args.sqlite is not None else "v2" if v2 else "v1"
    return IngestSettings(
        mqtt=mqtt,
        sink=sink,
        influx=influx,
        group=args.group,
        limits=limits_for(
            mqtt, max_lines=args.batch_lines, max_age=args.flush_interval.total_seconds()
        ),
        retention=retention,
        setup=sink == "v1" and not args.no_setup,
    )


async def _serve(args: argparse.Namespace) -> int:
    from estatewatch.ops import OpsServer
    from ingest.metrics import registry_for
    from ingest.service import Ingest
    from ingest.sinks import make_sink

    settings = _settings(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        sink = make_sink(settings.sink, settings.influx)
        stack.push_async_callback(sink.aclose)
        ingest = await stack.enter_async_context(Ingest(settings, sink))
        if args.ops_port:
            ops = OpsServer(registry_for(ingest.stats), ingest.health, port=args.ops_port)
            await stack.enter_async_context(ops)
        waiting = asyncio.create_task(ingest.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if waiting.done():
            waiting.result()  # raises what stopped the service
        waiting.cancel()
    return 0


def _run(args: argparse.Namespace) -> int:
    from estatewatch.errors import EstateWatchError

    try:
        return asyncio.run(_serve(args))
    except (EstateWatchError, ValueError) as exc:
        print(f"estatewatch ingest: {exc}", file=sys.stderr)
        return 1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ingest",
        help="write telemetry from MQTT into InfluxDB or an embedded SQLite file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--mqtt",
        default="mqtt://127.0.0.1:1883",
        metavar="URL",
        help="broker, mqtt://[user:password@]host:port (default %(default)s)",
    )
    p.add_argument(
        "--client-id", metavar="ID", help="stable per instance (default: ew-ingest-HOST)"
    )
    p.add_argument(
        "--group",
        help="shared-subscription group, to split the load across instances (default: none,"
        " one instance: see docs/ingest.md on broker restarts)",
    )
    p.add_argument(
        "--session-expiry",
        type=_duration,
        default=timedelta(days=1),
        metavar="DUR",
        help="how long the broker keeps queueing for a stopped instance (1d)",
    )
    p.add_argument(
        "--max-inflight",
        type=int,
        default=1000,
        metavar="N",
        help="unacknowledged messages the broker may send (bounds memory)",
    )
    p.add_argument(
        "--influx-url", default="http://127.0.0.1:8086", metavar="URL", help="default %(default)s"
    )
    p.add_argument(
        "--influx-db",
        default="estatewatch",
        metavar="DB",
        help="v1 API database (default %(default)s)",
    )
    p.add_argument("--influx-rp", metavar="RP", help="raw retention policy (default raw)")
    p.add_argument("--influx-user", metavar="USER", help="v1 user (password: EW_INFLUX_PASSWORD)")
    p.add_argument("--influx-org", metavar="ORG", help="v2 API (token: EW_INFLUX_TOKEN)")
    p.add_argument("--influx-bucket", metavar="BUCKET", help="v2 API bucket")
    p.add_argument(
        "--sqlite",
        metavar="PATH",
        help="write into this SQLite file instead of InfluxDB (embedded store, no server)",
    )
    p.add_argument(
        "--batch-lines",
        type=int,
        default=5000,
        metavar="N",
        help="points per write (default %(default)s)",
    )
    p.add_argument(
        "--flush-interval",
        type=_duration,
        default=timedelta(seconds=1),
        metavar="DUR",
        help="longest a point waits for its batch (1s)",
    )
    p.add_argument(
        "--gzip-level",
        type=int,
        default=0,
        choices=range(10),
        metavar="0-9",
        help="compress writes (0: off, the faster choice on one host or a LAN)",
    )
    p.add_argument(
        "--raw-retention",
        type=_duration,
        default=timedelta(days=30),
        metavar="DUR",
        help="raw points kept (30d; InfluxDB 1.x and --sqlite)",
    )
    p.add_argument(
        "--rollup-retention",
        type=_duration,
        default=timedelta(days=730),
        metavar="DUR",
        help="1-minute rollups kept (730d; InfluxDB 1.x)",
    )
    p.add_argument("--no-rollups", action="store_true", help="no 1-minute rollup policy")
    p.add_argument(
        "--no-setup",
        action="store_true",
        help="do not create the database, policies and rollups (non-admin user)",
    )
    p.add_argument("--ops-port", type=int, metavar="PORT", help="serve /health and /metrics")
    p.set_defaults(run=_run)
