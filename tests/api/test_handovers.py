"""The signed shift handover (交接班): filed by the outgoing duty engineer as of the shift's
end, with the shift's unusual readings from the readings store; signed by another duty
engineer; frozen then (409 on a third signature); printable; a shift that ended unsigned
is on the board and told to the supervisor on call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from api.models import Notification
from api.schemas.user import UserCreate
from api.security import issue_token
from api.sites import Sites
from api.workflows import users as user_flows
from estatewatch.clock import to_epoch_ms
from estatewatch.readings.sqlite import SqliteReadingStore
from estatewatch.readings.sqlite_schema import Point
from tests.api.helpers import PASSWORD, SITE, T0, Api, alarm_event, make_api
from tests.dates import iso, utc

STEP = 600_000  # every 10 minutes
SHIFT_START = utc(0, 0)  # 08:00 in Shanghai: the day shift


def _tags(device: str, building: str, room: str) -> dict[str, str]:
    return {"building": building, "device": device, "room": room, "site": SITE}


def shift_readings() -> list[Point]:
    """From the day shift's start to T0 (16:00 local): power room 1 with L1 at 230 V but
    one 262 V reading (out of band, GB/T 12325 +7 %), L2 steady at 243 V (near the 246 V
    limit); the low-zone pump set at its set-point, silent from 10:00 to 12:00 local."""
    points = []
    power = _tags("power-room-1", "podium", "power-room-1")
    pump = _tags("pump-domestic-low", "podium", "pump-room")
    start, end = to_epoch_ms(SHIFT_START), to_epoch_ms(T0)
    for ts in range(start, end, STEP):
        l1 = 262.0 if ts == start + 12 * STEP else 230.0
        points.append(Point("power_room", power, {"voltage_l1": l1, "voltage_l2": 243.0}, ts))
        if not start + 12 * STEP <= ts < start + 24 * STEP:
            points.append(Point("water_pump_set", pump, {"outlet_pressure": 0.45}, ts))
    return points


async def _write(path: Path, points: list[Point]) -> None:
    async with SqliteReadingStore(path) as store:
        await store.write(points)


@pytest.fixture
def api(tmp_path: Path, sites: Sites) -> Iterator[Api]:
    path = tmp_path / "readings.db"
    asyncio.run(_write(path, shift_readings()))
    with make_api(tmp_path / "api.db", sites, readings_url=f"sqlite:{path}") as running:
        runtime = running.runtime
        with runtime.db.write() as session:  # the incoming shift's duty engineer
            data = UserCreate(
                username="dan", password=PASSWORD, role="duty_engineer", full_name="丁工"
            )
            user_flows.create(session, data=data, cost=runtime.settings.password_cost, now=T0)
        running.tokens["dan"], _ = issue_token(
            username="dan",
            role="duty_engineer",
            secret=runtime.secret,
            now=T0,
            ttl=timedelta(days=30),
        )
        yield running


def test_a_handover_is_filed_signed_by_another_engineer_and_frozen(api: Api) -> None:
    api.ingest(alarm_event("lift"))  # an entrapment: an urgent order with its clocks
    api.clock.set(T0 + timedelta(hours=3, minutes=45))  # 19:45 local, the day shift ends soon
    filed = api.post("/handovers", {"site": SITE, "note": "2号梯待维保"}, user="dina")
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert (body["shift"], body["date"], body["state"], body["frozen"]) == (
        "day",
        iso(0),
        "filed",
        False,
    )
    report = body["report"]
    assert [a["alarm_id"] for a in report["open_alarms"]] == ["lift"]
    [order] = report["open_orders"]
    assert {c["clock"] for c in order["clocks"]} >= {"dispatch", "response", "on_site"}
    assert {r["route"] for r in report["patrol"]["rounds"]}
    unusual = report["unusual"]
    assert unusual["available"] is True
    out = {(f["device"], f["point"]) for f in unusual["out_of_band"]}
    near = {(f["device"], f["point"]) for f in unusual["near_threshold"]}
    assert ("power-room-1", "voltage_l1") in out
    assert ("power-room-1", "voltage_l2") in near
    [high] = [f for f in unusual["out_of_band"] if f["point"] == "voltage_l1"]
    assert (high["value"], high["side"], high["unit"]) == (262.0, "high", "V")
    pump_gaps = [s for s in unusual["offline"] if s["device"] == "pump-domestic-low"]
    # 10:00-12:00 local, and since the readings written here stop at 16:00
    assert [(s["minutes"], s["source"]) for s in pump_gaps] == [
        (120, "readings"),
        (225, "readings"),
    ]

    handover_id = body["id"]
    assert api.post(f"/handovers/{handover_id}/sign", user="dina").status_code == 403
    assert api.post(f"/handovers/{handover_id}/sign", user="tom").status_code == 403
    stale = api.post(f"/handovers/{handover_id}/sign", {"digest": "0" * 64}, user="dan")
    assert (stale.status_code, stale.json()["field"]) == (409, "digest")

    api.clock.set(T0 + timedelta(hours=4, minutes=5))
    signed = api.post(
        f"/handovers/{handover_id}/sign", {"note": "已阅", "digest": body["digest"]}, user="dan"
    )
    assert signed.status_code == 200, signed.text
    shown = api.get(f"/handovers/{handover_id}", user="sam").json()
    assert (shown["state"], shown["frozen"]) == ("signed", True)
    assert [(s["role"], s["by"], s["name"]) for s in shown["signatures"]] == [
        ("outgoing", "dina", "dina"),
        ("incoming", "dan", "丁工"),
    ]
    assert shown["report"] == report  # the report as filed, not recomputed

    third = api.post(f"/handovers/{handover_id}/sign", user="ada")
    assert third.status_code == 409
    again = api.post("/handovers", {"site": SITE, "shift": "day", "date": iso(0)}, user="dina")
    assert again.status_code == 409

    page = api.get(f"/handovers/{handover_id}.html", user="sam")
    assert page.headers["content-type"].startswith("text/html")
    for text in ("交接班记录", "丁工", "接班人", "超出正常范围", "voltage_l1", "262 V"):
        assert text in page.text
    english = api.get(f"/handovers/{handover_id}", params={"format": "html", "lang": "en"})
    assert "Signed by both shifts: frozen" in english.text
    assert api.get(f"/handovers/{handover_id}", user="gary").status_code == 403


def test_refiling_replaces_the_report_until_signed(api: Api) -> None:
    api.clock.set(T0 + timedelta(hours=1))
    first = api.post("/handovers", {"site": SITE}, user="dina").json()
    api.ingest(alarm_event("later", raised_at=T0 + timedelta(hours=1, minutes=30)))
    api.clock.set(T0 + timedelta(hours=2))
    second = api.post("/handovers", {"site": SITE}, user="dina")
    assert second.status_code == 200
    assert (second.json()["id"], second.json()["revision"]) == (first["id"], 2)
    assert second.json()["digest"] != first["digest"]
    other = api.post("/handovers", {"site": SITE}, user="dan")
    assert other.status_code == 403  # filed by dina: only she refiles
    future = api.post("/handovers", {"site": SITE, "shift": "day", "date": iso(1)}, user="dina")
    assert (future.status_code, future.json()["field"]) == (422, "shift")


def test_a_shift_that_ended_unsigned_is_on_the_board_and_told_to_the_supervisor(
    api: Api,
) -> None:
    api.clock.set(T0 + timedelta(hours=3))  # 19:00 local
    api.post("/handovers", {"site": SITE}, user="dina")
    api.clock.set(T0 + timedelta(hours=5))  # 21:00 local: the day shift ended an hour ago
    board = api.get("/handovers", params={"site": SITE, "state": "unsigned"}, user="sam").json()
    day = [s for s in board if (s["shift"], s["date"]) == ("day", iso(0))]
    assert [(s["state"], s["filed_by"], s["notified"]) for s in day] == [("filed", "dina", None)]
    assert all(s["state"] != "signed" for s in board)

    checked = api.post("/handovers/check", user="sam").json()
    assert checked["noticed"] == len(board)
    assert api.post("/handovers/check", user="sam").json()["noticed"] == 0  # once per shift
    board = api.get("/handovers", params={"site": SITE, "state": "unsigned"}, user="dina").json()
    day = [s for s in board if (s["shift"], s["date"]) == ("day", iso(0))]
    assert day[0]["notified"] == ["liu-supervisor"]  # on call for the night shift, Monday
    with api.runtime.db.read() as session:
        told = session.scalars(select(Notification).where(Notification.subject_kind == "handover"))
        assert {n.recipient for n in told} == {"liu-supervisor"}

    handover_id = day[0]["handover_id"]
    api.post(f"/handovers/{handover_id}/sign", user="dan")
    board = api.get("/handovers", params={"site": SITE}, user="sam").json()
    assert [s["state"] for s in board if s["handover_id"] == handover_id] == ["signed"]
