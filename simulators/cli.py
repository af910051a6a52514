"""`estatewatch simulate`: run simulated devices, sensors and guards.

estatewatch simulate --config FILE [--seed N] [--speed X] [--control-port P]
                     [--mqtt URL] [--bind-host 127.0.0.1] [--patrols] [--guards-only]
                     [--gateway-url URL]
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
    from estatewatch.clock import Clock
    from simulators.settings import SimulatorSettings

log = logging.getLogger(__name__)


def _run(args: argparse.Namespace) -> int:
    from estatewatch.config import load_site
    from estatewatch.settings import from_args
    from simulators.settings import SimulatorSettings

    settings = from_args(SimulatorSettings, args)
    if settings.config is None:
        print("estatewatch simulate: --config FILE is required", file=sys.stderr)
        return 2
    walks = settings.patrols or settings.guards_only
    if walks and not (settings.mqtt_url or settings.gateway_url):
        print("--patrols needs --mqtt or --gateway-url to send scans to", file=sys.stderr)
        return 2
    site = load_site(settings.config)
    try:
        asyncio.run(_guards(site, settings) if settings.guards_only else _simulate(site, settings))
    except EstateWatchError as exc:  # a port in use, no broker, ...
        print(f"estatewatch simulate: {exc}", file=sys.stderr)
        return 1
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _clock(settings: SimulatorSettings) -> Clock:
    from estatewatch.clock import ScaledClock, SystemClock

    return SystemClock() if settings.speed == 1.0 else ScaledClock(settings.speed)


async def _guards(site: SiteConfig, settings: SimulatorSettings) -> None:
    """The simulated guards alone, walking the routes until stopped."""
    stop = _stop_on_signals()
    async with AsyncExitStack() as stack:
        patrols = asyncio.create_task(_patrols(site, _clock(settings), settings, stack))
        stack.callback(patrols.cancel)
        log.info("simulated guards walking the %d routes of %s", len(site.routes), site.site.id)
        await asyncio.wait(
            {patrols, asyncio.ensure_future(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
        )
        if patrols.done() and not patrols.cancelled():
            patrols.result()  # raises what stopped the guards
    log.info("simulated guards stopped")


async def _simulate(site: SiteConfig, settings: SimulatorSettings) -> None:
    from simulators.control import ControlServer
    from simulators.estate import SimulatedEstate

    step = settings.step if settings.step is not None else max(0.1, 0.1 * settings.speed)
    estate = SimulatedEstate(site, clock=_clock(settings), seed=settings.seed, step=step)
    stop = _stop_on_signals()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            estate.running(bind_host=settings.bind_host, mqtt_url=settings.mqtt_url)
        )
        control = await stack.enter_async_context(
            ControlServer(estate, host="127.0.0.1", port=settings.control_port)
        )
        if settings.patrols:
            patrols = asyncio.create_task(_patrols(site, estate.clock, settings, stack))
            stack.callback(patrols.cancel)
        log.info(
            "simulating %d devices of %s (seed %d, speed %gx); control API at %s",
            len(estate.sims),
            site.site.id,
            settings.seed,
            settings.speed,
            control.url,
        )
        await stop.wait()
    log.info("simulators stopped")


async def _patrols(
    site: SiteConfig, clock: Clock, settings: SimulatorSettings, stack: AsyncExitStack
) -> None:
    from estatewatch.mqtt import MqttClient, MqttSettings
    from simulators.patrol import HttpScans, MqttScans, ScanTransport, run_patrols

    transport: ScanTransport
    if settings.gateway_url:
        transport = await stack.enter_async_context(HttpScans(settings.gateway_url))
    else:
        assert settings.mqtt_url is not None  # checked by _run
        client = await stack.enter_async_context(
            MqttClient(
                MqttSettings(url=settings.mqtt_url, client_id=f"ew-sim-handhelds-{os.getpid()}")
            )
        )
        transport = MqttScans(client, site.site.id)
    keys = {
        h.id: bytes.fromhex(os.environ[h.key_ref])
        for h in site.handhelds
        if h.key_ref and os.environ.get(h.key_ref)
    }
    await run_patrols(
        site, transport, clock=clock, seed=settings.seed, keys=keys, join_open_windows=True
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
        " over MQTT), with physics, fault injection and a control API. Every flag is also"
        " an EW_* variable or a key of --settings FILE.",
    )
    from estatewatch.settings import add_flags
    from simulators.settings import DEFAULT_CONTROL_PORT, SimulatorSettings

    add_flags(parser, SimulatorSettings, skip=("ops_host", "ops_port"))
    parser.set_defaults(run=_run)

    control_url = f"http://127.0.0.1:{DEFAULT_CONTROL_PORT}"
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
