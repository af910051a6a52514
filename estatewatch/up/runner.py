"""The process runner of `estatewatch up`: starts each child in order, learns the ports it
announces, waits until it is healthy, and stops them all in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from estatewatch.errors import EstateWatchError
from estatewatch.ready import READY_FILE_ENV, read_announced


class UpError(EstateWatchError):
    """A part of the system did not come up."""


@dataclass
class Child:
    """One component run as `python -m estatewatch <argv>`, with its settings as `EW_*`
    variables (over the inherited environment, under nothing: the settings system ranks
    variables above files and defaults). Ready once it has announced `waits_for` and its
    `health` path answers 200 on the first of them (or, without `health`, at once)."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    waits_for: tuple[str, ...] = ()
    health: str | None = None
    process: asyncio.subprocess.Process | None = None
    ports: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"


async def http_ok(url: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


class Runner:
    """Owns every child process: started in order, stopped in reverse."""

    def __init__(self, data_dir: Path, out: TextIO) -> None:
        self.logs = data_dir / "logs"
        self.ready_dir = data_dir / "ready"
        self.out = out
        self.children: list[Child] = []

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def start(self, child: Child, ready_within: float = 60) -> Child:
        log_path = self.logs / f"{child.name}.log"
        self.ready_dir.mkdir(parents=True, exist_ok=True)
        ready_file = self.ready_dir / f"{child.name}.jsonl"
        ready_file.unlink(missing_ok=True)  # a previous run's ports are not this one's
        self.say(f"  … starting {child.name}")
        with log_path.open("ab") as log:
            child.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "estatewatch",
                *child.argv,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **child.env, READY_FILE_ENV: str(ready_file)},
                start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
                preexec_fn=_die_with_parent,
            )
        self.children.append(child)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_within
        while not await self._ready(child, ready_file):
            if child.process.returncode is not None:
                raise UpError(
                    f"{child.name} exited with {child.process.returncode}:\n" + _tail(log_path)
                )
            if loop.time() > deadline:
                raise UpError(
                    f"{child.name} was not ready within {ready_within:.0f}s:\n" + _tail(log_path)
                )
            await asyncio.sleep(0.2)
        return child

    async def _ready(self, child: Child, ready_file: Path) -> bool:
        child.ports = read_announced(ready_file)
        if any(name not in child.ports for name in child.waits_for):
            return False
        if child.health is None:
            return True
        return await http_ok(child.url(child.waits_for[0]) + child.health)

    async def watch(self) -> str:
        """Return the name of the first child that exits on its own."""
        waits = {
            asyncio.ensure_future(c.process.wait()): c.name for c in self.children if c.process
        }
        if not waits:
            await asyncio.Event().wait()
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return waits[done.pop()]

    async def stop_all(self, grace: float = 15) -> None:
        for child in reversed(self.children):
            proc = child.process
            if proc is None or proc.returncode is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
                self.say(f"  ■ {child.name} stopped")
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
                self.say(f"  ■ {child.name} killed after {grace:.0f}s")


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
