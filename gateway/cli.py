"""`estatewatch gateway`: poll devices, take patrol scans, forward to the central broker.

    estatewatch gateway --config SITE.yaml [--mqtt URL] [--site-mqtt URL] [--http-port P]
                        [--http-host H] [--buffer PATH] [--sync full|normal]
                        [--drain-rate N] [--window N]

Every flag is also an `EW_*` variable or a key of `--settings FILE` (`gateway.settings`): the
central broker `--mqtt` / `$EW_MQTT_URL`, the site broker (sensors and handhelds)
`--site-mqtt` / `$EW_SITE_MQTT_URL` (default: the central one). Handheld HMAC keys come from
the environment variables the site config's `handhelds[].key_ref` name.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
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
    from estatewatch.settings import add_flags
    from gateway.settings import GatewaySettings

    add_flags(parser, GatewaySettings, skip=("ops_host", "ops_port"))
    parser.set_defaults(run=_run)


async def _serve(args: argparse.Namespace) -> int:
    from estatewatch.config import load_site
    from estatewatch.settings import from_args
    from gateway.service import Gateway, GatewayOptions
    from gateway.settings import GatewaySettings
    from gateway.topology import check_topology

    settings = from_args(GatewaySettings, args)
    if settings.config is None:
        raise SystemExit("estatewatch gateway: give --config SITE.yaml (or EW_CONFIG)")
    site = load_site(settings.config)
    check_topology(site, str(settings.config))  # name the file in what it says
    options = GatewayOptions(
        central_url=settings.mqtt_url,
        site_url=settings.site_mqtt_url,
        http_host=settings.http_host,
        http_port=settings.http_port,
        buffer_path=str(settings.buffer) if settings.buffer else None,
        sync=settings.sync,
        window=settings.window,
        drain_rate=settings.drain_rate,
        central_nats=settings.central_nats,
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
