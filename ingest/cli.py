"""`estatewatch ingest`: write telemetry, device status and gateway health from MQTT into
InfluxDB (or an embedded SQLite file), at least once; run more instances (same `--group`)
to split the load.

    estatewatch ingest [--mqtt URL | --source jetstream --nats URL,URL,URL]
                       [--client-id ID] [--group NAME]
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
import signal
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.settings import IngestOptions, IngestSettings


def _settings(args: argparse.Namespace) -> IngestSettings:
    """The service's settings from the flags given, `EW_*` and the settings file."""
    from estatewatch.settings import from_args
    from ingest.settings import IngestOptions

    return _build(from_args(IngestOptions, args))


def _build(options: IngestOptions) -> IngestSettings:
    from estatewatch.readings.schema import Retention
    from ingest.settings import IngestSettings, limits_for, mqtt_for
    from ingest.sinks import SinkSettings

    o = options
    v2 = o.influx_org is not None or o.influx_bucket is not None
    if o.sqlite is not None and v2:
        raise SystemExit("estatewatch ingest: --sqlite or --influx-org/--influx-bucket, not both")
    if v2 and not (o.influx_org and o.influx_bucket):
        raise SystemExit("estatewatch ingest: --influx-org and --influx-bucket go together")
    token = o.influx_token.get_secret_value() if o.influx_token else None
    if v2 and token is None:
        raise SystemExit("estatewatch ingest: the v2 API needs a token in EW_INFLUX_TOKEN")
    mqtt = mqtt_for(
        o.mqtt_url,
        o.client_id or f"ew-ingest-{socket.gethostname()}",
        session_expiry=int(o.session_expiry.total_seconds()),
        max_inflight=o.max_inflight,
    )
    rollups = not v2 and o.sqlite is None and not o.no_rollups
    retention = Retention(
        raw=o.raw_retention,
        rollup=o.rollup_retention,
        raw_policy=(o.influx_rp or "raw") if not v2 else None,
        rollup_policy="rollup_1m" if rollups else None,
    )
    influx = SinkSettings(
        url=o.influx_url,
        database=o.influx_db,
        retention_policy=retention.raw_policy,
        username=o.influx_user,
        password=o.influx_password.get_secret_value() if o.influx_password else None,
        org=o.influx_org,
        bucket=o.influx_bucket,
        token=token,
        gzip_level=o.gzip_level,
        sqlite_path=o.sqlite,
        sqlite_retention=o.raw_retention,
    )
    sink = "sqlite" if o.sqlite is not None else "v2" if v2 else "v1"
    jetstream = None
    if o.source == "jetstream":
        from estatewatch.jetstream import JetStreamSettings

        jetstream = JetStreamSettings.from_url(o.nats, replicas=o.replicas, ack_wait=o.ack_wait)
    return IngestSettings(
        mqtt=mqtt,
        sink=sink,
        source=o.source,
        jetstream=jetstream,
        influx=influx,
        group=o.group,
        limits=limits_for(mqtt, max_lines=o.batch_lines, max_age=o.flush_interval.total_seconds()),
        retention=retention,
        setup=sink == "v1" and not o.no_setup,
    )


async def _serve(args: argparse.Namespace) -> int:
    from estatewatch.ops import OpsServer
    from estatewatch.settings import from_args
    from ingest.metrics import registry_for
    from ingest.service import Ingest
    from ingest.settings import IngestOptions
    from ingest.sinks import make_sink

    options = from_args(IngestOptions, args)
    settings = _build(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        sink = make_sink(settings.sink, settings.influx)
        stack.push_async_callback(sink.aclose)
        ingest = await stack.enter_async_context(Ingest(settings, sink))
        if options.ops_port is not None:
            ops = OpsServer(
                registry_for(ingest.stats),
                ingest.health,
                host=options.ops_host,
                port=options.ops_port,
            )
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
    from estatewatch.settings import add_flags
    from ingest.settings import SECRETS, IngestOptions

    add_flags(p, IngestOptions, skip=SECRETS)
    p.set_defaults(run=_run)
