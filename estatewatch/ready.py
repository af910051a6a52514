"""How a child tells `estatewatch up` which port it got.

A server given port 0 binds whatever port the OS hands it, so no port is picked in advance
and then lost to another process in between (the race of choosing a "free" port first).
Once it listens, it calls `announce(name, port)`: with `$EW_READY_FILE` set, one JSON line
``{"name": ..., "port": ...}`` is appended to that file; without it, nothing happens.
`estatewatch up` reads the lines with `read_announced`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

READY_FILE_ENV = "EW_READY_FILE"


def bound_port(server: Any) -> int:
    """The port a started `uvicorn.Server` (or anything with `.servers[*].sockets`) holds."""
    for listener in server.servers:
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    raise LookupError("the server holds no socket")


def announce(name: str, port: int) -> None:
    """Record that this process serves `name` on `port` (for whoever set $EW_READY_FILE)."""
    path = os.environ.get(READY_FILE_ENV)
    if not path:
        return
    line = json.dumps({"name": name, "port": port}) + "\n"
    # One short write of an O_APPEND file: several servers of one child never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read_announced(path: Path) -> dict[str, int]:
    """The ports announced in `path` so far, by name (none if it does not exist yet)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    found: dict[str, int] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            found[str(entry["name"])] = int(entry["port"])
        except (ValueError, KeyError, TypeError):
            continue  # a line still being written
    return found
