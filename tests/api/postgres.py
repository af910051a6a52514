"""A throwaway PostgreSQL server (Debian's own binaries) on a free loopback port, for the
store tests. As root it runs as the `postgres` user, which initdb insists on."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from estatewatch.testing.services import ServiceUnavailable, free_port, wait_for_port


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, preferring 15."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    preferred = [c for c in candidates if "/15/" in c] or candidates
    return Path(preferred[0]).parent if preferred else None


class PostgreSQL:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        # Not under pytest's tmp dir: that is private to root, and the server runs as postgres.
        self.workdir = Path(tempfile.mkdtemp(prefix="ew-pg-"))
        self.data = self.workdir / "data"
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else os.environ.get("USER", "postgres")

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        result = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise ServiceUnavailable(f"{argv[0]} failed: {result.stderr or result.stdout}")

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.workdir, "postgres", "postgres")
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={self.workdir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.workdir / "log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )
        wait_for_port(self.port, 30)

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        conninfo = f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"
        for attempt in range(50):
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(sql)  # type: ignore[arg-type]
                return
            except psycopg.errors.ObjectInUse:  # the template is still being let go of
                if attempt == 49:
                    raise
                time.sleep(0.1)
