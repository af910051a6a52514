"""docker-compose.yml is a valid Compose file (checked by docker-compose itself, no engine
needed), and what it runs matches the repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_validates() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed; scripts/test installs it with apt")
    result = subprocess.run(
        [binary, "--env-file", "deploy/env.example", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    binary = shutil.which("docker-compose")
    assert binary is not None
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = subprocess.run(
        [binary, "--env-file", str(empty), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "set in .env" in result.stdout + result.stderr


def test_every_service_has_its_files() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"
