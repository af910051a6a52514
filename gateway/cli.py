"""`estatewatch gateway`: poll devices, take patrol scans, forward to the central broker.

    estatewatch gateway --config SITE.yaml [--mqtt URL] [--site-mqtt URL] [--http-port P]
                        [--http-host H] [--buffer PATH] [--sync full|normal]
                        [--drain-rate N] [--window N]

The central broker comes from `--mqtt` (else `$EW_MQTT_URL`), the site broker (sensors and
handhelds) from `--site-mqtt` (else `$EW_SITE_MQTT_URL`, else the central one). Handheld
HMAC keys come from the environment variables the site config's `handhelds[].key_ref` name.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys

from estatewatch.errors import ConfigError, EstateWatchError

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "gateway",
        help="poll devices, take patrol scans, forward to the central broker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, metavar="SITE.yaml", help="the site file")
    parser.add_argument(
        "--mqtt", default=os.environ.get("EW_MQTT_URL", "mqtt://127.0.0.1:1883"),
        metavar="URL", help="the central broker (default: $EW_MQTT_URL or localhost)",
    )  # fmt: skip
    parser.add_argument(
        "--site-mqtt", default=os.environ.get("EW_SITE_MQTT_URL"), metavar="URL",
        help="the site broker of sensors and handhelds (default: the central broker)",
    )  # fmt: skip
    parser.add_argument(
        "--http-port", type=int, default=8090, metavar="P",
        help="POST /scans, /health and /metrics on this port (0: none; default 8090)",
    )  # fmt: skip
    parser.add_argument(
        "--http-host", default="127.0.0.1", metavar="H",
        help="address to serve HTTP on; 0.0.0.0 lets handhelds on the site network sync",
    )  # fmt: skip
    parser.add_argument(
        "--buffer", metavar="PATH", help="the SQLite queue (default: gateway.buffer_path)"
    )
    parser.add_argument(
        "--sync", choices=["full", "normal"], default="full",
        help="SQLite synchronous mode: full survives power loss (default), normal only"
        " a crash of the gateway",
    )  # fmt: skip
    parser.add_argument(
        "--drain-rate", type=float, default=200.0, metavar="N",
        help="messages per second a backlog drains at, beside live data (default 200)",
    )  # fmt: skip
    parser.add_argument(
        "--window", type=int, default=100, metavar="N",
        help="messages published and not yet acknowledged, at most (default 100)",
    )  # fmt: skip
    parser.set_defaults(run=_run)


async def _serve(args: argparse.Namespace) -> int:
    from estatewatch.config import load_site
    from gateway.service import Gateway, GatewayOptions
    from gateway.topology import check_topology

    site = load_site(args.config)
    check_topology(site, str(args.config))  # name the file in what it says
    options = GatewayOptions(
        central_url=args.mqtt,
        site_url=args.site_mqtt,
        http_host=args.http_host,
        http_port=args.http_port or None,
        buffer_path=args.buffer,
        sync=args.sync,
        window=args.window,
        drain_rate=args.drain_rate,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Gateway(site, options) as gateway:
        # What exists now (config, plans, connections) lives as long as the process: keep it
        # out of the garbage collector's full passes, which would otherwise pause polling.
        gc.freeze()
        failed = asyncio.ensure_future(gateway.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({failed, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if failed.done():
            failed.result()  # raises what stopped a part of the gateway
        failed.cancel()
        log.info("stopping: committing what is pending")
    return 0


def _run(args: argparse.Namespace) -> int:
    # Our own log lines report device errors (the first loudly, repeats at debug level);
    # pymodbus would log every timeout of a dead device again at ERROR.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_serve(args))
    except ConfigError:
        raise  # the top-level command prints each issue
    except EstateWatchError as exc:
        print(f"estatewatch gateway: {exc}", file=sys.stderr)
        return 1
