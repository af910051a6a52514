"""The live stream: every change once, in order, resumable from the last id seen."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from api import inbound
from api.app import create_app
from api.sites import Sites
from api.store import feed
from api.store.workorders import order_id_for_alarm
from estatewatch.clock import FakeClock
from estatewatch.contracts.payloads import DeviceStatus
from estatewatch.testing.services import free_port
from tests.api.helpers import T0, Api, alarm_event, parse_sse, seed_users, settings_for


def _catch_up(api: Api, **params: Any) -> list[dict[str, str]]:
    headers = api.headers("dina")
    if "last_event_id" in params:
        headers["Last-Event-ID"] = str(params.pop("last_event_id"))
    response = api.client.get("/stream", params={"follow": "false", **params}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text.splitlines())


def test_catch_up_from_a_token(api: Api) -> None:
    api.ingest(alarm_event("a"))  # alarm (1) + its order (2)
    api.ingest(alarm_event("a", 2, "updated", occurrences=2))  # (3)
    events = _catch_up(api, after=0)
    assert [(e["id"], e["event"]) for e in events] == [
        ("1", "alarm"),
        ("2", "workorder"),
        ("3", "alarm"),
    ]
    assert json.loads(events[2]["data"])["occurrences"] == 2
    assert [e["id"] for e in _catch_up(api, after=1)] == ["2", "3"]
    assert [e["id"] for e in _catch_up(api, last_event_id=2)] == ["3"]
    assert _catch_up(api, after=3) == []
    assert [e["event"] for e in _catch_up(api, after=0, kind="workorder")] == ["workorder"]


def test_without_a_token_the_stream_starts_now(api: Api) -> None:
    api.ingest(alarm_event("a"))
    events = _catch_up(api)
    assert [(e["event"], e["id"]) for e in events] == [("ready", "2")]


def test_device_status_changes_are_streamed_once_per_change(api: Api) -> None:
    def status(state: str, seq: int) -> DeviceStatus:
        ms = int((T0 + timedelta(seconds=seq)).timestamp() * 1000)
        return DeviceStatus(
            site="harbour-view",
            gateway="gw-harbour-1",
            seq=seq,
            device="elevator-3",
            kind="elevator",
            building="t2",
            room="machine-room",
            state=state,
            ts=ms,
            since=ms,
        )

    with api.runtime.db.write() as session:
        outcomes = [
            inbound.apply(session, status(state, seq), now=T0, sites=api.runtime.sites)
            for state, seq in (("online", 1), ("online", 2), ("offline", 3), ("offline", 3))
        ]
    assert outcomes == ["applied", "refreshed", "applied", "stale"]
    events = _catch_up(api, after=0)
    assert [json.loads(e["data"])["state"] for e in events] == ["online", "offline"]
    assert [d["state"] for d in api.get("/devices", user="dina").json()] == ["offline"]


def test_a_pruned_token_is_gone_and_a_future_one_invalid(api: Api) -> None:
    for n in range(3):
        api.ingest(alarm_event(f"w{n}", severity="warning", category="battery_low"))
    with api.runtime.db.write() as session:
        feed.prune(session, before=T0 + timedelta(seconds=1))
    api.ingest(alarm_event("late", severity="warning", category="battery_low"))
    gone = api.get("/stream", params={"after": 1, "follow": "false"}, user="dina")
    assert gone.status_code == 410
    assert gone.json()["field"] == "after"
    future = api.get("/stream", params={"after": 99, "follow": "false"}, user="dina")
    assert future.status_code == 422


class _Events:
    """Reads Server-Sent Events off one streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()
        self._seen: list[str] = []

    async def take(self, count: int) -> list[dict[str, str]]:
        async def read() -> list[dict[str, str]]:
            async for line in self._lines:
                self._seen.append(line)
                events = parse_sse(self._seen)
                if line == "" and len(events) >= count:
                    return events
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(read(), 10)


async def test_a_reconnecting_dashboard_misses_nothing(tmp_path: Path, sites: Sites) -> None:
    """A real server on loopback: live events arrive as they commit; after a disconnect,
    reconnecting with Last-Event-ID replays exactly what was missed."""
    clock = FakeClock(T0)
    app = create_app(settings_for(tmp_path / "live.db"), clock=clock, sites=sites)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    runtime = app.state.runtime

    def change(alarm_id: str, revision: int = 1) -> None:
        with runtime.db.write() as session:
            inbound.apply(
                session,
                alarm_event(alarm_id, revision, "updated" if revision > 1 else "raised"),
                now=clock.now(),
                sites=sites,
            )

    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(seed_users, runtime)
        token = (await asyncio.to_thread(_login, port)).strip()
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10
        ) as client:
            async with client.stream("GET", "/stream") as response:
                events = _Events(response)
                ready = await events.take(1)
                assert [e["event"] for e in ready] == ["ready"]
                await asyncio.to_thread(change, "live")  # alarm + order, committed now
                live = await events.take(3)
            assert [(e["event"], e["id"]) for e in live] == [
                ("ready", "0"),
                ("alarm", "1"),
                ("workorder", "2"),
            ]
            # The dashboard is away while three changes happen.
            for revision in (2, 3, 4):
                await asyncio.to_thread(change, "live", revision)
            async with client.stream(
                "GET", "/stream", headers={"Last-Event-ID": live[-1]["id"]}
            ) as response:
                missed = await _Events(response).take(3)
        assert [e["id"] for e in missed] == ["3", "4", "5"]
        assert [json.loads(e["data"])["revision"] for e in missed] == [2, 3, 4]
        assert json.loads(live[2]["data"])["order_id"] == order_id_for_alarm("live")
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 15)


def _login(port: int) -> str:
    from tests.api.helpers import PASSWORD

    response = httpx.post(
        f"http://127.0.0.1:{port}/auth/token", data={"username": "dina", "password": PASSWORD}
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token
