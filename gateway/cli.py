"""`estatewatch gateway`: poll devices, take patrol scans, forward to the central broker."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal


def _run(args: argparse.Namespace) -> int:
    from estatewatch.config import load_site
    from gateway.service import GatewayOptions, GatewayService

    site = load_site(args.config)
    options = GatewayOptions(
        mqtt_url=args.mqtt,
        site_mqtt_url=args.site_mqtt,
        buffer_path=args.buffer,
        http_host=args.http_host,
        http_port=args.http_port or None,
        ops_port=args.ops_port,
        backlog_rate=args.backlog_rate,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with GatewayService(site, options):
            await stop.wait()  # SIGTERM: flush, drain briefly, stop

    asyncio.run(main())
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "gateway", help="poll devices, take patrol scans, forward to the central broker"
    )
    parser.add_argument("--config", required=True, metavar="SITE.yaml", help="the site file")
    parser.add_argument(
        "--mqtt",
        default=os.environ.get("EW_MQTT_URL", "mqtt://127.0.0.1:1883"),
        help="the central broker (env EW_MQTT_URL)",
    )
    parser.add_argument(
        "--site-mqtt",
        default=None,
        help="the site broker of sensors and handhelds (default: --mqtt)",
    )
    parser.add_argument("--http-host", default="127.0.0.1", help="address of POST /scans")
    parser.add_argument(
        "--http-port", type=int, default=8781, help="POST /scans, /health, /metrics (0: off)"
    )
    parser.add_argument("--ops-port", type=int, default=None, help="a separate /health, /metrics")
    parser.add_argument(
        "--buffer", default=None, help="the SQLite outbox (default: gateway.buffer_path)"
    )
    parser.add_argument(
        "--backlog-rate",
        type=float,
        default=500.0,
        help="messages per second the backlog drains at after an outage (live data goes first)",
    )
    parser.set_defaults(run=_run)
