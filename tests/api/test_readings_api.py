"""A device's stored values over HTTP — latest, history, the equipment operation log — read
from the embedded SQLite store that `EW_READINGS_URL` names, written as ingest writes it."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.sites import Sites
from estatewatch.clock import from_epoch_ms, to_epoch_ms
from estatewatch.readings.sqlite import SqliteReadingStore
from estatewatch.readings.sqlite_schema import Point
from tests.api.helpers import SITE, T0, Api, make_api, settings_for
from tests.dates import iso, local

DEVICE = "elevator-3"  # Tower 2 car A; the site is in Asia/Shanghai (UTC+8)
TAGS = {"building": "t2", "device": DEVICE, "room": "machine-room", "site": SITE}
DAY_START = to_epoch_ms(local(-1, 16, tz=T0.tzinfo))  # MONDAY 00:00 local
STEP = 600_000  # a reading every 10 minutes
NOW = to_epoch_ms(T0)  # 2 Nov 16:00 local


def _iso(ms: int) -> str:
    return from_epoch_ms(ms).isoformat().replace("+00:00", "Z")


def elevator_day() -> list[Point]:
    """2 Nov, local: reading i at DAY_START + i * 10 min up to now (i = 0..95), with
    load = i kg, floor = i % 10, direction = i % 3 (idle, up, down), fault code 31 from
    reading 90 on, running on odd i, a model name; the last load is stale.
    And one reading the day before, which no log of 2 Nov may count."""
    points = [Point("elevator", TAGS, {"load": 1000.0, "floor": -2.0}, DAY_START - 1)]
    for i in range((NOW - DAY_START) // STEP):
        fields: dict[str, Any] = {"load": float(i), "floor": float(i % 10),
                                  "direction": float(i % 3), "fault_code": 31.0 if i >= 90 else 0.0,
                                  "running": i % 2 == 1, "model": "KONE MonoSpace"}  # fmt: skip
        if i == 95:
            fields["load.quality"] = "stale"
        points.append(Point("elevator", TAGS, fields, DAY_START + i * STEP))
    return points


async def _write(path: Path, points: list[Point]) -> None:
    async with SqliteReadingStore(path) as store:  # as `estatewatch ingest --sqlite` does
        await store.write(points)


@pytest.fixture
def api(tmp_path: Path, sites: Sites) -> Iterator[Api]:
    """The API reading `sqlite:PATH`, which holds `elevator_day()`."""
    path = tmp_path / "readings.db"
    asyncio.run(_write(path, elevator_day()))
    with make_api(tmp_path / "api.db", sites, readings_url=f"sqlite:{path}") as running:
        yield running


def test_latest_values_come_from_the_store(api: Api) -> None:
    body = api.get(f"/devices/{DEVICE}/latest", user="dina").json()  # one site: no ?site=
    assert (body["site"], body["kind"]) == (SITE, "elevator")
    assert body["points"]["load"] == {"value": 95.0, "ts": _iso(NOW - STEP), "quality": "stale"}
    assert body["points"]["running"]["value"] is True
    one = api.get(f"/devices/{DEVICE}/latest", params={"site": SITE, "point": "model"}).json()
    assert one["points"] == {"model": {"value": "KONE MonoSpace", "ts": _iso(NOW - STEP),
                                       "quality": "good"}}  # fmt: skip
    missing = api.get("/devices/nope/latest", params={"site": SITE})
    assert (missing.status_code, missing.json()["field"]) == (404, "device")
    elsewhere = api.get(f"/devices/{DEVICE}/latest", params={"site": "other-estate"})
    assert elsewhere.status_code == 404


def test_raw_history_of_a_point(api: Api) -> None:
    recent = api.get(f"/devices/{DEVICE}/history", params={"point": "load"}, user="tom")
    assert recent.status_code == 200
    body = recent.json()
    assert (body["unit"], body["source"], body["aggregate"], body["truncated"]) == (
        "kg", "raw", None, False,
    )  # fmt: skip
    assert (body["start"], body["end"]) == (_iso(NOW - 3_600_000), _iso(NOW))  # the last hour
    assert [(s["ts"], s["value"], s["quality"]) for s in body["samples"]] == [
        (_iso(DAY_START + i * STEP), float(i), "stale" if i == 95 else "good")
        for i in range(90, 96)
    ]
    window = {"point": "running", "start": _iso(DAY_START), "end": _iso(DAY_START + 3 * STEP)}
    bools = api.get(f"/devices/{DEVICE}/history", params=window).json()
    assert [s["value"] for s in bools["samples"]] == [False, True, False]
    since_midnight = {"point": "load", "start": _iso(DAY_START), "limit": 5}
    capped = api.get(f"/devices/{DEVICE}/history", params=since_midnight).json()
    assert (len(capped["samples"]), capped["truncated"]) == (5, True)


def test_aggregated_history(api: Api) -> None:
    params = {"point": "load", "start": _iso(DAY_START), "end": _iso(DAY_START + 3 * 3_600_000)}
    peaks = api.get(f"/devices/{DEVICE}/history", params={**params, "fn": "max", "window": "1h"})
    body = peaks.json()
    assert (body["aggregate"], body["window"]) == ("max", "1h")
    assert [(s["ts"], s["value"]) for s in body["samples"]] == [
        (_iso(DAY_START + h * 3_600_000), 6.0 * h + 5) for h in range(3)
    ]
    means = api.get(f"/devices/{DEVICE}/history", params={**params, "window": "1h"}).json()
    assert means["aggregate"] == "mean"
    assert [s["value"] for s in means["samples"]] == [2.5, 8.5, 14.5]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"point": "load", "fn": "max"}, 422, "window"),
        ({"point": "load", "window": "fortnight"}, 422, "window"),
        ({"point": "load", "window": "1ms"}, 422, "window"),
        ({"point": "load", "window": "1s", "start": f"{iso(-32)}T00:00:00Z"}, 422, "window"),
        ({"point": "running", "fn": "mean", "window": "1h"}, 422, "fn"),
        ({"point": "direction", "fn": "mean", "window": "1h"}, 422, "fn"),
        ({"point": "model", "fn": "max", "window": "1h"}, 422, "fn"),
        ({"point": "load", "start": f"{iso(0)}T09:00:00Z"}, 422, "start"),
        ({"point": "load", "fn": "median", "window": "1h"}, 422, "fn"),
        ({"point": "speed_of_light"}, 404, "point"),
        ({}, 422, "point"),
    ],
)
def test_history_refuses_what_it_cannot_answer(
    api: Api, params: dict[str, str], status: int, field: str
) -> None:
    response = api.get(f"/devices/{DEVICE}/history", params=params)
    assert response.status_code == status, response.json()
    assert response.json()["field"] == field


def test_the_operation_log_of_a_day(api: Api) -> None:
    response = api.get(f"/devices/{DEVICE}/operation-log", params={"date": iso(0)},
                       user="sam")  # fmt: skip
    assert response.status_code == 200
    log = response.json()
    assert (log["name"], log["building"], log["timezone"]) == (
        "Tower 2 car A 2号楼A梯",  # the site file's name, both languages joined
        "t2",
        "Asia/Shanghai",
    )
    assert (log["start"], log["end"]) == (_iso(DAY_START), _iso(DAY_START + 86_400_000))
    assert log["times"] == ["08:00", "14:00", "20:00"]
    points = {p["point"]: p for p in log["points"]}
    assert list(points)[:3] == ["floor", "direction", "door_state"]  # the register map's order
    load = points["load"]
    assert (load["unit"], load["min"], load["max"], load["mean"]) == ("kg", 0.0, 95.0, 47.5)
    assert [(v["time"], v["value"], v["ts"]) for v in load["values"]] == [
        ("08:00", 48.0, _iso(DAY_START + 48 * STEP)),
        ("14:00", 84.0, _iso(DAY_START + 84 * STEP)),
        ("20:00", None, None),  # later than now
    ]
    assert (points["floor"]["min"], points["floor"]["max"]) == (0.0, 9.0)
    running = points["running"]
    assert (running["min"], running["max"], running["mean"]) == (False, True, None)
    # Codes and states are never averaged (a mean direction of 0.04 is no direction): the
    # day's last value stands for them.
    direction, fault = points["direction"], points["fault_code"]
    assert (direction["min"], direction["max"], direction["mean"], direction["last"]) == (
        None, None, None, 95 % 3,
    )  # fmt: skip
    assert (fault["mean"], fault["last"]) == (None, 31)
    assert [v["value"] for v in direction["values"]] == [48 % 3, 84 % 3, None]
    assert (load["last"], points["floor"]["last"]) == (None, None)  # numbers: min, max, mean
    model = points["model"]
    assert (model["min"], model["mean"], model["last"]) == (None, None, "KONE MonoSpace")
    assert [v["value"] for v in model["values"]] == ["KONE MonoSpace", "KONE MonoSpace", None]
    assert points["speed"]["values"][0]["value"] is None  # nothing stored for it
    before = api.get(f"/devices/{DEVICE}/operation-log", params={"date": iso(-1)}).json()
    load_before = next(p for p in before["points"] if p["point"] == "load")
    # its only reading is at 23:59:59.999: counted in the day, but not "at 20:00"
    assert (load_before["max"], load_before["values"][-1]["value"]) == (1000.0, None)


def test_the_operation_log_defaults_to_today_and_takes_other_times(api: Api) -> None:
    log = api.get(f"/devices/{DEVICE}/operation-log",
                  params={"at": ["09:30", "02:00"]}).json()  # fmt: skip
    assert (log["date"], log["times"]) == (iso(0), ["02:00", "09:30"])
    floor = next(p for p in log["points"] if p["point"] == "floor")
    # 02:00 local is reading 12; 09:30 is reading 57
    assert [v["value"] for v in floor["values"]] == [2.0, 7.0]


def test_the_operation_log_as_csv(api: Api) -> None:
    response = api.get(f"/devices/{DEVICE}/operation-log",
                       params={"date": iso(0), "format": "csv"}, user="dina")  # fmt: skip
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        f"operation-log-harbour-view-elevator-3-{iso(0)}.csv"
        in (response.headers["content-disposition"])
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    load = next(r for r in rows if r["point"] == "load")
    assert load == {"point": "load", "unit": "kg", "description": load["description"],
                    "min": "0", "max": "95", "mean": "47.5", "last": "",
                    "08:00": "48", "14:00": "84", "20:00": ""}  # fmt: skip
    fault = next(r for r in rows if r["point"] == "fault_code")
    assert (fault["min"], fault["max"], fault["mean"], fault["last"]) == ("", "", "", "31")
    assert len(rows) == 15


@pytest.mark.parametrize(
    ("user", "allowed"),
    [("ada", True), ("sam", True), ("dina", True), ("tom", True), ("gary", False),
     ("cara", False)],
)  # fmt: skip
def test_who_may_read_device_values(api: Api, user: str, allowed: bool) -> None:
    for path in ("latest", "history?point=load", "operation-log"):
        status = api.get(f"/devices/{DEVICE}/{path}", user=user).status_code
        assert status == (200 if allowed else 403), (path, user, status)
    assert api.get(f"/devices/{DEVICE}/history?point=load", user=None).status_code == 401


def test_an_unreachable_store_answers_503(tmp_path: Path, sites: Sites) -> None:
    from estatewatch.testing.services import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with make_api(tmp_path / "api.db", sites, readings_url=url) as running:
        for path in ("latest", "history?point=load", "operation-log"):
            response = running.get(f"/devices/{DEVICE}/{path}")
            assert response.status_code == 503, path
            assert "did not answer" in response.json()["detail"]


def test_readings_settings() -> None:
    assert settings_for("x.db", readings_url="sqlite:var/r.db").readings_url == "sqlite:var/r.db"
    for bad in ("ftp://influx", "var/r.db", "sqlite:"):
        with pytest.raises(ValidationError, match="readings_url"):
            settings_for("x.db", readings_url=bad)
    empty = settings_for("x.db", readings_raw_policy="", readings_rollup_policy="")
    assert (empty.readings_raw_policy, empty.readings_rollup_policy) == (None, None)
    assert settings_for("x.db").operation_log_times[0].hour == 8
    assert timedelta(0) < settings_for("x.db").access_token_ttl
