"""The control HTTP API and `estatewatch simulate fault` against a running estate."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from estatewatch.cli import main
from estatewatch.testing.services import free_port
from simulators.control import ControlServer
from simulators.estate import SimulatedEstate

pytestmark = pytest.mark.integration


async def test_the_api_lists_devices_and_injects_and_clears_faults(
    estate: SimulatedEstate,
) -> None:
    async with (
        ControlServer(estate, port=free_port()) as control,
        httpx.AsyncClient(base_url=control.url) as http,
    ):
        devices = (await http.get("/devices")).json()
        assert [d["id"] for d in devices] == estate.device_ids()
        lift = next(d for d in devices if d["id"] == "elevator-3")
        assert lift["kind"] == "elevator"
        assert lift["faults"] == []
        assert "entrapment" in lift["accepted_faults"]
        assert lift["values"]["fault_code"] == 0

        response = await http.post("/faults", json={"device": "elevator-3", "fault": "entrapment"})
        assert response.status_code == 201
        assert response.json()["faults"] == ["entrapment"]
        assert response.json()["values"]["fault_code"] == 31
        assert estate.faults("elevator-3") == {"entrapment"}

        refused = await http.post("/faults", json={"device": "elevator-3", "fault": "outage"})
        assert refused.status_code == 422
        assert "cannot have fault 'outage'" in refused.json()["detail"]
        missing = await http.post("/faults", json={"device": "lift-99", "fault": "offline"})
        assert missing.status_code == 404

        cleared = await http.delete("/faults/elevator-3/entrapment")
        assert cleared.json()["faults"] == []
        assert estate.faults("elevator-3") == frozenset()

        body = {"device": "power-room-1", "fault": "garbage"}
        assert (await http.post("/faults", json=body)).status_code == 201
        garbage = (await http.get("/devices/power-room-1")).json()  # NaN shows as null
        assert garbage["faults"] == ["garbage"]
        assert (await http.delete("/faults/power-room-1")).json()["faults"] == []


async def test_the_cli_talks_to_a_running_simulator(estate: SimulatedEstate) -> None:
    async with ControlServer(estate, port=free_port()) as control:
        argv = ["simulate", "fault", "pump-fire", "pipe_burst", "--control", control.url]
        assert await asyncio.to_thread(main, argv) == 0
        assert estate.faults("pump-fire") == {"pipe_burst"}
        argv = ["simulate", "fault", "pump-fire", "pipe_burst", "--clear", "--control", control.url]
        assert await asyncio.to_thread(main, argv) == 0
        assert estate.faults("pump-fire") == frozenset()
        argv = ["simulate", "fault", "pump-fire", "entrapment", "--control", control.url]
        assert await asyncio.to_thread(main, argv) == 1
