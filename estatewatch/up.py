"""`estatewatch up`: the whole estate in one command, on embedded defaults.

An in-process MQTT broker (or `--mqtt URL`), then each component as a child process of this
one (`python -m estatewatch <component> ...`), started in dependency order, each waited for
until it is ready, its output kept in `<data-dir>/logs/<name>.log`. Ctrl-C (or SIGTERM) stops
them in reverse order and waits for each, so no process or port is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from estatewatch.config import SiteConfig
from estatewatch.errors import EstateWatchError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "estate.yaml"
STATE_FILE = "up.json"
# The demo's people, one per role that uses the dashboard (user, role, password).
DEMO_USERS = (
    ("admin", "admin", "estate-admin"),
    ("duty", "duty_engineer", "estate-duty"),
    ("tech", "technician", "estate-tech"),
    ("guard", "guard", "estate-guard"),
    ("service", "customer_service", "estate-service"),
)


class UpError(EstateWatchError):
    """A part of the system did not come up."""


Ready = Callable[[], Awaitable[bool]]


@dataclass
class Part:
    """One component run as a child process."""

    name: str
    argv: list[str]
    ready: Ready
    detail: str = ""
    env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None


async def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_ok(url: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


class Supervisor:
    """Starts parts in order, stops them in reverse; owns every child process."""

    def __init__(self, data_dir: Path, out: TextIO) -> None:
        self.data_dir = data_dir
        self.logs = data_dir / "logs"
        self.out = out
        self.parts: list[Part] = []

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def start(self, part: Part, ready_within: float = 60) -> None:
        log_path = self.logs / f"{part.name}.log"
        self.say(f"  … starting {part.name}")
        with log_path.open("ab") as log:
            part.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "estatewatch",
                *part.argv,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **part.env},
                start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
                preexec_fn=_die_with_parent,
            )
        self.parts.append(part)
        deadline = asyncio.get_running_loop().time() + ready_within
        while not await part.ready():
            if part.process.returncode is not None:
                raise UpError(
                    f"{part.name} exited with {part.process.returncode}:\n" + _tail(log_path)
                )
            if asyncio.get_running_loop().time() > deadline:
                raise UpError(
                    f"{part.name} was not ready within {ready_within:.0f}s:\n" + _tail(log_path)
                )
            await asyncio.sleep(0.2)
        self.say(f"  ✓ {part.name}{' — ' + part.detail if part.detail else ''}")

    async def watch(self) -> str:
        """Return the name of the first part that exits on its own."""
        waits = {asyncio.ensure_future(p.process.wait()): p.name for p in self.parts if p.process}
        if not waits:
            await asyncio.Event().wait()
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return waits[done.pop()]

    async def stop_all(self, grace: float = 15) -> None:
        for part in reversed(self.parts):
            proc = part.process
            if proc is None or proc.returncode is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
                self.say(f"  ■ {part.name} stopped")
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
                self.say(f"  ■ {part.name} killed after {grace:.0f}s")


async def _alive_for(supervisor: Supervisor, name: str, seconds: float) -> bool:
    """Ready once it has run `seconds` without exiting (for parts with no health endpoint)."""
    part = next(p for p in supervisor.parts if p.name == name)
    await asyncio.sleep(seconds)
    return part.process is not None and part.process.returncode is None


async def _demo_users(
    data_dir: Path, env: dict[str, str], supervisor: Supervisor, guard_id: str
) -> None:
    """Create the demo logins once; on later runs they already exist."""
    if (data_dir / "api.db").exists():
        return
    for user, role, password in DEMO_USERS:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "estatewatch",
            "api",
            "add-user",
            user,
            "--role",
            role,
            "--database",
            str(data_dir / "api.db"),
            *(["--guard-id", guard_id] if role == "guard" else []),
            env={**os.environ, **env, "EW_NEW_PASSWORD": password},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await proc.communicate()
        if proc.returncode != 0:
            raise UpError(f"creating demo user {user}: {output.decode(errors='replace')}")
    supervisor.say(f"  ✓ demo users — {', '.join(u for u, _, _ in DEMO_USERS)}")


def _die_with_parent() -> None:
    """In the child: receive SIGTERM if `estatewatch up` dies, even by SIGKILL (Linux)."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _handheld_keys(site: SiteConfig) -> dict[str, str]:
    """The handhelds' HMAC keys: the operator's where set, else one per run, so the demo
    guards' signed scans pass the gateway's checks without any setup."""
    return {
        h.key_ref: os.environ.get(h.key_ref) or secrets.token_hex(32)
        for h in site.handhelds
        if h.key_ref
    }


def _device_ports(site: SiteConfig) -> str:
    """The TCP addresses the simulators hold (Modbus, DL/T 645 gateways), e.g.
    ``127.0.0.1:15021-15023,15031``, and the UDP addresses of their BACnet devices."""
    ports: dict[str, set[int]] = {}
    for device in site.devices:
        host = getattr(device.connection, "host", None)
        port = getattr(device.connection, "port", None)
        if isinstance(host, str) and isinstance(port, int):
            ports.setdefault(host, set()).add(port)
    held = " ".join(f"{host}:{_ranges(sorted(held))}" for host, held in ports.items()) or "none"
    bacnet = [
        device.connection.address
        for device in site.devices
        if device.connection.protocol == "bacnet" and device.connection.address
    ]
    return held + (f"; BACnet/IP (UDP) on {' '.join(bacnet)}" if bacnet else "")


def _ranges(ports: list[int]) -> str:
    runs: list[list[int]] = []
    for port in ports:
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


async def _up(args: argparse.Namespace, site: SiteConfig, data_dir: Path) -> int:  # noqa: PLR0915
    from estatewatch.broker import EmbeddedBroker
    from estatewatch.logs import redact
    from estatewatch.testing.services import free_port

    out = sys.stdout
    print(
        f"EstateWatch — {site.site.name}: {len(site.devices)} devices,"
        f" {len(site.checkpoints)} checkpoints, {len(site.routes)} routes",
        file=out,
    )
    supervisor = Supervisor(data_dir, out)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        if args.mqtt:
            mqtt_url = args.mqtt
            supervisor.say(f"  ✓ MQTT broker — {redact(mqtt_url)}")
        else:
            broker = await stack.enter_async_context(EmbeddedBroker(port=free_port()))
            mqtt_url = broker.url
            supervisor.say(f"  ✓ MQTT broker — embedded amqtt on 127.0.0.1:{broker.port}")
        state: dict[str, object] = {"mqtt": mqtt_url, "pid": os.getpid()}
        handheld_keys = _handheld_keys(site)
        try:
            if not args.no_sim:
                control = free_port()
                await supervisor.start(
                    Part(
                        "simulators",
                        [
                            "simulate",
                            "--config",
                            str(args.config),
                            "--seed",
                            str(args.seed),
                            "--control-port",
                            str(control),
                            "--mqtt",
                            mqtt_url,
                        ],
                        lambda: http_ok(f"http://127.0.0.1:{control}/devices"),
                        detail=f"control on http://127.0.0.1:{control}; devices on"
                        f" {_device_ports(site)}",
                        env=handheld_keys,
                    )
                )
                state["simulator_control"] = f"http://127.0.0.1:{control}"
            ingest_ops = free_port()
            readings = data_dir / "readings.db"
            await supervisor.start(
                Part(
                    "ingest",
                    [
                        "ingest",
                        "--mqtt",
                        mqtt_url,
                        *(
                            ["--influx-url", args.influx_url]
                            if args.influx_url
                            else ["--sqlite", str(readings)]
                        ),
                        "--client-id",
                        "ew-ingest-up",
                        "--ops-port",
                        str(ingest_ops),
                    ],
                    lambda: http_ok(f"http://127.0.0.1:{ingest_ops}/health"),
                    detail=args.influx_url or f"embedded store {readings}",
                )
            )
            gateway_http = free_port()
            await supervisor.start(
                Part(
                    "gateway",
                    [
                        "gateway",
                        "--config",
                        str(args.config),
                        "--mqtt",
                        mqtt_url,
                        "--http-port",
                        str(gateway_http),
                        "--buffer",
                        str(data_dir / "gateway-buffer.db"),
                    ],
                    lambda: http_ok(f"http://127.0.0.1:{gateway_http}/health"),
                    detail=f"{len(site.devices)} devices, scans on"
                    f" http://127.0.0.1:{gateway_http}/scans",
                    env=handheld_keys,
                )
            )
            state["gateway"] = f"http://127.0.0.1:{gateway_http}"
            rules_ops = free_port()
            await supervisor.start(
                Part(
                    "rules",
                    [
                        "rules",
                        "--config",
                        str(args.config),
                        "--mqtt",
                        mqtt_url,
                        "--state",
                        str(data_dir / "rules.db"),
                        "--ops-port",
                        str(rules_ops),
                    ],
                    lambda: http_ok(f"http://127.0.0.1:{rules_ops}/health"),
                    detail=f"built-in rule pack, /metrics on http://127.0.0.1:{rules_ops}",
                )
            )
            api_env = {
                "EW_PHOTO_DIR": str(data_dir / "photos"),
                "EW_ENVIRONMENT": "development",
                "EW_PASSWORD_COST": "12",  # demo logins: fast to check, never for production
            }
            await _demo_users(
                data_dir, api_env, supervisor, site.guards[0].id if site.guards else "guard"
            )
            api_url = f"http://127.0.0.1:{args.port}"
            await supervisor.start(
                Part(
                    "api",
                    [
                        "api",
                        "--site",
                        str(args.config),
                        "--mqtt",
                        mqtt_url,
                        "--database",
                        str(data_dir / "api.db"),
                        "--readings",
                        args.influx_url or f"sqlite:{data_dir / 'readings.db'}",
                        "--port",
                        str(args.port),
                    ],
                    lambda: http_ok(f"{api_url}/api/health"),
                    detail=api_url,
                    env=api_env,
                )
            )
            state["api"] = api_url
            state["metrics"] = {
                "ingest": f"http://127.0.0.1:{ingest_ops}/metrics",
                "gateway": f"http://127.0.0.1:{gateway_http}/metrics",
                "rules": f"http://127.0.0.1:{rules_ops}/metrics",
                "api": f"{api_url}/metrics",
            }
            state["parts"] = {p.name: p.process.pid for p in supervisor.parts if p.process}
            (data_dir / STATE_FILE).write_text(json.dumps(state))
            supervisor.say(f"EstateWatch is up: dashboard {api_url}/  — Ctrl-C to stop.")
            supervisor.say(
                "Demo logins: " + ", ".join(f"{u} / {p} ({r})" for u, r, p in DEMO_USERS)
            )
            supervisor.say("Inject a fault: estatewatch demo-fault elevator-3 entrapment")
            watcher = asyncio.ensure_future(supervisor.watch())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({watcher, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if watcher in done:
                name = watcher.result()
                supervisor.say(f"{name} exited unexpectedly; see {supervisor.logs / name}.log")
                status = 1
            else:
                watcher.cancel()
                status = 0
        except UpError as exc:
            supervisor.say(f"  ✗ {exc}")
            status = 1
        finally:
            supervisor.say("Stopping…")
            await supervisor.stop_all()
            (data_dir / STATE_FILE).unlink(missing_ok=True)
    supervisor.say("Stopped.")
    return status


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


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
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
    try:
        with data_dir_lock(data_dir):
            if not _port_free(args.port):
                raise UpError(
                    f"port {args.port} (the API and dashboard) is held by another process;"
                    " free it or give --port"
                )
            return asyncio.run(_up(args, site, data_dir))
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
    parser.add_argument("--port", type=int, default=8000, help="the API and dashboard port")
    parser.add_argument("--mqtt", metavar="URL", help="use this broker instead of the embedded one")
    parser.add_argument("--influx-url", metavar="URL", help="store readings in this InfluxDB")
    parser.add_argument("--no-sim", action="store_true", help="do not run the simulators")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", default="var/up", metavar="DIR")
    parser.set_defaults(run=_run)

    fault = sub.add_parser("demo-fault", help="inject a fault into a running `estatewatch up`")
    fault.add_argument("device", help="e.g. elevator-3")
    fault.add_argument("fault", help="e.g. entrapment, pipe_burst, phase_loss, offline")
    fault.add_argument("--clear", action="store_true", help="remove the fault instead")
    fault.add_argument("--data-dir", default="var/up", metavar="DIR")
    fault.set_defaults(run=_demo_fault)
