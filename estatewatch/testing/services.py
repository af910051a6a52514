"""Start real Mosquitto and InfluxDB servers on free loopback ports, for tests and benches.

Each server is a process of Debian's own binary with a config written into a temp dir, so
several can run side by side and none touches the machine's own services.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from estatewatch.errors import EstateWatchError


class ServiceUnavailable(EstateWatchError):
    """A server binary is missing or the server did not come up."""


_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback port, never the same one twice in this process: the OS may offer a
    port again before whoever got it first has bound it (two simulated devices once ended
    up on one port that way)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def find_binary(name: str, *extra_dirs: str) -> str:
    path = shutil.which(name) or next(
        (
            f"{d}/{name}"
            for d in ("/usr/sbin", "/usr/bin", *extra_dirs)
            if os.access(f"{d}/{name}", os.X_OK)
        ),
        None,
    )
    if path is None:
        raise ServiceUnavailable(
            f"{name} is not installed; the test command (scripts/test) installs it with apt"
        )
    return path


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceUnavailable(
                f"process exited with {proc.returncode} before port {port} opened"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServiceUnavailable(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


@dataclass
class _Process:
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _spawn(self, argv: list[str], log_name: str) -> None:
        log = open(self.workdir / log_name, "ab")  # noqa: SIM115  (the child owns it)
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()

    def stop(self, *, kill: bool = False, timeout: float = 10) -> None:
        """Stop the server: SIGTERM lets it save state; `kill` is a crash (SIGKILL)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.workdir / name
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Mosquitto(_Process):
    """A Mosquitto 2.0 broker for one test session.

    Anonymous clients are allowed (a configured listener refuses them otherwise). The
    per-client queue is unbounded in count and bounded in bytes, because Mosquitto's default
    of 1000 queued messages silently drops QoS 1 messages for a subscriber that falls behind.
    Persistence is on, so persistent sessions survive `restart()`.
    """

    extra_config: str = ""
    password_file: Path | None = None
    """With a password file (and optionally an ACL file), anonymous clients are refused."""
    acl_file: Path | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10) -> None:
        binary = find_binary("mosquitto")
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        auth = "allow_anonymous true\n"
        if self.password_file is not None:
            auth = f"allow_anonymous false\npassword_file {self.password_file}\n"
            if self.acl_file is not None:
                auth += f"acl_file {self.acl_file}\n"
        # As root, Mosquitto drops to the `mosquitto` user, which cannot read pytest's
        # private temp dirs; these throwaway brokers keep the caller's user.
        user = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{user}{auth}"
            "persistence true\n"
            f"persistence_location {self.workdir / 'data'}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 1073741824\n"
            "max_inflight_messages 1000\n"
            "log_dest stdout\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"{self.extra_config}\n"
        )
        self._spawn([binary, "-c", str(conf)], "mosquitto.log")
        try:
            wait_for_port(self.port, timeout, self.proc)
        except ServiceUnavailable as exc:
            raise ServiceUnavailable(
                f"mosquitto: {exc}\n{self.log_tail('mosquitto.log')}"
            ) from None

    def restart(self, *, kill: bool = False, down_for: float = 0.0) -> None:
        self.stop(kill=kill)
        time.sleep(down_for)
        self.start()


def write_password_file(path: Path, users: dict[str, str]) -> Path:
    """A Mosquitto password file (hashed by Debian's `mosquitto_passwd`)."""
    binary = find_binary("mosquitto_passwd")
    path.write_text("")
    for user, password in users.items():
        subprocess.run([binary, "-b", str(path), user, password], check=True, capture_output=True)
    return path


@dataclass
class InfluxDB(_Process):
    """An InfluxDB 1.x server (Debian's `influxd`), answering the v1 HTTP API."""

    rpc_port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        binary = find_binary("influxd")
        conf = self.workdir / "influxdb.conf"
        d = self.workdir
        conf.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{d}/meta"\n'
            f'[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
            "  query-log-enabled = false\n"
            "[monitor]\n  store-enabled = false\n"
            "[continuous_queries]\n  enabled = true\n  log-enabled = false\n"
            f'[http]\n  enabled = true\n  bind-address = "127.0.0.1:{self.port}"\n'
            "  log-enabled = false\n  max-body-size = 0\n"
            '[logging]\n  level = "warn"\n'
        )
        self._spawn([binary, "-config", str(conf)], "influxd.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as resp:
                    if resp.status == 204:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop(kill=True)
        raise ServiceUnavailable(f"influxd did not answer /ping:\n{self.log_tail('influxd.log')}")

    def restart(self, *, kill: bool = False, down_for: float = 0.0) -> None:
        self.stop(kill=kill)
        time.sleep(down_for)
        self.start()

    def query(self, q: str, db: str | None = None) -> dict[str, object]:
        """Run InfluxQL on /query and return the decoded JSON (for assertions)."""
        import json

        params = {"q": q, "epoch": "ms"}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=30) as resp:
            result: dict[str, object] = json.loads(resp.read())
        return result

    def create_database(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')
