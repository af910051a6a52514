"""A power-room outage, end to end through every process: the simulated power room loses its
supply → the gateway polls it → the rules engine raises `power.outage` → the API opens the
power-outage incident, notifies the plan's chain (DingTalk robot and webhook, on real
loopback receivers that check each vendor's signature), produces the owners' notice; people
check the steps off and close it over HTTP; the review falls due 24 h after; the timeline
shows all of it in order."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from estatewatch.config import SiteConfig
from estatewatch.testing.services import InfluxDB, Mosquitto
from tests.notify.conftest import ENV, SECRETS
from tests.notify.helpers import notify_config
from tests.notify.receivers import VendorReceiver
from tests.reliability.harness import ROOT, Pipeline, quick_site

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "supervisor pass 4471"
STEPS = ["confirm", "generator", "elevators", "notice"]
ROLES = ["duty_engineer", "electrician", "supervisor", "security_lead"]
PEOPLE = {"duty_engineer": "wang-duty", "electrician": "zhang-electric",
          "supervisor": "liu-supervisor", "security_lead": "chen-security"}  # fmt: skip


def _on_call_round_the_clock() -> list[dict[str, str]]:
    # whatever the hour CI runs at, the plan's chain has someone on call
    return [
        {"role": role, "person": person, "shift": shift}
        for role, person in PEOPLE.items()
        for shift in ("day", "night")
    ]


async def test_a_power_room_outage_runs_the_plan_end_to_end(
    example_site: SiteConfig, tmp_path: Path
) -> None:
    receiver = VendorReceiver(now_ms=lambda: int(time.time() * 1000), secrets=dict(SECRETS))
    receiver.start()
    notify = notify_config(
        receiver.base, oncall=_on_call_round_the_clock(), grouping={"window": "1s"}
    )
    site = quick_site(example_site).model_copy(update={"notifications": notify})
    broker, influx = Mosquitto(tmp_path / "mosquitto"), InfluxDB(tmp_path / "influxdb")
    for server in (broker, influx):
        server.workdir.mkdir()
        server.start()
    pipeline = Pipeline(tmp_path, site, broker, influx)
    pipeline.api.env.update({**ENV, "EW_PASSWORD_COST": "12", "EW_NOTIFY": "true"})
    add = [sys.executable, "-m", "estatewatch", "api", "add-user", "liu", "--role",
           "supervisor", "--database", str(pipeline.api_db)]  # fmt: skip
    env = {**os.environ, **pipeline.api.env, "EW_NEW_PASSWORD": PASSWORD}
    made = await asyncio.to_thread(subprocess.run, add, cwd=ROOT, env=env, capture_output=True)
    assert made.returncode == 0, made.stderr
    api = f"http://127.0.0.1:{pipeline.api_port}"
    try:
        await pipeline.start()
        async with httpx.AsyncClient(base_url=api, timeout=10) as http:
            token = await http.post("/auth/token", data={"username": "liu", "password": PASSWORD})
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

            await pipeline.inject("power-room-1", "outage")

            async def opened() -> dict[str, Any] | None:
                found = (await http.get("/incidents", params={"site": site.site.id})).json()
                return next((i for i in found if i["plan"] == "power-outage"), None)

            await pipeline.until(opened, "the power-outage incident")
            incident = await opened()
            assert incident is not None
            incident_id = incident["id"]
            # the chain heard of it: the duty engineer on the robot, the others by webhook
            chain = {"zhang-electric", "liu-supervisor", "chen-security"}
            await pipeline.until(
                lambda: {r.json().get("recipient") for r in receiver.of("webhook")} >= chain,
                "the chain's notifications",
            )
            assert receiver.of("dingtalk"), "the duty engineer's robot message"
            assert receiver.refused == []  # every signature verified as the vendor would

            detail = (await http.get(f"/incidents/{incident_id}")).json()
            assert "停电" in detail["owners_notice"]["zh-CN"]
            assert detail["alarm_ids"]
            for step in STEPS:
                done = await http.post(f"/incidents/{incident_id}/steps/{step}")
                assert done.status_code == 200, done.text
            await pipeline.clear("power-room-1", "outage")
            closed = await http.post(f"/incidents/{incident_id}/close")
            assert closed.status_code == 200, closed.text
            final = (await http.get(f"/incidents/{incident_id}")).json()
    finally:
        await pipeline.stop()
        influx.stop()
        broker.stop()
        receiver.stop()

    assert final["state"] == "closed"
    closed_at = datetime.fromisoformat(final["closed_at"])
    assert datetime.fromisoformat(final["review_due_at"]) - closed_at == timedelta(hours=24)
    kinds = [entry["kind"] for entry in final["timeline"]]
    assert kinds[0] == "opened"
    assert "alarm" in kinds
    assert "notification" in kinds
    assert kinds.count("step") == len(STEPS)
    assert kinds[-1] == "closed"
    times = [entry["at"] for entry in final["timeline"]]
    assert times == sorted(times)  # in the order it happened
