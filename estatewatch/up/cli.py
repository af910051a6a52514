"""The command lines `estatewatch up` and `estatewatch demo-fault`, and what `up` checks
before anything starts: its data directory is its own, the API's port is free."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from estatewatch.up.main import STATE_FILE, Choices, up
from estatewatch.up.runner import UpError

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "estate.yaml"
LOCK_FILE = "up.lock"


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold `data_dir` for this `up` alone (an advisory lock the kernel drops when the
    process dies, so a crash leaves nothing stale). Another `up` on it raises `UpError`
    naming the holder, and touches nothing of the running instance's state."""
    import fcntl

    path = data_dir / LOCK_FILE
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UpError(
                f"{data_dir} is in use by a running `estatewatch up` ({holder}); stop it,"
                " or give another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _run(args: argparse.Namespace) -> int:
    from estatewatch.config import load_site

    site = load_site(args.config)
    data_dir = Path(args.data_dir)
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    choices = Choices(
        config=Path(args.config),
        port=args.port,
        mqtt=args.mqtt,
        influx_url=args.influx_url,
        simulate=not args.no_sim,
        seed=args.seed,
    )
    try:
        with data_dir_lock(data_dir):
            # The API's port is the user's (the dashboard's address): a held one is refused
            # here, before anything starts, not found out after "is up".
            if args.port and not port_free(args.port):
                raise UpError(
                    f"port {args.port} (the API and dashboard) is held by another process;"
                    " free it or give --port (0: any)"
                )
            return asyncio.run(up(choices, site, data_dir))
    except UpError as exc:
        print(f"  ✗ {exc}", file=sys.stderr, flush=True)
        return 1


def _demo_fault(args: argparse.Namespace) -> int:
    import httpx

    state_path = Path(args.data_dir) / STATE_FILE
    try:
        state = json.loads(state_path.read_text())
        control = state["simulator_control"]
    except (OSError, KeyError, ValueError):
        print(f"no running `estatewatch up` with simulators found ({state_path})", file=sys.stderr)
        return 1
    with httpx.Client(timeout=5) as client:
        if args.clear:
            response = client.delete(f"{control}/faults/{args.device}/{args.fault}")
        else:
            response = client.post(
                f"{control}/faults", json={"device": args.device, "fault": args.fault}
            )
    if response.status_code >= 400:
        print(f"simulators refused: {response.text}", file=sys.stderr)
        return 1
    print(f"{'cleared' if args.clear else 'injected'} {args.fault} on {args.device}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("up", help="run the whole system on embedded defaults")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, metavar="SITE.yaml")
    parser.add_argument(
        "--port", type=int, default=8000, help="the API and dashboard port (0: one the OS picks)"
    )
    parser.add_argument("--mqtt", metavar="URL", help="use this broker instead of the embedded one")
    parser.add_argument("--influx-url", metavar="URL", help="store readings in this InfluxDB")
    parser.add_argument(
        "--no-sim", action="store_true", help="do not run the simulators or simulated guards"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", default="var/up", metavar="DIR")
    parser.set_defaults(run=_run)

    fault = sub.add_parser("demo-fault", help="inject a fault into a running `estatewatch up`")
    fault.add_argument("device", help="e.g. elevator-3")
    fault.add_argument("fault", help="e.g. entrapment, pipe_burst, phase_loss, offline")
    fault.add_argument("--clear", action="store_true", help="remove the fault instead")
    fault.add_argument("--data-dir", default="var/up", metavar="DIR")
    fault.set_defaults(run=_demo_fault)
