"""`estatewatch simulate` as a process: serves the config's devices, obeys its control API,
and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from estatewatch.codec import decode
from estatewatch.config import SiteConfig
from estatewatch.testing.services import free_port
from tests.simulators.helpers import modbus_client

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def site_on_free_ports(tmp_path: Path) -> tuple[Path, dict[int, int]]:
    """examples/estate.yaml with every Modbus port moved to a free one."""
    text = (ROOT / "examples" / "estate.yaml").read_text()
    ports = {int(p): free_port() for p in set(re.findall(r"port: (150\d\d)", text))}
    text = re.sub(r"port: (150\d\d)", lambda m: f"port: {ports[int(m.group(1))]}", text)
    path = tmp_path / "estate.yaml"
    path.write_text(text)
    return path, ports


async def test_simulate_serves_the_site_and_takes_faults(
    tmp_path: Path, example_site: SiteConfig
) -> None:
    config, ports = site_on_free_ports(tmp_path)
    control = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "estatewatch", "simulate", "--config", str(config),
        "--seed", "3", "--speed", "10", "--control-port", str(control),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{control}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(200):  # up to 20 s for the process to start
                try:
                    devices = (await http.get("/devices")).json()
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert len(devices) == len(example_site.devices)
            response = await http.post(
                "/faults", json={"device": "elevator-6", "fault": "entrapment"}
            )
            assert response.status_code == 201
        fault_code = example_site.register_map_of("elevator-6").point("fault_code")
        async with modbus_client(ports[15031]) as client:
            answer = await client.read_input_registers(5, count=1, device_id=6)
            assert decode(list(answer.registers), fault_code) == 31
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, output.decode()
    assert b"fault entrapment injected on elevator-6" in output


def test_simulate_without_a_config_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    from estatewatch.cli import main

    assert main(["simulate"]) == 2
    assert "--config FILE is required" in capsys.readouterr().err
