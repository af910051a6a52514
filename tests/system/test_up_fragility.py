"""`estatewatch up` never touches another instance's state, refuses a held port before it
says it is up, and `config check` refuses a time zone the components would refuse later
(issue #24)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from estatewatch.config import SiteConfig, load_site
from estatewatch.config.devices import ModbusTcp
from estatewatch.errors import EstateWatchError
from estatewatch.testing.services import free_port
from estatewatch.up import STATE_FILE, UpError, data_dir_lock

ROOT = Path(__file__).resolve().parents[2]


def _estatewatch(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "estatewatch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_a_second_up_on_the_same_data_dir_says_who_holds_it_and_deletes_nothing(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "up"
    (data_dir / "logs").mkdir(parents=True)
    state = data_dir / STATE_FILE
    state.write_text('{"api": "http://127.0.0.1:8000"}')  # the running instance's
    with data_dir_lock(data_dir):
        second = _estatewatch("up", "--data-dir", str(data_dir), "--port", str(free_port()))
        assert second.returncode != 0
        assert "in use by a running `estatewatch up`" in second.stderr
        assert "pid " in second.stderr  # who holds it
        assert "is up" not in second.stdout
        assert state.read_text() == '{"api": "http://127.0.0.1:8000"}'
    with data_dir_lock(data_dir):  # released with its holder
        pass


def test_the_lock_is_refused_in_process_too(tmp_path: Path) -> None:
    with (
        data_dir_lock(tmp_path),
        pytest.raises(UpError, match="in use"),
        data_dir_lock(tmp_path),
    ):
        pass


def test_a_held_api_port_is_an_error_before_is_up(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _estatewatch("up", "--data-dir", str(tmp_path / "up"), "--port", str(port))
    assert result.returncode != 0
    assert f"port {port}" in result.stderr
    assert "is up" not in result.stdout
    assert "exited unexpectedly" not in result.stdout


def test_a_held_device_port_is_an_error_before_is_up(
    tmp_path: Path, example_site: SiteConfig
) -> None:
    """The simulated devices listen on the ports of the site file: one held by anything
    stops `up` with the port named, before it says it is up."""
    port = next(
        d.connection.port for d in example_site.devices if isinstance(d.connection, ModbusTcp)
    )
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
        except OSError:
            pass  # held already (a developer's `up`): the same case
        result = _estatewatch(
            "up", "--data-dir", str(tmp_path / "up"), "--port", str(free_port()), timeout=120
        )
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stdout + result.stderr
    assert "is up" not in result.stdout


def test_config_check_refuses_an_unknown_time_zone(
    tmp_path: Path, example_site: SiteConfig
) -> None:
    data = example_site.model_dump(mode="json")
    data["site"]["timezone"] = "Asia/Shangai"
    bad = tmp_path / "estate.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(EstateWatchError, match="Asia/Shangai"):
        load_site(bad)
    result = _estatewatch("config", "check", str(bad))
    assert result.returncode != 0
    assert "unknown time zone 'Asia/Shangai'" in result.stdout + result.stderr
    # The rules engine, which once crashed on it with a ZoneInfoNotFoundError traceback,
    # refuses it the same way: a message naming the field, no traceback.
    rules = _estatewatch("rules", "--config", str(bad), "--state", str(tmp_path / "rules.db"))
    assert rules.returncode != 0
    assert "unknown time zone 'Asia/Shangai'" in rules.stdout + rules.stderr
    assert "Traceback" not in rules.stderr
