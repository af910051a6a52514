"""`estatewatch simulate`: run simulated devices, sensors and guards.

estatewatch simulate --config FILE [--seed N] [--speed X] [--control-port P]
                     [--mqtt URL] [--bind-host 127.0.0.1] [--patrols] [--gateway-url URL]
estatewatch simulate fault DEVICE FAULT [--clear] [--code N] [--control URL]
estatewatch simulate fault DEVICE --clear          (clears every fault of DEVICE)
estatewatch simulate devices [--control URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from estatewatch.config import SiteConfig
from estatewatch.errors import EstateWatchError
from simulators.errors import SimulatorError

if TYPE_CHECKING:
    from simulators.estate import SimulatedEstate

log = logging.getLogger(__name__)

DEFAULT_PORT = 8790


def _run(args: argparse.Namespace) -> int:
    from estatewatch.config import load_site

    if args.config is None:
        print("estatewatch simulate: --config FILE is required", file=sys.stderr)
        return 2
    if args.patrols and not (args.mqtt or args.gateway_url):
        print("--patrols needs --mqtt or --gateway-url to send scans to", file=sys.stderr)
        return 2
    site = load_site(args.config)
    try:
        asyncio.run(_simulate(site, args))
    except EstateWatchError as exc:  # a port in use, no broker, ...
        print(f"estatewatch simulate: {exc}", file=sys.stderr)
        return 1
    return 0


async def _simulate(site: SiteConfig, args: argparse.Namespace) -> None:
    from estatewatch.clock import Clock, ScaledClock, SystemClock
    from simulators.control import ControlServer
    from simulators.estate import SimulatedEstate

    clock: Clock = SystemClock() if args.speed == 1.0 else ScaledClock(args.speed)
    step = args.step if args.step is not None else max(0.1, 0.1 * args.speed)
    estate = SimulatedEstate(site, clock=clock, seed=args.seed, step=step)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            estate.running(bind_host=args.bind_host, mqtt_url=args.mqtt)
        )
        control = await stack.enter_async_context(
            ControlServer(estate, host="127.0.0.1", port=args.control_port)
        )
        if args.patrols:
            patrols = asyncio.create_task(_patrols(site, estate, args, stack))
            stack.callback(patrols.cancel)
        log.info(
            "simulating %d devices of %s (seed %d, speed %gx); control API at %s",
            len(estate.sims),
            site.site.id,
            args.seed,
            args.speed,
            control.url,
        )
        await stop.wait()
    log.info("simulators stopped")


async def _patrols(
    site: SiteConfig, estate: SimulatedEstate, args: argparse.Namespace, stack: AsyncExitStack
) -> None:
    from estatewatch.mqtt import MqttClient, MqttSettings
    from simulators.patrol import HttpScans, MqttScans, ScanTransport, run_patrols

    transport: ScanTransport
    if args.gateway_url:
        transport = await stack.enter_async_context(HttpScans(args.gateway_url))
    else:
        client = await stack.enter_async_context(
            MqttClient(MqttSettings(url=args.mqtt, client_id=f"ew-sim-handhelds-{os.getpid()}"))
        )
        transport = MqttScans(client, site.site.id)
    keys = {
        h.id: bytes.fromhex(os.environ[h.key_ref])
        for h in site.handhelds
        if h.key_ref and os.environ.get(h.key_ref)
    }
    await run_patrols(
        site, transport, clock=estate.clock, seed=args.seed, keys=keys, join_open_windows=True
    )


def _fault(args: argparse.Namespace) -> int:
    from simulators.control import request_fault

    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.fault is None and not args.clear:
        print("name a FAULT to inject (or --clear to clear them all)", file=sys.stderr)
        return 2
    try:
        answer = asyncio.run(
            request_fault(
                args.control,
                args.device,
                args.fault,
                clear=args.clear,
                exception_code=args.code,
            )
        )
    except SimulatorError as exc:
        print(f"estatewatch simulate fault: {exc}", file=sys.stderr)
        return 1
    active = ", ".join(answer.get("faults", [])) or "none"
    print(f"{args.device}: active faults: {active}")
    return 0


def _devices(args: argparse.Namespace) -> int:
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        response = httpx.get(args.control.rstrip("/") + "/devices", timeout=10.0)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        print(f"estatewatch simulate devices: {exc}", file=sys.stderr)
        return 1
    for device in response.json():
        faults = ",".join(device["faults"]) or "-"
        print(
            f"{device['id']:<24} {device['kind']:<16} {faults:<24} {json.dumps(device['values'])}"
        )
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "simulate",
        help="run simulated devices, sensors and guards",
        description="Serve every device of a site config over Modbus TCP (and its sensors"
        " over MQTT), with physics, fault injection and a control API.",
    )
    parser.add_argument("--config", metavar="FILE", help="the site config to bring to life")
    parser.add_argument("--seed", type=int, default=1, help="fixes every random choice")
    parser.add_argument("--speed", type=float, default=1.0, help="estate time per real second")
    parser.add_argument(
        "--step", type=float, default=None, help="physics step, seconds of estate time"
    )
    parser.add_argument("--control-port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--mqtt", metavar="URL", help="site broker for the MQTT sensors")
    parser.add_argument(
        "--bind-host", default="127.0.0.1", help="address the Modbus servers listen on"
    )
    parser.add_argument(
        "--patrols", action="store_true", help="walk the routes at their scheduled windows"
    )
    parser.add_argument("--gateway-url", help="send patrol scans by POST {URL}/scans")
    parser.set_defaults(run=_run)

    control_url = f"http://127.0.0.1:{DEFAULT_PORT}"
    actions = parser.add_subparsers(dest="simulate_action", metavar="ACTION")
    fault = actions.add_parser("fault", help="inject or clear a fault in a running simulator")
    fault.add_argument("device")
    fault.add_argument("fault", nargs="?")
    fault.add_argument("--clear", action="store_true", help="clear it instead")
    fault.add_argument("--code", type=int, help="exception code for modbus_exception")
    fault.add_argument("--control", default=control_url, metavar="URL")
    fault.set_defaults(run=_fault)
    devices = actions.add_parser("devices", help="list a running simulator's devices")
    devices.add_argument("--control", default=control_url, metavar="URL")
    devices.set_defaults(run=_devices)
